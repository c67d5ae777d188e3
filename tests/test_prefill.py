"""`starbatch template --prefill`: next year's workbook holds last year's branches and cadres, marked for checking.

The sample county's 2026 run fills the ledger (branch results); its ten accepted submissions' records are
stored with `record_accepted` (what the run calls). Prefilling 2027 must carry over all 175 branches and 801
cadres, leave the scores blank, and — once a clerk has typed the scores — validate clean as a 2027 submission.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from run_helpers import run_cli

from processor.fill import CARRIED_MESSAGE, save_deterministic
from processor.paths import SAMPLES_DIR
from processor.prefill import record_accepted
from processor.rulebook import load_rulebook
from processor.sheets import SELF, sheets_for
from processor.validate import Submission, validate_file

INBOX = SAMPLES_DIR / "inbox"
BRANCHES, SCORES, CADRES, INSTRUCTIONS = "支部信息", "评分", "村干部", "填报说明"


@pytest.fixture(scope="module")
def samples_2026() -> list[Submission]:
    return [validate_file(p) for p in sorted(INBOX.glob("*.xlsx"))]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory, samples_2026: list[Submission]) -> Path:
    """The ledger after the 2026 run over the samples, with the accepted submissions' records stored."""
    base = tmp_path_factory.mktemp("prefill")
    shutil.copytree(INBOX, base / "inbox")
    code, _, err = run_cli("run", str(base / "inbox"), "--out", str(base / "out"), "--period", "2026")
    assert code == 0, err
    record_accepted(base / "out" / "ledger.sqlite", 2026, samples_2026)
    return base / "out" / "ledger.sqlite"


@pytest.fixture(scope="module")
def prefilled(tmp_path_factory: pytest.TempPathFactory, ledger: Path) -> list[Path]:
    out = tmp_path_factory.mktemp("prefilled")
    code, stdout, err = run_cli("template", "--prefill", "--period", "2027", "--ledger", str(ledger), "--out", str(out))
    assert code == 0, err
    return [Path(line) for line in stdout.splitlines()]


def _self_scores(samples: list[Submission]) -> dict[str, dict[str, object]]:
    """Branch code -> {评分 header text: last year's self score}: what the clerk types this year."""
    titles = {f.id: f.title for s in sheets_for(load_rulebook("R1")) if s.key == "scores" for f in s.fields}
    return {r.values["branch_code"]: {titles[fid]: v for fid, v in r.values.items() if fid.endswith(f".{SELF}")}
            for sub in samples for r in sub.records["scores"]}


def _type_scores(path: Path, scores: dict[str, dict[str, object]], target: Path) -> Path:
    """Type the self scores into 评分 the way a clerk would: find each column by its header text."""
    workbook = openpyxl.load_workbook(path)
    ws = workbook[SCORES]
    column = {cell.value: cell.column for cell in ws[1]}
    for row in ws.iter_rows(min_row=2):
        code = row[column["支部编码"] - 1].value
        for title, value in scores.get(code, {}).items():
            ws.cell(row=row[0].row, column=column[title], value=value)
    save_deterministic(workbook, target)
    return target


def test_prefill__one_workbook_per_township__all_branches_and_cadres_carried(prefilled, samples_2026):
    assert len(prefilled) == 10
    subs = [validate_file(p) for p in prefilled]
    assert sorted(s.township for s in subs) == sorted(s.township for s in samples_2026)
    assert {s.meta["period"] for s in subs} == {2027}
    assert sum(len(s.records["branches"]) for s in subs) == 175
    assert sum(len(s.records["cadres"]) for s in subs) == 801
    before = {(r.values["branch_code"], r.values["name"], r.values["role"], r.values["monthly_pay"])
              for s in samples_2026 for r in s.records["cadres"]}
    after = {(r.values["branch_code"], r.values["name"], r.values["role"], r.values["monthly_pay"])
             for s in subs for r in s.records["cadres"]}
    assert after == before


