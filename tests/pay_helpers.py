"""Builders the pay tests share: R1 townships whose star ratings are designed, paid for real.

A branch is described by the stars it should earn (unit ids of R1), its cadres and the two
branch facts the money looks at (村集体经济收入, 70周岁以上老人数). `township_rows()` turns that into
the rows a clerk would type: every item of an earned star at its maximum (base 100 ≥ 75, total
100 ≥ 85), every item of a missed star at 0 (base 0 < 75), 书记兼村委会主任 = 是 so no veto fires.
`write_township()` fills the real template with `processor.fill.fill_template`; `pay()` validates,
scores and computes the payments through the library (`processor.pipeline.score_files` and
`processor.pay.compute_payments`), and insists every file validated clean.

Money is given to the builders as Decimal or a string with two decimals and written into the cell
as the number a clerk would type (2333.33, or 3000 when whole).
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterable

import yaml

from processor.fill import fill_template
from processor.pay import PaymentLine, PayResult, compute_payments
from processor.pipeline import ScoreReport, score_files
from processor.problems import ERROR, WARNING
from processor.rulebook import Rulebook, load_rulebook
from processor.records import BranchResult
from processor.sheets import SELF, score_field_id

PERIOD = 2026
SEED = "000_556207f0cb65ca56.txt"
SEED_LINE = f"{SEED} 第319行"          # how a payment line cites its rule (processor.score.source_text)
FEN = Decimal("0.01")

# R1 unit ids (rulebooks/r1-huojia-five-star.yaml). "peace" is 平安和谐星, "party_building" 基层党建星.
PEACE, PARTY = "peace", "party_building"
WITH_PEACE = [PEACE, PARTY, "civility", "industry", "beautiful_village"]
WITHOUT_PEACE = [PARTY, "civility", "industry", "beautiful_village"]


def r1() -> Rulebook:
    return load_rulebook("R1")


def r1_with_pay(**changes: Any) -> Rulebook:
    """R1 as shipped, with `pay:` settings changed in memory, e.g. shortfall="pro_rata".

    `stars_counted=...` changes the star-reward rule; anything else is a key of `pay:` itself.
    """
    shipped = r1()
    data = copy.deepcopy(yaml.safe_load(shipped.path.read_text(encoding="utf-8")))
    for key, value in changes.items():
        if key == "stars_counted":
            next(r for r in data["pay"]["rules"] if r["type"] == "star_reward")["stars_counted"] = value
        else:
            data["pay"][key] = value
    return Rulebook(data, shipped.path)


def stars(n: int, *, peace: bool = True) -> list[str]:
    """The units a branch earns to be rated n stars; with ≥3 stars 基层党建星 is always among them ("1+4")."""
    order = WITH_PEACE if peace else WITHOUT_PEACE
    assert n <= len(order), f"{n} stars without 平安和谐星 is impossible"
    return order[:n]


@dataclass
class Cadre:
    name: str
    role: str
    monthly_pay: Decimal | str
    months: int


@dataclass
class Branch:
    code: str
    units: list[str]                               # unit ids earned
    cadres: list[Cadre]
    collective_income: Decimal | str | None = "1000000.00"
    elderly: int | None = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def rating(self) -> int:
        """The rating R1 gives: stars earned, capped at 2 without 基层党建星 ("1+4", line 307)."""
        n = len(self.units)
        return n if n <= 2 or PARTY in self.units else 2


def typed(amount: Decimal | str | None) -> int | float | None:
    """The number a clerk types into the cell: 3000 when whole, 2333.33 otherwise."""
    if amount is None:
        return None
    d = Decimal(str(amount))
    return int(d) if d == d.to_integral_value() else float(d)


def township_rows(rb: Rulebook, branches: Iterable[Branch], township: str) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {"branches": [], "scores": [], "events": [], "vetoes": [], "cadres": []}
    for b in branches:
        info = {"township": township, "branch_code": b.code, "branch_name": f"{b.code}村党支部",
                "village": f"{b.code}村", "branch_type": "村党支部", "member_count": 30,
                "secretary_is_head": "是", "reserve_cadres": 2,
                "collective_income": typed(b.collective_income), "elderly_70_plus": b.elderly}
        info.update(b.info)
        rows["branches"].append(info)
        score: dict[str, Any] = {"branch_code": b.code}
        for unit in rb.units:
            for item in unit["items"]:
                score[score_field_id(unit["id"], item["id"], SELF)] = item["max"] if unit["id"] in b.units else 0
        rows["scores"].append(score)
        rows["cadres"] += [{"branch_code": b.code, "name": c.name, "role": c.role,
                            "monthly_pay": typed(c.monthly_pay), "months": c.months} for c in b.cadres]
    return rows


def write_township(rb: Rulebook, path: Path, branches: Iterable[Branch], township: str = "城关镇") -> Path:
    return fill_template(rb, path, {"township": township, "period": PERIOD}, township_rows(rb, branches, township))


def assert_clean(report: ScoreReport) -> None:
    for sub in report.submissions:
        bad = [(p.code, p.sheet, p.cell, p.message) for p in sub.problems if p.severity in (ERROR, WARNING)]
        assert sub.accepted and not bad, f"{sub.file} did not validate clean: {bad}"


@dataclass
class Paid:
    result: PayResult
    branches: dict[str, BranchResult]

    def lines(self, code: str, rule: str | None = None) -> list[PaymentLine]:
        return [l for l in self.result.lines if l.branch_code == code and (rule is None or l.rule_id == rule)]

    def line(self, code: str, rule: str, payee: str | None = None) -> PaymentLine:
        found = [l for l in self.lines(code, rule) if payee is None or l.payee == payee]
        assert len(found) == 1, f"{code} {rule} {payee}: {len(found)} lines: {[l.to_dict() for l in found]}"
        return found[0]

    def amounts(self, code: str, rule: str) -> dict[str, Decimal]:
        return {l.payee: l.amount for l in self.lines(code, rule)}


def pay(folder: Path, branches: list[Branch], rb: Rulebook | None = None, township: str = "城关镇") -> Paid:
    """Write the township's workbook, validate it clean, score it, and compute every payment."""
    rb = rb or r1()
    path = write_township(rb, folder / f"{township}.xlsx", branches, township)
    report = score_files([path], rb)
    assert_clean(report)
    (group,) = report.groups
    scored = {b.branch_code: b for b in group.county.branches}
    for b in branches:
        assert scored[b.code].rating == b.rating, f"{b.code}: rated {scored[b.code].rating}, designed {b.rating}"
    subs = [s for s in report.submissions if s.accepted]
    return Paid(compute_payments(rb, subs, group.county.branches), scored)


