"""A table row's cells as XlsxWriter 3.3.1 writes them in constant_memory mode: the characters, not the API.

`xlsx.write_rows` writes a province's tables (~2 million rows) a row at a time; this module makes each row's
`<c>` elements and says how many printed lines the row needs. It is compiled with mypyc (setup.py) because it
runs once for every cell of every large table, and it is plain Python, the same source, where it is not
compiled. It imports nothing of the package: xlsx.py owns the sheet (row tags, heights, dimensions) and
imports this.

THIS MIRRORS XLSXWRITER INTERNALS (worksheet._write_cell, xmlwriter._xml_inline_string, _xml_number_element,
_escape_data, _escape_control_characters). tests/test_xlsx_rows.py writes the same tables through the public
API and through `write_rows` and asserts the two files are byte-identical.
"""
from __future__ import annotations

import math
from decimal import Decimal
from collections.abc import Callable
from typing import Any, Final

from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import RowInfo
from xlsxwriter.xmlwriter import XMLwriter

STR_HALF_MAX: Final = 32767 // 2  # XlsxWriter's xls_strmax // 2: shorter strings are never truncated
# Texts (and amounts) a column remembers, then forgets: a province's names and amounts are mostly
# unique, its townships, villages and roles repeat row after row.
SEEN_MAX: Final = 10_000
_TEXT, _DECIMAL, _NUMBER, _BLANK = 0, 1, 2, 3  # a cell's kind: each has its own format in a column
_ROWS_A_WRITE: Final = 200  # rows joined into one write to the sheet's row file
LINE_POINTS: Final = 15.0  # one line of 11 pt text, as both Excel and LibreOffice lay it out


def display_width(text: str) -> int:
    """Columns a text needs: CJK characters are two wide (exactly their GBK byte count)."""
    return len(text.encode("gbk", errors="replace"))


def lines_of(text: str, width: float, size: float = 1.0) -> int:
    """Printed lines a wrapped text takes in a column `width` characters wide (CJK counts two)."""
    usable = max(1.0, (width - 1) / size)
    if "\n" not in text:
        if 2 * len(text) <= usable:
            return 1  # a character is at most two columns wide (two GBK bytes): it fits without measuring
        return max(1, math.ceil(display_width(text) / usable))
    return sum([max(1, math.ceil(display_width(part) / usable)) for part in text.split("\n")])


def string_body(string: str) -> str:
    """What follows a string cell's r and s attributes, exactly as XlsxWriter 3.3.1 writes it in
    constant_memory mode (_write_string, _write_cell, _xml_inline_string, _xml_rich_inline_string)."""
    if len(string) > STR_HALF_MAX and _utf16_len(string) > 32767:
        string = _utf16_truncate(string, 32767)
    string = XMLwriter._escape_control_characters(string)
    if string.startswith("<r>") and string.endswith("</r>"):
        return f' t="inlineStr"><is>{string}</is></c>'
    preserve = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
    string = string.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # _escape_data
    return f' t="inlineStr"><is><t{preserve}>{string}</t></is></c>'


def escaped_body(string: str) -> str:
    """`string_body` of a string _escape_control_characters leaves as it is (no control character, no
    U+FFFE/U+FFFF, no "_xHHHH_"), without its regular expressions."""
    if string.startswith("<r>") and string.endswith("</r>"):
        return f' t="inlineStr"><is>{string}</is></c>'
    preserve = ' xml:space="preserve"' if string[:1].isspace() or string[-1:].isspace() else ""
    string = string.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f' t="inlineStr"><is><t{preserve}>{string}</t></is></c>'


def text_body(value: str) -> str:
    """`string_body`, the common texts (printable, nothing to escape) without its checks."""
    if "_x" in value or len(value) > STR_HALF_MAX or not (
            value.isprintable() or ("\n" in value and value.replace("\n", "").isprintable())):
        return string_body(value)  # control characters, U+FFFE/U+FFFF, "_xHHHH_" literals, truncation
    if "&" in value or "<" in value or ">" in value:
        return escaped_body(value)
    if value[:1].isspace() or value[-1:].isspace():  # " " or "\n": both printable (or a line break) and space
        return ' t="inlineStr"><is><t xml:space="preserve">' + value + "</t></is></c>"
    return ' t="inlineStr"><is><t>' + value + "</t></is></c>"


def measured_text(value: Any) -> str:
    """A value's text as write_table measures it: an amount with its thousands and fen, anything else str()."""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


