"""The finance workbook (财务发放表): payment lines, subtotals, totals by payer, and a 核对 sheet.

Printed, each payment sheet is a document finance can sign: its title, county, period, 单位：元 and
date on top, the lines by township (each township from a new page, with its 小计), the 合计 and
制表人 / 审核人 / 负责人 / 日期 under it (layout: processor.xlsx.print_layout).

Amounts are numbers with a two-decimal yuan format, never text. Every subtotal and total is
computed here independently from the rounded lines (by village, by township, by payer, overall),
and the 核对 sheet compares them, so a line lost in any grouping shows as 不通过.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from decimal import Decimal
from pathlib import Path
from typing import Any

from .common import CHINA_TZ, collector_paused
from .consolidate import system_name
from .pay import FEN, PAYER_TEXT, PaymentLine, PayResult, fen
from .payers import county_set, unset
from .records import BranchResult
from .rulebook import Rulebook, rating_text
from .xlsx import (
    LINE_POINTS,
    MEASURED_ROWS,
    Formats,
    LazyRows,
    Page,
    new_workbook,
    print_layout,
    row_height,
    set_widths,
    signature_block,
    small_workbook,
    title_block,
    write_header,
    write_rows,
    write_value,
)

ZERO = Decimal(0)
CADRE_SHEET = "干部绩效与奖励"
AWARD_SHEET = "村级奖补"
CADRE_HEADERS = ["乡镇", "村", "支部", "姓名", "职务", "月报酬", "在岗月数", "绩效基数", "发放比例", "绩效金额",
                 "星级奖励", "合计", "资金来源", "依据"]


@dataclass(init=False)
class CadreRow:
    performance: PaymentLine
    reward: PaymentLine | None

    def __init__(self, performance: PaymentLine, reward: PaymentLine | None) -> None:
        # Written out: compiled, @dataclass's own __init__ would stay interpreted (pay.PaymentLine says more).
        self.performance, self.reward = performance, reward

    @property
    def total(self) -> Decimal:
        return self.performance.amount + (self.reward.amount if self.reward else ZERO)


@dataclass
class Check:
    name: str
    left: Any
    right: Any
    passed: bool
    note: str = ""


def cadre_rows(result: PayResult) -> list[CadreRow]:
    """One row per cadre: the performance line, and the star-reward line of the same cadre if any.

    The same cadre is the same 村干部 row (its 在岗月数 cell, the last cell both lines cite): two
    cadres of one branch may share a name and a role.
    """
    def cadre(l: PaymentLine) -> tuple:
        return (l.township, l.branch_code, l.payee, l.role, l.cells[-1] if l.cells else None)

    rewards = {cadre(l): l for l in result.lines if l.kind == "star_reward"}
    return [CadreRow(l, rewards.get(cadre(l))) for l in result.lines if l.kind == "performance"]


def award_lines(result: PayResult) -> list[PaymentLine]:
    return [l for l in result.lines if l.kind == "village_award"]


def checks(result: PayResult, rows: list[CadreRow], awards: list[PaymentLine],
           incomes: dict[tuple[str, str], Decimal | None]) -> list[Check]:
    lines = result.lines
    # One pass over a province's ~700,000 lines for the sums and counts below (each was a pass of its own).
    overall = ZERO
    by_village: dict[tuple[str, str], Decimal] = {}
    by_township: dict[str, Decimal] = {}
    by_payer: dict[str, Decimal] = {}
    charged: dict[tuple[str, str], Decimal] = {}  # what each village's collective is to pay
    flagged: set[tuple[str, str]] = set()  # villages with a collective's line that carries a note
    negatives = unrounded = 0
    for l in lines:
        amount, village = l.amount, (l.township, l.branch_code)
        overall += amount
        by_village[village] = by_village.get(village, ZERO) + amount
        by_township[l.township] = by_township.get(l.township, ZERO) + amount
        by_payer[l.payer] = by_payer.get(l.payer, ZERO) + amount
        negatives += amount < 0
        unrounded += amount != amount.quantize(FEN)
        if l.payer == "village_collective":
            charged[village] = charged.get(village, ZERO) + amount
            if l.notes:
                flagged.add(village)
    cadre_total = sum((r.total for r in rows), ZERO)
    award_total = sum((l.amount for l in awards), ZERO)
    villages, townships, payers = (sum(d.values(), ZERO) for d in (by_village, by_township, by_payer))
    found = [
        Check("明细合计 = 村级小计之和", overall, villages, overall == villages),
        Check("村级小计之和 = 乡镇小计之和", villages, townships, villages == townships),
        Check("乡镇小计之和 = 按资金来源合计", townships, payers, townships == payers),
        Check("干部明细 + 村级奖补 = 总计", cadre_total + award_total, overall, cadre_total + award_total == overall),
    ]
    for payer in sorted(by_payer):
        lines_total = sum((l.amount for l in lines if l.payer == payer), ZERO)
        found.append(Check(f"资金来源“{PAYER_TEXT[payer]}”：明细 = 汇总", lines_total, by_payer[payer],
                           lines_total == by_payer[payer]))
    found.append(Check("没有负数金额", negatives, 0, not negatives, "负数行数 / 应为 0"))
    found.append(Check("每行金额精确到分", unrounded, 0, not unrounded, "超过两位小数的行数 / 应为 0"))
    seen, missing = _cadres_unpaid(result, rows)
    found.append(Check("每名干部均已列支或说明", len(rows), seen, not missing, "付款表干部人数 / 报送干部人数"))
    short = {k for k, due in charged.items() if due > 0 and _short(due, incomes.get(k))}
    found.append(Check("村集体收入不足的村均已在付款行标注", len(short), len(flagged & short), short <= flagged,
                       "收入不足的村数 / 已标注的村数（不足时不隐藏，见“村级小计”和付款行“依据”）"))
    return found


def _cadres_unpaid(result: PayResult, rows: list[CadreRow]) -> tuple[int, int]:
    """(cadres read, of them without a row) — each cadre's (branch, name) looked up among its own township's rows.

    A set of every paid cadre of a province (~500,000 tuples) was ~45 MB of the finance writer's peak; with the rows
    together by township, one township's set is made at a time."""
    together, spans = _together_by_township(rows)
    seen = missing = 0
    current: str | None = None
    paid: set[tuple[str, str]] = set()
    for township, code, name in result.cadres_seen():
        seen += 1
        if township != current:
            current = township
            first, stop = spans.get(township, (0, 0))
            paid = {(r.performance.branch_code, r.performance.payee) for r in together[first:stop]}
        missing += (code, name) not in paid
    return seen, missing


