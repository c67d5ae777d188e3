"""One copy of each value a province repeats: Decimals across the workers' pipe, reasons' wordings, cited cells.

Compiled with mypyc (setup.py): the run calls these millions of times — every Decimal of every township's result
as it is unpickled, every payment line's payee and basis — and a call of an interpreted function costs more than
the dictionary lookup it wraps. The stages import them from here; this module imports nothing of the package.
"""
from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable
from decimal import Decimal
from typing import Any


def remembered(table: dict[Any, Any], limit: int, key: Hashable, value: Any) -> Any:
    """`value` kept as the run's one copy for `key` (a table of them past `limit` starts afresh)."""
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value


# --- Decimals across the workers' pipe ------------------------------------------------------------------
# A township's result holds ~1,400 Decimals (scores, figures, pay); pickled, each becomes an object of its own
# in the run (104 bytes), ~290 MB at a province's 2,000 townships. The same few thousand values recur from township
# to township, so across the pipe a Decimal travels as its text and arrives as the one object of that text.

_DECIMALS: dict[str, Decimal] = {}
_DECIMALS_MAX = 1 << 18  # distinct texts kept; more (a province's incomes and pay) start the table afresh


def decimal_of(text: str) -> Decimal:
    """The Decimal written `text` (str() of it: exponent and sign of zero kept), one object per text."""
    found = _DECIMALS.get(text)
    return found if found is not None else remembered(_DECIMALS, _DECIMALS_MAX, text, Decimal(text))


# --- Texts a province repeats -----------------------------------------------------------------------------
# The cells a reason or unit cites ("评分!D5", "评分!F5") are the same in every township's workbook, and most units
# have no veto: one tuple of each for the run instead of a list per unit and reason (~0.5 KB a branch). Most
# reasons' wording, and that of star rewards and village awards, recurs too: one copy of each (~1.2 KB a branch).

_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}
_TUPLES_MAX = 1 << 16  # distinct tuples kept; more start the table afresh

_TEXTS: dict[str, str] = {}
_TEXTS_MAX = 1 << 16  # distinct texts kept; more (wordings with a cadre's own figures) start the table afresh


def shared_text(text: str) -> str:
    """The run's one copy of a text many branches repeat: a reason's wording recurs from township to township ("得星 0
    颗：无", "基层党建星：得星。总分 92 ≥ 85"; in the benchmark one reason in nine is worded anew)."""
    found = _TEXTS.get(text)
    return found if found is not None else remembered(_TEXTS, _TEXTS_MAX, text, text)


def shared_texts(texts: Iterable[str]) -> tuple[str, ...]:
    """The run's one tuple of these texts (each text interned too)."""
    key = tuple(texts)
    found = _TUPLES.get(key)
    return found if found is not None else remembered(_TUPLES, _TUPLES_MAX, key, tuple(map(sys.intern, key)))