class RowCells:
    """The cells of one `write_rows` call's rows, a row at a time (`cells`).

    A cell is its column's start ('<c r="B'), the row number, and the rest of it ('" s="3" t="inlineStr">…</c>'),
    found once for each text, amount or count a column repeats. A format's ' s="N"' is asked of it when a cell of
    it is first written: asking assigns the index, and XlsxWriter assigns them in the order cells are written.
    """

    def __init__(self, sheet: Any, kind_formats: list[tuple[Any, Any, Any, Any]], own_formats: list[Any],
                 widths: list[float], numbers_wrap: bool, no_cell: object, remembered: int = SEEN_MAX) -> None:
        ncols = len(kind_formats)
        self.remembered = remembered  # texts (and amounts) a column remembers
        self.sheet = sheet  # its row file, row heights, and XlsxWriter's own refusal of a number it cannot write
        self.kind_formats = kind_formats  # per column: the format of a text, a Decimal, an int or float, a blank
        self.own_formats = own_formats  # per column: the format of any other value (a bool, a date…)
        self.widths = widths
        # Room for one line in each column (row_height measures only the columns it has a width for).
        self.room = [max(1.0, w - 1) for w in widths[:ncols]] + [math.inf] * (ncols - len(widths))
        self.numbers_wrap = numbers_wrap
        self.no_cell = no_cell
        self.starts = [f'<c r="{xl_col_to_name(j)}' for j in range(ncols)]
        self.attrs: list[list[str]] = [["", "", "", ""] for _ in range(ncols)]
        # Per column: text -> (rest of its cell, its lines); Decimal / int -> the same. A Decimal's key is
        # never zero (0 and -0 are equal but written 0 and -0); equal nonzero Decimals are the same float.
        self.texts: list[dict[str, tuple[str, int]]] = [{} for _ in range(ncols)]
        self.decimals: list[dict[Decimal, tuple[str, int]]] = [{} for _ in range(ncols)]
        self.ints: list[dict[int, tuple[str, int]]] = [{} for _ in range(ncols)]
        self.zeros: list[dict[str, tuple[str, int]]] = [{} for _ in range(ncols)]
        self.lines = 1  # the printed lines of the row `cells` made last
        self.skipped = False  # a NO_CELL in any row so far

    def write(self, rows: list[list[Any]], first_row: int, row_tag: Callable[[Any, int], str],
              tall_row: Callable[[int, int], None]) -> None:
        """The rows into the sheet's row file, each as its <row> tag (`row_tag` for a tag XlsxWriter must make)
        and its cells, with the height of each tall row: `tall_row(r, pixels)` keeps it where XlsxWriter keeps a height
        (set_row(r, LINE_POINTS * lines), as set_row_pixels stores it) for placing a chart or an image later.
        XlsxWriter's RowInfo of such a row only makes its <row> tag: it is kept only where that tag is XlsxWriter's to
        make (`row_tag`), not for a plain sheet's ~500,000 rows (~30 MB of a province's finance writer).
        The caller keeps the dimensions and previous_row."""
        sheet = self.sheet
        plain = sheet.excel_version == 2007 and sheet.default_row_height == sheet.original_row_height
        original_height: Any = sheet.original_row_height
        row_info: dict[int, Any] = sheet.row_info
        row_sizes: dict[int, Any] = sheet.row_sizes
        # Per line count: the rest of its <row> tag, its height in pixels, and the RowInfo and row_sizes entry XlsxWriter
        # keeps for a tall row — one of each for all the rows that tall (neither is changed in place).
        talls: dict[int, tuple[str, int, Any, list[Any]]] = {}
        out: list[str] = []
        write = sheet.fh.write
        r = first_row
        for values in rows:
            row = str(r + 1)
            cells = self.cells(values, r, row)
            lines = self.lines
            if lines > 1:
                tall = talls.get(lines)
                if tall is None:
                    pixels = int(LINE_POINTS * lines * 4.0 / 3.0 + 0.5)
                    rest = f' ht="{pixels * 0.75:.16g}" customHeight="1">' if pixels != original_height else ">"
                    tall = talls[lines] = (rest, pixels, RowInfo(height=pixels, row_format=None, hidden=False, level=0,
                                                                 collapsed=False), [pixels, False])
                if plain:
                    tall_row(r, tall[1])
                    tag = '<row r="' + row + '"' + tall[0]
                else:
                    row_info[r] = tall[2]
                    row_sizes[r] = tall[3]
                    tag = row_tag(sheet, r)
            else:
                info = row_info.get(r)
                if info is None and plain:
                    tag = '<row r="' + row + '">'
                elif (plain and info is not None and info.row_format is None and not info.hidden and not info.level
                      and not info.collapsed and info.height is not None):
                    tag = (f'<row r="{row}" ht="{info.height * 0.75:.16g}" customHeight="1">'
                           if info.height != original_height else '<row r="' + row + '">')
                else:
                    tag = row_tag(sheet, r)
            out.append(tag)
            out.append(cells)
            out.append("</row>")
            r += 1
            if len(out) >= _ROWS_A_WRITE * 3:  # a table given whole (~100,000 rows) is not held as one text
                write("".join(out))
                out.clear()
        write("".join(out))

    def cells(self, values: list[Any], r: int, row: str) -> str:
        """The row's <c> elements; `r` is its index, `row` its number as written ("1" for index 0)."""
        lines = 1
        parts: list[str] = []
        starts = self.starts
        for j, value in enumerate(values):
            found: tuple[str, int] | None
            if type(value) is str:
                found = self.texts[j].get(value)
                if found is None:
                    found = self._new_text(j, value)
            elif type(value) is Decimal:
                try:
                    found = self.decimals[j].get(value)
                except TypeError:  # a signalling NaN has no hash (and float() refuses it)
                    found = None
                if found is None:
                    found = self._new_decimal(j, value, r)
            elif value is None:
                found = (self._attr(j, _BLANK) + "/>", 1)
            elif type(value) is int:
                found = self.ints[j].get(value)
                if found is None:
                    found = self._new_int(j, value, r)
            elif value is self.no_cell:
                self.skipped = True
                continue
            else:
                found = self._other(j, value, r)
            parts.append(starts[j])
            parts.append(row)
            parts.append(found[0])
            if found[1] > lines:
                lines = found[1]
        if not parts:
            raise ValueError(f"write_rows: row {r + 1} has no cell")
        self.lines = lines
        return "".join(parts)

    def _attr(self, j: int, kind: int) -> str:
        found = self.attrs[j][kind]
        if not found:
            found = self.attrs[j][kind] = f'" s="{self.kind_formats[j][kind]._get_xf_index()}"'
        return found

    def _measured(self, j: int, text: str) -> int:
        if j < len(self.widths) and (2 * len(text) > self.room[j] or "\n" in text):
            return lines_of(text, self.widths[j])
        return 1

    def _remembered(self, seen: dict[Any, tuple[str, int]], key: Any, found: tuple[str, int]) -> tuple[str, int]:
        """`found` kept for `key` in a column's memory (emptied first when full)."""
        if len(seen) >= self.remembered:
            seen.clear()
        seen[key] = found
        return found

    def _new_text(self, j: int, value: str) -> tuple[str, int]:
        return self._remembered(self.texts[j], value, (self._attr(j, _TEXT) + text_body(value), self._measured(j, value)))

    def _number(self, j: int, kind: int, value: Any, written: Any, r: int) -> tuple[str, int]:
        """`written`: the number write_number is given (a Decimal's float)."""
        if math.isnan(written) or math.isinf(written):
            self.sheet._write_number(r, j, written, None)  # raises, as write_number does
        lines = self._measured(j, measured_text(value)) if self.numbers_wrap else 1
        return (f'{self._attr(j, kind)}><v>{written:.16G}</v></c>', lines)

    def _new_decimal(self, j: int, value: Decimal, r: int) -> tuple[str, int]:
        if not value:  # a zero: 0 and -0 are equal, but written 0 and -0
            key = "-0" if value.is_signed() else "0"
            found = self.zeros[j].get(key)
            if found is None:
                found = self.zeros[j][key] = self._number(j, _DECIMAL, value, float(value), r)
            return found
        return self._remembered(self.decimals[j], value, self._number(j, _DECIMAL, value, float(value), r))

    def _new_int(self, j: int, value: int, r: int) -> tuple[str, int]:
        return self._remembered(self.ints[j], value, self._number(j, _NUMBER, value, value, r))

    def _other(self, j: int, value: Any, r: int) -> tuple[str, int]:
        """A bool, a float, a subclass, anything else: as write_value writes it."""
        if isinstance(value, Decimal):
            return self._number(j, _DECIMAL, value, float(value), r)
        if isinstance(value, bool):
            return (f'" s="{self.own_formats[j]._get_xf_index()}"{string_body("是" if value else "否")}',
                    self._measured(j, str(value)) if self.numbers_wrap else 1)
        if isinstance(value, (int, float)):
            return self._number(j, _NUMBER, value, value, r)
        if isinstance(value, str):
            text = str(value)
            return (self._attr(j, _TEXT) + string_body(text), self._measured(j, text))
        text = str(value)
        return (f'" s="{self.own_formats[j]._get_xf_index()}"{string_body(text)}',
                self._measured(j, text) if self.numbers_wrap else 1)
