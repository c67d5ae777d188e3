"""`python -m processor.cli score`: ratings and reasons as JSON for scripts, exit codes for batch jobs.

Expected ratings are by hand from RULES.md R1 (000_556207f0cb65ca56.txt line 311: a star needs
base >= 75 and total >= 85; line 307: “1+4”).
"""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from processor.fill import fill_template
from processor.paths import ROOT
from scoring_helpers import PERIOD, branch, rows_for, rulebook, write

R1 = rulebook("R1")
RECORD_KEYS = {"township", "branch_code", "name", "rating", "qualified", "reasons", "units"}


def starbatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "processor.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def clean_file(tmp_path_factory) -> Path:
    # CG-01: every star 100 → 5 stars. CG-02: 乡风文明星 base 74 (< 75, line 311) → 4 stars.
    return write(R1, tmp_path_factory.mktemp("cli") / "城关镇.xlsx",
                 [branch("CG-01"), branch("CG-02", scores={"civility": 74})], "城关镇")


@pytest.fixture(scope="module")
def rejected_file(tmp_path_factory) -> Path:
    # 亢村镇 forgot its 村干部 sheet rows: no secretary for KC-01 (REF_004) → the file is refused.
    rows = rows_for(R1, [branch("KC-01")], "亢村镇")
    rows["cadres"] = []
    return fill_template(R1, tmp_path_factory.mktemp("cli_bad") / "亢村镇.xlsx",
                         {"township": "亢村镇", "period": PERIOD}, rows)


def test_score_json__clean_file__exit_0_and_every_branch_with_its_reasons(clean_file):
    run = starbatch("score", str(clean_file), "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    records = out["branches"]
    assert [r["branch_code"] for r in records] == ["CG-01", "CG-02"]
    for r in records:
        assert RECORD_KEYS <= set(r)
        assert r["township"] == "城关镇"
    one, two = records
    assert (one["name"], one["rating"], one["qualified"]) == ("CG-01党支部", 5, True)
    assert (two["rating"], two["qualified"]) == (4, True)  # 5 − 乡风文明星
    civility = next(u for u in two["units"] if u["unit"] == "civility")
    assert (Decimal(civility["base"]), civility["earned"]) == (74, False)
    withheld = [r for r in two["reasons"] if "乡风文明星：未得星" in r["text"]]
    assert len(withheld) == 1
    assert "基础分 74 < 75" in withheld[0]["text"]
    assert withheld[0]["rule"] == "R1.units.civility.earn" and "000_556207f0cb65ca56.txt 第311行" in withheld[0]["source"]
    assert out.get("rejected", []) == []


def test_score_json__rulebook_option__same_ratings(clean_file):
    run = starbatch("score", str(clean_file), "--rulebook", "R1", "--json")
    assert run.returncode == 0, run.stderr
    assert [(r["branch_code"], r["rating"]) for r in json.loads(run.stdout)["branches"]] == [("CG-01", 5), ("CG-02", 4)]


def test_score_json__a_rejected_file__listed__exit_1__the_clean_one_still_scored(clean_file, rejected_file):
    run = starbatch("score", str(clean_file), str(rejected_file), "--json")
    assert run.returncode == 1
    out = json.loads(run.stdout)
    assert [r["branch_code"] for r in out["branches"]] == ["CG-01", "CG-02"]  # nothing from 亢村镇
    [rejected] = out["rejected"]
    assert rejected["file"] == "亢村镇.xlsx" and rejected["errors"] >= 1


def test_score_json__file_of_another_rulebook__rejected__exit_1(clean_file):
    # an R1 workbook scored with --rulebook R4 is not an R4 template (TPL_002): refused, not misread
    run = starbatch("score", str(clean_file), "--rulebook", "R4", "--json")
    assert run.returncode == 1
    out = json.loads(run.stdout)
    assert out["branches"] == []
    assert [r["file"] for r in out["rejected"]] == ["城关镇.xlsx"]


def test_score_text__names_each_branch_its_rating_and_reasons(clean_file):
    run = starbatch("score", str(clean_file))
    assert run.returncode == 0, run.stderr
    assert "CG-01" in run.stdout and "5星" in run.stdout
    assert "基础分 74 < 75" in run.stdout
