"""What the values alone do not tell: which cells hold formulas, which rows, columns and sheets are hidden.

calamine gives a formula cell's cached value and shows hidden rows like any other, in every format. A
formula is never trusted (it is refused at its cell) and a hidden row is read but must be seen by the
clerk (a warning at its cells), so both are read from the file itself, for each format:
- .xlsx/.xlsm: the sheet XML (`<f>` in a cell; `hidden="1"` on `<row>`/`<col>`), workbook.xml (`state`);
- .ods: content.xml (`table:formula`; `table:visibility` on rows and columns; a table style with
  `table:display="false"`);
- .xls: the BIFF records (FORMULA/ARRAY/SHRFMLA; ROW and COLINFO hidden flags; BOUNDSHEET state).
The guard has already bounded each file, so these passes see sheets of sane size.
"""
from __future__ import annotations

import re
import struct
import xml.parsers.expat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .cells import a1, column_letters, split_a1
from .guard import cfb_stream
from .xlsxscan import contains


@dataclass
class SheetInfo:
    formulas: set[str] = field(default_factory=set)          # A1 addresses
    hidden_rows: set[int] = field(default_factory=set)       # 1-based row numbers
    hidden_columns: set[str] = field(default_factory=set)    # column letters
    hidden: bool = False                                       # the sheet itself
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (first row, first col, last row, last col), 0-based


def workbook_info(path: Path, kind: str) -> dict[str, SheetInfo]:
    """Per sheet name, for the formats whose parts are read here at once (.ods, .xls); {} on a broken part
    (the reader reports the file itself)."""
    try:
        if kind == "ods":
            with zipfile.ZipFile(path) as zf:
                return ods_info(zf.read("content.xml"))
        if kind == "xls":
            stream = cfb_stream(path.read_bytes(), ("Workbook", "Book"))
            return xls_info(stream) if stream else {}
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, xml.parsers.expat.ExpatError, struct.error):
        return {}
    return {}


# --- xlsx -------------------------------------------------------------------------------------

_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br\s*=\s*["\']([0-9]+)["\'][^>]*?\bhidden\s*=\s*["\'](?:1|true)["\']'
                         rb'|<(?:\w+:)?row\b[^>]*?\bhidden\s*=\s*["\'](?:1|true)["\'][^>]*?\br\s*=\s*["\']([0-9]+)["\']')
_HIDDEN_COL = re.compile(rb'<(?:\w+:)?col\b[^>]*?>')
_ATTR = re.compile(rb'\b(min|max|hidden)\s*=\s*["\']([^"\']*)["\']')
_SHEET_STATE = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?>')
_NAME = re.compile(rb'\bname\s*=\s*"([^"]*)"')
_STATE = re.compile(rb'\bstate\s*=\s*"([^"]*)"')


def xlsx_hidden(sheet_xml: bytes) -> tuple[set[int], set[str]]:
    """Hidden row numbers and hidden column letters of one sheet part."""
    if not contains(sheet_xml, b"hidden", 0):  # both patterns need the word: most sheets are skipped at memchr speed
        return set(), set()
    rows = {int(m.group(1) or m.group(2)) for m in _HIDDEN_ROW.finditer(sheet_xml)}
    columns: set[str] = set()
    for m in _HIDDEN_COL.finditer(sheet_xml):
        attrs = {k.decode(): v.decode() for k, v in _ATTR.findall(m.group(0))}
        if attrs.get("hidden") in ("1", "true") and attrs.get("min", "").isdigit() and attrs.get("max", "").isdigit():
            low, high = int(attrs["min"]), min(int(attrs["max"]), 16384)
            if high - low < 1000:  # "hide every column to the right" marks no data column
                columns |= {column_letters(c - 1) for c in range(low, high + 1)}
    return rows, columns


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref\s*=\s*["\']([A-Za-z]+[0-9]+):([A-Za-z]+[0-9]+)["\']')


def xlsx_merges(sheet_xml: bytes) -> list[tuple[int, int, int, int]]:
    found: list[tuple[int, int, int, int]] = []
    if not contains(sheet_xml, b"mergeCell", 3):  # the pattern needs the word ("g" is rare in a sheet part)
        return found
    for m in _MERGE.finditer(sheet_xml):
        (r1, c1), (r2, c2) = split_a1(m.group(1).decode().upper()), split_a1(m.group(2).decode().upper())
        found.append((r1, c1, r2, c2))
    return found


def xlsx_hidden_sheets(workbook_xml: bytes) -> set[str]:
    hidden = set()
    for m in _SHEET_STATE.finditer(workbook_xml):
        state, name = _STATE.search(m.group(0)), _NAME.search(m.group(0))
        if state and name and state.group(1) in (b"hidden", b"veryHidden"):
            hidden.add(_unescape(name.group(1).decode("utf-8", "replace")))
    return hidden


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


# --- ods --------------------------------------------------------------------------------------

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"