def test_prefill__collective_income_carried__scores_and_yearly_assessment_blank(prefilled, samples_2026):
    income = {r.values["branch_code"]: r.values["collective_income"] for s in samples_2026 for r in s.records["branches"]}
    subs = [validate_file(p) for p in prefilled]
    branches = [r.values for s in subs for r in s.records["branches"]]
    assert {b["branch_code"]: b["collective_income"] for b in branches} == income
    assert all("target_assessment_score" not in b for b in branches)
    scores = [r.values for s in subs for r in s.records["scores"]]
    assert len(scores) == 175 and all(set(v) == {"branch_code", "branch_name"} for v in scores)
    # Only: no score typed yet (REF_014 per item; past 100 of them one RUN_006 line says how many more).
    assert {p.code for s in subs for p in s.problems} <= {"REF_014", "RUN_006"}
    assert "REF_014" in {p.code for s in subs for p in s.problems}


def test_prefill__after_typing_scores__each_validates_clean_for_2027(prefilled, samples_2026, tmp_path):
    scores = _self_scores(samples_2026)
    for path in prefilled:
        sub = validate_file(_type_scores(path, scores, tmp_path / path.name))
        assert sub.problems == [], [(p.code, p.sheet, p.cell) for p in sub.problems][:5]
        assert sub.meta["period"] == 2027 and len(sub.records["scores"]) == len(sub.records["branches"])


def test_prefill__carried_cells_marked_editable_and_last_rating_shown(prefilled, ledger):
    path = next(p for p in prefilled if p.name.startswith("城关镇"))
    workbook = openpyxl.load_workbook(path)
    cadres = workbook[CADRES]
    income = workbook[BRANCHES]["J2"]
    assert income.fill.fgColor.rgb == "FFDDEBF7" and income.protection.locked is False
    assert workbook[BRANCHES]["J2"].value is not None and cadres["D2"].fill.fgColor.rgb == "FFDDEBF7"
    prompts = {str(dv.sqref): dv.prompt for dv in cadres.data_validations.dataValidation}
    assert prompts["D2:D106"].startswith(CARRIED_MESSAGE)
    assert not prompts["D107:D2001"].startswith(CARRIED_MESSAGE)
    intended = json.loads((SAMPLES_DIR / "intended-ratings.json").read_text(encoding="utf-8"))["01-城关镇.xlsx"]
    note = workbook[SCORES]["B2"].comment.text
    assert note.startswith(f"上年（2026年度）评定：{intended[0]['rating']}星")
    assert workbook[SCORES]["C2"].value is None
    assert "浅蓝底纹的单元格沿用上年数据" in workbook[INSTRUCTIONS]["A7"].value


def test_prefill__one_township(ledger, tmp_path):
    code, stdout, _ = run_cli("template", "--prefill", "--period", "2027", "--township", "河口镇",
                              "--ledger", str(ledger), "--out", str(tmp_path))
    assert code == 0 and [Path(p).name for p in stdout.splitlines()] == ["河口镇_R1-huojia-five-star_2027_预填.xlsx"]


def test_prefill__nothing_recorded_for_the_previous_period__exit_1(ledger, tmp_path):
    code, _, err = run_cli("template", "--prefill", "--period", "2030", "--ledger", str(ledger), "--out", str(tmp_path))
    assert code == 1 and "2029年度" in err and not list(tmp_path.iterdir())


def test_prefill__without_period_or_ledger__exit_2(tmp_path):
    code, _, err = run_cli("template", "--prefill", "--out", str(tmp_path))
    assert code == 2 and "--period" in err


def test_nightly_run_records_the_accepted_files__prefill_from_its_ledger_alone(tmp_path):
    """The run itself keeps what next year's templates carry over: no separate step for the operator."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "processor.cli", "run", str(root / "samples"), "--out", str(out),
                           "--period", "2026"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    made = subprocess.run([sys.executable, "-m", "processor.cli", "template", "--prefill", "--period", "2027",
                           "--ledger", str(out / "ledger.sqlite"), "--out", str(tmp_path / "t")],
                          cwd=root, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert len(list((tmp_path / "t").glob("*_2027_预填.xlsx"))) == 10
