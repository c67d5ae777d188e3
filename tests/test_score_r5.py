"""R5 中国移动“六好”党支部: scoring by hand from RULES.md R5 and 002_2fd0b28a4b55ec79.txt lines 457-491.

Six dimensions 20/15/15/15/15/20 (line 477, = 100); each standard is all-or-nothing (line 477
“达成目标得分，不达成不得分”); a dimension's points are split equally over its standards (setting):
班子建设好 4 × 5, 党员管理好 5 × 3, 组织生活好 4 × 3.75, 制度落实好 6 × 2.5, 基础工作好 3 × 5,
作用发挥好 6.67 + 6.67 + 6.66. Grades 优秀/良好/基本合格/不合格 by a forced distribution (line 483),
shares 20/40/30/10 (setting).
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from processor.sheets import SELF, score_field_id
from processor.validate import validate_file
from scoring_helpers import assert_reason, branch, county, rulebook, unit, write

RB = rulebook("R5")
SEED = "002_2fd0b28a4b55ec79.txt"
DIMENSIONS = ["team", "member_management", "org_life", "systems", "groundwork", "role"]


# --- all-or-nothing standards add up to the dimension ----------------------------------------------
def test_r5_all_standards_met__each_dimension_full__score_100(tmp_path):
    b = county(RB, tmp_path, [branch("R5-01")])["R5-01"]  # every standard met
    totals = {u.id: u.total for u in b.units}
    assert totals == {
        "team": 4 * 5,                       # 20
        "member_management": 5 * 3,          # 15
        "org_life": 4 * Decimal("3.75"),     # 15
        "systems": 6 * Decimal("2.5"),       # 15
        "groundwork": 3 * 5,                 # 15
        "role": Decimal("6.67") + Decimal("6.67") + Decimal("6.66"),  # 20
    }
    assert b.score == 100  # 20 + 15 + 15 + 15 + 15 + 20
    assert_reason(b, "R5.units.role", "作用发挥好：基础分 20", "得分 20", source=f"{SEED} 第479行")


@pytest.mark.parametrize("dimension, met, standards", [
    # the first k standards met, the rest not: the dimension is the sum of the met standards
    pytest.param("team", "15", "5 + 5 + 5 + 0", id="team_3_of_4__15"),
    pytest.param("org_life", "7.5", "3.75 + 3.75 + 0 + 0", id="org_life_2_of_4__7.5"),
    pytest.param("systems", "12.5", "2.5 × 5 + 0", id="systems_5_of_6__12.5"),
    pytest.param("role", "13.34", "6.67 + 6.67 + 0", id="role_2_of_3__13.34"),
    pytest.param("role", "0", "0 + 0 + 0", id="role_none__0"),
])
def test_r5_dimension__sum_of_standards_met(tmp_path, dimension, met, standards):
    b = county(RB, tmp_path, [branch("R5-01", scores={dimension: met})])["R5-01"]
    assert unit(b, dimension).total == Decimal(met)
    full = {"team": 20, "member_management": 15, "org_life": 15, "systems": 15, "groundwork": 15, "role": 20}
    assert b.score == 100 - full[dimension] + Decimal(met)  # the other five dimensions are full
    assert_reason(b, f"R5.units.{dimension}", f"得分 {met}", source=SEED)


def test_r5_standard_half_met__refused_by_the_template(tmp_path):
    # line 477: 达成目标得分，不达成不得分 — 2.5 of a 5-point standard is neither, the file is refused.
    field = score_field_id("team", "sound_committee", SELF)
    path = write(RB, tmp_path / "城关镇.xlsx", [branch("R5-01", items={field: 2.5})])
    sub = validate_file(path)
    assert not sub.accepted
    assert [(p.sheet, p.cell) for p in sub.problems if p.severity == "error"] == [("评分", "C2")]


# --- forced distribution over 10 branches (line 483; shares 20/40/30/10 a setting) ----------------
# Line 483: each 基层党委 grades its own branches (all ten here in one). Cut points: cumulative share × 10 =
# 2, 6, 9, 10 → places 1-2 优秀, 3-6 良好, 7-9 基本合格, 10 不合格. Scores by hand (100 minus the standards
# missed); R5-B and R5-C tie at 97.5 across the 优秀/良好 cut: equal scores get equal grades, the tie goes to the
# better grade (both 优秀) and 良好 shrinks to places 4-6.
GRADES = [
    # code, dimension totals (others full), score, rank, grade, rating, qualified, lists
    ("R5-A", {}, "100", 1, "优秀", 4, True, ["commendation"]),
    ("R5-B", {"systems": 12.5}, "97.5", 2, "优秀", 4, True, ["commendation"]),           # 100 − 2.5
    ("R5-C", {"systems": 12.5}, "97.5", 3, "优秀", 4, True, ["commendation"]),           # tie: same grade
    ("R5-D", {"team": 15}, "95", 4, "良好", 3, True, []),                                # 100 − 5
    ("R5-G", {"member_management": 9}, "94", 5, "良好", 3, True, []),                    # 100 − 3 − 3
    ("R5-E", {"role": 13.34}, "93.34", 6, "良好", 3, True, []),                          # 100 − 6.66
    ("R5-F", {"groundwork": 10, "systems": 12.5}, "92.5", 7, "基本合格", 2, True, []),    # 100 − 5 − 2.5
    ("R5-H", {"team": 10, "role": 13.34}, "83.34", 8, "基本合格", 2, True, []),           # 100 − 10 − 6.66
    ("R5-J", {"team": 0, "member_management": 0}, "65", 9, "基本合格", 2, True, []),     # 100 − 20 − 15
    ("R5-I", {d: 0 for d in DIMENSIONS if d != "groundwork"}, "15", 10, "不合格", 1, False,
     ["rectification"]),                                                                   # only 基础工作好 15
]


@pytest.fixture(scope="module")
def grade_county(tmp_path_factory):
    return county(RB, tmp_path_factory.mktemp("r5_grades"), [branch(g[0], scores=g[1]) for g in GRADES])


@pytest.mark.parametrize("code, dims, score, rank, grade, rating, qualified, lists", GRADES,
                         ids=[f"{g[0]}_{g[2]}__rank_{g[3]}__{g[4]}" for g in GRADES])
def test_r5_forced_distribution_of_10(grade_county, code, dims, score, rank, grade, rating, qualified, lists):
    b = grade_county[code]
    assert b.score == Decimal(score)
    assert (b.grade, b.rating, b.qualified, b.lists) == (grade, rating, qualified, lists)
    assert_reason(b, "R5.rating.grades", f"综合得分 {score}，第一基层党委所属 10 个支部中排第 {rank} 名",
                  "优秀20%、良好40%、基本合格30%、不合格10%", f"评为{grade}", source=f"{SEED} 第483行")


def test_r5_forced_distribution__counts_per_grade(grade_county):
    counts = {}
    for b in grade_county.branches:
        counts[b.grade] = counts.get(b.grade, 0) + 1
    assert counts == {"优秀": 3, "良好": 3, "基本合格": 3, "不合格": 1}  # 2+1 tied, 4−1, 3, 1


def test_r5_grades_within_each_committee__one_committees_best_is_优秀_though_others_score_higher(tmp_path):
    # 002_2fd0b28a4b55ec79.txt line 483: 所在基层党委……对所属党支部进行量化考评……划分等级. Two committees of 5:
    # cut points × 5 = 1, 3, 4.5 → 5 (half up), 5 → place 1 优秀, 2-3 良好, 4-5 基本合格.
    # 甲党委 scores 100, 97.5, 95, 94, 93.34; 乙党委 83.34, 65, 15, … — 乙's best (83.34) is 优秀 although it is
    # below every branch of 甲, whose 94 and 93.34 are 基本合格.
    first = [branch(f"JA-{n}", scores=dims, parent_committee="甲党委") for n, dims in
             enumerate([{}, {"systems": 12.5}, {"team": 15}, {"member_management": 9}, {"role": 13.34}])]
    second = [branch(f"YI-{n}", scores=dims, parent_committee="乙党委") for n, dims in
              enumerate([{"team": 10, "role": 13.34}, {"team": 0, "member_management": 0},
                         {d: 0 for d in DIMENSIONS if d != "groundwork"},
                         {d: 0 for d in DIMENSIONS if d != "groundwork"},
                         {d: 0 for d in DIMENSIONS if d != "groundwork"}])]
    result = county(RB, tmp_path, first + second)
    assert [result[f"JA-{n}"].grade for n in range(5)] == ["优秀", "良好", "良好", "基本合格", "基本合格"]
    assert result["YI-0"].grade == "优秀" and result["YI-1"].grade == "良好"
    # YI-2, YI-3, YI-4 tie at 15 from place 3 (良好): all three 良好, nothing left for 基本合格 in 乙.
    assert [result[f"YI-{n}"].grade for n in (2, 3, 4)] == ["良好", "良好", "良好"]
    assert "乙党委所属 5 个支部中排第 1 名" in result["YI-0"].reasons[-1].text or any(
        "乙党委所属 5 个支部中排第 1 名" in r.text for r in result["YI-0"].reasons)
