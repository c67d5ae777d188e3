"""R3 “双十星”十星级党组织: scoring by hand from RULES.md R3 and 002_2fd0b28a4b55ec79.txt lines 113-181.

A voted star needs a democratic evaluation ABOVE 90% (line 167 “高于90%”, strictly greater);
法纪星 is set directly from daily management (line 167, item 日常管理认定 1/0); below 7 stars is
rectified (line 179); the bottom 3 villages of the town's target assessment cannot be ten-star (line 179).
"""
from __future__ import annotations

import pytest

from scoring_helpers import (assert_reason, branch, county, earned, reasons_by_rule, rulebook, score_paths,
                             unit, vote, write)

RB = rulebook("R3")
SEED = "002_2fd0b28a4b55ec79.txt"
VILLAGE = "村党支部"
# A village's ten stars (line 155 common stars for 农村 + four 个性星, line 157); all but 法纪星 are voted.
VILLAGE_STARS = ["study", "law", "org_life", "position", "ecology", "poverty",
                 "personal_1", "personal_2", "personal_3", "personal_4"]
VOTED = [u for u in VILLAGE_STARS if u != "law"]


def votes(yes: int = 28, of: int = 30, **per_star: tuple[int, int]) -> list[dict]:
    """One 民主测评 row per voted star: yes/of (28/30 = 93.3% by default); per_star overrides, None drops."""
    rows = []
    for star in VOTED:
        pair = per_star.get(star, (yes, of))
        if pair is not None:
            rows.append(vote(RB.unit_by_id[star]["name"], pair[1], pair[1], pair[0]))
    return rows


def village(code: str, *, law: int = 1, **kw) -> "branch":
    return branch(code, items={"law.daily_management.self": law}, **kw)


# --- vote share strictly above 90% ---------------------------------------------------------------
VOTE_CASES = [
    # id, 学习星 yes/participants, earned, reason      share = yes × 100 / participants
    pytest.param("SS-01", (27, 30), False, "民主测评满意率 90.0% 未高于 90.0%", id="27_of_30_is_exactly_90pct__not_earned"),
    pytest.param("SS-02", (28, 30), True, "民主测评满意率 93.3% > 90.0%", id="28_of_30_is_93.3pct__earned"),
    pytest.param("SS-03", (91, 100), True, "民主测评满意率 91.0% > 90.0%", id="91_of_100__earned"),
    pytest.param("SS-04", (90, 100), False, "民主测评满意率 90.0% 未高于 90.0%", id="90_of_100__not_earned"),
    pytest.param("SS-05", (5, 7), False, "民主测评满意率 71.4% 未高于 90.0%", id="5_of_7_committee__not_earned"),
    pytest.param("SS-06", None, False, "民主测评满意率未填写", id="no_vote_row__not_earned"),
]


@pytest.fixture(scope="module")
def vote_county(tmp_path_factory):
    return county(RB, tmp_path_factory.mktemp("r3_votes"),
                  [village(p.values[0], votes=votes(study=p.values[1])) for p in VOTE_CASES])


@pytest.mark.parametrize("code, study_vote, is_earned, figure", VOTE_CASES)
def test_r3_star__vote_share_strictly_above_90(vote_county, code, study_vote, is_earned, figure):
    b = vote_county[code]
    assert unit(b, "study").earned is is_earned
    # the other nine stars: eight votes at 28/30 and 法纪星 认定 → all earned
    assert b.rating == (10 if is_earned else 9)
    assert_reason(b, "R3.units.study.earn", "得星" if is_earned else "未得星", figure, source=f"{SEED} 第167行")


# --- 法纪星 set directly from daily management, no vote (line 167) --------------------------------
@pytest.mark.parametrize("law, is_earned, figure", [
    pytest.param(1, True, "日常管理认定 1 ≥ 1", id="law_star_set__earned_without_a_vote"),
    pytest.param(0, False, "日常管理认定 0 < 1", id="law_star_not_set__not_earned"),
])
def test_r3_law_star__set_directly(tmp_path, law, is_earned, figure):
    b = county(RB, tmp_path, [village("SS-01", law=law, votes=votes())])["SS-01"]
    star = unit(b, "law")
    assert star.vote_share is None  # no 民主测评 for 法纪星
    assert star.earned is is_earned
    assert b.rating == (10 if is_earned else 9)
    assert_reason(b, "R3.units.law.earn", figure, source=f"{SEED} 第167行")


