"""The bundled samples (samples/): the fictional county validates clean, every broken file reports
exactly the errors it was designed for, and the generator reproduces every committed file byte for byte."""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from processor.paths import SAMPLES_DIR
from processor.problems import ERROR
from processor.records import Submission
from processor.validate import validate_file

INBOX = SAMPLES_DIR / "inbox"
BROKEN = SAMPLES_DIR / "broken"
EXPECTED = json.loads((BROKEN / "expected.json").read_text(encoding="utf-8"))
INTENDED = json.loads((SAMPLES_DIR / "intended-ratings.json").read_text(encoding="utf-8"))
INBOX_FILES = sorted(INBOX.glob("*.xlsx"))
BROKEN_FILES = sorted(p for p in BROKEN.iterdir() if p.name != "expected.json")
HAND_WRITTEN = {"generate.py", "README.md"}


def _generator():
    spec = importlib.util.spec_from_file_location("samples_generate", SAMPLES_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _errors(sub: Submission) -> set[tuple[str, str, str]]:
    return {(p.code, p.sheet, p.cell) for p in sub.problems if p.severity == ERROR}


@pytest.fixture(scope="module")
def county() -> dict[str, Submission]:
    return {p.name: validate_file(p) for p in INBOX_FILES}


@pytest.mark.parametrize("name", [p.name for p in INBOX_FILES])
def test_inbox__each_township__validates_without_error(county: dict[str, Submission], name: str) -> None:
    sub = county[name]
    assert sub.accepted, [(p.code, p.sheet, p.cell, p.message) for p in sub.problems if p.severity == ERROR]


def test_inbox__county__meets_the_minimum_size(county: dict[str, Submission]) -> None:
    townships = {s.township for s in county.values()}
    branches = [r for s in county.values() for r in s.records["branches"]]
    cadres = [r for s in county.values() for r in s.records["cadres"]]
    assert len(townships) >= 8 and len(townships) == len(county)
    assert len(branches) >= 150
    assert len(cadres) >= 600


def test_inbox__intended_ratings__cover_every_branch_and_span_0_to_5(county: dict[str, Submission]) -> None:
    in_files = {n: [r.values["branch_code"] for r in s.records["branches"]] for n, s in county.items()}
    assert in_files == {n: [b["branch_code"] for b in rows] for n, rows in INTENDED.items()}
    assert {b["rating"] for rows in INTENDED.values() for b in rows} == set(range(6))


def test_inbox__scoring_engine__gives_the_designed_ratings() -> None:
    from processor.pipeline import score_files

    report = score_files(INBOX_FILES)
    designed = {b["branch_code"]: (b["rating"], b["stars"]) for rows in INTENDED.values() for b in rows}
    scored = {b.branch_code: (b.rating, [u.name for u in b.units if u.earned])
              for g in report.groups for b in g.county.branches}
    assert scored == designed
    gaps = [(p.code, p.file) for g in report.groups for p in g.county.problems]
    assert gaps == [("SCO_001", "02-河口镇.xlsx")]  # the one self-score designed 12 points above its review


def test_inbox__villages_short_of_reward_money__are_the_designed_ones(tmp_path: Path) -> None:
    from processor.pipeline import pay_files

    _, paid = pay_files(INBOX_FILES, tmp_path)
    flagged = {p.branch for g in paid for p in g.payments.problems if p.code == "PAY_001"}
    designed = {b["branch_code"] for rows in INTENDED.values() for b in rows if b["reward_exceeds_income"]}
    assert designed and flagged == designed


def test_broken__every_file__is_listed_in_expected_json() -> None:
    assert sorted(p.name for p in BROKEN_FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.name)
def test_broken__each_file__reports_exactly_its_designed_errors(path: Path) -> None:
    expected = {(e["code"], e["sheet"], e["cell"]) for e in EXPECTED[path.name]}
    assert expected and _errors(validate_file(path)) == expected


def test_broken__readme_table__lists_every_file_with_its_code_and_cell() -> None:
    readme = (SAMPLES_DIR / "README.md").read_text(encoding="utf-8").split("## Broken submissions")[1]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in readme.splitlines() if line.startswith("| `")]
    table = {r[0].strip("`"): [{"code": r[-3], "sheet": r[-2], "cell": r[-1]}] for r in rows}
    assert table == EXPECTED


def test_broken__base_township__is_valid(tmp_path: Path) -> None:
    generate = _generator()
    sub = validate_file(generate.write_base(generate.load_rulebook("R1"), tmp_path / "base.xlsx"))
    assert sub.accepted and not _errors(sub)


def test_generator__into_a_new_folder__writes_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SAMPLES_DIR / "generate.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    made = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(SAMPLES_DIR).as_posix() for p in SAMPLES_DIR.rglob("*")
                 if p.is_file() and p.name not in HAND_WRITTEN and "__pycache__" not in p.parts}
    assert made == committed
    differ = [name for name in sorted(made) if (tmp_path / name).read_bytes() != (SAMPLES_DIR / name).read_bytes()]
    assert differ == []