def _together_by_township(rows: list[CadreRow]) -> tuple[list[CadreRow], dict[str, tuple[int, int]]]:
    """The rows together by township (as given when they are: the writer sorts them so), and each township's span."""
    spans = _township_spans(rows)
    if spans is not None:
        return rows, spans
    together = sorted(rows, key=lambda r: r.performance.township)
    return together, _township_spans(together) or {}


def _township_spans(rows: list[CadreRow]) -> dict[str, tuple[int, int]] | None:
    """Each township's (first, stop) in rows; None when a township's rows are not all together."""
    spans: dict[str, tuple[int, int]] = {}
    first = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i].performance.township != rows[first].performance.township:
            township = rows[first].performance.township
            if township in spans:
                return None
            spans[township] = (first, i)
            first = i
    return spans


def _short(due: Decimal, income: Decimal | None) -> bool:
    return income is None or due > income


@dataclass(frozen=True)
class Paper:
    """What the printed workbook says besides the numbers."""
    county: str
    period: int
    made: str                      # the date the workbook was made, YYYY-MM-DD
    draft: str | None              # a banner on the cover and every payment sheet (e.g. 草案：…)
    townships: tuple[str, ...]     # the county's order
    # Each township's place in that order. Made once here, not a cached_property: compiled (mypyc), a cached_property
    # is worked out again at every call (the 400-township order rebuilt for each of ~140,000 rows sorted).
    rank: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rank: dict[str, int] = {}
        for i, township in enumerate(self.townships):
            rank.setdefault(township, i)  # its first place, as tuple.index finds it
        object.__setattr__(self, "rank", rank)  # frozen: set once, here

    def title(self, what: str) -> str:
        return f"{self.county}{self.period}年度{what}"

    def facts(self, money: bool = True) -> list[str]:
        return [f"县（市、区）：{self.county or '未设置'}", f"评定年度：{self.period}",
                *(["单位：元"] if money else []), f"制表日期：{self.made}"]

    def order(self, township: str) -> tuple[int, str]:
        return self.rank.get(township, len(self.townships)), township


