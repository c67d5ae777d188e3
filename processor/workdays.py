"""Chinese working days: the official calendar, including make-up workdays (调休).

The chinese-calendar package carries the State Council's notices up to 2026. For a later year the
county supplies that year's notice as calendars/YEAR.yaml (holidays and make-up workdays); a date
in a year nobody has supplied is an error that says so, never a silent weekend-only guess.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import chinese_calendar

from .paths import ROOT
from .rulebook import YamlInvalid, parse_yaml

CALENDAR_DIR = ROOT / "calendars"


class CalendarMissing(Exception):
    """The official holiday arrangement of this year is not known."""

    def __init__(self, year: int) -> None:
        super().__init__(year)
        self.year = year

    def __str__(self) -> str:
        return (f"{self.year}年的法定节假日和调休安排尚未提供：请按国务院办公厅通知填写 "
                f"calendars/{self.year}.yaml（holidays 与 workdays 两个日期列表）后重新运行。")


class CalendarInvalid(CalendarMissing):
    """The supplied calendars/YEAR.yaml cannot be read: as good as missing, and the message says why."""

    def __init__(self, year: int, detail: str) -> None:
        super().__init__(year)
        self.detail = detail

    def __str__(self) -> str:
        return (f"calendars/{self.year}.yaml 无法读取（{self.detail}）：请按国务院办公厅通知改正"
                f"（holidays 与 workdays 两个日期列表，日期写作 YYYY-MM-DD）后重新运行。")


@lru_cache(maxsize=None)
def supplied_year(year: int, folder: Path = CALENDAR_DIR) -> tuple[frozenset, frozenset] | None:
    path = folder / f"{year}.yaml"
    if not path.is_file():
        return None
    try:
        data = parse_yaml(path.read_text(encoding="utf-8")) or {}
        holidays = frozenset(dt.date.fromisoformat(str(d)) for d in data.get("holidays") or [])
        workdays = frozenset(dt.date.fromisoformat(str(d)) for d in data.get("workdays") or [])
    except (OSError, UnicodeDecodeError, YamlInvalid, ValueError, TypeError, AttributeError) as exc:
        raise CalendarInvalid(year, str(exc)[:100]) from None
    return holidays, workdays


def is_working_day(day: dt.date) -> bool:
    supplied = supplied_year(day.year, CALENDAR_DIR)  # the folder as it is now, not as it was at import
    if supplied is not None:
        holidays, workdays = supplied
        if day in workdays:
            return True
        return day.weekday() < 5 and day not in holidays
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise CalendarMissing(day.year) from None


def add_working_days(start: dt.date, count: int) -> dt.date:
    """The count-th working day after start (counting from the day after, as notices do)."""
    day, seen = start, 0
    while seen < count:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            seen += 1
    return day


def next_working_day(day: dt.date) -> dt.date:
    return add_working_days(day, 1)
