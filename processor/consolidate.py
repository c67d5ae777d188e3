"""The consolidated workbook (评定结果汇总) for the organisation department: one sheet per result."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .extra_sheets import write_extra_sheets
from .problems import Problem
from .receipt import SEVERITY_TEXT
from .county import TargetResult
from .records import BranchResult, CountyResult
from .rulebook import Rulebook, rating_text, source_text
from .workdays import (
    CalendarMissing,
    add_working_days,
    is_working_day,
    next_working_day,
)
from .xlsx import Formats, new_workbook, write_table

STATE_TEXT = {"accepted": "通过", "rejected": "未通过", "superseded": "已被替代", "duplicate": "重复报送"}


@dataclass
class InputRow:
    file: str
    origin: str
    sender: str
    subject: str
    date: str
    township: str
    state: str
    errors: int
    warnings: int
    receipt: str
    sha256: str


@dataclass
class Consolidated:
    rulebook: Rulebook
    period: int
    county: CountyResult
    inputs: list[InputRow]
    problems: list[tuple[str, str, Problem]]  # (township, state, problem)
    townships: list[str]                      # every township expected or seen
    submitted: dict[str, str]                 # township -> state of its current submission
    notice: dict[str, Any]                    # start, end, working_days, error
    spot: dict[str, Any]                      # seed, share, candidates, drawn (list of keys)
    changes: list[dict[str, Any]]             # promotions and demotions against the previous period
    targets: list[list[Any]] = field(default_factory=list)
    # Sheets of the rating procedure (processor/procedure.py): (title, headers, rows), written last.
    procedure_sheets: list[tuple[str, list[str], list[list[Any]]]] = field(default_factory=list)


def write_consolidated(path: Path, c: Consolidated) -> Path:
    workbook = new_workbook(path, f"{c.period}年度 {c.rulebook.name} 评定结果汇总")
    formats = Formats(workbook)
    _summary(workbook, formats, c)
    _branches(workbook, formats, c)
    _notice(workbook, formats, c)
    _list_sheet(workbook, formats, c, "整顿名单", ["rectification"])
    _spot(workbook, formats, c)
    _list_sheet(workbook, formats, c, "荣誉名单", ["honours", "honours_high", "commendation", "plaque"])
    _changes(workbook, formats, c)
    _targets(workbook, formats, c)
    write_extra_sheets(workbook, formats, c.rulebook, c.county.branches)
    _problems(workbook, formats, c)
    _inputs(workbook, formats, c)
    for title, headers, rows in c.procedure_sheets:
        write_table(workbook.add_worksheet(title), formats, headers, rows)
    workbook.close()
    return path


def _summary(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("汇总")
    top = c.rulebook.data["rating"]["max"]
    levels = list(range(top, -1, -1))
    level_names = [_level_name(c.rulebook, r) for r in levels]
    headers = ["乡镇", "报送情况", "支部数", *level_names, "合格数", "合格率(%)", "乡镇考核得分", "排名"]
    rows = []
    for township in c.townships:
        s = c.county.townships.get(township)
        state = {"accepted": "已报送，通过", "rejected": "已报送，未通过"}.get(c.submitted.get(township, ""), "未报送")
        if s is None:
            rows.append([township, state, 0, *[0] * len(levels), 0, None, None, None])
            continue
        rows.append([township, state, s["branches"], *[s["distribution"][r] for r in levels], s["qualified"],
                     s["qualified_rate"], s["assessment"], s["rank"]])
    write_table(ws, formats, headers, rows)
    ws.activate()
    if rows:
        _distribution_chart(workbook, ws, len(rows), level_names)


def _level_name(rb: Rulebook, rating: int) -> str:
    if rb.data["rating"]["mode"] == "grades":
        grades = rb.data["rating"]["grades"]
        index = rb.data["rating"]["max"] - rating
        return grades[index]["name"] if 0 <= index < len(grades) else "未定等级"
    return rating_text(rb, rating)


def _distribution_chart(workbook, ws, n: int, level_names: list[str]) -> None:
    chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
    for k, name in enumerate(level_names):
        col = 3 + k
        chart.add_series({"name": ["汇总", 0, col], "categories": ["汇总", 1, 0, n, 0],
                          "values": ["汇总", 1, col, n, col]})
    chart.set_title({"name": "各乡镇星级分布", "name_font": {"name": "等线"}})
    chart.set_x_axis({"num_font": {"name": "等线"}})
    chart.set_y_axis({"name": "支部数", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 820, "height": 380})
    ws.insert_chart(n + 3, 0, chart)


def _branches(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("支部评定")
    units = c.rulebook.units
    headers = ["乡镇", "支部编码", "支部名称", "支部类型"]
    for u in units:
        headers += [f"{u['name']}得分", f"{u['name']}结果"]
    headers += ["综合得分", "评定结果", "是否合格", "列入名单", "评分来源", "评定理由"]
    list_names = {e["id"]: e["name"] for e in c.rulebook.data["outcomes"]["lists"]}
    rows = []
    for b in c.county.branches:
        by_id = {u.id: u for u in b.units}
        row: list[Any] = [b.township, b.branch_code, b.name, b.branch_type]
        for u in units:
            ur = by_id.get(u["id"])
            row += [ur.total if ur else None, _unit_verdict(ur)]
        row += [b.score, rating_text(c.rulebook, b.rating, b.grade), _yes_no(b.qualified),
                "、".join(list_names[i] for i in b.lists), b.score_source, "\n".join(r.sentence() for r in b.reasons)]
        rows.append(row)
    write_table(ws, formats, headers, rows, {len(headers) - 1: formats.wrap})
    ws.set_column(len(headers) - 1, len(headers) - 1, 100)


def _unit_verdict(ur) -> str:
    if ur is None:
        return "不适用"
    if ur.earned is None:
        return "—"
    return "得星" if ur.earned else ("否决" if ur.vetoes else "未得星")


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("合格" if value else "不合格")


def _branch_rows(c: Consolidated, branches: list[BranchResult]) -> list[list[Any]]:
    return [[b.township, b.branch_code, b.name, rating_text(c.rulebook, b.rating, b.grade)] for b in branches]


def _notice(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("公示名单")
    members = [b for b in c.county.branches if "notice" in b.lists]
    start, end = c.notice.get("start"), c.notice.get("end")
    period_text = (f"公示期：{start} 至 {end}（不少于 {c.notice['working_days']} 个工作日，已跳过周末、法定节假日并计入调休上班日）"
                   if end else f"公示期未能计算：{c.notice.get('error', '')}")
    ws.write_string(0, 0, period_text, formats.bold)
    rows = [row + [start or "", end or ""] for row in _branch_rows(c, members)]
    write_table(ws, formats, ["乡镇", "支部编码", "支部名称", "评定结果", "公示开始", "公示结束"], rows, first_row=2)


def _list_sheet(workbook, formats: Formats, c: Consolidated, title: str, ids: list[str]) -> None:
    ws = workbook.add_worksheet(title)
    names = {e["id"]: e["name"] for e in c.rulebook.data["outcomes"]["lists"]}
    rows = [[names[i], *row] for i in ids if i in names
            for row in _branch_rows(c, [b for b in c.county.branches if i in b.lists])]
    write_table(ws, formats, ["名单", "乡镇", "支部编码", "支部名称", "评定结果"], rows)


def _spot(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("抽查名单")
    s = c.spot
    ws.write_string(0, 0, f"从 {s['candidates']} 个抽查候选支部中按 {s['share']}%（向上取整）抽取 {len(s['drawn'])} 个；"
                          f"随机种子 {s['seed']}（用同一种子可复现）", formats.bold)
    by_key = {b.key: b for b in c.county.branches}
    rows = [[i, *row] for i, row in enumerate(_branch_rows(c, [by_key[k] for k in s["drawn"]]), 1)]
    write_table(ws, formats, ["序号", "乡镇", "支部编码", "支部名称", "评定结果"], rows, first_row=2)


def _changes(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("升降星")
    rows = [[ch["township"], ch["branch_code"], ch["name"], ch["before"], ch["after"], ch["change"], "待审批"]
            for ch in c.changes]
    write_table(ws, formats, ["乡镇", "支部编码", "支部名称", "上期", "本期", "变化", "审批"], rows)
    if not c.changes:
        ws.write_string(2, 0, "无上期结果可比较，或星级无变化。", formats.text)


def _targets(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("目标达成")
    rows = c.targets or [["本规则未设定县级目标", "—", "—", "—", "如需在此对照目标，请在规则文件的 targets 中列出", "—"]]
    write_table(ws, formats, ["指标", "目标", "实际", "是否达成", "口径", "来源"], rows, {4: formats.wrap})


def _problems(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("问题清单")
    rows = [[p.file, township, STATE_TEXT.get(state, state), SEVERITY_TEXT.get(p.severity, p.severity), p.code,
             p.sheet, p.cell, p.field, p.value, p.message] for township, state, p in c.problems]
    write_table(ws, formats, ["文件", "乡镇", "报送状态", "类别", "代码", "工作表", "单元格", "列", "填写的值", "说明"],
                rows, {9: formats.wrap})


def _inputs(workbook, formats: Formats, c: Consolidated) -> None:
    ws = workbook.add_worksheet("报送情况")
    rows = [[i.file, i.origin, i.sender, i.subject, i.date, i.township, STATE_TEXT.get(i.state, i.state),
             i.errors, i.warnings, i.receipt, i.sha256[:16]] for i in c.inputs]
    write_table(ws, formats, ["文件", "来源", "发件人", "主题", "日期", "乡镇", "状态", "错误", "提示", "回执",
                              "内容指纹"], rows)


def targets_table(results: list[TargetResult]) -> list[list[Any]]:
    """The 目标达成 rows: goal, figure, met, how it is measured, and the seed line — one per rulebook target."""
    return [_target_row(r) for r in results]


def _target_row(r: TargetResult) -> list[Any]:
    t = r.target
    share = t.get("measure", "share") == "share"
    goal = t.get("goal")
    goal_text = t.get("goal_text") or (f"{_OP_TEXT[goal['op']]}{goal['value']}{'%' if share else ''}" if goal else "—")
    if r.value is None:
        return [t["name"], goal_text, "未采集", "—", t["not_collected"], source_text(t.get("source"))]
    # Shown to one decimal; the comparison above used the exact share (76 of 117 is 64.96%, not 65%).
    shown = f"{r.value.quantize(Decimal('0.1'))}%" if share else str(r.count)
    met = "—" if r.met is None else ("达成" if r.met else "未达成")
    return [t["name"], goal_text, shown, met, t.get("how", ""), source_text(t.get("source"))]


_OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}


def notice_dates(start: dt.date | None, working_days: int) -> dict[str, Any]:
    if start is None:
        return {"start": None, "end": None, "working_days": working_days, "error": "未指定公示开始日期"}
    try:
        first = start if is_working_day(start) else next_working_day(start)
        end = add_working_days(first, working_days)
    except CalendarMissing as exc:
        return {"start": None, "end": None, "working_days": working_days, "error": str(exc)}
    return {"start": first.isoformat(), "end": end.isoformat(), "working_days": working_days, "error": ""}
