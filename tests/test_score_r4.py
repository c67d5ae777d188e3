"""R4 安阳市直机关百分制: scoring by hand from RULES.md R4 and 002_2fd0b28a4b55ec79.txt lines 319-385.

score = the ten areas (综合评价, 10 × 10 points) + bonuses − deductions − penalty (lines 371, 375);
bands with inclusive lower bounds (line 373); then zero / demote / caps (line 375); then the county's
five-star quota of 10% (line 373). The rating year is 2026 (year end 2026-12-31).
Every county here has at most floor(10% × n) branches at 90 or more unless the test is the quota,
so the quota never interferes with what a test is about.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from scoring_helpers import assert_reason, branch, county, event, reasons_by_rule, rulebook, vote

RB = rulebook("R4")
SEED = "002_2fd0b28a4b55ec79.txt"
COMMENDED = "党组织或书记受表彰、在市以上媒体发表署名文章报道"
INNOVATION = "党组织建设重大创新被上级认可推广"
WORK_COMMITTEE = "受市直工委通报批评"
CITY_COMMITTEE = "受市委通报批评"
LEADER_MINOR = "领导班子成员受严重警告以下处分"
LEADER_MAJOR = "领导班子成员受撤销党内职务以上处分"
MEMBER = "一般党员违法违纪"
ABSENCE = "无故不参加市直工委会议、培训或不按时完成工作任务"


def organ(code: str, score, **kw):
    """An organ branch whose ten areas add up to `score` (each area filled to 10 before the next)."""
    return branch(code, scores={"comprehensive": score}, **kw)


def satisfaction(yes: int, of: int = 100):
    return [vote("整体", of, of, yes)]  # turnout of/of = 100% >= 80% (line 347)


def fillers(n: int, score=50, prefix="AY-Z"):
    """n organs at `score` (50 → one star): they only make the county big enough for the quota."""
    return [organ(f"{prefix}{i:02d}", score) for i in range(n)]


# --- bands (line 373: 90—100 五星 … 50分以下不定星级; lower bounds inclusive, no gaps) ---------------------
BANDS = [
    # id, score, stars, lists
    pytest.param("AY-01", 90, 5, ["notice", "plaque", "honours"], id="90__five_stars"),
    pytest.param("AY-02", 89.5, 4, ["notice"], id="89.5__four_stars"),
    pytest.param("AY-03", 80, 4, ["notice"], id="80__four_stars"),
    pytest.param("AY-04", 79.99, 3, ["notice"], id="79.99__three_stars"),
    pytest.param("AY-05", 70, 3, ["notice"], id="70__three_stars"),
    pytest.param("AY-06", 69.5, 2, ["notice"], id="69.5__two_stars"),
    pytest.param("AY-07", 60, 2, ["notice"], id="60__two_stars"),
    pytest.param("AY-08", 59.99, 1, ["notice", "rectification"], id="59.99__one_star"),
    pytest.param("AY-09", 50, 1, ["notice", "rectification"], id="50__one_star"),
    pytest.param("AY-10", 49.5, 0, ["notice", "rectification"], id="49.5__no_star"),
]


@pytest.fixture(scope="module")
def band_county(tmp_path_factory):
    # 10 organs, one at 90: quota floor(10% × 10) = 1 five-star, so AY-01 keeps it.
    return county(RB, tmp_path_factory.mktemp("r4_bands"), [organ(p.values[0], p.values[1]) for p in BANDS])


@pytest.mark.parametrize("code, score, stars, lists", BANDS)
def test_r4_band_edges(band_county, code, score, stars, lists):
    b = band_county[code]
    assert b.score == Decimal(str(score))
    assert b.rating == stars
    assert b.lists == lists
    assert b.qualified is (stars >= 2)
    shown = "无星" if stars == 0 else f"{stars}星"
    assert_reason(b, "R4.rating", f"综合得分 {score}，按分档评为 {shown}", source=f"{SEED} 第373行")


def test_r4_band_floor__three_of_ten_at_one_star_or_below__guideline_met(band_county):
    # line 373: 一星级以下 “一般不低于” 10%: AY-08, AY-09, AY-10 → 3 of 10 = 30% >= 10% → a note, no warning
    notes = [n.text for n in band_county.county.notes if n.rule == "R4.county.1.floor_warning"]
    assert notes == ["1星及以下 3 个，占 30%，达到指导比例 10%"]
    assert band_county.problems("SCO_002") == []


# --- bonuses and deductions (line 375) -----------------------------------------------------------
EVENTS = [
    # id, base, events, bonus, deduction, score, stars          hand arithmetic
    pytest.param("AY-B1", 70, [event(COMMENDED, level="市级"), event(COMMENDED, level="省级")], 5, 0, 75, 3,
                 id="commended_city_and_province__highest_only_5"),           # max(3, 5) = 5; 70 + 5 = 75
    pytest.param("AY-B2", 70, [event(COMMENDED, level="市级"), event(INNOVATION, level="国家级")], 11, 0, 81, 4,
                 id="commended_city_plus_innovation_nation__3_plus_8"),       # 3 + 8 = 11; 70 + 11 = 81
    pytest.param("AY-B3", 70, [event(INNOVATION, level="市级"), event(INNOVATION, level="省级")], 5, 0, 75, 3,
                 id="innovation_city_and_province__highest_only_5"),          # setting: highest only
    pytest.param("AY-B4", 85, [event(COMMENDED, level="国家级")], 8, 0, 93, 5,
                 id="commended_nation_8__85_becomes_five_stars"),             # 85 + 8 = 93
    pytest.param("AY-D1", 70, [event(LEADER_MINOR, count=2)], 0, 6, 64, 2,
                 id="leader_minor_discipline_2_persons__2x3"),                # 2 × 3 = 6; 70 − 6 = 64
    pytest.param("AY-D2", 70, [event(WORK_COMMITTEE), event(CITY_COMMITTEE)], 0, 8, 62, 2,
                 id="criticism_work_committee_3_plus_city_5"),                # 3 + 5 = 8; 70 − 8 = 62
    pytest.param("AY-D3", 70, [event(LEADER_MAJOR), event(MEMBER, count=3)], 0, 11, 59, 1,
                 id="leader_removed_5_plus_3_members_x2"),                    # 5 + 3 × 2 = 11; 70 − 11 = 59
    pytest.param("AY-D4", 90, [event(WORK_COMMITTEE, count=2)], 0, 6, 84, 4,
                 id="work_committee_2_times_x3__90_becomes_four"),            # 2 × 3 = 6; 90 − 6 = 84
]


@pytest.fixture(scope="module")
def event_county(tmp_path_factory):
    # 8 organs + 2 fillers = 10 → one five-star allowed (AY-B4 is the only one at 90 or more)
    branches = [organ(p.values[0], p.values[1], events=p.values[2]) for p in EVENTS] + fillers(2)
    return county(RB, tmp_path_factory.mktemp("r4_events"), branches)


@pytest.mark.parametrize("code, base, events, bonus, deduction, score, stars", EVENTS)
def test_r4_bonuses_and_deductions(event_county, code, base, events, bonus, deduction, score, stars):
    b = event_county[code]
    assert b.score == score
    assert b.rating == stars
    r = assert_reason(b, "R4.events", f"加分 {bonus}，扣分 {deduction}", source=f"{SEED} 第375行")
    assert r.cells and all(c.startswith("加扣分事项!B") for c in r.cells)


# --- democratic evaluation (line 375: 60%以下扣5分，50%以下不定星级; read as below 60 / below 50) ---------
SATISFACTION = [
    # id, yes of 100, score, stars, deciding reason
    pytest.param("AY-S1", 60, 70, 3, None, id="60pct__no_penalty"),                      # 70 stays 70
    pytest.param("AY-S2", 59, 65, 2, "民主评议满意率 59.0% < 60.0%，扣 5 分", id="59pct__minus_5"),  # 70 − 5
    pytest.param("AY-S3", 50, 65, 2, "民主评议满意率 50.0% < 60.0%，扣 5 分", id="50pct__minus_5_but_rated"),
    pytest.param("AY-S4", 49, 65, 0, "民主评议满意率 49.0% < 60.0%，扣 5 分", id="49pct__no_star"),
]


@pytest.fixture(scope="module")
def satisfaction_county(tmp_path_factory):
    branches = [organ(p.values[0], 70, votes=satisfaction(p.values[1])) for p in SATISFACTION]
    return county(RB, tmp_path_factory.mktemp("r4_satisfaction"), branches)


@pytest.mark.parametrize("code, yes, score, stars, penalty", SATISFACTION)
def test_r4_satisfaction(satisfaction_county, code, yes, score, stars, penalty):
    b = satisfaction_county[code]
    assert b.score == score
    assert b.rating == stars
    if penalty:
        r = assert_reason(b, "R4.penalties.low_satisfaction", penalty, source=f"{SEED} 第375行")
        assert r.cells == ["民主测评!E" + str(int(code[-1]) + 1)]  # the 满意票数 cell of its vote row
    else:
        assert not reasons_by_rule(b, "R4.penalties.low_satisfaction")
    zero = reasons_by_rule(b, "R4.adjustments.satisfaction_below_50")
    if yes < 50:
        assert_reason(b, "R4.adjustments.satisfaction_below_50", "民主评议满意率 49.0% < 50.0%",
                      "由2星调整为无星", source=f"{SEED} 第375行")
        assert "rectification" in b.lists
    else:
        assert zero == []


# --- re-election and absences (line 375) ---------------------------------------------------------
# Term 3 years (setting): due = last re-election + 3 years; overdue = days from due to 2026-12-31.
CAPS = [
    # id, base, branch facts / events, stars, deciding reason (rule, fragment)
    pytest.param("AY-R0", 95, {"last_reelection": dt.date(2023, 12, 31)}, 5, None,
                 id="due_2026_12_31__not_overdue__five"),                    # 0 days overdue
    pytest.param("AY-R1", 95, {"last_reelection": dt.date(2023, 12, 30)}, 4,
                 ("R4.adjustments.reelection_overdue", "超期未换届天数 1 > 0"),
                 id="due_2026_12_30__1_day_overdue__capped_at_4"),
    pytest.param("AY-R2", 95, {"last_reelection": dt.date(2022, 12, 31)}, 4,
                 ("R4.adjustments.reelection_overdue", "超期未换届天数 365 > 0"),
                 id="due_2025_12_31__365_days_is_not_over_a_year__capped_at_4"),
    pytest.param("AY-R3", 95, {"last_reelection": dt.date(2022, 12, 30)}, 3,
                 ("R4.adjustments.reelection_overdue_year", "超期未换届天数 366 > 365"),
                 id="due_2025_12_30__366_days__capped_at_3"),
    pytest.param("AY-R4", 95, {"last_reelection": dt.date(2020, 6, 1), "reelection_postponed_approved": "是"}, 5, None,
                 id="overdue_but_postponement_approved__five"),
    # absences, 3 points each: 100 − 3 × 3 = 91 → 5 → demoted one star → 4 (cap 4 changes nothing)
    pytest.param("AY-A3", 100, {"events": [event(ABSENCE, count=3)]}, 4,
                 ("R4.adjustments.absences_demote", "无故缺席或未完成任务次数 3 ≥ 3，由5星调整为4星"),
                 id="3_absences__91_demoted_to_4"),
    # three rows of one: 80 − 9 = 71 → 3 → demoted → 2
    pytest.param("AY-A1", 80, {"events": [event(ABSENCE)] * 3}, 2,
                 ("R4.adjustments.absences_demote", "由3星调整为2星"),
                 id="3_absence_rows__71_demoted_to_2"),
    # two absences: 86 − 6 = 80 → 4, not demoted
    pytest.param("AY-A2", 86, {"events": [event(ABSENCE, count=2)]}, 4, None, id="2_absences__80_not_demoted"),
]


@pytest.fixture(scope="module")
def cap_county(tmp_path_factory):
    # 8 organs + 12 fillers = 20 → two five-stars allowed: AY-R0 and AY-R4, the only ones left at five.
    branches = []
    for p in CAPS:
        code, base, facts = p.values[0], p.values[1], dict(p.values[2])
        branches.append(organ(code, base, events=facts.pop("events", []), **facts))
    return county(RB, tmp_path_factory.mktemp("r4_caps"), branches + fillers(12))


@pytest.mark.parametrize("code, base, facts, stars, deciding", CAPS)
def test_r4_caps_and_demotion(cap_county, code, base, facts, stars, deciding):
    b = cap_county[code]
    assert b.rating == stars
    if deciding:
        rule, fragment = deciding
        assert_reason(b, rule, fragment, source=SEED)
    else:
        assert not [r for r in b.reasons if r.rule.startswith("R4.adjustments")]


def test_r4_overdue_over_a_year__both_caps_apply_and_say_so(cap_county):
    b = cap_county["AY-R3"]  # 95 → 5 → cap 4 (overdue) → cap 3 (overdue over a year)
    assert_reason(b, "R4.adjustments.reelection_overdue", "由5星调整为4星")
    assert_reason(b, "R4.adjustments.reelection_overdue_year", "由4星调整为3星", source=f"{SEED} 第375行")


# --- quota: five-star at most 10% of all (line 373), ties decided by branch code --------------------
QUOTA = {
    # code: score — 20 organs; three at 90 or more: 95, and a tie at 92 between AY-Q05 and AY-Q12.
    # allowed = floor(10% × 20) = 2 → ranked by score then code: Q01 (95) 1st, Q05 (92) 2nd, Q12 (92) 3rd.
    "AY-Q01": 95, "AY-Q05": 92, "AY-Q12": 92,
    **{f"AY-Q{i:02d}": 60 + i for i in (2, 3, 4, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20)},
}


@pytest.fixture(scope="module")
def quota_county(tmp_path_factory):
    return county(RB, tmp_path_factory.mktemp("r4_quota"), [organ(c, s) for c, s in sorted(QUOTA.items())])


@pytest.mark.parametrize("code, rank, stars, verdict", [
    pytest.param("AY-Q01", 1, 5, "保留5星", id="95__first__keeps_five"),
    pytest.param("AY-Q05", 2, 5, "保留5星", id="tie_92_lower_code__second__keeps_five"),
    pytest.param("AY-Q12", 3, 4, "超出名额，调整为4星", id="tie_92_higher_code__third__four"),
])
def test_r4_quota__20_organs_3_at_90__only_2_keep_five(quota_county, code, rank, stars, verdict):
    b = quota_county[code]
    assert b.rating == stars
    assert_reason(b, "R4.county.0.quota_max", "全县 20 个支部的 10%，即 2 个", f"得分 {QUOTA[code]}",
                  f"在 3 个5星支部中排第 {rank}", "同分按支部编码排序", verdict, source=f"{SEED} 第373行")
    assert ("plaque" in b.lists) is (stars == 5)


def test_r4_quota__county_note_and_floor_warning(quota_county):
    notes = {n.rule: n.text for n in quota_county.county.notes}
    assert notes["R4.county.0.quota_max"] == "5星共 3 个，超过名额 2 个，1 个按得分调整为4星"
    # no organ at one star or below: 0 of 20 = 0% < 10% → the guideline floor is reported, not enforced
    assert notes["R4.county.1.floor_warning"] == "1星及以下 0 个，占 0%，低于指导比例 10%"
    assert len(quota_county.problems("SCO_003")) == 1  # its own code since issue 11 item 8
    assert sum(1 for b in quota_county.branches if b.rating == 5) == 2
