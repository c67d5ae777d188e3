"""The finance workbook (财务发放表): payment lines, subtotals, totals by payer, and a 核对 sheet.

Amounts are numbers with a two-decimal yuan format, never text. Every subtotal and total is
computed here independently from the rounded lines (by village, by township, by payer, overall),
and the 核对 sheet compares them, so a line lost in any grouping shows as 不通过.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .pay import FEN, PAYER_TEXT, PaymentLine, PayResult, fen
from .records import BranchResult
from .rulebook import Rulebook, rating_text
from .xlsx import Formats, fit_columns, new_workbook, write_value

ZERO = Decimal(0)
CADRE_SHEET = "干部绩效与奖励"
AWARD_SHEET = "村级奖补"
CADRE_HEADERS = ["乡镇", "村", "支部", "姓名", "职务", "月报酬", "在岗月数", "绩效基数", "发放比例", "绩效金额",
                 "星级奖励", "合计", "资金来源", "依据"]


@dataclass
class CadreRow:
    performance: PaymentLine
    reward: PaymentLine | None

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
    overall = sum((l.amount for l in lines), ZERO)
    by_village = _sum_by(lines, lambda l: (l.township, l.branch_code))
    by_township = _sum_by(lines, lambda l: l.township)
    by_payer = _sum_by(lines, lambda l: l.payer)
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
    negatives = [l for l in lines if l.amount < 0]
    found.append(Check("没有负数金额", len(negatives), 0, not negatives, "负数行数 / 应为 0"))
    unrounded = [l for l in lines if l.amount != l.amount.quantize(FEN)]
    found.append(Check("每行金额精确到分", len(unrounded), 0, not unrounded, "超过两位小数的行数 / 应为 0"))
    paid = {(r.performance.township, r.performance.branch_code, r.performance.payee) for r in rows}
    missing = [c for c in result.cadres_seen if c not in paid]
    found.append(Check("每名干部均已列支或说明", len(rows), len(result.cadres_seen), not missing,
                       "付款表干部人数 / 报送干部人数"))
    charged = _sum_by([l for l in lines if l.payer == "village_collective"], lambda l: (l.township, l.branch_code))
    short = {k for k, due in charged.items() if due > 0 and _short(due, incomes.get(k))}
    flagged = {(l.township, l.branch_code) for l in lines if l.payer == "village_collective" and l.notes}
    found.append(Check("村集体收入不足的村均已在付款行标注", len(short), len(flagged & short), short <= flagged,
                       "收入不足的村数 / 已标注的村数（不足时不隐藏，见“村级小计”和付款行“依据”）"))
    return found


def _short(due: Decimal, income: Decimal | None) -> bool:
    return income is None or due > income


def _sum_by(lines: list[PaymentLine], key) -> dict[Any, Decimal]:
    sums: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for l in lines:
        sums[key(l)] += l.amount
    return dict(sums)


def write_finance_workbook(path: Path, rb: Rulebook, period: int, result: PayResult,
                           branches: list[BranchResult], county: str = "", draft: str | None = None) -> Path:
    """DRAFT: the text that marks an unpayable version (ratings not yet final), on the cover's first rows and
    at the top of every payment sheet; None for the payable version."""
    rows = cadre_rows(result)
    awards = award_lines(result)
    found = checks(result, rows, awards, {b.key: b.facts.get("collective_income") for b in branches})
    workbook = new_workbook(path, f"{period}年度 {rb.name} 发放表")
    formats = Formats(workbook)
    _cover(workbook, formats, rb, period, result, found, county, draft)
    _cadre_sheet(workbook, formats, rows, draft)
    _award_sheet(workbook, formats, awards, {b.key: b for b in branches}, rb, draft)
    _village_sheet(workbook, formats, result, {b.key: b for b in branches}, rb, draft)
    _township_sheet(workbook, formats, result, rows, draft)
    _payer_sheet(workbook, formats, result, draft)
    _check_sheet(workbook, formats, found, rows, draft)
    for ws in workbook.worksheets():
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True, "autofilter": True, "sort": True})
        # Printed, a row must keep the payee and the amounts on one page: A4 landscape, one page wide.
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0, 2 if draft else 0)  # a draft's marker is printed on every page too
    workbook.close()
    return path


def _shortfall_text(result: PayResult) -> str:
    short = sorted({(l.township, l.branch_name) for l in result.lines if l.payer == "village_collective" and l.notes})
    if not short:
        return "无"
    names = "、".join(f"{t}{b}" for t, b in short[:20]) + ("等" if len(short) > 20 else "")
    return f"{len(short)} 个村的星级奖励超过村集体经济收入或收入未填写：{names}。见“村级小计”和各付款行“依据”，发放前请乡镇核实资金来源。"


def _cover(workbook, formats: Formats, rb: Rulebook, period: int, result: PayResult, found: list[Check],
           county: str, draft: str | None) -> None:
    ws = workbook.add_worksheet("说明")
    passed = all(c.passed for c in found)
    lines = [
        ("评定年度", str(period)), ("县（市、区）", county or "—"), ("规则", f"{rb.name}（{rb.template_id}）"),
        ("付款行数", len(result.lines)), ("总计（元）", result.total()),
        ("核对结果", "全部通过" if passed else "有不通过项，请勿据此发放，见“核对”表"),
        ("村集体收入不足", _shortfall_text(result)),
        ("舍入规则", "每一付款行按 Decimal 精确计算后，在生成该行时四舍五入到分（一次）；所有小计、合计均为已舍入行的直接相加，不再舍入。"),
        ("资金来源", "村集体经济收入 = 从村集体经济收入列支；县财政；未明确 = 原文未规定由谁支付，请按本县规定处理。"),
    ]
    top = _draft_rows(ws, formats, draft)
    ws.write_string(top, 0, f"{period}年度 村干部绩效、星级奖励及村级奖补发放表", formats.title)
    for i, (label, value) in enumerate(lines, top + 2):
        ws.write_string(i, 0, label, formats.bold)
        fmt = formats.yuan if isinstance(value, Decimal) else (
            (formats.ok if passed else formats.bad) if label == "核对结果" else formats.wrap)
        write_value(ws, i, 1, value, formats, fmt)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 90)
    ws.activate()


def _draft_rows(ws, formats: Formats, draft: str | None) -> int:
    """The draft marker in the sheet's first row (and a blank row under it); the rows it took."""
    if not draft:
        return 0
    ws.write_string(0, 0, draft, formats.bad)
    return 2


