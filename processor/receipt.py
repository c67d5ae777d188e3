"""The receipt (回执) a township gets back: a summary, every problem linked to its cell, every correction."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .problems import ERROR, WARNING, count_by_severity
from .records import Submission
from .sheets import sheets_for
from .xlsx import (
    LINE_POINTS,
    Formats,
    Page,
    new_workbook,
    print_layout,
    row_height,
    set_widths,
    title_block,
    write_header,
    write_rows,
    write_value,
)

SEVERITY_TEXT = {ERROR: "错误", WARNING: "提示", "info": "说明"}
_UNSAFE = re.compile(r"[^0-9A-Za-z\u4e00-\u9fff_-]+")
_LINK_UNSAFE = re.compile(r"[\x00-\x1f\x7f:]")


def safe_stem(name: str, limit: int = 40) -> str:
    """A file-name-safe stem from untrusted text: no separators, dots, NULs or control characters."""
    stem = _UNSAFE.sub("_", Path(name.replace("\\", "/").split("/")[-1]).stem).strip("_")
    return stem[:limit] or "submission"


def link_target(name: str) -> str:
    """The submission's own file name, so a link opens it beside the receipt: no folder, drive or control
    character of untrusted text can turn it into a link elsewhere."""
    base = _LINK_UNSAFE.sub("_", name.replace("\\", "/").split("/")[-1])
    return base.replace("#", "%23") or "submission.xlsx"


def receipt_name(sub: Submission, digest: str) -> str:
    """回执_<file stem>_<8 hex of the file's name and content>: two files differing only in extension, or
    equal bytes under two names, never share a receipt (nor a reply carry another township's)."""
    tag = hashlib.sha256(f"{sub.file}\0{digest}".encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"回执_{safe_stem(sub.file)}_{tag}.xlsx"


def write_receipt(sub: Submission, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / receipt_name(sub, sub.sha256)
    workbook = new_workbook(path, "报送回执", small=True)
    formats = Formats(workbook)
    _summary(workbook, formats, sub)
    _problems(workbook, formats, sub)
    _changes(workbook, formats, sub)
    if sub.meta.get("status_rows"):
        _statuses(workbook, formats, sub.meta["status_rows"])
    workbook.close()
    return path


def verdict(sub: Submission) -> str:
    """The receipt's answer, from the night's accounting when the run wrote it (state), else from the file."""
    state, note = sub.meta.get("state"), sub.meta.get("state_note", "")
    if state == "superseded":
        return f"已被本乡镇更新的报送“{note}”替代，本文件未使用"
    if state == "held":
        return f"暂未采用：比已采用的“{note}”少了{sub.meta.get('held_lost', '')}，仍按“{note}”计算"
    if sub.accepted:
        read = sub.meta.get("read")
        return f"通过：数据可以使用（读取支部 {read[0]} 个、村干部 {read[1]} 名）" if read else "通过：数据可以使用"
    kept = sub.meta.get("in_force")
    return "未通过：请按问题清单修改后重新报送" + (f"（本乡镇仍按已采用的“{kept}”计算）" if kept else "")


def _summary(workbook, formats: Formats, sub: Submission) -> None:
    ws = workbook.add_worksheet("回执")
    counts = count_by_severity(sub.problems)
    rows = [
        ("报送文件", sub.file),
        ("报送单位" if sub.meta.get("kind") else "填报乡镇", sub.township),
        ("模板", f"{sub.template} {sub.meta.get('template_version', '')}".strip()),
        ("评定年度", str(sub.meta.get("period", ""))),
        ("审核结果", verdict(sub)),
        ("错误", counts[ERROR]),
        ("提示", counts[WARNING]),
        ("已自动更正", len(sub.changes)),
        ("下一步", _next_step(sub)),
    ]
    widths = [14.0, 70.0]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    title = f"{sub.township}报送回执" if sub.township else "报送回执"
    row = title_block(ws, formats, title, [], 1, sum(widths))
    for i, (label, value) in enumerate(rows, row + 1):
        height = row_height([str(value)], [widths[1]])
        ws.set_row(i, height or 1.4 * LINE_POINTS)
        ws.write_string(i, 0, label, formats.bold)
        used = sub.accepted and sub.meta.get("state") not in ("superseded", "held")
        fmt = (formats.ok if used else formats.bad) if label == "审核结果" else (
            formats.left if isinstance(value, int) else formats.wrap)
        write_value(ws, i, 1, value, formats, fmt)
    print_layout(ws, Page(f"报送回执：{sub.file}"), sum(widths))
    ws.activate()


def _next_step(sub: Submission) -> str:
    if sub.meta.get("state") == "superseded":
        return "无需操作：本乡镇以最后一次报送为准。"
    if sub.meta.get("state") == "held":
        return "如确需删减这些支部或干部，请说明原因并联系县委组织部确认；否则请补全后重新报送。"
    if sub.accepted:
        return "无需操作。如有“提示”，请核实；确需更正的，修改后重新报送即可（以最后一次报送为准）。"
    return "请打开“问题清单”，点击单元格链接定位到原文件中的位置，逐条修改后，将整个文件重新发送。"


def _problems(workbook, formats: Formats, sub: Submission) -> None:
    ws = workbook.add_worksheet("问题清单")
    headers = ["序号", "类别", "代码", "工作表", "单元格", "列", "填写的值", "问题与修改方法"]
    rows = [[i, SEVERITY_TEXT.get(p.severity, p.severity), p.code, p.sheet, p.cell, p.field, p.value, p.message]
            for i, p in enumerate(sub.problems, 1)]
    sized = set_widths(ws, headers, rows, 16, {7: 60})
    write_header(ws, formats, 0, headers, sized)
    target = link_target(sub.file)
    for i, row in enumerate(rows, 1):
        p = sub.problems[i - 1]
        height = row_height([v if isinstance(v, str) else "" for v in row], sized)
        if height:
            ws.set_row(i, height)
        for j, value in enumerate(row):
            fmt = (formats.bad if p.severity == ERROR else formats.warn) if j == 1 else formats.wrap
            write_value(ws, i, j, value, formats, fmt)
        if p.cell and p.sheet:
            sheet_ref = p.sheet.replace("'", "''")
            ws.write_url(i, 4, f"external:{target}#'{sheet_ref}'!{p.cell}", formats.link, p.cell,
                         "打开原文件并定位到该单元格（原文件需与回执在同一文件夹）")
    ws.freeze_panes(1, 0)
    if rows:
        ws.autofilter(0, 0, len(rows), len(headers) - 1)
    print_layout(ws, Page(f"报送回执：{sub.file}（问题清单）", (0, 0), (0, 0)), sum(sized))
    if not rows:
        ws.hide()  # nothing to list (the 回执 says 0): a clean receipt prints as its one page


def _changes(workbook, formats: Formats, sub: Submission) -> None:
    ws = workbook.add_worksheet("已自动更正")
    headers = ["工作表", "单元格", "列", "原值", "按此读取"]
    titles = {}
    if sub.rulebook:
        titles = {f.id: f.title for s in sheets_for(sub.rulebook) for f in s.fields}
    rows = [[sheet, cell, titles.get(c.field, c.field), str(c.before), str(c.after)] for sheet, cell, c in sub.changes]
    sized = set_widths(ws, headers, rows, 30)
    write_header(ws, formats, 0, headers, sized)
    write_rows(ws, formats, 1, rows, [formats.wrap] * len(headers), sized)
    ws.freeze_panes(1, 0)
    print_layout(ws, Page(f"报送回执：{sub.file}（已自动更正）", (0, 0)), sum(sized))
    if not rows:
        ws.hide()


STATUS_HEADERS = ["乡镇", "支部编码", "支部名称", "县级审查", "当前评定", "状态", "设定者", "日期", "依据文件"]


def _statuses(workbook, formats: Formats, rows: list[list[str]]) -> None:
    """评定状态: where each branch this file decided stands in the county's procedure (processor/procedure.py)."""
    ws = workbook.add_worksheet("评定状态")
    for j, h in enumerate(STATUS_HEADERS):
        ws.write_string(0, j, h, formats.header)
    write_rows(ws, formats, 1, rows, [formats.text] * len(STATUS_HEADERS), [])  # no widths: one line each
    ws.freeze_panes(1, 0)
    sized = set_widths(ws, STATUS_HEADERS, rows, 30)
    print_layout(ws, Page("报送回执（评定状态）", (0, 0)), sum(sized))
