"""Fill a committed template the way a clerk does: find each column by its header text, type the rows.

The issue-11 reading tests use this instead of processor.fill, so they also prove that the header a
clerk sees is the one the reader looks for. Scores are given per unit: every item of a unit listed as
earned is typed at its maximum (base = 100 ≥ 75, total ≥ 85), every other item 0.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl

from processor.paths import TEMPLATE_DIR
from processor.rulebook import Rulebook

PERIOD = 2026


def template_path(rb: Rulebook) -> Path:
    return TEMPLATE_DIR / f"{rb.template_id}-{rb.version}.xlsx"


def fill_by_header(rb: Rulebook, out: Path, township: str, sheets: dict[str, list[dict[str, Any]]],
                   period: int = PERIOD) -> Path:
    """sheets: sheet name → rows, each {header text: value}. An unknown header fails the test."""
    wb = openpyxl.load_workbook(template_path(rb))
    meta = wb["填报说明"]
    for row in meta.iter_rows():
        label = row[0].value
        if label == "填报乡镇":
            row[1].value = township
        elif label == "评定年度":
            row[1].value = period
    for name, rows in sheets.items():
        ws = wb[name]
        columns = {c.value: c.column for c in ws[1] if c.value}
        for i, values in enumerate(rows, 2):
            for header, value in values.items():
                assert header in columns, f"{name}: no column {header!r}; columns: {list(columns)}"
                ws.cell(i, columns[header], value)
    wb.save(out)
    return out


def score_row(rb: Rulebook, code: str, earned: list[str], review: bool = False) -> dict[str, Any]:
    """The 评分 row of a branch that earns exactly these units (self-scores; review scores too if asked)."""
    row: dict[str, Any] = {"支部编码": code}
    for unit in rb.units:
        for item in unit["items"]:
            value = item["max"] if unit["id"] in earned else 0
            row[f"{unit['name']}｜{item['name']}｜自评"] = value
            if review:
                row[f"{unit['name']}｜{item['name']}｜乡镇评审"] = value
    return row


def r1_branch(code: str, township: str = "城关镇", **extra: Any) -> dict[str, Any]:
    row = {"乡镇": township, "支部编码": code, "支部名称": f"{code}村党支部", "村（社区）": f"{code}村",
           "支部类型": "村党支部", "党员人数": 30, "书记兼村委会主任": "是", "村集体经济收入（元）": 1000000,
           "70周岁以上老人数": 0, "后备干部人数": 2}
    row.update(extra)
    return row


def cadre(code: str, name: str, role: str, pay: Any, months: int, start: int | None = None,
          end: int | None = None, kept: Any = None) -> dict[str, Any]:
    row: dict[str, Any] = {"支部编码": code, "姓名": name, "职务": role, "月报酬（元）": pay, "在岗月数": months}
    if start is not None:
        row["起始月"] = start
    if end is not None:
        row["截止月"] = end
    if kept is not None:
        row["让贤保留月报酬（元）"] = kept
    return row


def a_date(month: int, day: int) -> dt.date:
    return dt.date(PERIOD, month, day)