# --- qualified / rectification below 7 (line 179: 对“七星级”以下基层党组织……整顿) ------------------------
RECTIFY_CASES = [
    # id, stars not earned (votes 27/30 = 90%, not above), rating, qualified, lists
    # Changed on purpose (issue 11 item 4): “七星级以下” includes seven (the other side is “八星级以上”).
    pytest.param("SS-08", ["study", "org_life"], 8, True, ["notice"], id="8_stars__qualified"),
    pytest.param("SS-07", ["study", "org_life", "position"], 7, False, ["notice", "rectification"],
                 id="7_stars__rectification"),
    pytest.param("SS-06", ["study", "org_life", "position", "ecology"], 6, False, ["notice", "rectification"],
                 id="6_stars__rectification"),
    pytest.param("SS-10", [], 10, True, ["notice", "commendation"], id="10_stars__commendation"),
]


@pytest.fixture(scope="module")
def rectify_county(tmp_path_factory):
    branches = [village(p.values[0], votes=votes(**{s: (27, 30) for s in p.values[1]}),
                        target_assessment_score=99) for p in RECTIFY_CASES]
    # three more villages at the bottom of the target assessment take the exclusion (they are not under test)
    branches += [village(f"SS-B{i}", votes=votes(), target_assessment_score=50 + i) for i in range(3)]
    return county(RB, tmp_path_factory.mktemp("r3_rectify"), branches)


@pytest.mark.parametrize("code, missed, rating, qualified, lists", RECTIFY_CASES)
def test_r3_rectification_below_7_stars(rectify_county, code, missed, rating, qualified, lists):
    b = rectify_county[code]
    assert sorted(set(VILLAGE_STARS) - set(earned(b))) == sorted(missed)
    assert b.rating == rating  # 10 − len(missed)
    assert b.qualified is qualified
    assert b.lists == lists
    if "rectification" in lists:
        assert_reason(b, "R3.outcomes.rectification", "七星级以下党组织整顿名单", source=f"{SEED} 第179行")
    if "commendation" in lists:
        assert_reason(b, "R3.outcomes.commendation", "十星级党组织奖励名单", source=f"{SEED} 第179行")


# --- the bottom 3 villages by 目标考核得分 cannot be ten-star (line 179) --------------------------------
EXCLUSION = [
    # code, 目标考核得分, rating      ascending: 70 (1st from bottom), 75 (2nd), 85 SS-C (3rd, tie on
    # 85 decided by branch code: SS-C before SS-D), then 85 SS-D, 95 SS-E → not in the bottom 3.
    ("SS-A", 75, 9), ("SS-B", 70, 9), ("SS-C", 85, 9), ("SS-D", 85, 10), ("SS-E", 95, 10),
]


@pytest.fixture(scope="module")
def exclusion_county(tmp_path_factory):
    branches = [village(code, votes=votes(), target_assessment_score=score) for code, score, _ in EXCLUSION]
    # an organ branch with the lowest score is not a village: not in the villages' ranking
    branches.append(branch("SS-JG", branch_type="机关党支部", votes=[], items={}, target_assessment_score=10))
    return county(RB, tmp_path_factory.mktemp("r3_exclusion"), branches, default_score="max")


