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


# --- Cited cells across the workers' pipe -------------------------------------------------------------------
# A township's result cites ~800 lists of cells (a reason's, a unit's cells and vetoes). Pickled as lists, each of
# their texts is decoded and hashed in the run, then the list looked up as a tuple; joined into one str, a list is
# one text to decode and one lookup (bench/data 400x50: the run's taking in of a result 1.2 → 0.9 ms).

_SEPARATOR = "\x00"  # not in a cell's text ("评分!C5"); a list with it, or with an empty text, travels as it is
_JOINED: dict[str, tuple[str, ...]] = {}


def packed_texts(texts: Iterable[str]) -> str | tuple[str, ...]:
    """`texts` to cross the pipe: one str of them joined, or their tuple where joining would not split back."""
    listed = tuple(texts)
    for text in listed:
        if not text or _SEPARATOR in text:
            return listed
    return _SEPARATOR.join(listed)


def unpacked_texts(packed: str | tuple[str, ...]) -> tuple[str, ...]:
    """The run's one tuple of the texts `packed_texts` packed (shared_texts)."""
    if not isinstance(packed, str):
        return shared_texts(packed)
    found = _JOINED.get(packed)
    if found is None:
        found = remembered(_JOINED, _TUPLES_MAX, packed, shared_texts(packed.split(_SEPARATOR) if packed else ()))
    return found