def write_finance_workbook(path: Path, rb: Rulebook, period: int, result: PayResult,
                           branches: list[BranchResult], county: str = "", *, draft: str | None = None,
                           made: dt.date | None = None, townships: list[str] | None = None) -> Path:
    """The payment lists finance signs; `draft` (e.g. "草案：未经审核，不得据此发放") heads the cover and every payment sheet."""
    with collector_paused():
        return _finance_workbook(path, rb, period, result, branches, county, draft=draft, made=made,
                                 townships=townships)


def _finance_workbook(path: Path, rb: Rulebook, period: int, result: PayResult, branches: list[BranchResult],
                      county: str, *, draft: str | None, made: dt.date | None, townships: list[str] | None) -> Path:
    paper = Paper(county, period, (made or dt.datetime.now(CHINA_TZ).date()).isoformat(), draft,
                  tuple(townships or ()))
    rows = sorted(cadre_rows(result), key=lambda r: paper.order(r.performance.township))
    awards = sorted(award_lines(result), key=lambda l: paper.order(l.township))
    found = checks(result, rows, awards, {b.key: b.facts.get("collective_income") for b in branches})
    workbook = new_workbook(path, paper.title(f" {system_name(rb, paper.county)} 财务发放表"),
                            small=small_workbook(len(rows) + len(awards) + len(branches)))
    formats = Formats(workbook)
    by_key = {b.key: b for b in branches}
    _cover(workbook, formats, paper, rb, result, found)
    ranges = _cadre_sheet(workbook, formats, paper, rows)
    _award_sheet(workbook, formats, paper, awards, by_key, rb)
    _village_sheet(workbook, formats, paper, result, by_key, rb)
    _township_sheet(workbook, formats, paper, result, rows)
    _payer_sheet(workbook, formats, paper, result)
    _check_sheet(workbook, formats, paper, found, rows, ranges)
    for ws in workbook.worksheets():
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True, "autofilter": True, "sort": True})
    workbook.close()
    return path


def _shortfall_text(result: PayResult) -> str:
    short = sorted({(l.township, l.branch_name) for l in result.lines if l.payer == "village_collective" and l.notes})
    if not short:
        return "无"
    names = "、".join(f"{t}{b}" for t, b in short[:20]) + ("等" if len(short) > 20 else "")
    return f"{len(short)} 个村的星级奖励超过村集体经济收入或收入未填写：{names}。见“村级小计”和各付款行“依据”，发放前请乡镇核实资金来源。"


def _payer_text(rb: Rulebook, result: PayResult) -> str:
    """Who pays what, and plainly how much has no payer yet and how the county sets it."""
    paying = result.payers()
    by_payer = "；".join(f"{PAYER_TEXT[p]} {result.total(p):,.2f} 元" for p in PAYER_TEXT if p in paying)
    set_here = "；".join(f"{name} → {payer}" for name, payer in county_set(rb)) or "无"
    text = f"{by_payer}。本县设定的资金来源：{set_here}。"
    missing = [(rule_id, name) for rule_id, name in unset(rb)
               if any(l.rule_id == rule_id for l in result.lines)]
    if not missing:
        return text + "所有款项均已明确资金来源。"
    example = ", ".join(f'{rule_id} = "县财政"' for rule_id, _ in missing)
    names = "、".join(name for _, name in missing)
    return (text + f"未明确资金来源的款项共 {result.total('unspecified'):,.2f} 元（{names}）：办法原文未规定由谁支付，"
            f"财务无法据此列支。请县里确定后在运行配置中写明，例如 payers = {{{example}}}"
            "（可填 县财政、乡镇财政、村集体经济收入），再重新生成本表。")


def _cover(workbook, formats: Formats, paper: Paper, rb: Rulebook, result: PayResult, found: list[Check]) -> None:
    ws = workbook.add_worksheet("说明")
    passed = all(c.passed for c in found)
    lines = [
        ("评定年度", str(paper.period)), ("县（市、区）", paper.county or "未设置：请在运行配置中写 county = \"某某县\"，或用 --county"),
        ("规则", f"{rb.name}（{rb.template_id}）"),
        ("付款行数", len(result.lines)), ("总计（元）", result.total()),
        ("核对结果", "全部通过" if passed else "有不通过项，请勿据此发放，见“核对”表"),
        ("资金来源", _payer_text(rb, result)),
        ("村集体收入不足", _shortfall_text(result)),
        ("舍入规则", "每一付款行按 Decimal 精确计算后，在生成该行时四舍五入到分（一次）；所有小计、合计均为已舍入行的直接相加，不再舍入。"),
        ("各表", "干部绩效与奖励、村级奖补为付款明细（按乡镇分页，每个乡镇有小计，表尾有合计和签字栏）；村级小计、乡镇小计、按资金来源汇总供核对；核对表列出全部自动核对。"),
    ]
    widths = [16.0, 80.0]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    row = title_block(ws, formats, paper.title("村干部绩效、星级奖励及村级奖补发放表"), paper.facts(), 1,
                      sum(widths), paper.draft)
    for i, (label, value) in enumerate(lines, row + 1):
        height = row_height([str(value)], [widths[1]])
        if height:
            ws.set_row(i, height)
        ws.write_string(i, 0, label, formats.bold)
        fmt = formats.yuan if isinstance(value, Decimal) else (
            (formats.ok if passed else formats.bad) if label == "核对结果" else formats.wrap)
        write_value(ws, i, 1, value, formats, fmt)
    signature_block(ws, formats, row + len(lines) + 1, 1)
    print_layout(ws, Page(paper.title(f" {system_name(rb, paper.county)} 财务发放表")), sum(widths))
    ws.activate()


