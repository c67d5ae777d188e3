"""R1 获嘉县“五星”: scoring by hand from RULES.md R1 and 000_556207f0cb65ca56.txt lines 307-319.

Every branch here is written into a real township workbook (fill_template), validated clean and
scored by score_files. Stars not under test get full marks (100 base, no events), so they are earned.
"""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from processor.rulebook import Rulebook

from scoring_helpers import (assert_reason, branch, county, earned, event, reasons_by_rule, rulebook, score_paths,
                             unit, write)

RB = rulebook("R1")
SEED = "000_556207f0cb65ca56.txt"
ALL_STARS = ["party_building", "civility", "peace", "industry", "beautiful_village"]
# Names as the 否决事项 dropdown shows them (rulebook vetoes, lines 311-313).
OPINION = "发生重大舆情或因宗教等敏感问题被市级以上通报问责"          # 乡风文明星
PETITIONS = "同一问题赴县集访2次以上、赴市集访1次或个访2次以上、赴省以上集访个访非访"  # 平安和谐星
CRIME = "出现命案、重大刑事案件或被上级挂牌督办"                        # 平安和谐星
CRIMINAL = "“两委”成员受到刑事处罚"                                     # 基层党建星


def civility_bonus(points, count=None):
    return event("乡风文明星加分", points=points, count=count)


def civility_deduction(points, count=None):
    return event("乡风文明星扣分", points=points, count=count)


# --- a star: base >= 75 AND total >= 85 ------------------------------------------------------
# 000_556207f0cb65ca56.txt line 311: 只有基础分值达到75分以上、总体分值达到85分以上，才能取得评选资格
# (“以上” includes the number). Total = base + bonus − deduction. Star under test: 乡风文明星
# (items 25+25+25+25); the other four stars have 100 and are earned, so earned → 5 stars, not → 4.
STAR_CASES = [
    # id, civility base, events, earned, the deciding figures in the reason
    pytest.param("HJ-01", 75, [civility_bonus(10)], True,
                 ["基础分 75 ≥ 75", "总分 85 ≥ 85", "总分 85 = 基础分 75 + 加分 10 − 扣分 0"],
                 id="base_exactly_75_total_exactly_85__earned"),             # 75 + 10 − 0 = 85
    pytest.param("HJ-02", 74.5, [civility_bonus(10.5)], False, ["基础分 74.5 < 75"],
                 id="base_74.5_total_85__not_earned"),                      # 74.5 + 10.5 = 85, base short
    pytest.param("HJ-03", 74, [civility_bonus(20)], False, ["基础分 74 < 75"],
                 id="base_74_total_94__not_earned"),                        # 74 + 20 = 94, base short
    pytest.param("HJ-04", 80, [civility_bonus(5), civility_deduction(0.5)], False,
                 ["总分 84.5 < 85", "总分 84.5 = 基础分 80 + 加分 5 − 扣分 0.5"],
                 id="base_80_total_84.5__not_earned"),                      # 80 + 5 − 0.5 = 84.5
    pytest.param("HJ-05", 90, [civility_deduction(5)], True, ["基础分 90 ≥ 75", "总分 85 ≥ 85"],
                 id="base_90_deduction_5_total_exactly_85__earned"),        # 90 − 5 = 85
    pytest.param("HJ-06", 84.5, [], False, ["总分 84.5 < 85"],
                 id="base_84.5_no_events_total_84.5__not_earned"),
    pytest.param("HJ-07", 85, [], True, ["基础分 85 ≥ 75", "总分 85 ≥ 85"],
                 id="base_85_no_events__earned"),
    pytest.param("HJ-08", 75, [civility_bonus(4), civility_bonus(6)], True, ["总分 85 ≥ 85"],
                 id="two_bonus_rows_add_up__earned"),                       # 75 + 4 + 6 = 85
    pytest.param("HJ-09", 75, [civility_bonus(5, count=2)], True, ["总分 85 ≥ 85", "加分 10"],
                 id="bonus_5_points_times_2__earned"),                      # 75 + 5 × 2 = 85
    pytest.param("HJ-10", 75, [civility_bonus(9.5)], False, ["总分 84.5 < 85"],
                 id="base_exactly_75_total_84.5__not_earned"),              # 75 + 9.5 = 84.5
]


