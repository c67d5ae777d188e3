"""The guard's scan of a worksheet part as office programs write it, in one pass (compiled with mypyc, setup.py).

guard.xlsx_sheet_extent checks a sheet written the usual way (every attribute name="…", no prefixed row or cell, each
row and cell tag opening with an r within ZZ9999) by ten scans of the whole part with bytes.count and regular
expressions: ~0.55 ms for a 65 KB sheet, 1.3 ms of a township's workbook. This is the same question asked of each
byte once. It only ever answers "yes, such a sheet" when every one of those scans would have passed; on "no" the guard
asks them all again, so a sheet this does not recognise costs time, never safety. Interpreted, a loop over bytes
would be ~20 times slower than the scans: the guard uses this only when it is compiled (`guard.SCAN_COMPILED`).

`contains` answers `needle in part` through one rare byte of the needle, for the guard and the sheet info: CPython's
search for a needle that starts with a byte as common as "<" looks at the XML nearly byte by byte.

Positions and bytes are typed i64 (mypy_extensions), which mypyc keeps as machine integers: as plain ints each one is
checked for being a big integer at every step, 69 instructions a byte (callgrind, 168 KB of sheets a workbook)
against 30, and 0.87 against 0.59 ms a workbook. i64 is only an annotation, never imported at run time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # a native 64-bit int to mypyc; only ever an annotation, so nothing imports it at run time
    from mypy_extensions import i64

_LT: Final = 60  # <
_EQ: Final = 61  # =
_COLON: Final = 58  # :
_QUOTE: Final = 34  # "
_SLASH: Final = 47  # /
_GT: Final = 62  # >
_C: Final = 99  # c
_R: Final = 114  # r
_O: Final = 111  # o
_W: Final = 119  # w


def _space(c: i64) -> bool:
    """What the guard's scans see as a space (they turn tabs and line ends into spaces first)."""
    return c == 32 or c == 9 or c == 10 or c == 13


def _ends_tag_name(c: i64) -> bool:
    return _space(c) or c == _SLASH or c == _GT


def _is_row_tag(data: bytes, i: i64, size: i64) -> bool:
    """At i (just after "<" or ":"): "row" and the end of the tag's name."""
    return (i + 3 < size and data[i] == _R and data[i + 1] == _O and data[i + 2] == _W
            and _ends_tag_name(data[i + 3]))


def _is_cell_tag(data: bytes, i: i64, size: i64) -> bool:
    """At i (just after "<" or ":"): "c" and the end of the tag's name."""
    return i + 1 < size and data[i] == _C and _ends_tag_name(data[i + 1])


def _near_reference(data: bytes, i: i64, size: i64) -> bool:
    """At i: a space, r="…" with at most two letters and one to four digits, and its closing quote (ZZ9999 at most)."""
    if i + 4 > size or not _space(data[i]) or data[i + 1] != _R or data[i + 2] != _EQ or data[i + 3] != _QUOTE:
        return False
    j: i64 = i + 4
    letters: i64 = 0
    while j < size and letters < 3:
        c: i64 = data[j]
        if not (65 <= c <= 90 or 97 <= c <= 122):
            break
        letters += 1
        j += 1
    digits: i64 = 0
    while j < size and digits < 5:
        c = data[j]
        if not 48 <= c <= 57:
            break
        digits += 1
        j += 1
    return letters <= 2 and 1 <= digits <= 4 and j < size and data[j] == _QUOTE


def _opens_row_or_cell(data: bytes, space: i64) -> bool:
    """The space at `space` (before r=") follows "<c" or "<row": the r is the first attribute of a row or cell tag."""
    return ((space >= 2 and data[space - 2] == _LT and data[space - 1] == _C)
            or (space >= 4 and data[space - 4] == _LT and data[space - 3] == _R and data[space - 2] == _O
                and data[space - 1] == _W))


def plain_and_near(data: bytes) -> bool:
    """True when the guard's literal scans would all pass this worksheet part: every "=" followed by a quote and not
    by a space before it; every r=" opening a row or cell tag, but one xmlns:r=" before the sheet data; no prefixed
    row or cell; every row and cell tag opening with r="…" within ZZ9999. False when any of them might not."""
    size: i64 = len(data)
    sheet_data: i64 = data.find(b"sheetData")
    declared = False
    i: i64 = 0
    while i < size:
        c: i64 = data[i]
        if c == _EQ:
            if i + 1 >= size or data[i + 1] != _QUOTE or (i > 0 and _space(data[i - 1])):
                return False
            if i >= 2 and data[i - 1] == _R:
                before: i64 = data[i - 2]
                if _space(before):
                    if not _opens_row_or_cell(data, i - 2):
                        return False
                elif before == _COLON:
                    # The one namespace declaration xmlns:r="…" on the root, before the sheet data.
                    if declared or i < 8 or data[i - 8:i - 2] != b" xmlns" or i >= sheet_data:
                        return False
                    declared = True
        elif c == _LT:
            if _is_cell_tag(data, i + 1, size):
                if not _near_reference(data, i + 2, size):
                    return False
            elif _is_row_tag(data, i + 1, size):
                if not _near_reference(data, i + 4, size):
                    return False
        elif c == _COLON:
            if _is_cell_tag(data, i + 1, size) or _is_row_tag(data, i + 1, size):
                return False
        i += 1
    return True


_RARE_TRIES: Final = 64  # occurrences of the chosen byte before it is taken as not rare in this part


def contains(data: bytes, needle: bytes, rare: i64) -> bool:
    """`needle in data`, found through `needle[rare]`, a byte that is rare in a part's XML, by bytes.find of that one
    byte (memchr's speed). `needle in data` for a needle whose first bytes are as common as "<" looks at the XML byte
    by byte: b"<!" over a township's workbook took 0.17 ms, b"hidden" and b"mergeCell" over its sheets 0.08 and
    0.06 ms; this, a few µs. After _RARE_TRIES occurrences the byte is not rare in this part, and `in` takes over."""
    byte = needle[rare:rare + 1]
    at: i64 = data.find(byte, rare)
    tries: i64 = 0
    while at >= 0:
        if data.startswith(needle, at - rare):
            return True
        tries += 1
        if tries == _RARE_TRIES:
            return needle in data
        at = data.find(byte, at + 1)
    return False
