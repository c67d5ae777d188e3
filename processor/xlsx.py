"""What every workbook starbatch writes has in common (xlsxwriter).

- fixed metadata, so the same inputs give byte-identical files;
- text from submissions is always written as text: a name like "=HYPERLINK(...)" or "+86..."
  never becomes a formula, a number or a link;
- Chinese-friendly formats;
- one print layout (`print_layout`): A4, one page wide, the document title in the page header,
  "第 &P 页 共 &N 页" in the footer, header rows and key columns repeated on every page, and a
  sheet that is never shrunk below 9 pt printed text (11 pt × 82%) because its columns are sized
  (`write_table`) to fit a portrait or a landscape page.
"""
from __future__ import annotations

import datetime as dt
import io
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.worksheet import Worksheet

from .common import DeflatedRows, FastZip, collector_paused, forget_splices
from .rowcells import LINE_POINTS, SEEN_MAX, RowCells, display_width, measured_text
from .rowcells import lines_of as _lines

FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)
FONT = "等线"
YUAN_FORMAT = '#,##0.00'


class _Workbook(xlsxwriter.Workbook):
    """XlsxWriter's workbook, zipped by FastZip; a small one packaged in memory.

    XlsxWriter (pinned) has no option for either: its _store_workbook opens `ZipFile` by the name it imported,
    which is pointed at FastZip for the length of the call. A small workbook's dozen parts are assembled in
    memory instead of in a temporary file each (a receipt: a quarter of its time was making and removing
    them), and its worksheets stream their rows into memory (_RowsInMemory).
    """

    small = False

    def _store_workbook(self) -> None:
        if self.small:
            self.in_memory = True
        imported = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = FastZip
        try:
            super()._store_workbook()
        finally:
            xlsxwriter.workbook.ZipFile = imported
            # What a failed close left deflated and never zipped (a zipped sheet's rows are gone from here).
            forget_splices([s.fh.name for s in self.worksheets() if isinstance(s, _RowsDeflated) and hasattr(s.fh, "name")])


class RowHeights(dict[Any, Any]):
    """A sheet's `row_sizes`: XlsxWriter's {row: [pixels, hidden]}, by which it places a chart or an image, with the
    heights `write_rows` gives its tall rows kept in an array by row rather than as an entry each.

    A province's finance workbook makes ~500,000 rows tall; as dict entries (an int key each) they were ~60 MB of its
    writer's peak. XlsxWriter 3.3.1 asks `row_sizes` only whether it holds anything, whether it holds a row, and
    for a row's [height, hidden]; set_row stores an entry as in a dict. Whichever of the two set a row last holds
    it."""

    def __init__(self) -> None:
        super().__init__()
        self._pixels = array("I")  # by row: the height write_rows gave it, 0 for none
        self._tall = 0  # rows with a height in _pixels

    def tall(self, row: int, pixels: int) -> None:
        heights = self._pixels
        if row >= len(heights):
            heights.frombytes(bytes(heights.itemsize * (row + 1 - len(heights))))
        self._tall += not heights[row]
        heights[row] = pixels
        dict.pop(self, row, None)

    def _in_array(self, row: Any) -> bool:
        return type(row) is int and 0 <= row < len(self._pixels) and self._pixels[row] != 0

    def __setitem__(self, row: Any, value: Any) -> None:
        if self._in_array(row):
            self._pixels[row] = 0
            self._tall -= 1
        dict.__setitem__(self, row, value)

    def __contains__(self, row: object) -> bool:
        return dict.__contains__(self, row) or self._in_array(row)

    def __getitem__(self, row: Any) -> Any:
        if self._in_array(row):
            return [self._pixels[row], False]
        return dict.__getitem__(self, row)

    def __len__(self) -> int:
        return dict.__len__(self) + self._tall


def _tall_row(sheet: Any) -> Callable[[int, int], None]:
    """How `write_rows` keeps a tall row's height in `sheet` (a RowHeights, or XlsxWriter's plain dict)."""
    heights = sheet.row_sizes
    if isinstance(heights, RowHeights):
        return heights.tall

    def kept(row: int, pixels: int) -> None:
        heights[row] = [pixels, False]

    return kept


class _Sheet(Worksheet):
    """Every worksheet starbatch writes: XlsxWriter's, its row heights kept as RowHeights."""

    def __init__(self) -> None:
        super().__init__()
        self.row_sizes = RowHeights()