# --- an independent re-computation of R1's payments, from the seed's numbers (line 319) ------------

def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


PERFORMANCE_SHARE = Decimal(30)                                   # 现有报酬的30%作为绩效
PERFORMANCE_PAID = {0: Decimal(0), 1: Decimal(50), 2: Decimal(100)}  # 无星不发放；一星 30%的50%；二星 30%的100%
REWARD_PER_STAR_MONTH = {"secretary": Decimal(300), "other": Decimal(200)}  # 书记每月300元，其他干部每月200元
SPECIAL_FUND = {3: Decimal(3000), 4: Decimal(30000), 5: Decimal(50000)}   # 三星3000、四星30000、五星50000
HAPPINESS = Decimal(1000)                                          # 幸福积分 每村每年1000元
ELDERLY, ELDERLY_TOPUP = Decimal(120), Decimal(60)                 # 每人每年120元；三星及以上县级再加60元


def expected_cadre_amount(rating: int, role: str, monthly: Decimal, months: int) -> tuple[Decimal, Decimal]:
    """(performance line, star-reward line) of one cadre, each rounded half up to the fen once."""
    paid = PERFORMANCE_PAID[min(rating, 2)]
    performance = half_up(monthly * months * PERFORMANCE_SHARE / 100 * paid / 100)
    reward = Decimal(0)
    if rating >= 3:
        per = REWARD_PER_STAR_MONTH["secretary" if role == "书记" else "other"]
        reward = half_up(per * rating * months)
    return performance, reward


def expected_village_amount(rating: int, peace: bool, elderly: int) -> Decimal:
    total = SPECIAL_FUND.get(rating, Decimal(0)) + (HAPPINESS if rating >= 3 else 0)
    if peace and rating >= 1:
        total += half_up(ELDERLY * elderly)
    if peace and rating >= 3:
        total += half_up(ELDERLY_TOPUP * elderly)
    return total


# --- a generated county ---------------------------------------------------------------------

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国秀英卫东明华志强海军丽娟红梅振伟德福金山"
OTHER_ROLES = ["副书记", "村委会主任", "村委会副主任", "委员", "其他"]


def generated_county(seed: int, townships: int, branches_per: int, cadres_per: int) -> dict[str, list[Branch]]:
    """townships × branches × cadres with seeded random pay (two decimals), months 1–12 and every rating 0–5.

    Ratings cycle through 0–5 stars, with and without 平安和谐星, and some branches earn three or four
    stars without 基层党建星 (capped at 2 by "1+4"); a few villages' collective income is too small
    for the star rewards, and a few leave it blank.
    """
    rng = random.Random(seed)
    county: dict[str, list[Branch]] = {}
    for t in range(townships):
        township = f"第{t + 1:02d}乡"
        rows = []
        for i in range(branches_per):
            code = f"G{t + 1:02d}-{i + 1:03d}"
            n = rng.choice([0, 1, 2, 2, 3, 3, 4, 5])
            units = stars(n, peace=rng.random() < 0.6 or n == 5)
            if n in (3, 4) and rng.random() < 0.1:
                units = [u for u in WITH_PEACE if u != PARTY][:n]  # no 基层党建星: capped at 2
            cadres = []
            for k in range(cadres_per):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
                role = "书记" if k == 0 else rng.choice(OTHER_ROLES)
                monthly = Decimal(rng.randint(120000, 480000)) / 100
                cadres.append(Cadre(name, role, monthly, rng.randint(1, 12)))
            income: Decimal | None = Decimal(rng.randint(0, 30000000)) / 100
            if rng.random() < 0.03:
                income = None
            rows.append(Branch(code, units, cadres, income, rng.randint(0, 150)))
        county[township] = rows
    return county


def write_county(rb: Rulebook, folder: Path, county: dict[str, list[Branch]]) -> list[Path]:
    return [write_township(rb, folder / f"{i + 1:02d}-{t}.xlsx", rows, t)
            for i, (t, rows) in enumerate(sorted(county.items()))]