@pytest.fixture(scope="module")
def star_county(tmp_path_factory):
    branches = [branch(p.values[0], scores={"civility": p.values[1]}, events=p.values[2]) for p in STAR_CASES]
    return county(RB, tmp_path_factory.mktemp("r1_stars"), branches)


@pytest.mark.parametrize("code, base, events, is_earned, figures", STAR_CASES)
def test_r1_star__base_75_and_total_85(star_county, code, base, events, is_earned, figures):
    b = star_county[code]
    star = unit(b, "civility")
    assert star.base == Decimal(str(base))
    assert star.earned is is_earned
    assert b.rating == (5 if is_earned else 4)
    assert_reason(b, "R1.units.civility.earn", "得星" if is_earned else "未得星", *figures,
                  source=f"{SEED} 第311行")


def test_r1_star__each_rulebook_words_its_own_verdict_for_the_same_figures(tmp_path):
    # Line 311: 基础分值达到75分以上、总体分值达到85分以上 (“以上” includes the number). Equal figures are worded once per
    # unit of a rulebook: a county's own copy with a stricter bar (基础分 80) scoring the same branch in the same
    # process must still say its own verdict. Base 78 + bonus 10 = total 88: R1 earns (78 ≥ 75, 88 ≥ 85); the copy
    # does not (78 < 80). Written as 78 and as 78.0 (a clerk's integer and a float cell), the wording is the same.
    strict_data = copy.deepcopy(RB.data)
    civility = next(u for u in strict_data["units"] if u["id"] == "civility")
    civility["earn"]["all"][0]["value"] = 80
    strict = Rulebook(data=strict_data, path=RB.path)
    same = [branch("HJ-31", scores={"civility": 78}, events=[civility_bonus(10)]),
            branch("HJ-32", scores={"civility": 78.0}, events=[civility_bonus(10)])]
    first = county(RB, tmp_path / "r1", same)
    second = score_paths([write(strict, tmp_path / "strict.xlsx", same)], strict)
    again = county(RB, tmp_path / "r1_again", same)
    for scored in (first, again):
        for code in ("HJ-31", "HJ-32"):
            assert unit(scored[code], "civility").earned is True
            assert_reason(scored[code], "R1.units.civility.earn", "得星", "基础分 78 ≥ 75", "总分 88 ≥ 85",
                          "总分 88 = 基础分 78 + 加分 10 − 扣分 0", source=f"{SEED} 第311行")
    for code in ("HJ-31", "HJ-32"):
        assert unit(second[code], "civility").earned is False
        assert_reason(second[code], "R1.units.civility.earn", "未得星", "基础分 78 < 80")


def test_r1_star__reason_points_at_the_score_and_event_cells(star_county):
    # HJ-01 is row 2 of 评分 and its bonus is row 2 of 加扣分事项 (事项类型 in column B).
    reason = reasons_by_rule(star_county["HJ-01"], "R1.units.civility.earn")[0]
    assert "加扣分事项!B2" in reason.cells
    assert all(c.startswith("评分!") and c.endswith("2") for c in reason.cells if c.startswith("评分"))
    assert len([c for c in reason.cells if c.startswith("评分!")]) == 4  # the four 乡风文明星 items


# --- vetoes remove only their own star ---------------------------------------------------------
# line 311: 存在“底线标准”所列内容，则意味着失去该星的评选资格; vetoes per star lines 311-313.

def test_r1_veto__row_on_civility__removes_only_civility(tmp_path):
    b = county(RB, tmp_path, [branch("HJ-01", vetoes=[OPINION])])["HJ-01"]
    # all five stars score 100; the veto takes 乡风文明星 only → 4 stars, 基层党建星 kept, no 1+4 cap
    assert earned(b) == ["party_building", "peace", "industry", "beautiful_village"]
    assert b.rating == 4
    assert_reason(b, "R1.units.civility.earn", "未得星", "基础分 100 ≥ 75", "总分 100 ≥ 85", OPINION)
    assert_reason(b, "R1.vetoes.major_opinion_incident", "一票否决", "取消乡风文明星评选资格",
                  source=f"{SEED} 第313行")
    assert reasons_by_rule(b, "R1.vetoes.major_opinion_incident")[0].cells == ["否决事项!B2"]