class _RowsInMemory(_Sheet):
    """A small workbook's worksheet: its rows streamed as with constant_memory, into memory rather than into a
    temporary file (making, reopening and removing one per sheet was a third of a receipt's time, on disk)."""

    def _initialize(self, init_data: dict[str, Any]) -> None:
        super()._initialize({**init_data, "constant_memory": False})  # no temporary file is made
        self.constant_memory = True
        self.row_data_fh = self.fh = io.StringIO()

    def _opt_close(self) -> None:  # the rows stay in memory until the sheet is assembled
        pass

    def _opt_reopen(self) -> None:
        pass

    def _write_optimized_sheet_data(self) -> None:  # XlsxWriter's, reading the rows from memory
        if self.dim_rowmin is None:
            self._xml_empty_tag("sheetData")
        else:
            self._xml_start_tag("sheetData")
            self.fh.write(self.row_data_fh.getvalue())
            self._xml_end_tag("sheetData")


class _RowsDeflated(_Sheet):
    """A large workbook's worksheet (constant_memory): its rows deflated as they are written (common.DeflatedRows)
    and, when the workbook is zipped, put into the sheet's part by FastZip as they were deflated. The part's text is
    the same as XlsxWriter's own; only how the zip deflated it differs."""

    def _initialize(self, init_data: dict[str, Any]) -> None:
        super()._initialize({**init_data, "constant_memory": False})  # no temporary file of text is made
        self.constant_memory = True
        self.row_data_fh = self.fh = DeflatedRows(self.tmpdir)

    def _opt_close(self) -> None:  # the rows stay where they are deflated until the sheet is assembled
        pass

    def _opt_reopen(self) -> None:
        pass

    def _write_optimized_sheet_data(self) -> None:
        rows = self.row_data_fh
        if self.dim_rowmin is None:
            rows.discard()
            self._xml_empty_tag("sheetData")
            return
        self._xml_start_tag("sheetData")
        part: Any = self.fh  # the sheet's part file, which XlsxWriter opened as text
        part.flush()  # the sheet's head is in it: the rows go after it
        rows.spliced(part.name, part.buffer.tell())
        self._xml_end_tag("sheetData")


# A workbook of at most this many rows is put together in memory: no temporary file per sheet and per part,
# each of which costs ~1–2 ms to make and remove on this machine (a county's workbooks made ~100: 0.14 s of a
# 1 s run). At this size a sheet's text is ~40 MB at most; a province's workbooks stay on disk.
SMALL_ROWS = 20_000


def small_workbook(rows: int) -> bool:
    """Whether a workbook of about `rows` rows in all is put together in memory (new_workbook's `small`)."""
    return rows <= SMALL_ROWS


def new_workbook(path: Path, title: str, small: bool = False) -> xlsxwriter.Workbook:
    """`small`: a workbook of at most SMALL_ROWS rows (a receipt, a county's tables), whose parts are put
    together in memory."""
    # constant_memory: rows are streamed to disk as written (every writer here writes rows in order),
    # which keeps a province-sized workbook out of memory and is faster.
    workbook = _Workbook(str(path), {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    })
    workbook.small = small
    workbook.worksheet_class = _RowsInMemory if small else _RowsDeflated
    workbook.set_properties({"title": title, "author": "starbatch", "company": "县委组织部",
                             "created": FIXED_CREATED})
    workbook.set_calc_mode("auto")
    return workbook


_BASE_FORMAT: dict[str, Any] = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}
_FORMATS: dict[str, dict[str, Any]] = {  # name: what it adds to _BASE_FORMAT
    "text": {},
    "wrap": {"text_wrap": True},
    "header": {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "align": "center"},
    "header_required": {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True, "align": "center"},
    "title": {"bold": True, "font_size": 16},
    "doc_title": {"bold": True, "font_size": 16, "align": "center", "text_wrap": True},
    "facts": {"text_wrap": True},
    "draft": {"bold": True, "font_size": 14, "font_color": "#C00000", "align": "center", "border": 2,
              "border_color": "#C00000", "text_wrap": True},
    "signature": {"valign": "bottom"},
    "subtotal": {"bold": True},
    "left": {"align": "left"},
    "bold": {"bold": True},
    "input": {"locked": False, "bg_color": "#FFF2CC", "border": 1},
    "input_text": {"locked": False, "num_format": "@"},
    "input_number": {"locked": False},
    "input_date": {"locked": False, "num_format": "yyyy-mm-dd"},
    "yuan": {"num_format": YUAN_FORMAT},
    "yuan_bold": {"num_format": YUAN_FORMAT, "bold": True, "top": 1},
    "integer": {"num_format": "0"},
    "percent": {"num_format": "0%"},
    "decimal": {"num_format": "0.##"},
    "link": {"font_color": "blue", "underline": 1},
    "ok": {"font_color": "#006100", "bg_color": "#C6EFCE"},
    "bad": {"font_color": "#9C0006", "bg_color": "#FFC7CE"},
    "warn": {"font_color": "#9C5700", "bg_color": "#FFEB9C"},
}