def _cadre_sheet(workbook, formats: Formats, paper: Paper, rows: list[CadreRow]) -> list[tuple[int, int]]:
    ws = workbook.add_worksheet(CADRE_SHEET)
    money = {5: formats.yuan, 7: formats.yuan, 8: formats.percent, 9: formats.yuan, 10: formats.yuan, 11: formats.yuan,
             6: formats.integer}
    return _payment_table(ws, formats, paper, "村干部绩效工资与星级奖励发放表", CADRE_HEADERS, _cadre_table(rows), money,
                          [9, 10, 11], widths={1: 10, 2: 14, 4: 10, 12: 14, 13: 30}, key_columns=(0, 4))


def _cadre_row(r: CadreRow) -> list[Any]:
    p, w = r.performance, r.reward
    sources = f"绩效：{PAYER_TEXT[p.payer]}" + (f"；奖励：{PAYER_TEXT[w.payer]}" if w else "")
    basis = "；".join([p.basis, *([w.basis] if w else []), *p.notes, *(w.notes if w else ())])
    return [p.township, p.village, p.branch_name, p.payee, p.role, p.monthly_pay, p.months,
            fen(p.performance_base or ZERO), (p.rate or ZERO) / 100, p.amount, w.amount if w else ZERO, r.total,
            sources, basis]


@dataclass
class Table:
    """A payment sheet's rows as `_payment_table` writes them: its parts are its townships (or all its rows as one),
    each made when it is written — a province's cadre sheet has ~500,000 rows, ~0.9 KB each as one list."""
    rows: LazyRows
    sums: dict[int, Decimal]  # each total column's sum over every row


def _listed(table: list[list[Any]], total_cols: list[int], grouped: bool) -> Table:
    groups = _by_township(table) if grouped else ([table] if table else [])
    return Table(LazyRows(len(table), table[:MEASURED_ROWS], lambda: iter(groups)),
                 {j: sum((row[j] for row in table), ZERO) for j in total_cols})


def _cadre_table(rows: list[CadreRow]) -> Table:
    def groups() -> Iterator[list[list[Any]]]:
        # A generator function, not a generator expression: compiled (mypyc), that is made into a list at once
        # (a province's ~500,000 cadre rows, ~350 MB more of the finance writer's peak).
        for _, own in groupby(rows, key=lambda r: r.performance.township):
            yield [_cadre_row(r) for r in own]

    sums = {9: sum((r.performance.amount for r in rows), ZERO),
            10: sum((r.reward.amount if r.reward else ZERO for r in rows), ZERO),
            11: sum((r.total for r in rows), ZERO)}
    return Table(LazyRows(len(rows), [_cadre_row(r) for r in rows[:MEASURED_ROWS]], groups), sums)


