"""Cadres who change role or leave during the year (issue 11 item 1), paid by hand-computed amounts.

000_556207f0cb65ca56.txt line 319: 村“两委”干部现有报酬的30%作为绩效。“一星”党支部……发放30%的50%，“二星”……
30%的100%。……“三星”及以上党支部实施奖励，每创一星党支部书记每月奖励300元，其他村“两委”干部每月奖励200元。
Line 327: 在这次“两委”换届中，能主动让贤的，继续担任其他两委职务的，任职期间我们将保持原工作报酬标准不变。

The 村干部 sheet has one row per person per role: a cadre in one role all year fills 姓名/职务/月报酬/在岗月数
as before; a change in the year is a row per role with 起始月/截止月. 让贤保留月报酬 holds the kept level.
Workbooks are the committed R1 template filled by header text (tests/readings_helpers.py).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from processor.pay import compute_payments
from processor.pipeline import score_files
from processor.problems import ERROR
from processor.rulebook import load_rulebook
from processor.validate import validate_file
from readings_helpers import cadre, fill_by_header, r1_branch, score_row

D = Decimal
R1 = load_rulebook("R1")
THREE = ["party_building", "peace", "civility"]   # 基层党建星 among them ("1+4", line 307) → 3 stars
ONE = ["peace"]                                    # 1 star

# CG-001 (3 stars): 王建国 was 书记 January–June at 3000/month; at the July 换届 he stepped aside (主动让贤) and
# stays as 委员 at the 委员 pay of 2000, keeping his former level 3000 (line 327). 李明 is 书记 from July at 2800.
# 赵芳 is 委员 all year at 2000 and fills exactly what she filled before (no month columns).
# CG-002 (1 star): 张三 was 书记 January–June at 2555.55 and left; 陈四 is 书记 July–December at 2600.
CADRES = [
    cadre("CG-001", "王建国", "书记", 3000, 6, 1, 6),
    cadre("CG-001", "王建国", "委员", 2000, 6, 7, 12, kept=3000),
    cadre("CG-001", "李明", "书记", 2800, 6, 7),          # 截止月 blank: to December
    cadre("CG-001", "赵芳", "委员", 2000, 12),
    cadre("CG-002", "张三", "书记", 2555.55, 6, 1, 6),
    cadre("CG-002", "陈四", "书记", 2600, 6, 7, 12),
]


def workbook(folder: Path, cadres: list[dict]) -> Path:
    return fill_by_header(R1, folder / "城关镇.xlsx", "城关镇", {
        "支部信息": [r1_branch("CG-001"), r1_branch("CG-002")],
        "评分": [score_row(R1, "CG-001", THREE), score_row(R1, "CG-002", ONE)],
        "村干部": cadres,
    })


@pytest.fixture(scope="module")
def paid(tmp_path_factory: pytest.TempPathFactory):
    path = workbook(tmp_path_factory.mktemp("change"), CADRES)
    report = score_files([path], R1)
    (sub,) = report.submissions
    assert sub.accepted, [(p.code, p.cell, p.message) for p in sub.problems if p.severity == ERROR]
    (group,) = report.groups
    ratings = {b.branch_code: b.rating for b in group.county.branches}
    assert ratings == {"CG-001": 3, "CG-002": 1}
    return compute_payments(R1, [sub], group.county.branches)


def amounts(paid, code: str, rule: str) -> list[tuple[str, str, Decimal]]:
    return [(l.payee, l.role, l.amount) for l in paid.lines if l.branch_code == code and l.rule_id == rule]


def test_secretary_change_in_july__performance_per_person_from_own_months_and_pay(paid) -> None:
    # 3 stars → 30% × 100% (line 319):
    #   王建国 书记 1–6月:            3000.00 × 6 × 30% = 5400.00
    #   王建国 委员 7–12月, 让贤保留 3000: 3000.00 × 6 × 30% = 5400.00 (not 2000 × 6 × 30% = 3600.00; line 327)
    #   李明   书记 7–12月:           2800.00 × 6 × 30% = 5040.00
    #   赵芳   委员 全年:             2000.00 × 12 × 30% = 7200.00
    assert amounts(paid, "CG-001", "performance") == [
        ("王建国", "书记", D("5400.00")), ("李明", "书记", D("5040.00")),
        ("王建国", "委员", D("5400.00")), ("赵芳", "委员", D("7200.00"))]
    # 1 star → 30% × 50%:
    #   张三 2555.55 × 6 = 15333.30; × 30% = 4599.99; × 50% = 2299.995 → 2300.00 (half up, once)
    #   陈四 2600.00 × 6 = 15600.00; × 30% = 4680.00; × 50% = 2340.00
    assert amounts(paid, "CG-002", "performance") == [("张三", "书记", D("2300.00")), ("陈四", "书记", D("2340.00"))]


def test_secretary_change_in_july__star_reward_by_the_role_held_each_month(paid) -> None:
    # 3 stars, per star per month: 书记 300, other 两委 200 (line 319), by the role held in those months:
    #   王建国 书记 1–6月: 300 × 3 × 6 = 5400.00;  委员 7–12月: 200 × 3 × 6 = 3600.00 (the kept level is pay, not reward)
    #   李明   书记 7–12月: 300 × 3 × 6 = 5400.00;  赵芳 委员 全年: 200 × 3 × 12 = 7200.00
    assert amounts(paid, "CG-001", "star_reward") == [
        ("王建国", "书记", D("5400.00")), ("李明", "书记", D("5400.00")),
        ("王建国", "委员", D("3600.00")), ("赵芳", "委员", D("7200.00"))]
    assert amounts(paid, "CG-002", "star_reward") == []   # 1 star: no reward below 3 stars
    # 王建国 in all: 5400 + 5400 + 5400 + 3600 = 19800.00
    assert sum(l.amount for l in paid.lines if l.payee == "王建国") == D("19800.00")


def test_kept_level__the_payment_line_says_why(paid) -> None:
    (line,) = [l for l in paid.lines if l.payee == "王建国" and l.role == "委员" and l.rule_id == "performance"]
    assert "主动让贤保留原报酬 3000.00 × 6 个月（7—12月任委员）" in line.basis
    assert any("第327行" in note and "2000.00" in note for note in line.notes)
    assert any(cell.startswith("村干部!H") for cell in line.cells)   # the kept level's cell


def _problems(folder: Path, cadres: list[dict]) -> list[tuple[str, str, str]]:
    sub = validate_file(workbook(folder, cadres))
    return [(p.code, p.sheet, p.cell) for p in sub.problems if p.severity == ERROR]


def test_secretaries_overlapping_in_june__error_at_the_second_ones_start_month(tmp_path: Path) -> None:
    # 张三 书记 1–6, 陈四 书记 6–12: June has two secretaries → 13 secretary-months in a 12-month year.
    rows = CADRES[:4] + [cadre("CG-002", "张三", "书记", 2555.55, 6, 1, 6), cadre("CG-002", "陈四", "书记", 2600, 7, 6, 12)]
    assert _problems(tmp_path, rows) == [("REF_005", "村干部", "F7")]


def test_two_secretaries_without_months__overlap_all_year(tmp_path: Path) -> None:
    rows = CADRES[:4] + [cadre("CG-002", "张三", "书记", 2555.55, 6), cadre("CG-002", "陈四", "书记", 2600, 6)]
    assert _problems(tmp_path, rows) == [("REF_005", "村干部", "C7")]


def test_months_beyond_the_span__error_at_the_months_cell(tmp_path: Path) -> None:
    rows = CADRES[:5] + [cadre("CG-002", "陈四", "书记", 2600, 7, 7, 12)]   # July–December is 6 months
    assert _problems(tmp_path, rows) == [("REF_016", "村干部", "E7")]


def test_start_after_end__error_at_the_end_month(tmp_path: Path) -> None:
    rows = CADRES[:5] + [cadre("CG-002", "陈四", "书记", 2600, 6, 12, 7)]
    assert _problems(tmp_path, rows) == [("REF_015", "村干部", "G7")]


def test_one_person_in_two_roles_at_once__error(tmp_path: Path) -> None:
    rows = [cadre("CG-001", "王建国", "书记", 3000, 6, 1, 6), cadre("CG-001", "王建国", "委员", 2000, 7, 6, 12),
            *CADRES[2:]]
    assert _problems(tmp_path, rows) == [("REF_017", "村干部", "F3")]


def test_kept_level_on_a_secretary_row__error_at_its_cell(tmp_path: Path) -> None:
    rows = [cadre("CG-001", "王建国", "书记", 3000, 6, 1, 6, kept=3500), *CADRES[1:]]
    assert _problems(tmp_path, rows) == [("REF_018", "村干部", "H2")]


def test_cadre_in_one_role_all_year__fills_exactly_the_five_old_columns() -> None:
    from processor.sheets import sheets_for
    (sheet,) = [s for s in sheets_for(R1) if s.key == "cadres"]
    assert [f.title for f in sheet.fields if f.required] == ["支部编码", "姓名", "职务", "月报酬（元）", "在岗月数"]
