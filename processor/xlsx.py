"""What every workbook starbatch writes has in common (xlsxwriter).

- fixed metadata, so the same inputs give byte-identical files;
- text from submissions is always written as text: a name like "=HYPERLINK(...)" or "+86..."
  never becomes a formula, a number or a link;
- Chinese-friendly formats.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)
FONT = "等线"
YUAN_FORMAT = '#,##0.00'


def new_workbook(path: Path, title: str) -> xlsxwriter.Workbook:
    # constant_memory: rows are streamed to disk as written (every writer here writes rows in order),
    # which keeps a province-sized workbook out of memory and is faster.
    workbook = xlsxwriter.Workbook(str(path), {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    workbook.set_properties({"title": title, "author": "starbatch", "company": "县委组织部",
                             "created": FIXED_CREATED})
    workbook.set_calc_mode("auto")
    return workbook


class Formats:
    """The few cell formats a starbatch workbook uses, made once per workbook."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        base = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}
        self.text = workbook.add_format({**base})
        self.wrap = workbook.add_format({**base, "text_wrap": True})
        self.header = workbook.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1,
                                           "text_wrap": True, "align": "center"})
        self.header_required = workbook.add_format({**base, "bold": True, "bg_color": "#FCE4D6", "border": 1,
                                                    "text_wrap": True, "align": "center"})
        self.title = workbook.add_format({**base, "bold": True, "font_size": 16})
        self.bold = workbook.add_format({**base, "bold": True})
        self.input = workbook.add_format({**base, "locked": False, "bg_color": "#FFF2CC", "border": 1})
        self.input_text = workbook.add_format({**base, "locked": False, "num_format": "@"})
        self.input_number = workbook.add_format({**base, "locked": False})
        self.input_date = workbook.add_format({**base, "locked": False, "num_format": "yyyy-mm-dd"})
        self.yuan = workbook.add_format({**base, "num_format": YUAN_FORMAT})
        self.yuan_bold = workbook.add_format({**base, "num_format": YUAN_FORMAT, "bold": True, "top": 1})
        self.integer = workbook.add_format({**base, "num_format": "0"})
        self.percent = workbook.add_format({**base, "num_format": "0%"})
        self.decimal = workbook.add_format({**base, "num_format": "0.##"})
        self.link = workbook.add_format({**base, "font_color": "blue", "underline": 1})
        self.ok = workbook.add_format({**base, "font_color": "#006100", "bg_color": "#C6EFCE"})
        self.bad = workbook.add_format({**base, "font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.warn = workbook.add_format({**base, "font_color": "#9C5700", "bg_color": "#FFEB9C"})


def write_value(sheet: Any, row: int, col: int, value: Any, formats: Formats, fmt: Any = None) -> None:
    """Write one value by its Python type; strings always as strings, Decimals as numbers."""
    if value is None:
        sheet.write_blank(row, col, None, fmt or formats.text)
    elif isinstance(value, bool):
        sheet.write_string(row, col, "是" if value else "否", fmt or formats.text)
    elif isinstance(value, Decimal):
        sheet.write_number(row, col, float(value), fmt or formats.decimal)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value, fmt or formats.text)
    else:
        sheet.write_string(row, col, str(value), fmt or formats.text)


def write_table(sheet: Any, formats: Formats, headers: list[str], rows: list[list[Any]],
                col_formats: dict[int, Any] | None = None, first_row: int = 0) -> None:
    """A header row, data rows, frozen header, autofilter and widths that fit the content."""
    col_formats = col_formats or {}
    for j, h in enumerate(headers):
        sheet.write_string(first_row, j, h, formats.header)
    for i, row in enumerate(rows, first_row + 1):
        for j, value in enumerate(row):
            write_value(sheet, i, j, value, formats, col_formats.get(j))
    sheet.freeze_panes(first_row + 1, 0)
    if headers:
        sheet.autofilter(first_row, 0, first_row + max(len(rows), 1), len(headers) - 1)
    fit_columns(sheet, headers, rows)


def fit_columns(sheet: Any, headers: list[str], rows: list[list[Any]], cap: int = 60) -> None:
    """Widths from the header and the first 500 rows (enough to fit; the rest look alike)."""
    sample = rows[:500]
    for j, h in enumerate(headers):
        widest = max([display_width(h)] + [display_width(_cell_text(r[j])) for r in sample if j < len(r)])
        sheet.set_column(j, j, min(cap, widest + 2))


def _cell_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def display_width(text: str) -> int:
    """Columns a text needs: CJK characters are two wide (exactly their GBK byte count)."""
    return len(text.encode("gbk", errors="replace"))
