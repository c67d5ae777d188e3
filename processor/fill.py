"""Fill a template the way a township clerk would, with openpyxl (the library Excel users' scripts use).

Used by the sample generator and the tests, and by a county that migrates last year's data into
this year's template. Output is deterministic: fixed document times and zip entry times.
"""
from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import openpyxl

from .rulebook import Rulebook
from .sheets import INSTRUCTIONS_SHEET, sheets_for
from .template import write_template

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)


def fill_template(rulebook: Rulebook, path: Path, meta: dict[str, Any],
                  rows: dict[str, list[dict[str, Any]]]) -> Path:
    """Write a filled workbook: meta = {township, period}; rows = {sheet key: [{field id: value}]}.

    Values are written as given (a str stays text, so "85分" or "２３" test the normaliser).
    """
    with tempfile.TemporaryDirectory() as tmp:
        workbook = openpyxl.load_workbook(write_template(rulebook, Path(tmp)))
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