class _OdsInfo:
    """Walks content.xml once: cell positions with repeats, formulas, hidden rows/columns/tables."""

    def __init__(self) -> None:
        self.sheets: dict[str, SheetInfo] = {}
        self.hidden_styles: set[str] = set()
        self.style: str | None = None
        self.current: SheetInfo | None = None
        self.row = 0      # 1-based row of the row being read
        self.column = 0   # 0-based next column
        self.row_repeat = 1
        self.column_index = 0  # for <table:table-column>

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == f"{_STYLE} style":
            self.style = attrs.get(f"{_STYLE} name")
        elif tag == f"{_STYLE} table-properties" and attrs.get(f"{_TABLE} display") == "false" and self.style:
            self.hidden_styles.add(self.style)
        elif tag == f"{_TABLE} table":
            self.current = SheetInfo(hidden=attrs.get(f"{_TABLE} style-name") in self.hidden_styles)
            self.sheets[attrs.get(f"{_TABLE} name", f"Sheet{len(self.sheets) + 1}")] = self.current
            self.row, self.column_index = 0, 0
        elif self.current is None:
            return
        elif tag == f"{_TABLE} table-column":
            repeat = _count(attrs, "number-columns-repeated")
            if attrs.get(f"{_TABLE} visibility", "visible") != "visible" and repeat < 1000:
                self.current.hidden_columns |= {column_letters(self.column_index + k) for k in range(repeat)}
            self.column_index += repeat
        elif tag == f"{_TABLE} table-row":
            self.row_repeat = _count(attrs, "number-rows-repeated")
            if attrs.get(f"{_TABLE} visibility", "visible") != "visible" and self.row_repeat < 1000:
                self.current.hidden_rows |= {self.row + 1 + k for k in range(self.row_repeat)}
            self.column = 0
        elif tag in (f"{_TABLE} table-cell", f"{_TABLE} covered-table-cell"):
            repeat = _count(attrs, "number-columns-repeated")
            rows, columns = _count(attrs, "number-rows-spanned"), _count(attrs, "number-columns-spanned")
            if rows > 1 or columns > 1:
                self.current.merges.append((self.row, self.column, self.row + rows - 1, self.column + columns - 1))
            if f"{_TABLE} formula" in attrs:
                self.current.formulas |= {a1(self.row + r, self.column + k)
                                          for r in range(min(self.row_repeat, 1000)) for k in range(min(repeat, 1000))}
            self.column += repeat

    def end(self, tag: str) -> None:
        if tag == f"{_TABLE} table-row":
            self.row += self.row_repeat
        elif tag == f"{_STYLE} style":
            self.style = None


def _count(attrs: dict[str, str], key: str) -> int:
    try:
        return max(1, int(attrs.get(f"{_TABLE} {key}", "1")))
    except ValueError:
        return 1


def ods_info(content: bytes) -> dict[str, SheetInfo]:
    walk = _OdsInfo()
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = walk.start
    parser.EndElementHandler = walk.end
    parser.Parse(content, True)
    return walk.sheets


# --- xls (BIFF8) ------------------------------------------------------------------------------

_BOUNDSHEET, _BOF, _EOF, _FILEPASS = 0x0085, 0x0809, 0x000A, 0x002F
_FORMULA, _ROW, _COLINFO, _MERGEDCELLS = 0x0006, 0x0208, 0x007D, 0x00E5


def xls_info(stream: bytes) -> dict[str, SheetInfo]:
    """Sheet names and states from the globals' BOUNDSHEET records; each worksheet substream found by its offset."""
    sheets: dict[int, tuple[str, SheetInfo]] = {}
    pos = 0
    current: SheetInfo | None = None
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4: pos + 4 + size]
        if kind == _FILEPASS:
            break
        if kind == _BOUNDSHEET and len(body) >= 8:
            offset, state = struct.unpack_from("<IB", body)
            sheets[offset] = (_short_string(body, 6), SheetInfo(hidden=state in (1, 2)))
        elif kind == _BOF:
            current = sheets.get(pos, (None, None))[1]
        elif current is not None:
            _xls_record(current, kind, body)
        pos += 4 + size
    return dict(sheets.values())


def _xls_record(info: SheetInfo, kind: int, body: bytes) -> None:
    if kind == _FORMULA and len(body) >= 4:
        row, column = struct.unpack_from("<HH", body)
        info.formulas.add(a1(row, column))
    elif kind == _ROW and len(body) >= 16:
        row = struct.unpack_from("<H", body)[0]
        flags = struct.unpack_from("<I", body, 12)[0]
        if flags & 0x20:  # fDyZero: the row is hidden
            info.hidden_rows.add(row + 1)
    elif kind == _MERGEDCELLS and len(body) >= 2:
        count = struct.unpack_from("<H", body)[0]
        for k in range(min(count, (len(body) - 2) // 8)):
            first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", body, 2 + 8 * k)
            info.merges.append((first_row, first_col, last_row, last_col))
    elif kind == _COLINFO and len(body) >= 10:
        first, last, _width, _xf, flags = struct.unpack_from("<HHHHH", body)
        if flags & 0x01 and last - first < 1000:
            info.hidden_columns |= {column_letters(c) for c in range(first, last + 1)}


def _short_string(body: bytes, at: int) -> str:
    """ShortXLUnicodeString: length, a flag byte (1: UTF-16LE, 0: compressed Latin-1), the characters."""
    count, flags = body[at], body[at + 1]
    raw = body[at + 2:]
    return raw[: count * 2].decode("utf-16-le", "replace") if flags & 1 else raw[:count].decode("latin-1")
