"""The workbook a township fills, generated from the rulebook's row schemas (xlsxwriter).

Dropdowns, bounds and input messages come from the same JSON Schemas the validator uses.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .cells import column_letters
from .periods import rulebook_cycle
from .rulebook import Rulebook, shipped_rulebooks
from .sheets import (
    INSTRUCTIONS_SHEET,
    Field,
    Sheet,
    sheets_for,
    write_generated_schemas,
)
from .xlsx import (
    Formats,
    Page,
    display_width,
    new_workbook,
    print_layout,
    row_height,
    write_header,
)

TEMPLATE_ROWS = 2000  # rows prepared with validations in each data sheet
OPTIONS_SHEET = "下拉选项"


def template_file_name(rulebook: Rulebook) -> str:
    return f"{rulebook.template_id}-{rulebook.version}.xlsx"


def write_template(rulebook: Rulebook, folder: Path) -> Path:
    """Write the fill-in template for this rulebook into folder; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / template_file_name(rulebook)
    workbook = new_workbook(path, f"{rulebook.name} 填报模板")
    formats = Formats(workbook)
    sheets = sheets_for(rulebook)
    _write_instructions(workbook, formats, rulebook, sheets)
    lists: list[list[str]] = []
    for sheet in sheets:
        _write_data_sheet(workbook, formats, sheet, lists)
    if lists:
        _write_options(workbook, lists)
    workbook.close()
    return path


def _write_instructions(workbook: Any, formats: Formats, rulebook: Rulebook, sheets: list[Sheet]) -> None:
    ws = workbook.add_worksheet(INSTRUCTIONS_SHEET)
    widths = [14.0, 30.0, 6.0, 50.0]  # one portrait page wide: the instructions print whole
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.write_string(0, 0, f"{rulebook.name} 填报模板", formats.title)
    meta = [("模板编号", rulebook.template_id), ("模板版本", rulebook.version)]
    for i, (label, value) in enumerate(meta, 2):
        ws.write_string(i, 0, label, formats.bold)
        ws.write_string(i, 1, value, formats.text)
    ws.write_string(4, 0, "填报乡镇", formats.bold)
    ws.write_blank(4, 1, None, formats.input)
    ws.data_validation(4, 1, 4, 1, {"validate": "length", "criteria": "between", "minimum": 1, "maximum": 30,
                                    "input_title": "填报乡镇", "input_message": "填写本乡镇名称，如 城关镇。"})
    ws.write_string(5, 0, "评定年度", formats.bold)
    ws.write_blank(5, 1, None, formats.input)
    ws.data_validation(5, 1, 5, 1, _period_validation(rulebook))
    row = 7
    for line in _general_notes(rulebook):
        # A note spans the page width and wraps there, rather than running off the printed page.
        ws.set_row(row, row_height([line], [sum(widths)]))
        ws.merge_range(row, 0, row, 3, line, formats.facts)
        row += 1
    row += 1
    header = row
    write_header(ws, formats, row, ["工作表", "列", "必填", "填写要求"], widths)
    for sheet in sheets:
        for f in sheet.fields:
            row += 1
            values = [sheet.name, f.title, "是" if f.required else "", field_rule_text(f)]
            ws.set_row(row, row_height(values, widths))
            for j, value in enumerate(values):
                ws.write_string(row, j, value, formats.wrap)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    print_layout(ws, Page(f"{rulebook.name} 填报模板：{INSTRUCTIONS_SHEET}", (header, header)), sum(widths))
    ws.activate()


def _period_validation(rulebook: Rulebook) -> dict[str, Any]:
    if rulebook_cycle(rulebook.settings) == "half_year":  # 2026H1 is text: Excel's whole-number check would refuse it
        return {"validate": "length", "criteria": "between", "minimum": 6, "maximum": 6, "input_title": "评定期间",
                "input_message": "每半年评定一次：上半年填 2026H1，下半年填 2026H2。"}
    return {"validate": "integer", "criteria": "between", "minimum": 2000, "maximum": 2100,
            "input_title": "评定年度", "input_message": "四位年份，如 2026。"}


def _general_notes(rulebook: Rulebook) -> list[str]:
    return [
        "填写说明：",
        "1. 黄色单元格填写填报乡镇和评定年度；不要修改模板编号和模板版本。",
        "2. 各工作表第 1 行为列标题，请勿修改或删除；从第 2 行起每行填写一条记录，可以留空行。",
        "3. 数字直接填写（如 85、1200.50），不要使用公式；日期写成 2026-03-01。",
        "4. 百分比可写 92%、92 或 0.92，三者含义相同。",
        "5. 支部编码在“支部信息”中登记一次，其他工作表用同一编码关联。",
        f"6. 本模板依据：{rulebook.name}。填好后将本文件作为附件发送到县委组织部邮箱。",
    ]