def test_r1_veto__two_rows_on_peace__still_only_peace_lost(tmp_path):
    b = county(RB, tmp_path, [branch("HJ-01", vetoes=[PETITIONS, CRIME])])["HJ-01"]
    assert earned(b) == ["party_building", "civility", "industry", "beautiful_village"]  # 5 − 1 = 4
    assert b.rating == 4
    assert_reason(b, "R1.vetoes.petitions", "取消平安和谐星评选资格", source=f"{SEED} 第313行")
    assert_reason(b, "R1.vetoes.serious_crime", "取消平安和谐星评选资格", source=f"{SEED} 第313行")


def test_r1_veto__not_one_shoulder__removes_party_building_then_1_plus_4_caps_at_2(tmp_path):
    # line 311: 未实现村党支部书记、村委会主任“一肩挑” vetoes 基层党建星; 书记兼村委会主任 = 否.
    # 4 stars remain but none is 基层党建星 → line 307 “1+4” → capped at 2.
    b = county(RB, tmp_path, [branch("HJ-01", secretary_is_head="否")])["HJ-01"]
    assert earned(b) == ["civility", "peace", "industry", "beautiful_village"]
    assert b.rating == 2
    assert_reason(b, "R1.vetoes.not_one_shoulder", "未实现书记、主任“一肩挑”", "取消基层党建星评选资格",
                  source=f"{SEED} 第311行")
    assert reasons_by_rule(b, "R1.vetoes.not_one_shoulder")[0].cells == ["支部信息!G2"]  # 书记兼村委会主任
    assert_reason(b, "R1.adjustments.one_plus_four", "由4星调整为2星", source=f"{SEED} 第307行")


def test_r1_veto__on_party_building_row__same_as_one_shoulder(tmp_path):
    b = county(RB, tmp_path, [branch("HJ-01", vetoes=[CRIMINAL])])["HJ-01"]
    assert "party_building" not in earned(b)
    assert b.rating == 2  # 4 stars without 基层党建星 → cap 2 (line 307)
    assert_reason(b, "R1.vetoes.committee_criminal", "取消基层党建星评选资格")


def test_r1_veto__secretary_is_head__no_veto(tmp_path):
    b = county(RB, tmp_path, [branch("HJ-01", secretary_is_head="是")])["HJ-01"]
    assert b.rating == 5 and earned(b) == ALL_STARS
    assert not [r for r in b.reasons if r.rule.startswith("R1.vetoes")]


# --- “1+4” (line 307: “三星”党支部中必须有一颗“基层党建星”; cap 2 is the rulebook's reading) ---------
ONE_PLUS_FOUR = [
    # id, self-scores (unit → base; others 100), stars earned before the cap, rating after
    pytest.param("HJ-01", {"party_building": 70}, 4, 2, "由4星调整为2星", id="four_stars_without_party_building__capped_at_2"),
    pytest.param("HJ-02", {"party_building": 70, "civility": 70}, 3, 2, "由3星调整为2星",
                 id="three_stars_without_party_building__capped_at_2"),
    pytest.param("HJ-03", {"party_building": 70, "civility": 70, "peace": 70}, 2, 2, None,
                 id="two_stars_without_party_building__unchanged"),
    pytest.param("HJ-04", {"industry": 70, "beautiful_village": 70}, 3, 3, None,
                 id="three_stars_with_party_building__kept"),
]


@pytest.fixture(scope="module")
def one_plus_four_county(tmp_path_factory):
    return county(RB, tmp_path_factory.mktemp("r1_1plus4"),
                  [branch(p.values[0], scores=p.values[1]) for p in ONE_PLUS_FOUR])