class Formats:
    """The few cell formats a starbatch workbook uses (`_FORMATS`), each made when it is first asked for.

    A receipt uses a handful of the 25; making every one was ~7 % of a receipt's time, and a province writes 2,000
    receipts. The bytes are the same: XlsxWriter numbers a format when a cell first uses it, not when it is made."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self._workbook = workbook

    def __getattr__(self, name: str) -> Any:
        spec = _FORMATS.get(name)
        if spec is None:
            raise AttributeError(f"no format named {name!r}")
        made = self.__dict__[name] = self._workbook.add_format({**_BASE_FORMAT, **spec})
        return made


NO_CELL: Any = object()  # a value `write_rows` writes no cell for: the place is left as it is (not a blank cell)


def write_value(sheet: Any, row: int, col: int, value: Any, formats: Formats, fmt: Any = None) -> None:
    """Write one value by its Python type; strings always as strings, Decimals as numbers."""
    if value is None:
        sheet.write_blank(row, col, None, fmt or formats.text)
    elif isinstance(value, bool):
        sheet.write_string(row, col, "是" if value else "否", fmt or formats.text)
    elif isinstance(value, Decimal):
        sheet.write_number(row, col, float(value), fmt or formats.decimal)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value, fmt or formats.text)
    else:
        sheet.write_string(row, col, str(value), fmt or formats.text)


A4 = 9
# Characters of a column width (at 11 pt) that fit between the margins at 100%; wider tables print
# landscape, and are shrunk to one page wide by at most MIN_SCALE, so printed text stays ≥ 9 pt.
PORTRAIT_CHARS = 100
LANDSCAPE_CHARS = 146
MIN_SCALE = 0.82
MARGIN_INCHES = 0.4


@dataclass(frozen=True)
class Page:
    """How one sheet prints: its document title, the rows and columns every page repeats."""
    title: str
    header_rows: tuple[int, int] | None = None
    key_columns: tuple[int, int] | None = None
    breaks: tuple[int, ...] = ()  # rows that start a new page (a township's first row)


def print_layout(sheet: Any, page: Page, width: float) -> None:
    """THE print setup of every sheet starbatch writes; `width` is the sum of its column widths."""
    sheet.set_paper(A4)
    if width > PORTRAIT_CHARS:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    if fits_on_paper(width):
        sheet.fit_to_pages(1, 0)
    # else (a template's 评分 sheet of fifty columns): 100%, pages across, the key columns on each.
    sheet.set_margins(left=MARGIN_INCHES, right=MARGIN_INCHES, top=0.75, bottom=0.7)
    # Header and footer keep their own size when the sheet is shrunk to the page width.
    options = {"margin": 0.3, "scale_with_doc": False}
    sheet.set_header(f'&C&10&"{FONT},Regular"{page.title.replace("&", "&&")}', options)
    sheet.set_footer(f'&C&10&"{FONT},Regular"第 &P 页 共 &N 页', options)
    if page.header_rows:
        sheet.repeat_rows(*page.header_rows)
    if page.key_columns:
        sheet.repeat_columns(*page.key_columns)
    if page.breaks:
        sheet.set_h_pagebreaks(list(page.breaks))
    sheet.center_horizontally()


def fits_on_paper(width: float) -> bool:
    """A table this wide prints one page wide with text of at least 9 pt."""
    return width <= LANDSCAPE_CHARS / MIN_SCALE


def title_block(sheet: Any, formats: Formats, title: str, facts: list[str], last_col: int, width: float,
                draft: str | None = None, note: str = "") -> int:
    """The lines a printed sheet opens with (draft banner, title, county/period/unit/date, a note of its own);
    returns the next row."""
    row = 0
    if draft:
        sheet.set_row(row, 2 * LINE_POINTS)
        _merged(sheet, row, last_col, draft, formats.draft)
        row += 1
    sheet.set_row(row, 1.6 * LINE_POINTS * _lines(title, width, 16 / 11))
    _merged(sheet, row, last_col, title, formats.doc_title)
    row += 1
    if facts:
        text = "　　".join(facts)
        sheet.set_row(row, LINE_POINTS * _lines(text, width))
        _merged(sheet, row, last_col, text, formats.facts)
        row += 1
    if note:
        sheet.set_row(row, LINE_POINTS * _lines(note, width))
        _merged(sheet, row, last_col, note, formats.facts)
        row += 1
    return row


def signature_block(sheet: Any, formats: Formats, row: int, last_col: int) -> int:
    """制表人 / 审核人 / 负责人 / 日期 under a payment table, with room to sign; returns the next row."""
    sheet.set_row(row + 1, 2.2 * LINE_POINTS)
    _merged(sheet, row + 1, last_col, SIGNATURE_LINE, formats.signature)
    return row + 2


SIGNATURE_LINE = "制表人：　　　　　　　　审核人：　　　　　　　　负责人：　　　　　　　　日期：　　　　年　　月　　日"


def _merged(sheet: Any, row: int, last_col: int, text: str, fmt: Any) -> None:
    if last_col > 0:
        sheet.merge_range(row, 0, row, last_col, text, fmt)
    else:
        sheet.write_string(row, 0, text, fmt)


def row_height(values: list[Any], widths: list[float]) -> float | None:
    """A height that shows every wrapped line of the row, or None for one line (the default)."""
    lines = 1
    for v, w in zip(values, widths, strict=False):
        if isinstance(v, str) and (2 * len(v) > w - 1 or "\n" in v):
            lines = max(lines, _lines(v, w))
    return LINE_POINTS * lines if lines > 1 else None


Item = TypeVar("Item")
MEASURED_ROWS = 500  # the rows a table's column widths are measured on (set_widths, _widest)
PART_ROWS = 1000  # rows a long table makes at a time (LazyRows) when it is not written township by township


@dataclass
class LazyRows:
    """A table's rows made a part at a time while they are written, not held as one list: a province's tables
    have ~100,000 rows (the reasons ~2.6 KB each, the finance cadre lines ~0.9 KB)."""
    count: int
    first: list[list[Any]]                          # the first MEASURED_ROWS rows: the column widths are theirs
    parts: Callable[[], Iterator[list[list[Any]]]]  # every row, in order, a part at a time

    @classmethod
    def made(cls, items: Sequence[Item], row: Callable[[Item], list[Any]]) -> LazyRows:
        """A row for each item, made PART_ROWS at a time."""
        def parts() -> Iterator[list[list[Any]]]:
            return ([row(x) for x in items[i:i + PART_ROWS]] for i in range(0, len(items), PART_ROWS))
        return cls(len(items), [row(x) for x in items[:MEASURED_ROWS]], parts)

    @classmethod
    def of(cls, rows: list[list[Any]] | LazyRows) -> LazyRows:
        """The rows as LazyRows: a list is one part."""
        return rows if isinstance(rows, LazyRows) else cls(len(rows), rows, lambda: iter([rows] if rows else []))


def write_table(sheet: Any, formats: Formats, headers: list[str], rows: list[list[Any]] | LazyRows,
                col_formats: dict[int, Any] | None = None, first_row: int = 0, cap: int = 40,
                widths: dict[int, int] | None = None) -> float:
    """A header row, data rows, frozen header and autofilter; returns the table's width in characters.

    Columns fit their content up to `cap` (or the width given in `widths`); text longer than its
    column wraps, and each row is as tall as its longest wrapped cell, so nothing overlaps on paper.
    """
    col_formats = dict(col_formats or {})
    lazy = LazyRows.of(rows)
    sized = set_widths(sheet, headers, lazy.first, cap, widths)
    for j, w in enumerate(sized):
        if j not in col_formats and _widest(lazy.first, j) > w:
            col_formats[j] = formats.wrap
    write_header(sheet, formats, first_row, headers, sized)
    row = first_row + 1
    for part in lazy.parts():
        if part:
            ncols = max([len(sized)] + [len(r) for r in part])
            row = write_rows(sheet, formats, row, part, [col_formats.get(j) for j in range(ncols)], sized,
                             numbers_wrap=True)
    sheet.freeze_panes(first_row + 1, 0)
    if headers:
        sheet.autofilter(first_row, 0, first_row + max(lazy.count, 1), len(headers) - 1)
    return sum(sized)


def write_header(sheet: Any, formats: Formats, row: int, headers: list[str], widths: list[float]) -> None:
    height = row_height(headers, widths)
    if height:
        sheet.set_row(row, height)
    for j, h in enumerate(headers):
        sheet.write_string(row, j, h, formats.header)


def set_widths(sheet: Any, headers: list[str], rows: list[list[Any]], cap: int = 40,
               fixed: dict[int, int] | None = None) -> list[float]:
    """Column widths from the content (capped; a header wraps rather than widen a column of numbers)."""
    fixed = fixed or {}
    sized: list[float] = []
    for j, h in enumerate(headers):
        values = [r[j] for r in rows[:MEASURED_ROWS] if j < len(r)]
        body = _widest_line(values)
        numeric = bool(values) and all(isinstance(v, (int, float, Decimal)) or v is None for v in values)
        natural = max(body, min(display_width(h), max(body, 6))) + (1 if numeric else 2)
        sized.append(float(fixed.get(j, min(cap, natural))))
        sheet.set_column(j, j, sized[j])
    return sized


def fit_columns(sheet: Any, headers: list[str], rows: list[list[Any]], cap: int = 60) -> list[float]:
    """Widths from the header and the first 500 rows (enough to fit; the rest look alike)."""
    return set_widths(sheet, headers, rows, cap)


def _widest(rows: list[list[Any]], j: int) -> int:
    return _widest_line([r[j] for r in rows[:MEASURED_ROWS] if j < len(r)])


def _widest_line(values: list[Any]) -> int:
    """display_width of the widest line of the values' texts. Each distinct text is measured once (a column
    repeats its townships, roles and amounts), and ASCII by its length, which is its GBK byte count."""
    widest = 0
    for text in {_cell_text(v) for v in values}:
        for line in text.split("\n") if "\n" in text else (text,):
            width = len(line) if line.isascii() else display_width(line)
            if width > widest:
                widest = width
    return widest


def _cell_text(value: Any) -> str:
    return "" if value is None or value is NO_CELL else measured_text(value)


# ---------------------------------------------------------------------------------------------------
# Whole rows straight into the sheet's row file.
#
# A province's finance workbook has millions of cells; through write_string/write_number each costs
# ~10 µs (argument checks, a namedtuple, then _write_single_row/_write_cell build and escape its XML).
# `write_rows` writes the same rows itself: the exact characters XlsxWriter 3.3.1 writes for a string,
# number or blank cell in constant_memory mode (worksheet._write_cell, _write_row, xmlwriter.
# _xml_inline_string/_xml_number_element/_escape_data/_escape_control_characters), appended to the
# worksheet's temporary row file, with the bookkeeping XlsxWriter keeps (dimensions, previous_row, row
# heights, format indexes assigned in the order the cells are written). The rows' characters and heights are
# made by `rowcells.RowCells` (compiled, setup.py); the sheet's bookkeeping around them stays here.
#
# THIS RELIES ON XLSXWRITER INTERNALS, and is only right for the pinned XlsxWriter (3.3.1).
# tests/test_xlsx_rows.py writes the same tables through the public API and through `write_rows` and
# asserts the two files are byte-identical, so an upgrade that changes the XML fails there.
# Anything the fast path does not know (a sheet not in constant_memory mode, rows out of order…) goes
# through the public API instead.
# ---------------------------------------------------------------------------------------------------

_XLSXWRITER_VERSION = "3.3.1"
_SEEN_MAX = SEEN_MAX  # what a column remembers (the tests make it forget sooner)


def _fast_ok(sheet: Any, first_row: int, rows: Sequence[Sequence[Any]]) -> bool:
    last = first_row + len(rows) - 1
    return (xlsxwriter.__version__ == _XLSXWRITER_VERSION and sheet.constant_memory
            and sheet.fh is sheet.row_data_fh and not sheet.row_data_fh_closed and not sheet.nan_inf_to_errors
            and len(rows) > 1 and all(rows) and first_row >= sheet.previous_row
            and not (first_row == sheet.previous_row and sheet.table.get(first_row))
            and last < sheet.xls_rowmax and max(len(r) for r in rows) <= sheet.xls_colmax)


def write_rows(sheet: Any, formats: Formats, first_row: int, rows: Sequence[Sequence[Any]],
               col_formats: Sequence[Any], widths: Sequence[float], *, string_format: Any = None,
               numbers_wrap: bool = False) -> int:
    """Rows of values from `first_row` on, as `write_value` writes each value, each row as tall as its
    longest wrapped text (`row_height`); returns the next row.

    A value's format: its column's (`col_formats[j]`, None for none), else `string_format` for a str,
    else write_value's default. `numbers_wrap`: numbers count for the height by their text too
    (`_cell_text`, as write_table measures them), not only strings. A value NO_CELL writes nothing there; every
    row has a cell.
    """
    if not _fast_ok(sheet, first_row, rows):
        for i, values in enumerate(rows, first_row):
            height = _height(values, widths, numbers_wrap)
            if height:
                sheet.set_row(i, height)
            for j, value in enumerate(values):
                if value is NO_CELL:
                    continue
                fmt = col_formats[j] if j < len(col_formats) else None
                if fmt is None and string_format is not None and isinstance(value, str):
                    fmt = string_format
                write_value(sheet, i, j, value, formats, fmt)
        return first_row + len(rows)

    with collector_paused():
        return _write_rows_fast(sheet, formats, first_row, rows, col_formats, widths, string_format, numbers_wrap)


def _write_rows_fast(sheet: Any, formats: Formats, first_row: int, rows: Sequence[Sequence[Any]],
                     col_formats: Sequence[Any], widths: Sequence[float], string_format: Any,
                     numbers_wrap: bool) -> int:
    # What the first cell of `first_row` does in XlsxWriter: the row it still holds is written out.
    if first_row > sheet.previous_row:
        sheet._write_single_row(first_row)
    ncols = max(len(r) for r in rows)
    cfs = [col_formats[j] if j < len(col_formats) else None for j in range(ncols)]
    # Kinds: text, Decimal, int or float, blank, each with write_value's format for it.
    text_fmt = formats.text
    kind_formats = [(cf or string_format or text_fmt, cf or formats.decimal, cf or text_fmt, cf or text_fmt)
                    for cf in cfs]
    row_cells = RowCells(sheet, kind_formats, [cf or text_fmt for cf in cfs], [float(w) for w in widths[:ncols]],
                         numbers_wrap, NO_CELL, _SEEN_MAX)
    last = first_row + len(rows) - 1
    # Every row but the last, each a list (what the compiled RowCells takes; a table's rows mostly are).
    row_cells.write([v if v.__class__ is list else list(v) for v in rows[:-1]], first_row, _row_tag,
                    _tall_row(sheet))
    skipped = row_cells.skipped
    # The dimensions XlsxWriter's _check_dimensions keeps, for the rows written here (the last row
    # below keeps its own).
    if sheet.dim_rowmin is None or first_row < sheet.dim_rowmin:
        sheet.dim_rowmin = first_row
    first_col = 0
    widest = max(len(v) for v in rows[:-1])
    if skipped:  # the columns of the cells written, as XlsxWriter counts them
        written = [[j for j, v in enumerate(values) if v is not NO_CELL] for values in rows[:-1]]
        first_col, widest = min(w[0] for w in written), max(w[-1] for w in written) + 1
    if sheet.dim_colmin is None or sheet.dim_colmin > first_col:
        sheet.dim_colmin = first_col
    if sheet.dim_colmax is None or widest - 1 > sheet.dim_colmax:
        sheet.dim_colmax = widest - 1
    # The last row through XlsxWriter itself, held as its API holds a row, so the sheet is left exactly
    # as the public API leaves it (whatever is written next, or close(), writes it out).
    sheet.previous_row = last
    values = rows[-1]
    height = _height(values, widths, numbers_wrap)
    if height:
        sheet.set_row(last, height)
    for j, value in enumerate(values):
        if value is NO_CELL:
            continue
        fmt = cfs[j]
        if fmt is None and string_format is not None and isinstance(value, str):
            fmt = string_format
        write_value(sheet, last, j, value, formats, fmt)
    return last + 1


def _row_tag(sheet: Any, row: int) -> str:
    """The <row> start tag XlsxWriter writes for a row with cells (its own _write_row, into a buffer)."""
    fh = sheet.fh
    sheet.fh = buffer = io.StringIO()
    try:
        sheet._write_row(row, None, sheet.row_info.get(row))
    finally:
        sheet.fh = fh
    return buffer.getvalue()


def _height(values: Sequence[Any], widths: Sequence[float], numbers_wrap: bool) -> float | None:
    """`row_height` of the row's strings (and of its numbers' text, with `numbers_wrap`)."""
    if numbers_wrap:
        return row_height([_cell_text(v) for v in values], list(widths))
    return row_height([v if isinstance(v, str) else "" for v in values], list(widths))