def _cadre_sheet(workbook, formats: Formats, rows: list[CadreRow], draft: str | None) -> None:
    ws = workbook.add_worksheet(CADRE_SHEET)
    table = []
    for r in rows:
        p, w = r.performance, r.reward
        sources = f"绩效：{PAYER_TEXT[p.payer]}" + (f"；奖励：{PAYER_TEXT[w.payer]}" if w else "")
        basis = "；".join([p.basis] + ([w.basis] if w else []) + p.notes + (w.notes if w else []))
        table.append([p.township, p.village, p.branch_name, p.payee, p.role, p.monthly_pay, p.months,
                      fen(p.performance_base or ZERO), (p.rate or ZERO) / 100, p.amount,
                      w.amount if w else ZERO, r.total, sources, basis])
    money = {5: formats.yuan, 7: formats.yuan, 8: formats.percent, 9: formats.yuan, 10: formats.yuan, 11: formats.yuan,
             6: formats.integer}
    _table_with_total(ws, formats, CADRE_HEADERS, table, money, [9, 10, 11], draft)


def _table_with_total(ws, formats: Formats, headers: list[str], table: list[list[Any]], col_formats: dict,
                      total_cols: list[int], draft: str | None = None) -> None:
    top = _draft_rows(ws, formats, draft)
    for j, h in enumerate(headers):
        ws.write_string(top, j, h, formats.header)
    for i, row in enumerate(table, top + 1):
        for j, value in enumerate(row):
            write_value(ws, i, j, value, formats, col_formats.get(j))
    last = len(table) + top + 1
    ws.write_string(last, 0, "合计", formats.bold)
    totals: list[Any] = ["合计"] + [""] * (len(headers) - 1)
    for j in total_cols:
        totals[j] = sum((row[j] for row in table), ZERO)
        ws.write_number(last, j, float(totals[j]), formats.yuan_bold)
    ws.freeze_panes(top + 1, 0)
    ws.autofilter(top, 0, top + max(len(table), 1), len(headers) - 1)
    # The total row is the widest number of its column: size the columns for it too (first, so
    # fit_columns' look at the first rows includes it), or the total shows as ###.
    fit_columns(ws, headers, [totals] + table, cap=50)


def _award_sheet(workbook, formats: Formats, awards: list[PaymentLine], by_key: dict, rb: Rulebook,
                 draft: str | None) -> None:
    ws = workbook.add_worksheet(AWARD_SHEET)
    headers = ["乡镇", "村", "支部", "星级", "项目", "金额", "资金来源", "依据"]
    table = [[l.township, l.village, l.branch_name, rating_text(rb, by_key[(l.township, l.branch_code)].rating),
              l.rule_name, l.amount, PAYER_TEXT[l.payer], f"{l.basis}（{l.source}）"] for l in awards]
    _table_with_total(ws, formats, headers, table, {5: formats.yuan}, [5], draft)


