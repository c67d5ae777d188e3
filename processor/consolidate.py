"""The consolidated workbook (评定结果汇总) for the organisation department: one sheet per result."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .extra_sheets import extra_tables
from .common import CHINA_TZ, collector_paused
from .county import TargetResult
from .problems import Problem
from .receipt import SEVERITY_TEXT
from .records import BranchResult, CountyResult
from .rulebook import Rulebook, rating_text, source_text
from .workdays import (
    CalendarMissing,
    add_working_days,
    is_working_day,
    next_working_day,
)
from .xlsx import (
    Formats,
    LazyRows,
    Page,
    new_workbook,
    print_layout,
    set_widths,
    small_workbook,
    title_block,
    write_table,
)

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
    """What the consolidated workbook, the reasons workbook and the notices are written from. The run writes the
    notices and the reasons workbook before it knows the payments, from one whose inputs and problems refuse to be
    read (run._Outputs.results_tables); the consolidated workbook's has them."""
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
    # The rows are made by the writer (a province's statuses are 100,000 rows the run need not hold meanwhile).
    procedure_sheets: list[tuple[str, list[str], Callable[[], list[list[Any]]]]] = field(default_factory=list)
    county_name: str = ""                     # the county's name from the run config, printed in every title


def system_name(rb: Rulebook, county: str = "") -> str:
    """The rating system's name; a rulebook named after its seed's county loses that county's name
    when printed for another county (获嘉县“五星”党支部创建 → “五星”党支部创建)."""
    return _COUNTY_PREFIX.sub("", rb.name) if county else rb.name


_COUNTY_PREFIX = re.compile(r"^[\u4e00-\u9fff]{1,6}?[县市区旗]")
KEY = (0, 2)  # 乡镇, 支部编码, 支部名称: repeated at the left of every printed page


def write_consolidated(path: Path, c: Consolidated) -> Path:
    with collector_paused():
        return _consolidated(path, c)


def _consolidated(path: Path, c: Consolidated) -> Path:
    # Its tables: the branches, their notice, status and accountability rows, the lists, problems and inputs.
    workbook = new_workbook(path, _doc_title(c), small=small_workbook(4 * len(c.county.branches) + len(c.problems)))
    formats = Formats(workbook)
    _summary(workbook, formats, c)
    _branches(workbook, formats, c)
    _notice(workbook, formats, c)
    _list_sheet(workbook, formats, c, "整顿名单", ["rectification"])
    _spot(workbook, formats, c)
    _list_sheet(workbook, formats, c, "荣誉名单", ["honours", "honours_high", "commendation", "plaque"])
    _changes(workbook, formats, c)
    _targets(workbook, formats, c)
    for name, headers, rows in extra_tables(c.rulebook, c.county.branches):
        _table_sheet(workbook, formats, c, name, name, headers, rows, key=None)
    _problems(workbook, formats, c)
    _inputs(workbook, formats, c)
    for title, headers, made in c.procedure_sheets:
        _table_sheet(workbook, formats, c, title, title, headers, made(), key=None)
    workbook.close()
    return path


def reasons_workbook_name(rulebook_id: str, period: int) -> str:
    return f"评定理由_{rulebook_id}_{period}.xlsx"


def write_reasons_workbook(path: Path, c: Consolidated) -> Path:
    """Every branch's full reasons, each with its rule, seed line and cells: a reference of its own, so
    the consolidated workbook prints in a few dozen pages (its 支部评定 shows the decisive reasons)."""
    with collector_paused():
        workbook = new_workbook(path, _doc_title(c, "评定理由"),
                                small=small_workbook(sum(len(b.reasons) for b in c.county.branches)))
        _reasons(workbook, Formats(workbook), c)
        workbook.close()
    return path


def _doc_title(c: Consolidated, what: str = "评定结果汇总表") -> str:
    return f"{c.county_name}{c.period}年度{system_name(c.rulebook, c.county_name)}{what}"


def _table_sheet(workbook, formats: Formats, c: Consolidated, name: str, title: str, headers: list[str],
                 rows: list[list[Any]] | LazyRows, col_formats: dict[int, Any] | None = None,
                 widths: dict[int, int] | None = None, key: tuple[int, int] | None = KEY, note: str = "",
                 cap: int = 30) -> Any:
    """A sheet that prints: its title, county/period/date, an optional note, the table; header and key
    columns repeated on every page."""
    ws = workbook.add_worksheet(name)
    sized = set_widths(ws, headers, LazyRows.of(rows).first, cap, widths)
    made = dt.datetime.now(CHINA_TZ).date().isoformat()
    facts = [f"县（市、区）：{c.county_name or '未设置'}", f"评定年度：{c.period}", f"制表日期：{made}"]
    row = title_block(ws, formats, f"{c.county_name}{c.period}年度{title}", facts, len(headers) - 1, sum(sized),
                      note=note)
    width = write_table(ws, formats, headers, rows, col_formats, first_row=row, cap=cap, widths=widths)
    print_layout(ws, Page(_doc_title(c), (row, row), key), width)
    return ws


