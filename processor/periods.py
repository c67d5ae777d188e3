"""Rating periods: a year (`2026`) or a half-year (`2026H1`, `2026H2`) for rule systems rated every half year.

The older Huojia scheme (000_556207f0cb65ca56.txt line 303) rated “每半年评选一次”; every other rulebook rates once
a year. A rulebook says which with `settings.period: year | half_year`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError

_PERIOD = re.compile(r"^\s*(\d{4})\s*(?:[Hh]([12])|年?(上|下)半年)?\s*$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    half: int | None = None  # 1 (January–June), 2 (July–December), None for the whole year

    def __str__(self) -> str:
        return f"{self.year}" if self.half is None else f"{self.year}H{self.half}"

    @property
    def shown(self) -> str:
        """As a clerk writes it: 2026年度, 2026年上半年."""
        return f"{self.year}年度" if self.half is None else f"{self.year}年{'上' if self.half == 1 else '下'}半年"

    @property
    def months(self) -> int:
        return 12 if self.half is None else 6


def parse_period(text: str | int) -> Period | None:
    """`2026`, `2026H1`, `2026h2`, `2026年上半年` → Period; None when it is none of these."""
    found = _PERIOD.match(str(text))
    if not found or not 2000 <= int(found.group(1)) <= 2100:
        return None
    half = found.group(2) or {"上": "1", "下": "2"}.get(found.group(3) or "")
    return Period(int(found.group(1)), int(half) if half else None)


def period_option(text: str) -> Period:
    """A --period value; ConfigError (exit 2) with the accepted spellings when it is not one."""
    period = parse_period(text)
    if period is None:
        raise ConfigError(f"评定期间“{text}”无效：请写年度（如 2026）或半年（如 2026H1、2026H2） "
                          f"/ --period must be a year (2026) or a half-year (2026H1)")
    return period


def rulebook_cycle(settings: dict[str, object]) -> str:
    return str(settings.get("period", "year"))


def period_problem(cycle: str, period: Period) -> str | None:
    """Why this period does not fit a rulebook rated per `cycle` (Chinese), or None when it does."""
    if cycle == "half_year" and period.half is None:
        return f"该评定办法每半年评定一次，请写明半年，如 {period.year}H1 或 {period.year}H2"
    if cycle == "year" and period.half is not None:
        return f"该评定办法按年度评定，请写年度，如 {period.year}"
    return None
