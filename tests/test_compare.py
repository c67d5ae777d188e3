"""`starbatch compare`: the same submissions under two rulebooks, written as one workbook of differences.

The seed's star reward (000_556207f0cb65ca56.txt line 319): “每创一星党支部书记每月奖励300元，其他村“两委”干部每月
奖励200元”, for “三星”及以上. R1 counts every star (`stars_counted: all`); read as counting only the stars above
two (`above_two`), a ≥3-star branch's secretary gets 2 × 300 = 600 yuan a month less and every other cadre
2 × 200 = 400 less, for each month served; below three stars there is no reward under either reading.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from processor.paths import RULEBOOK_DIR, SAMPLES_DIR

ROOT = Path(__file__).resolve().parent.parent
INBOX = SAMPLES_DIR / "inbox"
INTENDED = json.loads((SAMPLES_DIR / "intended-ratings.json").read_text(encoding="utf-8"))


def _starbatch(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "processor.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


def _rows(path: Path, sheet: str) -> list[dict]:
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], row)) for row in values[1:]]


def _above_two_variant(folder: Path) -> Path:
    text = (RULEBOOK_DIR / "r1-huojia-five-star.yaml").read_text(encoding="utf-8")
    assert text.count("stars_counted: all") == 1
    path = folder / "r1-above-two.yaml"
    path.write_text(text.replace("stars_counted: all", "stars_counted: above_two"), encoding="utf-8")
    return path


def _hand_derived_differences() -> dict[str, Decimal]:
    """B − A per branch, from the sample generator's intended ratings and the 村干部 rows as written."""
    rating = {b["branch_code"]: b["rating"] for branches in INTENDED.values() for b in branches}
    expected = dict.fromkeys(rating, Decimal(0))
    for path in sorted(INBOX.glob("*.xlsx")):
        for cadre in _rows(path, "村干部"):
            code = cadre["支部编码"]
            if rating[code] >= 3:
                per_month = 600 if cadre["职务"] == "书记" else 400
                expected[code] -= Decimal(per_month * int(cadre["在岗月数"]))
    return expected


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    folder = tmp_path_factory.mktemp("compare")
    done = _starbatch("compare", INBOX, "--rulebook", "R1", "--rulebook", _above_two_variant(folder),
                      "--period", "2026", "--out", folder / "out")
    return done, folder / "out" / "评定办法对比_R1_R1_2026.xlsx"


def test_compare__above_two__star_reward_difference_is_600_and_400_a_month_per_cadre(compared):
    done, workbook = compared
    assert done.returncode == 0, done.stderr
    rows = {r["支部编码"]: r for r in _rows(workbook, "支部对比")}
    expected = _hand_derived_differences()
    assert len(rows) == 175 == len(expected)
    got = {code: Decimal(str(r["星级奖励差额"])) for code, r in rows.items()}
    assert got == expected
    assert any(v < 0 for v in expected.values()) and any(v == 0 for v in expected.values())


def test_compare__same_ratings__nothing_else_changes(compared):
    _, workbook = compared
    for r in _rows(workbook, "支部对比"):
        assert r["A 星级"] == r["B 星级"] and r["星级差（B−A）"] == 0
        assert r["差额（B−A）"] == r["星级奖励差额"]
    assert _rows(workbook, "升降星") == []
    assert _rows(workbook, "未能比较") == []


def test_compare__payer_totals__only_the_village_collective_pays_less(compared):
    _, workbook = compared
    payers = {r["付款方"]: r for r in _rows(workbook, "付款方对比")}
    total = sum(_hand_derived_differences().values())
    assert Decimal(str(payers["村集体经济收入"]["差额（B−A）"])) == total  # line 319: 从所在村集体经济收入中列支
    assert payers["县财政"]["差额（B−A）"] == 0
    townships = _rows(workbook, "乡镇对比")
    assert sum(Decimal(str(r["差额（B−A）"])) for r in townships) == total
    assert sum(r["支部数"] for r in townships) == 175


def test_compare__is_byte_deterministic(compared, tmp_path):
    _, first = compared
    variant = _above_two_variant(tmp_path)
    done = _starbatch("compare", INBOX, "--rulebook", "R1", "--rulebook", variant, "--period", "2026",
                      "--out", tmp_path / "again")
    assert done.returncode == 0
    assert (tmp_path / "again" / first.name).read_bytes() == first.read_bytes()


def test_compare__other_template__shared_part_only_and_the_rest_named(tmp_path):
    # R2's template has other sheets and columns than R1's: nothing of R1's samples can be rated by R2, and
    # the workbook says which sheets, columns and files were not comparable (exit 1).
    one = tmp_path / "in"
    one.mkdir()
    (one / "01-城关镇.xlsx").write_bytes((INBOX / "01-城关镇.xlsx").read_bytes())
    done = _starbatch("compare", one, "--rulebook", "R1", "--rulebook", "R2", "--period", "2026",
                      "--out", tmp_path / "out")
    assert done.returncode == 1, done.stderr
    notes = _rows(tmp_path / "out" / "评定办法对比_R1_R2_2026.xlsx", "未能比较")
    kinds = {n["类别"] for n in notes}
    assert {"工作表", "列", "文件"} <= kinds
    assert any(n["对象"] == "01-城关镇.xlsx" and "B（R2-ten-star）" in n["说明"] for n in notes)


def test_compare__other_period__files_not_counted(tmp_path):
    one = tmp_path / "in"
    one.mkdir()
    (one / "01-城关镇.xlsx").write_bytes((INBOX / "01-城关镇.xlsx").read_bytes())
    done = _starbatch("compare", one, "--rulebook", "R1", "--rulebook", "R1", "--period", "2025",
                      "--out", tmp_path / "out")
    assert done.returncode == 1
    notes = _rows(tmp_path / "out" / "评定办法对比_R1_R1_2025.xlsx", "未能比较")
    assert [n["说明"] for n in notes] == ["评定期间为 2026，不是 2025，未计入"] * 2


@pytest.mark.parametrize("args, message", [
    (["--rulebook", "R1"], "--rulebook"),
    (["--rulebook", "R1", "--rulebook", "R1", "--period", "2026H3"], "2026H1"),
    (["--rulebook", "R1", "--rulebook", "R9"], "未知的评定办法"),
])
def test_compare__operator_mistakes__exit_2(tmp_path, args, message):
    base = ["--period", "2026"] if "--period" not in args else []
    done = _starbatch("compare", INBOX, *args, *base, "--out", tmp_path)
    assert done.returncode == 2 and message in done.stderr