@pytest.mark.parametrize("code, scores, stars, rating, change", ONE_PLUS_FOUR)
def test_r1_one_plus_four(one_plus_four_county, code, scores, stars, rating, change):
    b = one_plus_four_county[code]
    assert len(earned(b)) == stars
    assert b.rating == rating
    caps = reasons_by_rule(b, "R1.adjustments.one_plus_four")
    if change:
        assert_reason(b, "R1.adjustments.one_plus_four", change, "基层党建星 0", source=f"{SEED} 第307行")
    else:
        assert caps == []  # a cap at or above the rating changes nothing and says nothing


# --- township review over self-score (line 315: 村级申报 → 乡镇推荐) ---------------------------------
REVIEW_CASES = [
    # id, civility self, civility review, base used, earned (no events: total = base, needs >= 85)
    pytest.param("HJ-01", 100, 70, 70, False, id="review_70_over_self_100__not_earned"),
    pytest.param("HJ-02", 70, 85, 85, True, id="review_85_over_self_70__earned"),   # 85 >= 75, 85 >= 85
    pytest.param("HJ-03", 85, None, 85, True, id="review_blank__self_85_used__earned"),
]


@pytest.fixture(scope="module")
def review_county(tmp_path_factory):
    branches = [branch(p.values[0], scores={"civility": p.values[1]},
                       review={} if p.values[2] is None else {"civility": p.values[2]}) for p in REVIEW_CASES]
    return county(RB, tmp_path_factory.mktemp("r1_review"), branches)


@pytest.mark.parametrize("code, own, review, used, is_earned", REVIEW_CASES)
def test_r1_review_score_over_self_score(review_county, code, own, review, used, is_earned):
    star = unit(review_county[code], "civility")
    assert star.base == used
    assert star.earned is is_earned
    assert (star.used_review, star.used_self) == ((4, 0) if review is not None else (0, 4))
    assert_reason(review_county[code], "R1.units.civility.earn", f"基础分 {used}")


def test_r1_review_on_some_items__review_where_given_self_elsewhere(tmp_path):
    # 乡风文明星 self 25+25+25+25; review only on 意识形态学习 = 10 → base 10 + 25 + 25 + 25 = 85.
    b = county(RB, tmp_path, [branch("HJ-01", items={"civility.ideology_study.review": 10})])["HJ-01"]
    star = unit(b, "civility")
    assert (star.base, star.used_review, star.used_self, star.earned) == (85, 1, 3, True)
    assert "乡镇评审分 1 项、自评分" in b.score_source


def test_r1_review_gap__over_10__warns_SCO_001_at_the_review_cell(tmp_path):
    # 乡风文明星 items: 意识形态学习 self 25 / review 14 → gap 11 > 10 (setting review_gap_warning: 10);
    # 思想道德建设 self 25 / review 15 → gap exactly 10, not “超过” → no warning.
    s = county(RB, tmp_path, [branch("HJ-01", items={"civility.ideology_study.review": 14,
                                                     "civility.moral_building.review": 15})])
    warnings = s.problems("SCO_001")
    assert len(warnings) == 1
    w = warnings[0]
    assert (w.severity, w.sheet, w.field, w.value) == ("warning", "评分", "乡风文明星｜意识形态学习", "25")
    assert w.cell == "P2"  # the review cell of 意识形态学习 on row 2
    assert "14" in w.message and "10" in w.message
    star = unit(s["HJ-01"], "civility")
    assert star.base == 14 + 15 + 25 + 25  # = 79: review where given
    assert star.earned is False  # base 79 >= 75 but total 79 < 85 (line 311)


# --- outcomes and lists by rating (lines 315, 319; qualified = 2 stars and up is a setting) --------
# Stars earned by giving 100 to the first k stars and 0 to the rest (party building first, so
# “1+4” never caps).
def first_k_stars(k: int) -> dict[str, int]:
    return {u: (100 if i < k else 0) for i, u in enumerate(ALL_STARS)}


