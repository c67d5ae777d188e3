"""One wrong value per test, reported with its code at its sheet and A1 cell.

Layout of the R1 template (row 2 = branch CG-001, row 3 = CG-002):
  支部信息  A 乡镇 · B 支部编码 · C 支部名称 · D 村（社区） · E 支部类型 · F 党员人数 · G 书记兼村委会主任 ·
           H 上次换届日期 · I 延期换届已获批准 · J 村集体经济收入（元） · K 70周岁以上老人数 · L 后备干部人数 ·
           M 目标考核得分
  评分      A 支部编码 · B 支部名称 · C 基层党建星｜书记能力｜自评 (max 20) · D …｜乡镇评审 · E 班子作用发挥｜自评 …
  加扣分事项 A 支部编码 · B 事项类型 · C 次数或人数 · D 分值 · E 日期 · F 说明
  村干部    A 支部编码 · B 姓名 · C 职务 · D 月报酬（元） · E 在岗月数   (rows 2-3 CG-001, row 4 CG-002)
"""
from __future__ import annotations

import zipfile
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.read import sheet_xml_paths
from processor.validate import _beyond_cents, validate_file
from support import BRANCHES, CADRES, EVENTS, SCORES, VETOES, places, r1, rezip, score_row

ABILITY_SELF = "party_building.secretary_ability.self"
ABILITY_REVIEW = "party_building.secretary_ability.review"


def _only(sub) -> tuple[str, str, str, str]:
    """The single problem of a submission that was valid but for one change."""
    assert len(sub.problems) == 1, [(p.code, p.sheet, p.cell) for p in sub.problems]
    p = sub.problems[0]
    return p.code, p.sheet, p.cell, p.value


# (sheet key, row index, field, bad value) -> (code, sheet, cell, value as reported)
ONE_BAD_CELL = {
    "required_branch_name_blank": (("branches", 1, "branch_name", None), ("VAL_001", BRANCHES, "C3", "")),
    "required_months_blank": (("cadres", 2, "months", None), ("VAL_001", CADRES, "E4", "")),
    "money_not_a_number": (("branches", 0, "collective_income", "十五万"), ("VAL_002", BRANCHES, "J2", "十五万")),
    "score_not_a_number": (("scores", 1, ABILITY_REVIEW, "良好"), ("VAL_002", SCORES, "D3", "良好")),
    "members_not_whole": (("branches", 0, "member_count", 35.5), ("VAL_003", BRANCHES, "F2", "35.5")),
    "members_below_one": (("branches", 1, "member_count", 0), ("VAL_004", BRANCHES, "F3", "0")),
    "pay_negative": (("cadres", 0, "monthly_pay", -100), ("VAL_004", CADRES, "D2", "-100")),
    "score_above_item_max": (("scores", 0, ABILITY_SELF, 25), ("VAL_005", SCORES, "C2", "25")),
    "months_13": (("cadres", 1, "months", 13), ("VAL_005", CADRES, "E3", "13")),
    "branch_type_not_an_option": (("branches", 1, "branch_type", "社区党支部"),
                                  ("VAL_006", BRANCHES, "E3", "社区党支部")),
    "role_not_an_option": (("cadres", 1, "role", "会计"), ("VAL_006", CADRES, "C3", "会计")),
    "event_kind_not_an_option": (("events", 0, "event_kind", "其他加分"), ("VAL_006", EVENTS, "B2", "其他加分")),
    "date_in_words": (("branches", 0, "last_reelection", "前年三月"), ("VAL_007", BRANCHES, "H2", "前年三月")),
    "date_as_a_number_that_is_no_day": (("branches", 0, "last_reelection", -1), ("VAL_007", BRANCHES, "H2", "-1")),
    "nan_typed_as_money": (("cadres", 0, "monthly_pay", "NaN"), ("VAL_002", CADRES, "D2", "NaN")),
    "infinity_typed_as_score": (("scores", 0, ABILITY_SELF, "Infinity"), ("VAL_002", SCORES, "C2", "Infinity")),
    "date_that_does_not_exist": (("branches", 0, "last_reelection", "2026-02-30"),
                                 ("VAL_007", BRANCHES, "H2", "2026-02-30")),
    "money_with_3_decimals": (("cadres", 0, "monthly_pay", 2400.125), ("VAL_008", CADRES, "D2", "2400.125")),
    "name_too_long": (("cadres", 2, "name", "张" * 31), ("VAL_008", CADRES, "B4", "张" * 31)),
}


@pytest.mark.parametrize("change, expected", ONE_BAD_CELL.values(), ids=ONE_BAD_CELL.keys())
def test_one_bad_cell__reported_with_its_code_at_its_cell(r1_workbook, rows, change, expected):
    key, index, field, value = change
    if value is None:
        del rows[key][index][field]
    else:
        rows[key][index][field] = value
    sub = validate_file(r1_workbook(rows))
    assert _only(sub) == expected
    assert not sub.accepted


