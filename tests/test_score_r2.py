"""R2 十星级基层党支部: scoring by hand from RULES.md R2 and 002_2fd0b28a4b55ec79.txt lines 199-317.

A star is earned when its score is at least 80% of that star's total (line 309 “80%以上”, inclusive);
rating = stars earned (line 199); 5 stars and up is qualified, fewer is 软弱涣散 and rectified (line 309).
"""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from processor.rulebook import Rulebook
from scoring_helpers import assert_reason, branch, county, earned, rulebook, score_paths, unit, write

RB = rulebook("R2")
SEED = "002_2fd0b28a4b55ec79.txt"
# The ten stars in rulebook order; every one is 10 points except 增收致富星 (items 2+2+2+2 = 8, line 269-277).
STARS = [u["id"] for u in RB.units]


# --- a star at 80% of its total ----------------------------------------------------------------
STAR_CASES = [
    # id, unit, score, earned, reason figure       hand arithmetic: share = score × 100 / total
    pytest.param("SX-01", "stability", 8, True, "得分率 80.0% ≥ 80.0%", id="stability_8_of_10_is_80pct__earned"),
    pytest.param("SX-02", "stability", 7.9, False, "得分率 79.0% < 80.0%", id="stability_7.9_of_10_is_79pct__not_earned"),
    pytest.param("SX-03", "stability", 7.5, False, "得分率 75.0% < 80.0%", id="stability_7.5_of_10__not_earned"),
    pytest.param("SX-04", "integrity", 8, True, "得分率 80.0% ≥ 80.0%", id="integrity_8_of_10__earned"),
    # 增收致富星 is scored against 8 (the rulebook's default): 6.4 × 100 / 8 = 80; 6 × 100 / 8 = 75
    pytest.param("SX-05", "prosperity", 6.4, True, "得分率 80.0% ≥ 80.0%", id="prosperity_6.4_of_8_is_80pct__earned"),
    pytest.param("SX-06", "prosperity", 6, False, "得分率 75.0% < 80.0%", id="prosperity_6_of_8_is_75pct__not_earned"),
    pytest.param("SX-07", "prosperity", 8, True, "得分率 100.0% ≥ 80.0%", id="prosperity_8_of_8__earned"),
]


@pytest.fixture(scope="module")
def star_county(tmp_path_factory):
    return county(RB, tmp_path_factory.mktemp("r2_stars"),
                  [branch(p.values[0], scores={p.values[1]: p.values[2]}) for p in STAR_CASES])


@pytest.mark.parametrize("code, unit_id, score, is_earned, figure", STAR_CASES)
def test_r2_star__80_percent_of_its_total(star_county, code, unit_id, score, is_earned, figure):
    b = star_county[code]
    star = unit(b, unit_id)
    assert star.total == Decimal(str(score))
    assert star.max == (8 if unit_id == "prosperity" else 10)
    assert star.earned is is_earned
    # the other nine stars have full marks
    assert b.rating == (10 if is_earned else 9)
    assert_reason(b, f"R2.units.{unit_id}.earn", "得星" if is_earned else "未得星", figure,
                  source=f"{SEED} 第309行")


def test_r2_prosperity__county_reads_line_309_literally__scored_against_10(tmp_path):
    # The rulebook's setting: a county that sets `max: 10` on 增收致富星 (line 309 “原则上每个星级赋分10分”)
    # needs 8 points: 6.4 × 100 / 10 = 64% → not earned; 8 × 100 / 10 = 80% → earned.
    data = copy.deepcopy(RB.data)
    next(u for u in data["units"] if u["id"] == "prosperity")["max"] = 10
    literal = Rulebook(data=data, path=RB.path)
    path = write(literal, tmp_path / "城关镇.xlsx", [branch("SX-01", scores={"prosperity": 6.4}),
                                                     branch("SX-02", scores={"prosperity": 8})])
    s = score_paths([path], literal)
    assert unit(s["SX-01"], "prosperity").earned is False
    assert_reason(s["SX-01"], "R2.units.prosperity.earn", "得分率 64.0% < 80.0%")
    assert unit(s["SX-02"], "prosperity").earned is True
    assert_reason(s["SX-02"], "R2.units.prosperity.earn", "得分率 80.0% ≥ 80.0%")


# --- rating, qualified and lists -----------------------------------------------------------------
# k stars: the first k stars get full marks, the rest 0.
def first_k(k: int) -> dict[str, int]:
    return {u: ("max" if i < k else 0) for i, u in enumerate(STARS)}


QUALIFIED_CASES = [
    # stars, qualified, lists        line 309: 五星级以上的(含五星级)为合格，五星级以下的为不合格……整顿
    pytest.param(5, True, ["notice"], id="exactly_5_stars__qualified"),
    pytest.param(4, False, ["notice", "rectification"], id="4_stars__not_qualified__rectification"),
    pytest.param(10, True, ["notice"], id="10_stars__qualified"),
    pytest.param(0, False, ["rectification"], id="0_stars__no_notice__rectification"),  # line 317: 拟授星的 公示
]


@pytest.fixture(scope="module")
def qualified_county(tmp_path_factory):
    return county(RB, tmp_path_factory.mktemp("r2_qualified"),
                  [branch(f"SX-{p.values[0]:02d}", scores=first_k(p.values[0])) for p in QUALIFIED_CASES])


@pytest.mark.parametrize("stars, qualified, lists", QUALIFIED_CASES)
def test_r2_qualified_at_5_stars(qualified_county, stars, qualified, lists):
    b = qualified_county[f"SX-{stars:02d}"]
    assert len(earned(b)) == stars
    assert b.rating == stars
    assert b.qualified is qualified
    assert b.lists == lists
    assert_reason(b, "R2.outcomes.qualified", "合格" if qualified else "不合格",
                  f"星级 {stars} {'≥' if qualified else '<'} 5", source=f"{SEED} 第309行")
    assert_reason(b, "R2.rating", f"得星 {stars} 颗", source=f"{SEED} 第199行")
    if "rectification" in lists:
        assert_reason(b, "R2.outcomes.rectification", "软弱涣散基层党组织整顿名单", source=f"{SEED} 第309行")


def test_r2_rating_counts_the_stars_earned__mixed(tmp_path):
    # 维护稳定星 8/10 (80%, earned), 民族团结星 7/10 (70%, not), 增收致富星 6.4/8 (80%, earned),
    # 村容整洁星 7.9/10 (79%, not), 廉洁自律星 0 (not); the other five full → 5 + 2 = 7 stars.
    b = county(RB, tmp_path, [branch("SX-01", scores={"stability": 8, "ethnic_unity": 7, "prosperity": 6.4,
                                                      "tidy_village": 7.9, "integrity": 0})])["SX-01"]
    assert sorted(set(STARS) - set(earned(b))) == ["ethnic_unity", "integrity", "tidy_village"]
    assert b.rating == 7 and b.qualified is True
