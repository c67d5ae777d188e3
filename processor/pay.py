"""Payments from ratings: performance pay, star rewards, county awards — exact to the fen.

Money is Decimal from the cell read. THE rounding point: each payment line's amount is computed
exactly and rounded half up to the fen once, in `fen()`, when the line is made. Every subtotal
and total is the sum of rounded lines and is never rounded again. (Pro-rata lines, when a
village's collective income cannot cover its rewards and the rulebook says `pro_rata`, are rounded
down instead, so that they never add up to more than the income.)
"""
from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Callable, NamedTuple

from .conditions import number, show
from .problems import Problem, problem
from .records import (
    BranchResult,
    Record,
    Submission,
    home_place,
    values_of,
)
from .rulebook import Rulebook, source_text
from .sharing import decimal_of, remembered, shared_text, shared_texts
from .sheets import sheets_for

FEN = Decimal("0.01")
ZERO = Decimal(0)
PAYER_TEXT = {"village_collective": "村集体经济收入", "county_budget": "县财政",
              "township_budget": "乡镇财政", "unspecified": "未明确"}


def fen(amount: Decimal) -> Decimal:
    """The one rounding point: half up to the fen."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(slots=True, init=False)
class PaymentLine:
    township: str
    village: str
    branch_code: str
    branch_name: str
    payee: str
    role: str
    kind: str  # the pay rule's type
    rule_id: str
    rule_name: str
    payer: str
    amount: Decimal
    said: str | PerformanceWords  # the basis (property), or what a performance line's says besides its own figures
    source: str
    # Both are the same tuple for many lines (a province has ~700,000): `add_note` gives a line the tuple of its notes.
    notes: Sequence[str] = ()
    cells: Sequence[str] = ()
    monthly_pay: Decimal | None = None
    months: int | None = None
    performance_base: Decimal | None = None
    rate: Decimal | None = None

    # Written out, not made by @dataclass: compiled, the generated __init__ would still be interpreted code, and it
    # cost ~5,600 instructions a line (callgrind) against a few hundred.
    def __init__(self, township: str, village: str, branch_code: str, branch_name: str, payee: str, role: str,
                 kind: str, rule_id: str, rule_name: str, payer: str, amount: Decimal, said: str | PerformanceWords,
                 source: str, notes: Sequence[str] = (), cells: Sequence[str] = (), monthly_pay: Decimal | None = None,
                 months: int | None = None, performance_base: Decimal | None = None, rate: Decimal | None = None) -> None:
        self.township, self.village, self.branch_code, self.branch_name = township, village, branch_code, branch_name
        self.payee, self.role, self.kind, self.rule_id, self.rule_name = payee, role, kind, rule_id, rule_name
        self.payer, self.amount, self.said, self.source, self.notes, self.cells = payer, amount, said, source, notes, cells
        self.monthly_pay, self.months, self.performance_base, self.rate = monthly_pay, months, performance_base, rate

    @property
    def basis(self) -> str:
        """How the amount was reached, in words ("月报酬 2000.00 × 12 个月 × 30% = 绩效基数 7200；3星发放 100%")."""
        said = self.said
        if isinstance(said, str):
            return said
        pay = "主动让贤保留原报酬" if said.kept else "月报酬"
        return (f"{pay} {self.monthly_pay:.2f} × {self.months} 个月{said.span} × {said.shown}"
                f"{show(self.performance_base if self.performance_base is not None else ZERO)}{said.rated}")

    def to_dict(self, with_rule: bool = True) -> dict[str, Any]:
        """`with_rule`: False leaves out "rule" (its id and seed line; results.json names the seed line once)."""
        record: dict[str, Any] = {
            "township": self.township, "village": self.village, "branch_code": self.branch_code,
            "branch_name": self.branch_name, "payee": self.payee, "role": self.role, "kind": self.rule_id,
            "kind_name": self.rule_name, "payer": self.payer, "payer_name": PAYER_TEXT[self.payer],
            "amount": f"{self.amount:.2f}"}
        if with_rule:
            record["rule"] = f"{self.rule_id}（{self.source}）"
        record["basis"] = self.basis
        record["notes"] = list(self.notes)
        return record


@dataclass
class PayResult:
    lines: list[PaymentLine]
    problems: list[Problem]
    paid_branches: list[BranchResult]  # every scored branch of every accepted file, in the order paid
    _by_payer: dict[str, tuple[int, Decimal]] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_payer = None  # set here: compiled (mypyc), a field's default is not given to a field left out of init

    def total(self, payer: str | None = None) -> Decimal:
        """The sum of the lines (of one payer's). Each payer's lines are counted and summed once, in one pass, when
        first asked: the finance workbook, results.json and the summary asked ~10 times, a pass each over a
        province's ~600,000 lines. The lines are final when a PayResult is made. Exact: sums of amounts to the fen."""
        by_payer = self._paid_by()
        if payer is not None:
            return by_payer.get(payer, (0, ZERO))[1]
        return sum((paid for _, paid in by_payer.values()), ZERO)

    def count(self, payer: str) -> int:
        """The payer's lines."""
        return self._paid_by().get(payer, (0, ZERO))[0]

    def payers(self) -> list[str]:
        """The payers with at least one line, in the order first paid."""
        return list(self._paid_by())

    def _paid_by(self) -> dict[str, tuple[int, Decimal]]:
        if self._by_payer is None:
            by_payer: dict[str, tuple[int, Decimal]] = {}
            for l in self.lines:
                count, paid = by_payer.get(l.payer, (0, ZERO))
                by_payer[l.payer] = (count + 1, paid + l.amount)
            self._by_payer = by_payer
        return self._by_payer

    def cadres_seen(self) -> Iterator[tuple[str, str, str]]:
        """(township, branch_code, name) of every cadre of every accepted file, branch by branch in the order paid
        (a branch's own in its rows' order): worked out when the finance 核对 sheet asks, one at a time, not kept (a
        province has ~500,000 cadres), and only their names read. A generator function, not a generator expression:
        compiled (setup.py), mypyc makes a generator expression a list."""
        for b in self.paid_branches:
            for name in values_of(b.cadres, "name"):
                yield b.township, b.branch_code, "" if name is None else name


def _members(branch: BranchResult) -> list[Record]:
    """The branch's cadres, its 书记 first, then in their rows' order."""
    return sorted(branch.cadres, key=lambda r: (r.values.get("role") != "书记", r.row))


def compute_payments(rb: Rulebook, subs: list[Submission], branches: list[BranchResult]) -> PayResult:
    """Every payment the rulebook defines, for every cadre and village of the scored branches of subs.

    The cadres come with each branch (BranchResult.cadres), so this needs no workbook data.
    """
    pay = rb.data.get("pay")
    lines: list[PaymentLine] = []
    problems: list[Problem] = []
    if not pay:
        return PayResult(lines, problems, [])
    files = {s.file for s in subs}
    paid = sorted((b for b in branches if b.file in files), key=lambda b: (b.township, b.branch_code))
    for branch in paid:
        branch_lines = _branch_lines(rb, pay, branch, _members(branch))
        problems += _blank_counts(rb, branch, branch_lines)
        _cover_from_collective(pay, branch, branch_lines, problems)
        lines += branch_lines
    return PayResult(lines, problems, paid)


def _branch_lines(rb: Rulebook, pay: dict[str, Any], branch: BranchResult, cadres: list[Record]) -> list[PaymentLine]:
    lines: list[PaymentLine] = []
    for rule in pay["rules"]:
        lines += PAY_RULES[rule["type"]](rb, rule, branch, cadres)
    return lines


def _performance_lines(rb: Rulebook, rule: dict[str, Any], branch: BranchResult, cadres: list[Record]) -> list[PaymentLine]:
    terms = PerformanceTerms.of(rule, branch.rating)  # the same for every cadre of the branch
    return [performance_line(rb, rule, branch, c, terms) for c in cadres]


def _star_reward_lines(rb: Rulebook, rule: dict[str, Any], branch: BranchResult, cadres: list[Record]) -> list[PaymentLine]:
    return [line for c in cadres if (line := star_reward_line(rb, rule, branch, c)) is not None]


def _village_award_lines(rb: Rulebook, rule: dict[str, Any], branch: BranchResult,
                         _cadres: list[Record]) -> list[PaymentLine]:
    line = village_award_line(rb, rule, branch)
    return [] if line is None else [line]


def _line(rule: dict[str, Any], branch: BranchResult, payee: str, role: str, amount: Decimal,
          basis: str | PerformanceWords, source: str | None = None, cells: Sequence[str] = (),
          monthly_pay: Decimal | None = None, months: int | None = None, performance_base: Decimal | None = None,
          rate: Decimal | None = None) -> PaymentLine:
    # A province's ~700,000 lines repeat amounts (a quarter are distinct) and a cadre's name on each of their lines
    # (two or three): one object of each for the run (~110 bytes a line; a cadre's row is read afresh from its part file).
    kind, rule_id, name, payer, rule_source = _rule_words(rule)
    return PaymentLine(branch.township, branch.village, branch.branch_code, branch.name, shared_text(payee), role,
                       kind, rule_id, name, payer, _paid(amount), basis, rule_source if source is None else source,
                       (), cells, monthly_pay, months, performance_base, rate)


_RULE_WORDS: dict[int, tuple[dict[str, Any], tuple[str, str, str, str, str]]] = {}


def _rule_words(rule: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """(type, id, name, payer, seed line) of a pay rule, looked up once per rule rather than on each of its lines
    (a rulebook's dicts never change once loaded; held with the dict, so its id stays its own)."""
    kept = _RULE_WORDS.get(id(rule))
    if kept is None or kept[0] is not rule:
        words = (rule["type"], rule["id"], rule["name"], rule["payer"], source_text(rule.get("source")))
        kept = remembered(_RULE_WORDS, 256, id(rule), (rule, words))
    return kept[1]


_PAID: dict[str, Decimal] = {}


def _paid(amount: Decimal) -> Decimal:
    """fen(amount), as the run's one object of its text. Amounts written alike round alike, so each is rounded once.
    Found by the amount's text, not the Decimal: the hash of a number just computed costs ~6 times its text, and
    0 and -0, equal, are kept apart (rounded, 0.00 and -0.00)."""
    written = str(amount)
    found = _PAID.get(written)
    return found if found is not None else remembered(_PAID, 1 << 16, written, decimal_of(str(fen(amount))))


class PerformanceTerms(NamedTuple):
    """What a performance rule pays a branch of one rating, and how its lines say it."""
    share: Decimal
    rate: Decimal
    shown: str  # "30% = 绩效基数 " before each cadre's base…
    rated: str  # …and "；2星发放 100%" after it
    source: str

    @classmethod
    def of(cls, rule: dict[str, Any], rating: int) -> PerformanceTerms:
        """The terms of `rule` for `rating`, worked out once: every branch of a rating has the same (a NamedTuple is
        made by interpreted code, and the wording of two figures: 12 % of a township's payments, made per branch)."""
        kept = _TERMS.get((id(rule), rating))
        if kept is None or kept[0] is not rule:
            share, rate = number(rule["share"]), performance_rate(rule, rating)
            terms = cls(share, rate, f"{show(share)}% = 绩效基数 ", f"；{rating}星发放 {show(rate)}%",
                        source_text(rule.get("source")))
            kept = remembered(_TERMS, 1024, (id(rule), rating), (rule, terms))
        return kept[1]


# Held with the rule's dict, so its id stays its own (as _RULE_WORDS).
_TERMS: dict[tuple[int, int], tuple[dict[str, Any], PerformanceTerms]] = {}


def performance_line(_rb: Rulebook, rule: dict[str, Any], branch: BranchResult, cadre: Record,
                     terms: PerformanceTerms | None = None) -> PaymentLine:
    """share% of remuneration (monthly × months in this role), paid at the rate for the branch's rating.

    A cadre who stepped aside at the 换届 and stays in another post keeps the former level (主动让贤).
    """
    terms = terms or PerformanceTerms.of(rule, branch.rating)
    v = cadre.values
    months = int(v["months"])
    kept = v.get("kept_monthly_pay") if "kept_level_source" in rule else None
    monthly = number(v["monthly_pay"] if kept is None else kept)
    share, rate = terms.share, terms.rate
    base = monthly * months * share / 100
    words = _performance_words(kept is not None, _span_text(cadre), terms)
    paid_from = "kept_monthly_pay" if kept is not None else "monthly_pay"
    line = _line(rule, branch, v.get("name", ""), v.get("role", ""), base * rate / 100, words, terms.source,
                 monthly_pay=monthly, months=months, performance_base=base, rate=rate,
                 cells=_cells_of(cadre, paid_from, "months"))
    if kept is not None:
        add_note(line, f"换届中主动让贤、继续担任{v.get('role', '')}，任职期间保持原报酬标准 {monthly:.2f} 元/月不变"
                       f"（现职月报酬 {number(v['monthly_pay']):.2f}；{source_text(rule['kept_level_source'])}）")
    if line.amount == 0:
        add_note(line, "无星不发放绩效" if branch.rating == 0 and rate == 0 else
                       "在岗 0 个月" if months == 0 else "发放比例为 0")
    return line


class PerformanceWords(NamedTuple):
    """A performance line's basis but for its own figures (monthly pay, months, base): the same few for all a
    province's ~500,000 performance lines, so the basis is put together when it is shown rather than kept as each
    line's own text (~125 bytes a line)."""
    kept: bool   # 主动让贤: paid at the former level
    span: str    # "（7—12月任委员）", or ""
    shown: str   # "30% = 绩效基数 "
    rated: str   # "；3星发放 100%"


_WORDS: dict[tuple[bool, str, str, str], PerformanceWords] = {}


def _performance_words(kept: bool, span: str, terms: PerformanceTerms) -> PerformanceWords:
    key = (kept, span, terms.shown, terms.rated)  # a plain tuple: a NamedTuple is made by interpreted code
    found = _WORDS.get(key)
    return found if found is not None else remembered(_WORDS, 4096, key, PerformanceWords(*key))  # 4096: spans of many kinds


def add_note(line: PaymentLine, note: str) -> None:
    line.notes = shared_texts((*line.notes, note))  # a few hundred distinct notes for a province's lines: one tuple each


_CELLS: dict[tuple[str, int, tuple[str | None, ...]], tuple[str, ...]] = {}


def _cells_of(cadre: Record, *field_ids: str) -> tuple[str, ...]:
    """("村干部!D12", "村干部!E12"): one tuple of them for the run (every township's workbook has the same rows, a
    province ~700,000 payment lines)."""
    letters = tuple([cadre.columns.get(f) for f in field_ids])
    key = (cadre.sheet, cadre.row, letters)
    found = _CELLS.get(key)
    if found is None:
        found = tuple(sys.intern(f"{cadre.sheet}!{cadre.cell(f)}") for f in field_ids)
        if None not in letters:  # a field without a column is shown at the row's first column (Record.cell)
            _CELLS[key] = found
    return found


def _span_text(cadre: Record) -> str:
    v = cadre.values
    if "start_month" not in v and "end_month" not in v:
        return ""
    return f"（{int(v.get('start_month', 1))}—{int(v.get('end_month', 12))}月任{v.get('role', '')}）"


def performance_rate(rule: dict[str, Any], rating: int) -> Decimal:
    eligible = [r for r in rule["rates"] if rating >= r["min_rating"]]
    return number(max(eligible, key=lambda r: r["min_rating"])["percent"]) if eligible else ZERO


def counted_stars(rule: dict[str, Any], rating: int) -> int:
    return rating if rule.get("stars_counted", "all") == "all" else max(0, rating - 2)


def star_reward_line(_rb: Rulebook, rule: dict[str, Any], branch: BranchResult, cadre: Record) -> PaymentLine | None:
    """Per counted star per month served: the secretary's rate or every other cadre's."""
    if branch.rating < rule.get("min_rating", 0):
        return None
    v = cadre.values
    is_secretary = v.get("role") == "书记"
    per = number(rule["per_star_month"]["secretary" if is_secretary else "other"])
    stars, months = counted_stars(rule, branch.rating), int(v["months"])
    basis = (f"{'书记' if is_secretary else '其他村“两委”干部'}每星每月 {show(per)} 元 × {stars} 星 × "
             f"{months} 个月{_span_text(cadre)}")
    # A few wordings for a province's star rewards (and its village awards): one copy of each.
    return _line(rule, branch, v.get("name", ""), v.get("role", ""), per * stars * months, shared_text(basis),
                 cells=_cells_of(cadre, "months"))


def village_award_line(rb: Rulebook, rule: dict[str, Any], branch: BranchResult) -> PaymentLine | None:
    rating = branch.rating
    if rating < rule.get("min_rating", 0) or rating > rule.get("max_rating", rating):
        return None
    if "requires_unit" in rule and not any(u.id == rule["requires_unit"] and u.earned for u in branch.units):
        return None
    if "amounts" in rule:
        if str(rating) not in rule["amounts"]:
            return None
        amount = number(rule["amounts"][str(rating)])
    else:
        amount = number(rule["amount"])
    basis = f"{rating}星：{show(amount)} 元"
    if "per_fact" in rule:
        count = branch.facts.get(rule["per_fact"]) or ZERO
        basis = f"每人每年 {show(amount)} 元 × {show(count)} 人"
        amount *= count
    if "requires_unit" in rule:
        basis += f"（已获{rb.unit_by_id[rule['requires_unit']]['name']}）"
    return _line(rule, branch, branch.village or branch.name, "村级", amount, shared_text(basis))


# Pay rule kinds: type -> the lines of one branch. Parameters: schemas/rulebook.schema.json $defs "pay_rule.<type>".
PayRule = Callable[[Rulebook, dict[str, Any], BranchResult, list[Record]], list[PaymentLine]]
PAY_RULES: dict[str, PayRule] = {
    "performance": _performance_lines,
    "star_reward": _star_reward_lines,
    "village_award": _village_award_lines,
}


def _blank_counts(rb: Rulebook, branch: BranchResult, lines: list[PaymentLine]) -> list[Problem]:
    """An award the branch earned that is paid per person, with the count left blank, is 0 on its line: say so at
    the cell (R1: 平安和谐星 → 120 yuan per resident aged 70+), once per count."""
    blank: dict[str, list[str]] = {}
    for rule in rb.data["pay"]["rules"]:
        fact = rule.get("per_fact")
        if fact and branch.facts.get(fact) is None and any(line.rule_id == rule["id"] for line in lines):
            blank.setdefault(fact, []).append(rule["name"])
    found = []
    for fact, names in blank.items():
        sheet, cell = _branch_cell(branch, fact)
        found.append(problem("PAY_003", file=branch.file, sheet=sheet, cell=cell, field=_column_title(rb, fact),
                             value=branch.branch_code, branch=branch.branch_code, detail="”“".join(names)))
    return found


def _branch_cell(branch: BranchResult, field_id: str) -> tuple[str, str]:
    """(sheet, cell) of one of the branch's own 支部信息 figures, for a problem about it ("" when not a column)."""
    place = home_place(branch.rows)
    if place is None:
        return "支部信息", ""
    sheet, row, columns = place
    return sheet, Record(sheet, row, {}, columns).cell(field_id) if field_id in columns else ""


def _column_title(rb: Rulebook, field_id: str) -> str:
    """The 支部信息 column's title as the template shows it (one place: its row schema)."""
    sheet = next(s for s in sheets_for(rb) if s.key == "branches")
    return next((f.title for f in sheet.fields if f.id == field_id), field_id)


def _cover_from_collective(pay: dict[str, Any], branch: BranchResult, lines: list[PaymentLine],
                           problems: list[Problem]) -> None:
    """Lines charged to the village collective must fit its income; say so on the lines when not."""
    charged = [l for l in lines if l.payer == "village_collective" and l.amount > 0]
    due = sum((l.amount for l in charged), ZERO)
    income = branch.facts.get("collective_income")
    if not charged or (income is not None and due <= income):
        return
    shown_income = "未填写" if income is None else f"{income:.2f}"
    note = (f"村集体经济收入未填写，无法确认能否支付应列支的 {due:.2f} 元" if income is None
            else f"村集体经济收入 {shown_income} 元不足以支付应列支的 {due:.2f} 元")
    if pay.get("shortfall") == "pro_rata" and income is not None and due > 0:
        for l in charged:
            l.amount = (l.amount * income / due).quantize(FEN, rounding=ROUND_DOWN)
        done = f"已按比例 {show((income * 100 / due).quantize(Decimal('0.01')))}% 发放"
    else:
        done = "按设置足额列出，请乡镇核实资金来源"
    note += f"，{done}"
    for l in charged:
        add_note(l, note)
    sheet, cell = _branch_cell(branch, "collective_income")
    where = {"file": branch.file, "sheet": sheet, "cell": cell, "field": "村集体经济收入（元）",
             "branch": branch.branch_code, "expected": f"{due:.2f}"}
    problems.append(problem("PAY_002", value="未填写", **where) if income is None else
                    problem("PAY_001", value=shown_income, detail=done, **where))