def field_rule_text(f: Field) -> str:
    """The rule for one column in words; the same schema feeds the cell's validation."""
    spec = f.spec
    parts = [spec.get("description", "")]
    if "enum" in spec:
        parts.append("可选：" + "、".join(str(o) for o in spec["enum"]))
    if "minimum" in spec or "maximum" in spec:
        parts.append(f"范围 {spec.get('minimum', '')}～{spec.get('maximum', '')}")
    if f.type == "integer":
        parts.append("整数")
    # One sentence: clauses joined by "；" (never "。；"), ending in "。".
    clauses = [p.rstrip("。；") for p in parts if p and p.rstrip("。；")]
    return "；".join(clauses) + "。" if clauses else ""


def _write_options(workbook: Any, lists: list[list[str]]) -> None:
    """Dropdown lists too long for Excel's 255-character inline limit live on a hidden sheet."""
    options = workbook.add_worksheet(OPTIONS_SHEET)
    for col, texts in enumerate(lists):
        for i, text in enumerate(texts):
            options.write_string(i, col, text)
    options.hide()
    options.protect()


def _write_data_sheet(workbook: Any, formats: Formats, sheet: Sheet, lists: list[list[str]]) -> None:
    ws = workbook.add_worksheet(sheet.name)
    tall = any(display_width(f.title) > 20 for f in sheet.fields)
    ws.set_row(0, 48 if tall else 24)
    total = 0
    for j, f in enumerate(sheet.fields):
        ws.write_string(0, j, f.title, formats.header_required if f.required else formats.header)
        width = min(24, max(10, display_width(f.title) // (3 if tall else 1) + 4))
        total += width
        ws.set_column(j, j, width, _column_format(formats, f))
        ws.data_validation(1, j, TEMPLATE_ROWS, j, _validation(f, lists))
    key = 2 if sheet.key == "scores" else 1
    ws.freeze_panes(1, key)
    print_layout(ws, Page(f"{sheet.name}（填报乡镇：＿＿＿＿＿＿）", (0, 0), (0, key - 1)), total)
    ws.protect("", {"insert_rows": True, "delete_rows": True, "format_columns": True, "sort": True,
                    "autofilter": True, "select_locked_cells": True, "select_unlocked_cells": True})


def _column_format(formats: Formats, f: Field) -> Any:
    if f.kind == "date":
        return formats.input_date
    if f.type in ("number", "integer"):
        return formats.input_number
    return formats.input_text


def _validation(f: Field, lists: list[list[str]]) -> dict[str, Any]:
    spec = f.spec
    rule: dict[str, Any] = {"input_title": _clip(f.title.split("｜")[-1] if "｜" in f.title else f.title, 32),
                            "input_message": _clip(field_rule_text(f), 255),
                            "error_title": "输入有误", "error_message": _clip(field_rule_text(f), 255)}
    if "enum" in spec:
        rule.update(_list_source(spec["enum"], lists))
    elif f.type in ("number", "integer"):
        rule.update({"validate": "integer" if f.type == "integer" else "decimal", "criteria": "between",
                     "minimum": spec.get("minimum", -1e9), "maximum": spec.get("maximum", 1e9)})
    elif f.kind == "date":
        import datetime as dt
        rule.update({"validate": "date", "criteria": "between", "minimum": dt.date(1990, 1, 1),
                     "maximum": dt.date(2100, 12, 31)})
    elif "maxLength" in spec:
        rule.update({"validate": "length", "criteria": "<=", "value": spec["maxLength"]})
    else:
        rule.update({"validate": "any"})
    return rule


def _list_source(choices: list[Any], lists: list[list[str]]) -> dict[str, Any]:
    texts = [str(c) for c in choices]
    if len(",".join(texts)) <= 200:
        return {"validate": "list", "source": texts}
    lists.append(texts)
    letters = column_letters(len(lists) - 1)
    return {"validate": "list", "source": f"='{OPTIONS_SHEET}'!${letters}$1:${letters}${len(texts)}"}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build_shipped(template_dir: Path, schema_root: Path) -> list[Path]:
    """Regenerate the committed templates and generated row schemas of every shipped rulebook."""
    written = []
    for rulebook in shipped_rulebooks():
        written.append(write_template(rulebook, template_dir))
        written += write_generated_schemas(rulebook, schema_root)
    return written
