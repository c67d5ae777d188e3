"""What the seeds rate beside the branch's stars: R3 member ratings (十星级党员), R5's “五个一” meeting cycle, and
R1's secretary typing — each from real workbooks filled from the templates, with hand-computed expectations."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from processor.extra_sheets import secretary_rows
from processor.fill import fill_template
from processor.paths import TEMPLATE_DIR
from processor.rulebook import load_rulebook
from processor.template import template_file_name

from scoring_helpers import branch, rows_for, score_paths

RURAL = ["宗旨星", "学习星", "法纪星", "致富星", "生态星", "新风星"]  # 002 line 155, 农村党员
OWN = ["带富星", "调解星", "孝老星", "护绿星"]                          # four individual stars (line 157)


def _voted(code: str, name: str, star: str, yes: int, of: int = 30) -> dict:
    return {"branch_code": code, "member_name": name, "star": star, "method": "民主测评",
            "participants": of, "votes_yes": yes}


def _member(code: str, name: str, earned: int) -> list[dict]:
    """A member whose first `earned` of the ten stars pass with 28/30 (93.33% > 90), the rest fail with 27/30."""
    return [_voted(code, name, star, 28 if i < earned else 27) for i, star in enumerate(RURAL + OWN)]


def _r3(tmp_path: Path, members: list[dict], committee: int | None = 6, **info):
    rb = load_rulebook("R3")
    extra = {} if committee is None else {"committee_size": committee}
    rows = rows_for(rb, [branch("V001", branch_type="村党支部", **extra, **info)])
    rows["members"] = members
    path = fill_template(rb, tmp_path / "城关镇.xlsx", {"township": "城关镇", "period": 2026}, rows)
    return score_paths([path])


def _members(scored) -> dict[str, dict]:
    return {m["name"]: m for m in scored["V001"].extras["members"]}


def test_r3_member__exactly_90_percent__does_not_earn_the_star(tmp_path):
    # Line 167: 民主测评高于90%的，方可获得该颗星. 27 of 30 = 90.00%: not above 90 → not earned; 28/30 = 93.33% → earned.
    rows = _member("V001", "王明", 10)
    rows[0]["votes_yes"] = 27
    scored = _r3(tmp_path, rows)
    m = _members(scored)["王明"]
    assert "宗旨星" not in m["earned"] and m["stars"] == 9
    assert "宗旨星：民主测评赞成率 90%（27/30）未高于 90%" in m["reasons"]
    assert "学习星：民主测评赞成率 93.33%（28/30）高于 90%" in m["reasons"]


def test_r3_member__lists_by_stars__10_commended_8_priority_7_rectified(tmp_path):
    # Line 179: 十星 → 奖励; “八星”级以上 → 优先; “七星级”以下 → 整顿、处置 (read as ≤ 7, see the rulebook).
    rows = _member("V001", "甲", 10) + _member("V001", "乙", 8) + _member("V001", "丙", 7)
    m = _members(_r3(tmp_path, rows))
    assert (m["甲"]["stars"], m["乙"]["stars"], m["丙"]["stars"]) == (10, 8, 7)
    assert m["甲"]["lists"] == ["commendation", "priority"]
    assert m["乙"]["lists"] == ["priority"]
    assert m["丙"]["lists"] == ["rectification"]


def test_r3_member__goal_90_percent_at_ten_stars_per_organisation(tmp_path):
    # Line 125: 力争使全镇90%以上的党员达到“十星”标准. 2 of 3 members at ten stars = 66.67% < 90 → not met.
    rows = _member("V001", "甲", 10) + _member("V001", "乙", 10) + _member("V001", "丙", 9)
    goal = _r3(tmp_path, rows)["V001"].extras["member_goal"]
    assert goal == {"members": 3, "at_goal": 2, "share": "66.67", "goal": "90", "met": False}


def test_r3_member__daily_management__only_for_the_stars_that_allow_it(tmp_path):
    # Line 167: 法纪星 etc. may be set from daily management without a vote; 宗旨星 may not.
    rows = _member("V001", "王明", 10)
    rows[2] = {"branch_code": "V001", "member_name": "王明", "star": "法纪星", "method": "日常管理", "daily_ok": "是"}
    rows[0] = {"branch_code": "V001", "member_name": "王明", "star": "宗旨星", "method": "日常管理", "daily_ok": "是"}
    m = _members(_r3(tmp_path, rows))["王明"]
    assert "法纪星" in m["earned"] and "宗旨星" not in m["earned"] and m["stars"] == 9


def test_r3_member__committee_outside_5_to_7__warned(tmp_path):
    scored = _r3(tmp_path, _member("V001", "王明", 10), committee=4)
    [warning] = [p for p in scored.problems("SCO_005") if "评审委员会" in p.message]
    assert "4 人" in warning.message and "5～7 人" in warning.message and warning.sheet == "支部信息"


def test_r3_template__has_the_member_sheet_and_the_committee_column():
    book = openpyxl.load_workbook(TEMPLATE_DIR / template_file_name(load_rulebook("R3")))
    assert "党员评星" in book.sheetnames
    assert "评审委员会人数" in [c.value for c in book["支部信息"][1]]


# --- R5 “五个一” (002 line 491) ----------------------------------------------------------------

def _r5(tmp_path: Path, meetings: list[dict], standard_met: bool = True):
    rb = load_rulebook("R5")
    b = branch("E001", items={} if standard_met else {"org_life.three_meetings.self": 0})
    rows = rows_for(rb, [b])
    rows["meetings"] = meetings
    path = fill_template(rb, tmp_path / "城关镇.xlsx", {"township": "城关镇", "period": 2026}, rows)
    return score_paths([path])


def _all_kept_but(skip_month: int | None = None, skip_quarter: int | None = None) -> list[dict]:
    rows = []
    for month in range(1, 13):
        for kind in ("党小组会", "支部委员会会议"):
            if not (kind == "支部委员会会议" and month == skip_month):
                rows.append({"branch_code": "E001", "date": dt.date(2026, month, 10), "kind": kind})
    for quarter in range(1, 5):
        for kind in ("支部党员大会", "党课"):
            if not (kind == "党课" and quarter == skip_quarter):
                rows.append({"branch_code": "E001", "date": dt.date(2026, 3 * quarter - 1, 20), "kind": kind})
    rows.append({"branch_code": "E001", "date": dt.date(2026, 7, 1), "kind": "书记讲党课"})
    return rows


def test_r5_meetings__every_cycle_kept__no_finding(tmp_path):
    scored = _r5(tmp_path, _all_kept_but())
    assert not [p for p in scored.problems("SCO_004") if "五个一" in p.message]
    assert all(f["missing"] == [] for f in scored["E001"].extras["meetings"])


def test_r5_meetings__missing_month_and_quarter_named(tmp_path):
    # No 支部委员会会议 in May, no 党课 in the third quarter; the standard 认真落实“三会一课”制度 is scored as met.
    scored = _r5(tmp_path, _all_kept_but(skip_month=5, skip_quarter=3))
    [finding] = [p for p in scored.problems("SCO_004") if "五个一" in p.message]
    assert "支部委员会会议缺5月" in finding.message and "党课缺第3季度" in finding.message
    assert "认真落实“三会一课”制度" in finding.message and "与会议记录不符" in finding.message
    by_kind = {f["kind"]: f for f in scored["E001"].extras["meetings"]}
    assert by_kind["支部委员会会议"] == {"kind": "支部委员会会议", "every": "month", "held": 11, "missing": ["5月"]}


def test_r5_meetings__gap_and_standard_not_claimed__only_the_gap(tmp_path):
    scored = _r5(tmp_path, _all_kept_but(skip_month=5), standard_met=False)
    [finding] = [p for p in scored.problems("SCO_004") if "五个一" in p.message]
    assert "与会议记录不符" not in finding.message


# --- R1 secretary typing (000 lines 325–327) ---------------------------------------------------

def test_r1_secretary_types__listed_by_type__problem_type_in_rectification(tmp_path):
    rb = load_rulebook("R1")
    branches = [branch("C001", secretary_type="问题型"), branch("C002", secretary_type="引领型"),
                branch("C003", secretary_type="守摊型"), branch("C004")]
    path = fill_template(rb, tmp_path / "城关镇.xlsx", {"township": "城关镇", "period": 2026}, rows_for(rb, branches))
    scored = score_paths([path])
    rows = secretary_rows(rb, scored.branches)
    assert [(r[1], r[2], r[5]) for r in rows] == [("引领型", "C002", ""), ("守摊型", "C003", ""),
                                                  ("问题型", "C001", "是（一村一策）")]
    assert scored["C004"].extras["secretary_type"] is None


@pytest.mark.parametrize("rulebook, sheet", [("R1", None), ("R2", None)])
def test_templates_without_the_keys__unchanged_sheets(rulebook, sheet):
    book = openpyxl.load_workbook(TEMPLATE_DIR / template_file_name(load_rulebook(rulebook)))
    assert "党员评星" not in book.sheetnames and "会议记录" not in book.sheetnames
