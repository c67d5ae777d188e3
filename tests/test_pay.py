"""R1 payments ("六个挂钩", 000_556207f0cb65ca56.txt line 319), every amount worked out by hand.

The rule text (line 319):
  村"两委"干部现有报酬的30%作为绩效。"一星"党支部……绩效工资发放30%的50%，"二星"党支部，绩效工资为30%的100%。
  无星不发放绩效。"三星"及以上党支部实施奖励，每创一星党支部书记每月奖励300元，其他村"两委"干部每月
  奖励200元。奖励资金从所在村集体经济收入中列支。……三星奖励3000元、四星奖励30000元、五星奖励50000元……
  幸福积分……县财政每村每年奖补1000元。如果成功争创"平安和谐星"，一星、二星的，对村内70周岁以上老人，
  每人每年120元奖励；"三星"及以上有"平安和谐星"的……县级财政还要增加奖励，每人每年奖励60元，每人每年达到180元。

Inputs are real workbooks (the R1 template filled with openpyxl), validated, scored and paid by the
library. Every expected amount below is written out with its arithmetic; equality is exact Decimal.
Each line is rounded half up to the fen once, when it is made (processor/pay.py `fen`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pay_helpers import (PEACE, SEED_LINE, Branch, Cadre, Paid, pay, r1, r1_with_pay, stars)
from processor.pay import PayResult

D = Decimal

# The same three cadres in every branch of the ladder, so a row of expectations reads across ratings.
SECRETARY, MEMBER, DEPUTY = "王建国", "李秀英", "张卫东"


def three_cadres() -> list[Cadre]:
    return [Cadre(SECRETARY, "书记", "3000.00", 12),       # 3000.00 × 12 = 36000.00 a year
            Cadre(MEMBER, "委员", "2000.00", 12),          # 2000.00 × 12 = 24000.00
            Cadre(DEPUTY, "副书记", "2333.33", 7)]         # 2333.33 × 7  = 16333.31 (joined in June)


ELDERLY = 50  # residents aged 70+ in every ladder village

# code → stars earned. S = with 平安和谐星 where the rating allows it; N = without 平安和谐星.
LADDER = {
    "S0": stars(0),
    "S1": stars(1),                # 平安和谐星
    "S2": stars(2),                # 平安和谐星 + 基层党建星
    "S3": stars(3),
    "S4": stars(4),
    "S5": stars(5),
    "N1": stars(1, peace=False),   # 基层党建星 only
    "N2": stars(2, peace=False),
    "N3": stars(3, peace=False),
}


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Paid:
    """One township, one branch per rating 0–5 (and 1–3 without 平安和谐星); income covers every reward."""
    branches = [Branch(code, units, three_cadres(), "1000000.00", ELDERLY) for code, units in LADDER.items()]
    return pay(tmp_path_factory.mktemp("ladder"), branches)


def test_ladder__ratings__are_as_designed(ladder: Paid) -> None:
    assert {code: b.rating for code, b in ladder.branches.items()} == {
        "S0": 0, "S1": 1, "S2": 2, "S3": 3, "S4": 4, "S5": 5, "N1": 1, "N2": 2, "N3": 3}
    assert PEACE in [u.id for u in ladder.branches["S1"].units if u.earned]
    assert PEACE not in [u.id for u in ladder.branches["N3"].units if u.earned]


# --- performance pay: 30% of remuneration, paid 0 / 50% / 100% by stars (line 319) -------------

def test_performance__zero_stars__nothing_paid(ladder: Paid) -> None:
    # 无星不发放绩效: 3000.00 × 12 × 30% = 10800.00; 0 stars → 0% → 0.00 (and so for every cadre)
    assert ladder.amounts("S0", "performance") == {SECRETARY: D("0.00"), MEMBER: D("0.00"), DEPUTY: D("0.00")}
    assert all("无星不发放绩效" in l.notes for l in ladder.lines("S0", "performance"))


def test_performance__one_star__half_of_thirty_percent(ladder: Paid) -> None:
    assert ladder.amounts("S1", "performance") == {
        SECRETARY: D("5400.00"),  # 3000.00 × 12 × 30% = 10800.00; 1 star → 50% → 5400.00
        MEMBER: D("3600.00"),     # 2000.00 × 12 × 30% = 7200.00;  1 star → 50% → 3600.00
        DEPUTY: D("2450.00"),     # 2333.33 × 7 × 30% = 4899.993;  × 50% = 2449.9965 → half up → 2450.00
    }
    assert ladder.amounts("N1", "performance") == ladder.amounts("S1", "performance")  # 平安和谐星 plays no part


def test_performance__two_stars__all_of_thirty_percent(ladder: Paid) -> None:
    assert ladder.amounts("S2", "performance") == {
        SECRETARY: D("10800.00"),  # 3000.00 × 12 × 30% = 10800.00; 2 stars → 100% → 10800.00
        MEMBER: D("7200.00"),      # 2000.00 × 12 × 30% = 7200.00;  100% → 7200.00
        DEPUTY: D("4899.99"),      # 2333.33 × 7 × 30% = 4899.993;  100% → 4899.993 → half up → 4899.99
    }


@pytest.mark.parametrize("code", ["S3", "S4", "S5", "N3"])
def test_performance__three_stars_or_more__all_of_thirty_percent(ladder: Paid, code: str) -> None:
    # ≥ 3 stars: still 100% of the 30% (the reward comes on top, as a separate line)
    assert ladder.amounts(code, "performance") == {
        SECRETARY: D("10800.00"),  # 3000.00 × 12 × 30% = 10800.00
        MEMBER: D("7200.00"),      # 2000.00 × 12 × 30% = 7200.00
        DEPUTY: D("4899.99"),      # 2333.33 × 7 × 30% = 4899.993 → 4899.99
    }


def test_performance__remuneration__is_monthly_pay_times_months_served(ladder: Paid) -> None:
    line = ladder.line("S1", "performance", DEPUTY)
    assert (line.monthly_pay, line.months) == (D("2333.33"), 7)
    assert line.performance_base == D("4899.993")   # 2333.33 × 7 = 16333.31; × 30% = 4899.993, kept exact
    assert line.rate == D(50)
    assert line.amount == D("2450.00")              # 4899.993 × 50% = 2449.9965 → rounded once → 2450.00
    assert "月报酬 2333.33 × 7 个月 × 30% = 绩效基数 4899.993" in line.basis


# --- rounding: half up, to the fen, once per line ------------------------------------------------

@pytest.fixture(scope="module")
def rounding(tmp_path_factory: pytest.TempPathFactory) -> Paid:
    return pay(tmp_path_factory.mktemp("rounding"), [
        # 2 stars: two cadres whose performance pay ends in exactly half a fen, 300.225.
        Branch("R2", stars(2), [Cadre("周明", "书记", "1000.75", 1), Cadre("吴华", "委员", "1000.75", 1)]),
        # 1 star: a base that ends in half a fen, 1000.005, then halved.
        Branch("R1", stars(1), [Cadre("郑强", "书记", "3333.35", 1)]),
    ])


def test_rounding__x_xx5__rounds_half_up(rounding: Paid) -> None:
    # 1000.75 × 1 × 30% = 300.225; 2 stars → 100% → 300.225 → half up → 300.23
    # (round-half-even would give 300.22, and binary floats hold 300.22499999999997 → 300.22)
    assert rounding.amounts("R2", "performance") == {"周明": D("300.23"), "吴华": D("300.23")}


def test_rounding__once_per_line__not_on_the_base_first(rounding: Paid) -> None:
    # 3333.35 × 1 × 30% = 1000.005; 1 star → × 50% = 500.0025 → half up → 500.00.
    # Rounding the base first would give 1000.01 × 50% = 500.005 → 500.01: one fen too much.
    line = rounding.line("R1", "performance", "郑强")
    assert line.performance_base == D("1000.005")
    assert line.amount == D("500.00")


def test_rounding__totals__are_sums_of_rounded_lines(rounding: Paid) -> None:
    # 300.23 + 300.23 = 600.46; the exact 300.225 + 300.225 = 600.45 is never what is paid.
    branch_total = sum((l.amount for l in rounding.lines("R2")), D(0))
    assert branch_total == D("600.46")
    # 600.46 (R2) + 500.00 (R1) = 1100.46: the grand total adds the rounded lines too.
    assert rounding.result.total() == D("1100.46")


# --- star rewards: ≥ 3 stars, 300/star/month secretary, 200 others, from collective income -------

def test_star_reward__below_three_stars__none(ladder: Paid) -> None:
    for code in ("S0", "S1", "S2", "N1", "N2"):
        assert ladder.lines(code, "star_reward") == [], code


def test_star_reward__three_stars__secretary_300_others_200_per_star_per_month(ladder: Paid) -> None:
    assert ladder.amounts("S3", "star_reward") == {
        SECRETARY: D("10800.00"),  # 300 × 3 stars × 12 months = 10800.00
        MEMBER: D("7200.00"),      # 200 × 3 × 12 = 7200.00
        DEPUTY: D("4200.00"),      # 200 × 3 × 7 months served = 4200.00 (副书记 is an "other" cadre)
    }
    assert {l.payer for l in ladder.lines("S3", "star_reward")} == {"village_collective"}


def test_star_reward__four_and_five_stars__all_stars_counted(ladder: Paid) -> None:
    assert ladder.amounts("S4", "star_reward") == {
        SECRETARY: D("14400.00"),  # 300 × 4 × 12 = 14400.00
        MEMBER: D("9600.00"),      # 200 × 4 × 12 = 9600.00
        DEPUTY: D("5600.00"),      # 200 × 4 × 7 = 5600.00
    }
    assert ladder.amounts("S5", "star_reward") == {
        SECRETARY: D("18000.00"),  # 300 × 5 × 12 = 18000.00
        MEMBER: D("12000.00"),     # 200 × 5 × 12 = 12000.00
        DEPUTY: D("7000.00"),      # 200 × 5 × 7 = 7000.00
    }


def test_star_reward__stars_counted_above_two__counts_only_stars_above_two(tmp_path: Path) -> None:
    rb = r1_with_pay(stars_counted="above_two")
    paid = pay(tmp_path, [Branch("A3", stars(3), three_cadres()), Branch("A5", stars(5), three_cadres())], rb)
    assert paid.amounts("A3", "star_reward") == {
        SECRETARY: D("3600.00"),   # 300 × (3 − 2 = 1 star) × 12 = 3600.00
        MEMBER: D("2400.00"),      # 200 × 1 × 12 = 2400.00
        DEPUTY: D("1400.00"),      # 200 × 1 × 7 = 1400.00
    }
    assert paid.amounts("A5", "star_reward") == {
        SECRETARY: D("10800.00"),  # 300 × (5 − 2 = 3 stars) × 12 = 10800.00
        MEMBER: D("7200.00"),      # 200 × 3 × 12 = 7200.00
        DEPUTY: D("4200.00"),      # 200 × 3 × 7 = 4200.00
    }


# --- village awards: county special fund, 幸福积分, elderly allowance -----------------------------

def test_county_special_fund__three_four_five_stars__3000_30000_50000(ladder: Paid) -> None:
    assert {code: [l.amount for l in ladder.lines(code, "county_special_fund")] for code in LADDER} == {
        "S0": [], "S1": [], "S2": [], "N1": [], "N2": [],
        "S3": [D("3000.00")], "N3": [D("3000.00")],  # 三星奖励3000元
        "S4": [D("30000.00")],                        # 四星奖励30000元
        "S5": [D("50000.00")],                        # 五星奖励50000元
    }
    line = ladder.line("S4", "county_special_fund")
    assert (line.payee, line.payer) == ("S4村", "county_budget")


def test_happiness_points__three_stars_or_more__1000(ladder: Paid) -> None:
    # 县财政每村每年奖补1000元, ≥ 3-star villages only
    assert {code: [l.amount for l in ladder.lines(code, "happiness_points")] for code in LADDER} == {
        "S0": [], "S1": [], "S2": [], "N1": [], "N2": [],
        "S3": [D("1000.00")], "S4": [D("1000.00")], "S5": [D("1000.00")], "N3": [D("1000.00")]}
    assert {l.payer for l in ladder.result.lines if l.rule_id == "happiness_points"} == {"county_budget"}


@pytest.mark.parametrize("code", ["S1", "S2"])
def test_elderly__one_or_two_stars_with_peace__120_per_resident(ladder: Paid, code: str) -> None:
    line = ladder.line(code, "elderly_allowance")
    assert line.amount == D("6000.00")                # 120 × 50 residents aged 70+ = 6000.00
    assert line.payer == "unspecified"                 # the seed does not say who pays the 120
    assert ladder.lines(code, "elderly_county_topup") == []  # the county's 60 is for ≥ 3 stars only


@pytest.mark.parametrize("code", ["S3", "S4", "S5"])
def test_elderly__three_stars_or_more_with_peace__120_plus_county_60(ladder: Paid, code: str) -> None:
    base, topup = ladder.line(code, "elderly_allowance"), ladder.line(code, "elderly_county_topup")
    assert (base.amount, base.payer) == (D("6000.00"), "unspecified")     # 120 × 50 = 6000.00
    assert (topup.amount, topup.payer) == (D("3000.00"), "county_budget")  # 60 × 50 = 3000.00, a separate line
    assert base.amount + topup.amount == D("9000.00")                      # 180 × 50 = 9000.00


@pytest.mark.parametrize("code", ["S0", "N1", "N2", "N3"])
def test_elderly__without_peace_star__nothing(ladder: Paid, code: str) -> None:
    assert ladder.lines(code, "elderly_allowance") == [] and ladder.lines(code, "elderly_county_topup") == []


def test_elderly__no_residents_aged_70__zero_line(tmp_path: Path) -> None:
    paid = pay(tmp_path, [Branch("E1", stars(1), three_cadres(), elderly=0)])
    assert paid.line("E1", "elderly_allowance").amount == D("0.00")  # 120 × 0 = 0.00


# --- every line says who is paid, who pays, and by which rule -------------------------------------

EXPECTED_PAYER = {"performance": "unspecified", "star_reward": "village_collective",
                  "county_special_fund": "county_budget", "happiness_points": "county_budget",
                  "elderly_allowance": "unspecified", "elderly_county_topup": "county_budget"}


def test_every_line__names_payee_payer_and_rule(ladder: Paid) -> None:
    rule_ids = {r["id"] for r in r1().data["pay"]["rules"]}
    assert rule_ids == set(EXPECTED_PAYER)
    assert {l.rule_id for l in ladder.result.lines} == rule_ids
    for l in ladder.result.lines:
        shown = l.to_dict()
        assert l.payee, shown
        assert l.payer == EXPECTED_PAYER[l.rule_id], shown
        assert l.source == SEED_LINE, shown
        assert shown["rule"] == f"{l.rule_id}（{SEED_LINE}）"
        assert shown["payer_name"] in ("村集体经济收入", "县财政", "未明确")
        assert shown["amount"] == f"{l.amount:.2f}"
    cadres = {l.payee for l in ladder.result.lines if l.kind in ("performance", "star_reward")}
    villages = {l.payee for l in ladder.result.lines if l.kind == "village_award"}
    assert cadres == {SECRETARY, MEMBER, DEPUTY}
    # S0, N1, N2: no award (fewer than 3 stars and no 平安和谐星); the others get at least one village line
    assert villages == {"S1村", "S2村", "S3村", "S4村", "S5村", "N3村"}


# --- collective income that cannot cover the star rewards (flagged, never hidden) ----------------

SHORT_NOTE_IN_FULL = "村集体经济收入 12000.00 元不足以支付应列支的 22200.00 元，按设置足额列出，请乡镇核实资金来源"


def test_shortfall__income_below_rewards__every_reward_line_noted_and_pay_001(tmp_path: Path) -> None:
    # Rewards due: 10800.00 + 7200.00 + 4200.00 = 22200.00 > income 12000.00.
    # Village "EQ" has exactly 22200.00: enough (due ≤ income), nothing to flag.
    paid = pay(tmp_path, [Branch("SH", stars(3), three_cadres(), "12000.00"),
                          Branch("EQ", stars(3), three_cadres(), "22200.00")])
    rewards = paid.lines("SH", "star_reward")
    assert {l.payee: l.amount for l in rewards} == {SECRETARY: D("10800.00"), MEMBER: D("7200.00"),
                                                    DEPUTY: D("4200.00")}  # shipped setting: listed in full
    assert all(list(l.notes) == [SHORT_NOTE_IN_FULL] for l in rewards)
    assert all(not l.notes for l in paid.lines("SH") if l.payer != "village_collective")
    assert all(not l.notes for l in paid.lines("EQ"))
    (flag,) = paid.result.problems
    # Changed on purpose (issue 11 item 8): the branch is a field of the problem, not words in its message.
    assert (flag.code, flag.severity, flag.file, flag.sheet, flag.value, flag.branch) == (
        "PAY_001", "warning", "城关镇.xlsx", "支部信息", "12000.00", "SH")
    assert "按设置足额列出" in flag.message


def test_shortfall__income_not_filled__flagged(tmp_path: Path) -> None:
    paid = pay(tmp_path, [Branch("NI", stars(3), three_cadres(), None)])
    (flag,) = paid.result.problems
    assert (flag.code, flag.value, flag.branch) == ("PAY_002", "未填写", "NI")  # its own code (issue 11 item 8)
    assert all("未填写，无法确认能否支付应列支的 22200.00 元" in l.notes[0] for l in paid.lines("NI", "star_reward"))


def test_shortfall__pro_rata__lines_scaled_down_never_above_income(tmp_path: Path) -> None:
    rb = r1_with_pay(shortfall="pro_rata")
    paid = pay(tmp_path, [Branch("PR", stars(3), three_cadres(), "10000.07")], rb)
    # due 22200.00, income 10000.07: each line × 10000.07 / 22200, rounded DOWN to the fen
    #   10800 × 10000.07 / 22200 = 4864.8989… → 4864.89
    #    7200 × 10000.07 / 22200 = 3243.2659… → 3243.26
    #    4200 × 10000.07 / 22200 = 1891.9051… → 1891.90
    # sum 10000.05 ≤ 10000.07 (half up would give 4864.90 + 3243.27 + 1891.91 = 10000.08 > income)
    rewards = paid.lines("PR", "star_reward")
    assert {l.payee: l.amount for l in rewards} == {SECRETARY: D("4864.89"), MEMBER: D("3243.26"),
                                                    DEPUTY: D("1891.90")}
    assert sum((l.amount for l in rewards), D(0)) == D("10000.05") <= D("10000.07")
    # 10000.07 × 100 / 22200 = 45.045… → 45.05%
    note = "村集体经济收入 10000.07 元不足以支付应列支的 22200.00 元，已按比例 45.05% 发放"
    assert all(list(l.notes) == [note] for l in rewards)
    assert [p.code for p in paid.result.problems] == ["PAY_001"]
    # Only the collective's lines are scaled: performance stays 10800.00 / 7200.00 / 4899.99.
    assert paid.amounts("PR", "performance") == {SECRETARY: D("10800.00"), MEMBER: D("7200.00"),
                                                 DEPUTY: D("4899.99")}


def test_shortfall__pro_rata_zero_income__rewards_scaled_to_zero(tmp_path: Path) -> None:
    rb = r1_with_pay(shortfall="pro_rata")
    paid = pay(tmp_path, [Branch("Z0", stars(4), three_cadres(), "0")], rb)
    # due 14400 + 9600 + 5600 = 29600.00; × 0 / 29600 = 0.00 each
    assert set(paid.amounts("Z0", "star_reward").values()) == {D("0.00")}
    assert [p.code for p in paid.result.problems] == ["PAY_001"]


def test_shortfall__pro_rata_many_villages__never_above_each_income(tmp_path: Path) -> None:
    """Awkward incomes (a fen short, a third, odd fens): the scaled lines never exceed the income."""
    rb = r1_with_pay(shortfall="pro_rata")
    incomes = ["22199.99", "7400.00", "0.01", "12345.67", "333.33", "16666.67"]
    branches = [Branch(f"P{i}", stars(3), three_cadres(), inc) for i, inc in enumerate(incomes)]
    paid = pay(tmp_path, branches, rb)
    for i, inc in enumerate(incomes):
        rewards = paid.lines(f"P{i}", "star_reward")
        assert len(rewards) == 3 and all(l.notes for l in rewards)
        total = sum((l.amount for l in rewards), D(0))
        assert total <= D(inc), (inc, total)
        assert D(inc) - total < D("0.03")  # each of 3 lines rounded down by less than a fen
    # 22199.99 of 22200.00: 10800 × 22199.99 / 22200 = 10799.9951… → 10799.99 (down, not up to 10800.00)
    assert paid.line("P0", "star_reward", SECRETARY).amount == D("10799.99")
    assert len(paid.result.problems) == len(incomes)


def test_cadres_seen__worked_out_one_branch_at_a_time(ladder: Paid) -> None:
    # The finance 核对 sheet's "每名干部均已列支或说明" counts a province's ~500,000 cadres (pay.PayResult.cadres_seen):
    # asking for the first must read only the first branch's cadres, not work out (and hold) them all.
    read: list[str] = []

    class Watched(list):
        def __init__(self, code: str, rows: Any) -> None:
            super().__init__(rows)
            self.code = code

        def __iter__(self) -> Iterator[Any]:
            read.append(self.code)
            return super().__iter__()

    paid = [dataclasses.replace(b, cadres=Watched(b.branch_code, b.cadres)) for b in ladder.result.paid_branches]
    watched = PayResult(ladder.result.lines, ladder.result.problems, paid)
    seen = watched.cadres_seen()
    first = next(seen)
    assert len(paid) > 1 and read == [paid[0].branch_code]
    assert first[:2] == (paid[0].township, paid[0].branch_code)
    everyone = [first, *seen]
    assert read == [b.branch_code for b in paid]
    assert everyone == [(b.township, b.branch_code, c.values.get("name", "")) for b in ladder.result.paid_branches
                        for c in sorted(b.cadres, key=lambda r: (r.values.get("role") != "书记", r.row))]


# --- the finance workbook's 核对 sheet: each automatic check says 不通过 when what it checks is broken -----------

def _checks(paid: Paid) -> dict[str, bool]:
    from processor.finance import award_lines, cadre_rows, checks
    incomes = {b.key: b.facts.get("collective_income") for b in paid.branches.values()}
    found = checks(paid.result, cadre_rows(paid.result), award_lines(paid.result), incomes)
    return {c.name: c.passed for c in found}


def _broken(paid: Paid, code: str, rule: str, change: dict[str, Any]) -> Paid:
    """The payments with the lines of one rule for one branch changed, as a fault in working them out would leave
    them."""
    lines = [dataclasses.replace(l, **change) if (l.branch_code, l.rule_id) == (code, rule) else l
             for l in paid.result.lines]
    assert lines != paid.result.lines
    return Paid(dataclasses.replace(paid.result, lines=lines), paid.branches)


@pytest.fixture(scope="module")
def short_village(tmp_path_factory: pytest.TempPathFactory) -> Paid:
    # SH: rewards due 22200.00 > income 12000.00, so each of its collective's reward lines carries the shortfall
    # note. TWO: two stars, performance pay and no star reward.
    return pay(tmp_path_factory.mktemp("short"), [Branch("SH", stars(3), three_cadres(), "12000.00"),
                                                  Branch("TWO", stars(2), three_cadres(), "1000000.00")])


def test_checks__payments_as_worked_out__every_check_passes(short_village: Paid) -> None:
    found = _checks(short_village)
    assert len(found) >= 10 and all(found.values()), found


@pytest.mark.parametrize("code, rule, change, failing", [
    ("SH", "performance", {"amount": D("-1.00")}, {"没有负数金额"}),
    ("SH", "performance", {"amount": D("7200.005")}, {"每行金额精确到分"}),
    ("SH", "star_reward", {"notes": ()}, {"村集体收入不足的村均已在付款行标注"}),
    ("TWO", "performance", {"payee": "不在名单上的人"}, {"每名干部均已列支或说明"}),
])
def test_checks__one_fault__its_check_fails_and_only_its(short_village: Paid, code: str, rule: str,
                                                         change: dict[str, Any], failing: set[str]) -> None:
    """A check that cannot fail checks nothing: each is shown failing on the fault it is there to catch."""
    found = _checks(_broken(short_village, code, rule, change))
    assert {name for name, passed in found.items() if not passed} == failing


@pytest.mark.parametrize("interleaved", [False, True])
def test_checks__a_cadre_unpaid__found_in_its_own_township__rows_together_or_not(tmp_path: Path,
                                                                               interleaved: bool) -> None:
    """Two townships with a branch of the same code and the same three cadres; one of 西镇's is paid under another
    name. Its (branch, name) is paid in 东镇, so only a lookup within the cadre's own township finds it unpaid —
    whether the rows come together by township (as the writer sorts them: one township's set at a time) or not."""
    from processor.finance import award_lines, cadre_rows, checks
    east = pay(tmp_path / "east", [Branch("TWO", stars(2), three_cadres(), "1000000.00")], township="东镇")
    west = _broken(pay(tmp_path / "west", [Branch("TWO", stars(2), three_cadres(), "1000000.00")], township="西镇"),
                   "TWO", "performance", {"payee": "不在名单上的人"})
    both = PayResult(east.result.lines + west.result.lines, [],
                     east.result.paid_branches + west.result.paid_branches)
    rows = cadre_rows(both)
    assert [r.performance.township for r in rows] == ["东镇"] * 3 + ["西镇"] * 3
    if interleaved:
        rows = [rows[0], rows[3], rows[1], rows[4], rows[2], rows[5]]
    incomes = {b.key: b.facts.get("collective_income") for p in (east, west) for b in p.branches.values()}
    found = {c.name: c for c in checks(both, rows, award_lines(both), incomes)}
    paid = found["每名干部均已列支或说明"]
    assert (paid.passed, paid.left, paid.right) == (False, 6, 6)
    assert all(c.passed for name, c in found.items() if name != "每名干部均已列支或说明")
