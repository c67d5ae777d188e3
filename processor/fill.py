"""Fill a template the way a township clerk would, with openpyxl (the library Excel users' scripts use).

Used by the sample generator and the tests, and by a county that migrates last year's data into
this year's template. Output is deterministic: fixed document times and zip entry times.
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.worksheet.cell_range import MultiCellRange

from .cells import column_letters
from .rulebook import Rulebook
from .sheets import INSTRUCTIONS_SHEET, sheets_for
from .template import TEMPLATE_ROWS, write_template

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)


CARRIED_FILL = PatternFill("solid", fgColor="FFDDEBF7")  # light blue: a value carried over from last year
CARRIED_MESSAGE = "沿用上年数据，请核对。"


def fill_template(rulebook: Rulebook, path: Path, meta: dict[str, Any],
                  rows: dict[str, list[dict[str, Any]]]) -> Path:
    """Write a filled workbook: meta = {township, period}; rows = {sheet key: [{field id: value}]}.

    Values are written as given (a str stays text, so "85分" or "２３" test the normaliser).
    """
    workbook = _template_workbook(rulebook)
    _fill_meta(workbook[INSTRUCTIONS_SHEET], meta)
    for sheet in sheets_for(rulebook):
        ws = workbook[sheet.name]
        order = [f.id for f in sheet.fields]
        for i, record in enumerate(rows.get(sheet.key, []), 2):
            for j, fid in enumerate(order, 1):
                if fid in record and record[fid] is not None:
                    ws.cell(row=i, column=j, value=record[fid])
    save_deterministic(workbook, path)
    return path


def prefill_template(rulebook: Rulebook, path: Path, meta: dict[str, Any], rows: dict[str, list[dict[str, Any]]],
                     notes: dict[str, dict[int, str]], heading: str) -> Path:
    """Write a template with last year's rows in it, every carried cell marked for the clerk to check.

    Carried cells keep their column's style (editable, same number format) plus a light fill and an
    input message saying so. notes = {sheet key: {row: text}} become comments on column B (for reference
    only: a comment is not a value, so nothing there is read back); heading goes into 填报说明.
    """
    workbook = _template_workbook(rulebook)
    _fill_meta(workbook[INSTRUCTIONS_SHEET], meta)
    workbook[INSTRUCTIONS_SHEET].cell(row=7, column=1, value=heading)
    for sheet in sheets_for(rulebook):
        ws, order = workbook[sheet.name], [f.id for f in sheet.fields]
        records = rows.get(sheet.key, [])
        carried = sorted({order.index(fid) + 1 for record in records for fid in record if fid in order})
        for i, record in enumerate(records, 2):
            for fid, value in record.items():
                if fid in order and value is not None:
                    _carried_cell(ws, i, order.index(fid) + 1, value)
        _mark_validations(ws, carried, len(records))
        for row, text in notes.get(sheet.key, {}).items():
            ws.cell(row=row, column=2).comment = Comment(text, "starbatch", width=240, height=60)
    save_deterministic(workbook, path)
    return path


def _template_workbook(rulebook: Rulebook) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        return openpyxl.load_workbook(write_template(rulebook, Path(tmp)))


def _carried_cell(ws: Any, row: int, column: int, value: Any) -> None:
    """The value in the column's own style (unlocked, its number format), with the carried-over fill."""
    cell = ws.cell(row=row, column=column, value=value)
    dimension = ws.column_dimensions.get(column_letters(column - 1))
    if dimension is not None:
        cell._style = copy.copy(dimension._style)
    cell.fill = CARRIED_FILL


def _mark_validations(ws: Any, columns: list[int], count: int) -> None:
    """Split each carried column's validation: the carried rows get the same rule with the carried-over
    message in front (a cell has one input message), the rows below keep the template's."""
    if not count:
        return
    letters = {column_letters(c - 1) for c in columns}
    for dv in list(ws.data_validations.dataValidation):
        letter = str(dv.sqref).split(":")[0].rstrip("0123456789")
        if letter not in letters:
            continue
        carried = copy.copy(dv)
        carried.sqref = MultiCellRange(f"{letter}2:{letter}{count + 1}")
        carried.prompt = (CARRIED_MESSAGE + (dv.prompt or ""))[:255]
        ws.data_validations.append(carried)
        if count < TEMPLATE_ROWS:
            dv.sqref = MultiCellRange(f"{letter}{count + 2}:{letter}{TEMPLATE_ROWS + 1}")
        else:
            ws.data_validations.dataValidation.remove(dv)


def _fill_meta(ws: Any, meta: dict[str, Any]) -> None:
    labels = {"填报乡镇": meta.get("township"), "评定年度": meta.get("period")}
    for row in ws.iter_rows(min_row=1, max_row=20, max_col=2):
        label = row[0].value
        if label in labels and labels[label] is not None:
            row[1].value = labels[label]


def save_deterministic(workbook: Any, path: Path) -> None:
    """Save with openpyxl, then fix the times it stamps so equal content gives equal bytes."""
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    workbook.properties.lastModifiedBy = "starbatch"
    buffer = io.BytesIO()
    workbook.save(buffer)
    normalise_zip_times(buffer.getvalue(), path)


def normalise_zip_times(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _fixed_core_times(content)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, content)


def _fixed_core_times(xml: bytes) -> bytes:
    import re

    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>", xml)