def _summary(workbook, formats: Formats, c: Consolidated) -> None:
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
    title = f"{system_name(c.rulebook, c.county_name)}评定结果汇总表"
    ws = _table_sheet(workbook, formats, c, "汇总", title, headers, rows, key=(0, 0))
    ws.activate()
    if rows:
        _distribution_chart(workbook, ws, 3, len(rows), level_names)


def _level_name(rb: Rulebook, rating: int) -> str:
    if rb.data["rating"]["mode"] == "grades":
        grades = rb.data["rating"]["grades"]
        index = rb.data["rating"]["max"] - rating
        return grades[index]["name"] if 0 <= index < len(grades) else "未定等级"
    return rating_text(rb, rating)


def _distribution_chart(workbook, ws, header: int, n: int, level_names: list[str]) -> None:
    chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
    for k in range(len(level_names)):
        col = 3 + k
        chart.add_series({"name": ["汇总", header - 1, col], "categories": ["汇总", header, 0, header + n - 1, 0],
                          "values": ["汇总", header, col, header + n - 1, col]})
    chart.set_title({"name": "各乡镇星级分布", "name_font": {"name": "等线"}})
    chart.set_x_axis({"num_font": {"name": "等线"}})
    chart.set_y_axis({"name": "支部数", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    # Narrower than a portrait page and short enough to print under the table on the same page.
    chart.set_size({"width": 640, "height": 340})
    ws.insert_chart(header + n + 1, 0, chart)


def _branches(workbook, formats: Formats, c: Consolidated) -> None:
    units = c.rulebook.units
    headers = ["乡镇", "支部编码", "支部名称", "支部类型"]
    headers += [u["name"] for u in units]  # each unit's score and verdict in one column: "86 得星"
    headers += ["综合得分", "评定结果", "是否合格", "列入名单", "评分来源", "主要理由"]
    list_names = {e["id"]: e["name"] for e in c.rulebook.data["outcomes"]["lists"]}
    branches = _in_county_order(c, c.county.branches)

    def row(b: BranchResult) -> list[Any]:
        by_id = {u.id: u for u in b.units}
        made: list[Any] = [b.township, b.branch_code, b.name, b.branch_type]
        for u in units:
            ur = by_id.get(u["id"])
            made.append(f"{ur.total} {_unit_verdict(ur)}" if ur else _unit_verdict(ur))
        return made + [b.score, rating_text(c.rulebook, b.rating, b.grade), _yes_no(b.qualified),
                       "、".join(list_names[i] for i in b.lists), b.score_source, _decisive(b)]

    last = len(headers) - 1
    _table_sheet(workbook, formats, c, "支部评定", "村党支部评定结果明细表", headers, LazyRows.made(branches, row), {last: formats.wrap},
                 cap=12, widths={2: 16, last - 2: 12, last: 30, **{4 + k: 10 for k in range(len(units))}},
                 note=f"完整评定理由（逐条注明规则、原文出处和单元格）见 {reasons_workbook_name(c.rulebook.id, c.period)}")


def _decisive(b: BranchResult) -> str:
    """The reasons the other columns do not already show (vetoes, adjustments…), without their citations."""
    shown = [r.text for r in b.reasons if not _shown_elsewhere(r.rule)]
    return "\n".join(shown) or "—"


def _shown_elsewhere(rule: str) -> bool:
    return rule.endswith((".earn", ".rating")) or ".outcomes." in rule


def _reasons(workbook, formats: Formats, c: Consolidated) -> None:
    """Each branch's reasons in a wide wrapped column of their own, so they print whole."""
    branches = _in_county_order(c, c.county.branches)

    def row(b: BranchResult) -> list[Any]:  # a province's reasons are ~2.6 KB a branch
        return [b.township, b.branch_code, b.name, rating_text(c.rulebook, b.rating, b.grade),
                "\n".join(r.sentence() for r in b.reasons)]

    _table_sheet(workbook, formats, c, "评定理由", f"{system_name(c.rulebook, c.county_name)}村党支部评定理由", ["乡镇", "支部编码", "支部名称", "评定结果", "评定理由"],
                 LazyRows.made(branches, row), {4: formats.wrap}, widths={2: 16, 4: 92})


def _in_county_order(c: Consolidated, branches: list[BranchResult]) -> list[BranchResult]:
    order = {t: i for i, t in enumerate(c.townships)}
    return sorted(branches, key=lambda b: (order.get(b.township, len(order)), b.township))


def _unit_verdict(ur) -> str:
    if ur is None:
        return "不适用"
    if ur.earned is None:
        return "—"
    return "得星" if ur.earned else ("否决" if ur.vetoes else "未得星")


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("合格" if value else "不合格")


def _branch_rows(c: Consolidated, branches: list[BranchResult]) -> list[list[Any]]:
    return [[b.township, b.branch_code, b.name, rating_text(c.rulebook, b.rating, b.grade)]
            for b in _in_county_order(c, branches)]


def _notice(workbook, formats: Formats, c: Consolidated) -> None:
    members = [b for b in c.county.branches if "notice" in b.lists]
    start, end = c.notice.get("start"), c.notice.get("end")
    period_text = (f"公示期：{start} 至 {end}（不少于 {c.notice['working_days']} 个工作日，已跳过周末、法定节假日并计入调休上班日）"
                   if end else f"公示期未能计算：{c.notice.get('error', '')}")
    rows = [row + [start or "", end or ""] for row in _branch_rows(c, members)]
    _table_sheet(workbook, formats, c, "公示名单", "公示名单", ["乡镇", "支部编码", "支部名称", "评定结果", "公示开始", "公示结束"],
                 rows, note=period_text)


def _list_sheet(workbook, formats: Formats, c: Consolidated, title: str, ids: list[str]) -> None:
    names = {e["id"]: e["name"] for e in c.rulebook.data["outcomes"]["lists"]}
    rows = [[names[i], *row] for i in ids if i in names
            for row in _branch_rows(c, [b for b in c.county.branches if i in b.lists])]
    _table_sheet(workbook, formats, c, title, title, ["名单", "乡镇", "支部编码", "支部名称", "评定结果"], rows, key=(0, 3))


def _spot(workbook, formats: Formats, c: Consolidated) -> None:
    s = c.spot
    note = (f"从 {s['candidates']} 个抽查候选支部中按 {s['share']}%（向上取整）抽取 {len(s['drawn'])} 个；"
            f"随机种子 {s['seed']}（用同一种子可复现）")
    by_key = {b.key: b for b in c.county.branches}
    rows = [[i, *row] for i, row in enumerate(_branch_rows(c, [by_key[k] for k in s["drawn"]]), 1)]
    _table_sheet(workbook, formats, c, "抽查名单", "抽查名单", ["序号", "乡镇", "支部编码", "支部名称", "评定结果"], rows,
                 key=(0, 3), note=note)


def _changes(workbook, formats: Formats, c: Consolidated) -> None:
    rows = [[ch["township"], ch["branch_code"], ch["name"], ch["before"], ch["after"], ch["change"], "待审批"]
            for ch in c.changes]
    note = "" if c.changes else "无上期结果可比较，或星级无变化。"
    _table_sheet(workbook, formats, c, "升降星", "升降星名单", ["乡镇", "支部编码", "支部名称", "上期", "本期", "变化", "审批"],
                 rows, note=note)


def _targets(workbook, formats: Formats, c: Consolidated) -> None:
    rows = c.targets or [["本规则未设定县级目标", "—", "—", "—", "如需在此对照目标，请在规则文件的 targets 中列出", "—"]]
    _table_sheet(workbook, formats, c, "目标达成", "县级目标达成情况", ["指标", "目标", "实际", "是否达成", "口径", "来源"], rows,
                 {4: formats.wrap}, widths={0: 24, 4: 40, 5: 40}, key=(0, 0))


def _problems(workbook, formats: Formats, c: Consolidated) -> None:
    rows = [[p.file, township, STATE_TEXT.get(state, state), SEVERITY_TEXT.get(p.severity, p.severity), p.code,
             p.sheet, p.cell, p.field, p.value, p.message] for township, state, p in c.problems]
    _table_sheet(workbook, formats, c, "问题清单", "报送问题清单",
                 ["文件", "乡镇", "报送状态", "类别", "代码", "工作表", "单元格", "列", "填写的值", "说明"],
                 rows, {9: formats.wrap}, widths={0: 20, 7: 14, 8: 14, 9: 50}, key=(0, 1))


def _inputs(workbook, formats: Formats, c: Consolidated) -> None:
    rows = [[i.file, i.origin, i.sender, i.subject, i.date, i.township, STATE_TEXT.get(i.state, i.state),
             i.errors, i.warnings, i.receipt, i.sha256[:16]] for i in c.inputs]
    _table_sheet(workbook, formats, c, "报送情况", "报送情况", ["文件", "来源", "发件人", "主题", "日期", "乡镇", "状态", "错误", "提示",
                                                          "回执", "内容指纹"], rows,
                 widths={0: 20, 2: 16, 3: 16, 9: 24}, key=(0, 0))


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