def test_score_above_item_max__reported_at_its_cell__with_the_max(r1_workbook, rows):
    rows["scores"][1]["industry.collective_income.review"] = 36  # max 35
    sub = validate_file(r1_workbook(rows))
    [p] = sub.problems
    column = next(c for c, f in _score_columns(sub).items() if f == "industry.collective_income.review")
    assert (p.code, p.sheet, p.cell, p.field) == ("VAL_005", SCORES, f"{column}3", "产业发展星｜集体经济增收｜乡镇评审")
    assert "35" in p.message


def _score_columns(sub) -> dict[str, str]:
    return {cell.rstrip("0123456789"): fid for fid, cell in sub.records["scores"][0].cells.items()}


def test_several_bad_cells_in_one_row__each_reported_at_its_own_cell(r1_workbook, rows):
    rows["cadres"][1].update(role="主任", monthly_pay="两千", months=-1)
    sub = validate_file(r1_workbook(rows))
    assert places(sub) == {("VAL_006", CADRES, "C3"), ("VAL_002", CADRES, "D3"), ("VAL_004", CADRES, "E3")}


def test_branch_code_breaking_the_pattern__reported_at_each_cell_it_is_written(r1_workbook, rows):
    for key in ("branches", "scores", "events"):
        rows[key][0]["branch_code"] = "CG 001!"
    for cadre in rows["cadres"][:2]:
        cadre["branch_code"] = "CG 001!"
    sub = validate_file(r1_workbook(rows))
    assert places(sub) == {("VAL_008", BRANCHES, "B2"), ("VAL_008", SCORES, "A2"), ("VAL_008", EVENTS, "A2"),
                           ("VAL_008", CADRES, "A2"), ("VAL_008", CADRES, "A3")}


@pytest.mark.parametrize("stored", [b"NaN", b"inf", b"-inf", b"1e400"])
def test_number_cell_holding_nan_or_infinity__reported_at_its_cell(tmp_path, r1_workbook, stored):
    """What a broken exporter may write into <v>: never a number to compute with, never a crash."""
    path = r1_workbook()
    entry = sheet_xml_paths(path)[CADRES]
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(entry)
    assert xml.count(b"<v>2400</v>") == 1 and xml.count(b"<v>12</v>") == 3
    xml = xml.replace(b"<v>2400</v>", b"<v>" + stored + b"</v>").replace(b"<v>12</v>", b"<v>" + stored + b"</v>", 1)
    sub = validate_file(rezip(path, tmp_path / "nan.xlsx", replace={entry: xml}))
    assert {(p.code, p.sheet, p.cell) for p in sub.problems if p.code in ("VAL_002", "VAL_003")} == \
        {("VAL_002", CADRES, "D2"), ("VAL_003", CADRES, "E2")}
    assert not sub.accepted


def test_absurdly_large_money_and_count__reported_at_their_cells(r1_workbook, rows):
    rows["branches"][1]["collective_income"] = -5.75e96
    rows["cadres"][1]["months"] = 1e300
    sub = validate_file(r1_workbook(rows))
    assert places(sub) == {("VAL_004", BRANCHES, "J3"), ("VAL_005", CADRES, "E3")}


# --- across sheets -----------------------------------------------------------------------------

def test_cadre_of_unknown_branch__reported_at_its_code_cell(r1_workbook, rows):
    rows["cadres"][1]["branch_code"] = "CG-999"
    assert _only(validate_file(r1_workbook(rows))) == ("REF_001", CADRES, "A3", "CG-999")


def test_score_row_of_unknown_branch__reported_at_its_code_cell(r1_workbook, rows):
    rows["scores"].append(score_row(r1(), "CG-003"))
    assert _only(validate_file(r1_workbook(rows))) == ("REF_001", SCORES, "A4", "CG-003")


def test_veto_of_unknown_branch__reported_at_its_code_cell(r1_workbook, rows):
    rows["vetoes"] = [{"branch_code": "CG-404", "veto": "“两委”成员受到刑事处罚"}]
    assert _only(validate_file(r1_workbook(rows))) == ("REF_001", VETOES, "A2", "CG-404")


def test_branch_code_registered_twice__reported_at_the_second(r1_workbook, rows):
    twin = dict(rows["branches"][0], branch_name="大王庄村第二党支部")
    rows["branches"].append(twin)
    sub = validate_file(r1_workbook(rows))
    [dup] = [p for p in sub.problems if p.code == "REF_002"]
    assert (dup.sheet, dup.cell, dup.value) == (BRANCHES, "B4", "CG-001")
    assert "B2" in dup.message


def test_branch_of_another_township__reported_at_its_township_cell(r1_workbook, rows):
    rows["branches"][1]["township"] = "太山镇"
    assert _only(validate_file(r1_workbook(rows))) == ("REF_003", BRANCHES, "A3", "太山镇")