def _payment_table(ws, formats: Formats, paper: Paper, title: str, headers: list[str],
                   table: list[list[Any]] | Table, col_formats: dict, total_cols: list[int],
                   widths: dict[int, int] | None = None, key_columns: tuple[int, int] | None = None,
                   grouped: bool = True) -> list[tuple[int, int]]:
    """Title, header, the rows by township (a 小计 under each, each township from a new page), 合计 and
    the signature block; returns the (first, last) row of each township's lines."""
    made = table if isinstance(table, Table) else _listed(table, total_cols, grouped)
    rows = made.rows
    totals: list[Any] = ["合计"] + [""] * (len(headers) - 1)
    for j in total_cols:
        totals[j] = made.sums[j]
    sized = set_widths(ws, headers, [totals] + rows.first, 40, widths)
    last_col = len(headers) - 1
    head = title_block(ws, formats, paper.title(title), paper.facts(), last_col, sum(sized), paper.draft)
    write_header(ws, formats, head, headers, sized)
    row = head + 1
    ranges: list[tuple[int, int]] = []
    breaks: list[int] = []
    for group in rows.parts():  # township by township; not grouped: all the rows, made a part at a time
        if grouped:
            if ranges:
                breaks.append(row)
            ranges.append((row, row + len(group) - 1))
        elif not ranges:
            ranges.append((row, row + rows.count - 1))
        row = _write_rows(ws, formats, row, group, col_formats, sized)
        if grouped:
            subtotal = [group[0][0], "小计"] + [""] * (len(headers) - 2)
            for j in total_cols:
                subtotal[j] = sum((r[j] for r in group), ZERO)
            row = _write_total(ws, formats, row, subtotal, total_cols)
    row = _write_total(ws, formats, row, totals, total_cols)
    signature_block(ws, formats, row, last_col)
    ws.freeze_panes(head + 1, 0)
    ws.autofilter(head, 0, head + max(rows.count, 1), last_col)
    print_layout(ws, Page(paper.title(f" {title}"), (head, head), key_columns, tuple(breaks)), sum(sized))
    return ranges


def _by_township(table: list[list[Any]]) -> list[list[list[Any]]]:
    return [list(own) for _, own in groupby(table, key=itemgetter(0))]


def _write_rows(ws, formats: Formats, row: int, rows: list[list[Any]], col_formats: dict, sized: list[float]) -> int:
    """The lines, each as tall as its longest wrapped text; a text without a column format wraps."""
    ncols = max([len(sized)] + [len(r) for r in rows])
    return write_rows(ws, formats, row, rows, [col_formats.get(j) for j in range(ncols)], sized,
                      string_format=formats.wrap)


def _write_total(ws, formats: Formats, row: int, values: list[Any], total_cols: list[int]) -> int:
    for j, value in enumerate(values):
        if j in total_cols:
            ws.write_number(row, j, float(value), formats.yuan_bold)
        elif value:
            ws.write_string(row, j, str(value), formats.subtotal)
    return row + 1


def _award_sheet(workbook, formats: Formats, paper: Paper, awards: list[PaymentLine], by_key: dict,
                 rb: Rulebook) -> None:
    ws = workbook.add_worksheet(AWARD_SHEET)
    headers = ["乡镇", "村", "支部", "星级", "项目", "金额", "资金来源", "依据"]
    table = [[l.township, l.village, l.branch_name, rating_text(rb, by_key[(l.township, l.branch_code)].rating),
              l.rule_name, l.amount, PAYER_TEXT[l.payer], f"{l.basis}（{l.source}）"] for l in awards]
    _payment_table(ws, formats, paper, "村级奖补发放表", headers, table, {5: formats.yuan}, [5],
                   widths={4: 18, 6: 14, 7: 60}, key_columns=(0, 2))


def _village_sheet(workbook, formats: Formats, paper: Paper, result: PayResult, by_key: dict, rb: Rulebook) -> None:
    ws = workbook.add_worksheet("村级小计")
    headers = ["乡镇", "村", "支部", "星级", "绩效工资", "星级奖励", "村级奖补", "合计", "村集体应列支",
               "村集体经济收入", "村集体收入是否足够"]
    grouped: dict[tuple[str, str], list[PaymentLine]] = defaultdict(list)
    for l in result.lines:
        grouped[(l.township, l.branch_code)].append(l)
    keys = sorted(grouped, key=lambda k: (paper.order(k[0]), k[1]))

    def row(key: tuple[str, str]) -> list[Any]:
        # The village's lines summed by kind, in all and for its collective, in one pass.
        kinds = {"performance": ZERO, "star_reward": ZERO, "village_award": ZERO}
        total = collective = ZERO
        flagged = False
        for l in grouped[key]:
            total += l.amount
            if l.kind in kinds:
                kinds[l.kind] += l.amount
            if l.payer == "village_collective":
                collective += l.amount
                flagged = flagged or bool(l.notes)
        branch = by_key[key]
        enough = "—" if not collective else ("否，见付款行说明" if flagged else "是")
        return [branch.township, branch.village, branch.name, rating_text(rb, branch.rating),
                kinds["performance"], kinds["star_reward"], kinds["village_award"], total, collective,
                branch.facts.get("collective_income"), enough]

    every = result.lines  # the column sums over every village's lines (`row` sums one village's)
    sums = {4: _kind_sum(every, "performance"), 5: _kind_sum(every, "star_reward"), 6: _kind_sum(every, "village_award"),
            7: sum((l.amount for l in every), ZERO),
            8: sum((l.amount for l in every if l.payer == "village_collective"), ZERO)}
    table = Table(LazyRows.made(keys, row), sums)  # a province's 100,000 villages: a part at a time
    _payment_table(ws, formats, paper, "发放金额村级小计表", headers, table, {j: formats.yuan for j in range(4, 10)},
                   [4, 5, 6, 7, 8], key_columns=(0, 2), grouped=False)