def _village_sheet(workbook, formats: Formats, result: PayResult, by_key: dict, rb: Rulebook,
                   draft: str | None) -> None:
    ws = workbook.add_worksheet("村级小计")
    headers = ["乡镇", "村", "支部", "星级", "绩效工资", "星级奖励", "村级奖补", "合计", "村集体应列支",
               "村集体经济收入", "村集体收入是否足够"]
    grouped: dict[tuple[str, str], list[PaymentLine]] = defaultdict(list)
    for l in result.lines:
        grouped[(l.township, l.branch_code)].append(l)
    table = []
    for key in sorted(grouped):
        lines, branch = grouped[key], by_key[key]
        kind = lambda k: sum((l.amount for l in lines if l.kind == k), ZERO)  # noqa: E731
        collective = sum((l.amount for l in lines if l.payer == "village_collective"), ZERO)
        income = branch.facts.get("collective_income")
        flagged = any(l.notes for l in lines if l.payer == "village_collective")
        enough = "—" if not collective else ("否，见付款行说明" if flagged else "是")
        table.append([branch.township, branch.village, branch.name, rating_text(rb, branch.rating),
                      kind("performance"), kind("star_reward"), kind("village_award"),
                      sum((l.amount for l in lines), ZERO), collective, income, enough])
    _table_with_total(ws, formats, headers, table, {j: formats.yuan for j in range(4, 10)}, [4, 5, 6, 7, 8], draft)


def _township_sheet(workbook, formats: Formats, result: PayResult, rows: list[CadreRow], draft: str | None) -> None:
    ws = workbook.add_worksheet("乡镇小计")
    headers = ["乡镇", "支部数", "干部人数", "绩效工资", "星级奖励", "村级奖补", "合计"]
    by_township: dict[str, list[PaymentLine]] = defaultdict(list)
    for l in result.lines:
        by_township[l.township].append(l)
    cadres: dict[str, int] = defaultdict(int)
    for r in rows:
        cadres[r.performance.township] += 1
    table = []
    for township in sorted(by_township):
        lines = by_township[township]
        kind = lambda k: sum((l.amount for l in lines if l.kind == k), ZERO)  # noqa: E731
        table.append([township, len({l.branch_code for l in lines}), cadres[township],
                      kind("performance"), kind("star_reward"), kind("village_award"),
                      sum((l.amount for l in lines), ZERO)])
    _table_with_total(ws, formats, headers, table, {j: formats.yuan for j in range(3, 7)}, [3, 4, 5, 6], draft)


def _payer_sheet(workbook, formats: Formats, result: PayResult, draft: str | None) -> None:
    ws = workbook.add_worksheet("按资金来源汇总")
    headers = ["资金来源", "付款行数", "金额"]
    table = [[PAYER_TEXT[p], sum(1 for l in result.lines if l.payer == p), result.total(p)]
             for p in PAYER_TEXT if any(l.payer == p for l in result.lines)]
    _table_with_total(ws, formats, headers, table, {2: formats.yuan}, [2], draft)


def _check_sheet(workbook, formats: Formats, found: list[Check], rows: list[CadreRow], draft: str | None) -> None:
    ws = workbook.add_worksheet("核对")
    headers = ["检查项", "结果", "数值一", "数值二", "说明"]
    top = _draft_rows(ws, formats, draft)
    for j, h in enumerate(headers):
        ws.write_string(top, j, h, formats.header)
    for i, c in enumerate(found, top + 1):
        ws.write_string(i, 0, c.name, formats.text)
        ws.write_string(i, 1, "通过" if c.passed else "不通过", formats.ok if c.passed else formats.bad)
        for j, value in ((2, c.left), (3, c.right)):
            write_value(ws, i, j, value, formats, formats.yuan if isinstance(value, Decimal) else formats.integer)
        ws.write_string(i, 4, c.note, formats.text)
    # Excel's own re-count of the cadre sheet, so finance can see the sum is not just our word.
    row = top + len(found) + 2
    last = len(rows) + 1 + top  # the cadre sheet's last line, below its draft rows when there are any
    total = sum((r.total for r in rows), ZERO)
    ws.write_string(row, 0, "Excel 复算：干部明细“合计”列之和", formats.bold)
    ws.write_formula(row, 2, f"=SUM('{CADRE_SHEET}'!L{top + 2}:L{last})", formats.yuan, float(total))
    fit_columns(ws, headers, [[c.name, "不通过", c.left, c.right, c.note] for c in found] + [["", "", total, "", ""]])