LIST_CASES = [
    # stars, qualified, lists (rulebook order: notice, rectification, honours, honours_high, spot_check)
    pytest.param(0, False, ["rectification"], id="0_stars__rectification"),           # line 319: 一星及以下 整顿
    # Changed on purpose (issue 11 item 5): line 315 公示 is for every “星级” branch, one star and up.
    pytest.param(1, False, ["notice", "rectification", "spot_check"], id="1_star__notice_rectification_and_spot_check"),
    pytest.param(2, True, ["notice", "spot_check"], id="2_stars__notice_and_spot_check"),  # line 315: 抽查一星二星
    pytest.param(3, True, ["notice", "honours"], id="3_stars__notice_and_honours"),  # line 315 公示, 319 四个优先
    pytest.param(4, True, ["notice", "honours", "honours_high"], id="4_stars__high_honours"),  # line 319 四星五星
    pytest.param(5, True, ["notice", "honours", "honours_high"], id="5_stars__high_honours"),
]


@pytest.fixture(scope="module")
def list_county(tmp_path_factory):
    return county(RB, tmp_path_factory.mktemp("r1_lists"),
                  [branch(f"HJ-{p.values[0]}S", scores=first_k_stars(p.values[0])) for p in LIST_CASES])


@pytest.mark.parametrize("stars, qualified, lists", LIST_CASES)
def test_r1_lists_by_rating(list_county, stars, qualified, lists):
    b = list_county[f"HJ-{stars}S"]
    assert b.rating == stars
    assert b.qualified is qualified
    assert b.lists == lists
    assert_reason(b, "R1.outcomes.qualified", f"星级 {stars} {'≥' if qualified else '<'} 2")
    if "rectification" in lists:
        assert_reason(b, "R1.outcomes.rectification", "后进村整顿名单", source=f"{SEED} 第319行")
    if "spot_check" in lists:
        assert_reason(b, "R1.outcomes.spot_check", "抽查候选", source=f"{SEED} 第315行")
    if "notice" in lists:
        assert_reason(b, "R1.outcomes.notice", "公示名单", source=f"{SEED} 第315行")


def test_r1_outcomes__a_county_condition_on_a_fact_is_decided_branch_by_branch(tmp_path):
    # R1 does not define “合格” (its qualified_source says so; two stars and up is the setting). A county's own copy
    # also asks 党员人数 ≥ 20, and lists the branches that are not qualified (a list naming the figure “qualified”).
    # Three branches with five stars (every star at full marks, lines 309-311): the outcome follows each one's own
    # member count, the second's 12 deciding it alone (when a condition of “all” fails, only the failing part is
    # the reason), and the third, after it, is qualified again like the first.
    own_data = copy.deepcopy(RB.data)
    own_data["outcomes"]["qualified"] = {"all": [own_data["outcomes"]["qualified"],
                                                 {"figure": "fact.member_count", "op": ">=", "value": 20,
                                                  "label": "党员人数"}]}
    own_data["outcomes"]["lists"].append({"id": "unqualified", "name": "不合格名单",
                                          "when": {"figure": "qualified", "op": "<=", "value": 0, "label": "合格"}})
    own = Rulebook(data=own_data, path=RB.path)
    members = {"HJ-51": 30, "HJ-52": 12, "HJ-53": 30}
    scored = score_paths([write(own, tmp_path / "own.xlsx", [branch(code, member_count=n)
                                                             for code, n in members.items()])], own)
    for code, qualified in (("HJ-51", True), ("HJ-52", False), ("HJ-53", True)):
        b = scored[code]
        assert b.rating == 5
        assert b.qualified is qualified
        # Line 315: 公示 every “星级” branch; line 319: 四星五星 get the honours.
        assert b.lists == ["notice", "honours", "honours_high"] + ([] if qualified else ["unqualified"])
        if qualified:
            assert_reason(b, "R1.outcomes.qualified", "合格：星级 5 ≥ 2，党员人数 30 ≥ 20")
        else:
            assert_reason(b, "R1.outcomes.qualified", "不合格：党员人数 12 < 20")
            assert_reason(b, "R1.outcomes.unqualified", "列入不合格名单")