def _kind_sum(lines: Iterable[PaymentLine], kind: str) -> Decimal:
    return sum((l.amount for l in lines if l.kind == kind), ZERO)


def _township_sheet(workbook, formats: Formats, paper: Paper, result: PayResult, rows: list[CadreRow]) -> None:
    ws = workbook.add_worksheet("乡镇小计")
    headers = ["乡镇", "支部数", "干部人数", "绩效工资", "星级奖励", "村级奖补", "合计"]
    by_township: dict[str, list[PaymentLine]] = defaultdict(list)
    for l in result.lines:
        by_township[l.township].append(l)
    cadres: dict[str, int] = defaultdict(int)
    for r in rows:
        cadres[r.performance.township] += 1
    table = []
    for township in sorted(by_township, key=paper.order):
        lines = by_township[township]
        table.append([township, len({l.branch_code for l in lines}), cadres[township],
                      _kind_sum(lines, "performance"), _kind_sum(lines, "star_reward"), _kind_sum(lines, "village_award"),
                      sum((l.amount for l in lines), ZERO)])
    _payment_table(ws, formats, paper, "发放金额乡镇小计表", headers, table, {j: formats.yuan for j in range(3, 7)},
                   [3, 4, 5, 6], key_columns=(0, 0), grouped=False)


def _payer_sheet(workbook, formats: Formats, paper: Paper, result: PayResult) -> None:
    ws = workbook.add_worksheet("按资金来源汇总")
    headers = ["资金来源", "付款行数", "金额"]
    paying = result.payers()
    table = [[PAYER_TEXT[p], result.count(p), result.total(p)] for p in PAYER_TEXT if p in paying]
    _payment_table(ws, formats, paper, "发放金额按资金来源汇总表", headers, table, {2: formats.yuan}, [2],
                   widths={0: 24, 1: 12, 2: 20}, key_columns=(0, 0), grouped=False)


def _check_sheet(workbook, formats: Formats, paper: Paper, found: list[Check], rows: list[CadreRow],
                 ranges: list[tuple[int, int]]) -> None:
    ws = workbook.add_worksheet("核对")
    headers = ["检查项", "结果", "数值一", "数值二", "说明"]
    total = sum((r.total for r in rows), ZERO)
    sized = set_widths(ws, headers, [[c.name, "不通过", c.left, c.right, c.note] for c in found] + [["", "", total, "", ""]],
                       40, {0: 40, 4: 40})
    head = title_block(ws, formats, paper.title("财务发放表核对表"), paper.facts(), len(headers) - 1, sum(sized))
    write_header(ws, formats, head, headers, sized)
    for i, c in enumerate(found, head + 1):
        height = row_height([c.name, "", "", "", c.note], sized)
        if height:
            ws.set_row(i, height)
        ws.write_string(i, 0, c.name, formats.wrap)
        ws.write_string(i, 1, "通过" if c.passed else "不通过", formats.ok if c.passed else formats.bad)
        for j, value in ((2, c.left), (3, c.right)):
            write_value(ws, i, j, value, formats, formats.yuan if isinstance(value, Decimal) else formats.integer)
        ws.write_string(i, 4, c.note, formats.wrap)
    # Excel's own re-count of the cadre lines (not the 小计 rows), so finance can see the sum is not just our word.
    row = head + len(found) + 2
    cells = ",".join(f"'{CADRE_SHEET}'!L{first + 1}:L{last + 1}" for first, last in ranges if last >= first)
    ws.set_row(row, 2 * LINE_POINTS)
    ws.write_string(row, 0, "Excel 复算：干部明细“合计”列之和（不含小计行）", formats.wrap)
    ws.write_formula(row, 2, f"=SUM({cells or 0})", formats.yuan, float(total))
    print_layout(ws, Page(paper.title(" 财务发放表核对表"), (head, head)), sum(sized))