@pytest.mark.parametrize("code, score, rating", EXCLUSION)
def test_r3_exclusion__bottom_3_villages_capped_below_ten(exclusion_county, code, score, rating):
    b = exclusion_county[code]
    assert len(earned(b)) == 10  # every village earned all ten stars before the exclusion
    assert b.rating == rating
    caps = reasons_by_rule(b, "R3.county.0.exclude_bottom")
    if rating == 9:
        bottom_place = {"SS-B": 1, "SS-A": 2, "SS-C": 3}[code]
        assert_reason(b, "R3.county.0.exclude_bottom", f"目标考核得分 {score}", f"倒数第 {bottom_place}",
                      "同分按支部编码排序", "由10星调整为9星", source=f"{SEED} 第179行")
        assert "commendation" not in b.lists
    else:
        assert caps == []
        assert "commendation" in b.lists


def test_r3_exclusion__ranks_five_villages_not_the_organ(exclusion_county):
    reason = reasons_by_rule(exclusion_county["SS-B"], "R3.county.0.exclude_bottom")[0]
    assert "5 个同类支部" in reason.text
    assert not reasons_by_rule(exclusion_county["SS-JG"], "R3.county.0.exclude_bottom")


def test_r3_exclusion__bottom_3_of_each_town__not_of_the_whole_batch(tmp_path):
    # line 179: 全镇目标考核后3位的村 — the bottom three of ONE town. Two towns, four villages each,
    # all ten stars: 城关镇 95/90/85/80 → 90, 85, 80 capped, 95 keeps ten; 亢村镇 70/65/60/55 → 65, 60, 55
    # capped, 70 keeps ten (ranking the eight together would cap only 亢村镇's 65, 60, 55).
    a = write(RB, tmp_path / "城关镇.xlsx",
              [village(f"CG-{s}", votes=votes(), target_assessment_score=s) for s in (95, 90, 85, 80)], "城关镇")
    b = write(RB, tmp_path / "亢村镇.xlsx",
              [village(f"KC-{s}", votes=votes(), target_assessment_score=s) for s in (70, 65, 60, 55)], "亢村镇")
    s = score_paths([a, b])
    ratings = {x.branch_code: x.rating for x in s.branches}
    assert ratings == {"CG-95": 10, "CG-90": 9, "CG-85": 9, "CG-80": 9,
                       "KC-70": 10, "KC-65": 9, "KC-60": 9, "KC-55": 9}
    assert_reason(s["CG-80"], "R3.county.0.exclude_bottom", "城关镇 4 个同类支部", "倒数第 1")


def test_r3_exclusion__village_without_target_score__warned_SCO_002(tmp_path):
    s = county(RB, tmp_path, [village("SS-01", votes=votes())])
    assert [(p.code, p.branch) for p in s.county.problems] == [("SCO_002", "SS-01")]


def test_r3_town_departments__the_town_committees_own_branch_is_not_one_of_them(tmp_path):
    # line 179: 后2位的镇直部门 — the town's departments (机关党支部). The 镇党委's own organ branch
    # (镇机关党支部) ranks them and is not in the pool (issue 11 item 4), even with the lowest score:
    # departments 20, 30, 40 → 20 and 30 capped at nine; the 镇机关党支部 at 10 keeps its rating.
    def organ_votes(branch_type: str) -> list[dict]:
        voted = [u for u in RB.units if u["id"] != "law" and (not u.get("applies_to") or branch_type in u["applies_to"])]
        return [vote(u["name"], 30, 30, 28) for u in voted]

    organs = [village("ZJ-10", branch_type="镇机关党支部", votes=organ_votes("镇机关党支部"), target_assessment_score=10)]
    organs += [village(f"BM-{s}", branch_type="机关党支部", votes=organ_votes("机关党支部"), target_assessment_score=s)
               for s in (20, 30, 40)]
    s = county(RB, tmp_path, organs, default_score="max")
    top = s["BM-40"].rating
    assert top == 10, "every organ earns all ten stars before the exclusion"
    assert {b.branch_code: b.rating for b in s.branches} == {"ZJ-10": top, "BM-20": min(top, 9), "BM-30": min(top, 9),
                                                            "BM-40": top}
    assert not reasons_by_rule(s["ZJ-10"], "R3.county.1.exclude_bottom")
    assert_reason(s["BM-20"], "R3.county.1.exclude_bottom", "3 个同类支部", "倒数第 1")