def test_branch_without_secretary__reported_at_the_branch(r1_workbook, rows):
    rows["cadres"][2]["role"] = "村委会主任"
    assert _only(validate_file(r1_workbook(rows))) == ("REF_004", BRANCHES, "B3", "CG-002")


def test_two_secretaries_all_year__reported_at_the_second_one(r1_workbook, rows):
    # Changed on purpose (issue 11): two secretaries are fine in sequence; two for the whole year overlap,
    # reported at the second one's 职务 cell, naming the first.
    rows["cadres"][1]["role"] = "书记"
    sub = validate_file(r1_workbook(rows))
    assert _only(sub) == ("REF_005", "村干部", "C3", "CG-001")
    assert "村干部!C2" in sub.problems[0].message


def test_branch_scored_twice__reported_at_the_second_score_row(r1_workbook, rows):
    rows["scores"].append(dict(rows["scores"][1]))
    sub = validate_file(r1_workbook(rows))
    assert _only(sub) == ("REF_009", SCORES, "A4", "CG-002")
    assert "A3" in sub.problems[0].message


def test_branch_without_score_row__reported_at_the_branch(r1_workbook, rows):
    del rows["scores"][1]
    assert _only(validate_file(r1_workbook(rows))) == ("REF_012", BRANCHES, "B3", "CG-002")


def test_event_needing_points_without_points__reported_at_the_points_cell(r1_workbook, rows):
    del rows["events"][0]["points"]
    sub = validate_file(r1_workbook(rows))
    assert _only(sub) == ("REF_013", EVENTS, "D2", "基层党建星加分")
    assert sub.problems[0].field == "分值"


def test_item_with_neither_self_nor_review_score__reported_at_the_self_cell(r1_workbook, rows):
    del rows["scores"][1][ABILITY_SELF]
    del rows["scores"][1][ABILITY_REVIEW]
    sub = validate_file(r1_workbook(rows))
    assert _only(sub) == ("REF_014", SCORES, "C3", "")
    assert sub.problems[0].field == "基层党建星｜书记能力｜自评"


def test_item_with_only_review_score__accepted(r1_workbook, rows):
    del rows["scores"][1][ABILITY_SELF]
    assert validate_file(r1_workbook(rows)).problems == []


def test_bad_score__no_second_problem_for_the_missing_score(r1_workbook, rows):
    rows["scores"][1][ABILITY_SELF] = "优秀"
    del rows["scores"][1][ABILITY_REVIEW]
    assert _only(validate_file(r1_workbook(rows))) == ("VAL_002", SCORES, "C3", "优秀")


def test_problems_come_in_reading_order(r1_workbook, rows):
    rows["branches"][1]["member_count"] = 0
    rows["branches"][0]["collective_income"] = "很多"
    rows["cadres"][2]["months"] = 13
    rows["cadres"][0]["months"] = 14
    sub = validate_file(r1_workbook(rows))
    assert [(p.sheet, p.cell) for p in sub.problems] == [(BRANCHES, "J2"), (BRANCHES, "F3"),
                                                          (CADRES, "E2"), (CADRES, "E4")]


def test_many_bad_cells__first_100_per_code_at_their_cells__then_one_line_with_how_many_more(tmp_path):
    """A sheet of 400 cadres typed wrong in two columns: a readable receipt, never 800 lines (limits.py)."""
    from processor.limits import LIMITS
    from support import valid_r1_rows, write_r1

    rows = valid_r1_rows()
    first = rows["cadres"][0]
    rows["cadres"] = [dict(first, months="全年", name=f"干部{i}") for i in range(400)]
    sub = validate_file(write_r1(tmp_path / "many.xlsx", rows))
    listed = [p for p in sub.problems if p.code == "VAL_003"]
    more = [p for p in sub.problems if p.code == "RUN_006" and "VAL_003" in p.message]
    assert len(listed) == LIMITS.max_problems_per_code == 100
    assert listed[0].sheet == "村干部" and listed[0].cell.endswith("2")
    assert len(more) == 1 and more[0].value == "300" and "“村干部”" in more[0].message


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.decimals(allow_nan=True, allow_infinity=True),
                 st.decimals(places=3, min_value=-10**9, max_value=10**9),
                 st.builds(lambda whole, places: Decimal(f"{whole}.{'0' * places}"), st.integers(-10**30, 10**30),
                           st.integers(0, 6))))
def test_money_with_more_than_two_decimals__told_from_its_value_not_its_written_zeros(value):
    # VAL_008 "金额最多保留两位小数": 2086.61 and 2086.6100 are both fine (the zeros say nothing), 2400.125 is not.
    # The check reads the number's text first; this is what it must always agree with.
    exponent = value.normalize().as_tuple().exponent if value.is_finite() else 0
    assert _beyond_cents(value) == (isinstance(exponent, int) and exponent < -2)
