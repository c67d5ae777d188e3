"""`xlsx.write_rows` writes a table's XML itself (XlsxWriter internals, pinned to 3.3.1): the same table
written through XlsxWriter's public API, cell by cell, must give a byte-identical .xlsx.

If this fails after an XlsxWriter upgrade, the fast path no longer mirrors what XlsxWriter writes:
update `processor/xlsx.py` (write_rows, _string_xml) to the new XML, or let it fall back to the API.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from xlsxwriter.utility import _preserve_whitespace

from processor import rowcells, xlsx
from processor.xlsx import Formats, new_workbook, row_height, write_value

D = Decimal

STRINGS = [
    "plain", "", " leading", "trailing ", "  both  ", "\tTab", "tab\t", "line\nbreak", "ends in newline\n",
    "\nstarts with newline", "a & b", "x < y > z", 'say "hi"', "it's", "&amp; already", "<r>not rich</r>",
    "<r>", "</r>", "ctrl\x01char", "\x00", "bell\x07", "\x1fend", "esc\x1b", "_x0041_ literal", "_X0041_", "_x00A_",
    "_x004G_", "\ufffe and \uffff", "\u3000全角空格开头", "全角空格结尾\u3000", "\xa0nbsp", "nbsp\xa0", "\u2028",
    "\x1c", "a\x1c", "中文名称", "村党支部书记兼村委会主任", "混合 mixed 文字", "🙂 emoji", "=SUM(A1:A3)", "+8613800000000",
    "001234", "1e5", "TRUE", "#N/A", "http://example.com", "a\r\nb", "\r", "长" * 60, "长文本，" * 40 + "\n第二段" * 5,
    "x" * 200, "y" * 16400, "🙂" * 16390, "z" * 40000, "_x0000_" * 3 + "\x02",
]
NUMBERS = [0, 1, -1, 42, 10 ** 15, 10 ** 16 + 1, 2 ** 53 + 1, -(10 ** 20), 0.1, 1 / 3, -2.5, 1e-12, 1e300, 123456.789,
           D("0"), D("0.10"), D("1234567.89"), D("-0.01"), D("1E+3"), D("3.14159265358979323846"), D("99999999999.99"),
           D("0.00"), D("-0.00"), D("-0"), D("1.0"), D("1.00"), -0.0, 0.0, 7, 7.0]
OTHERS: list[Any] = [None, True, False, dt.date(2026, 12, 7), ("a", 1), D("1") / D("3")]


def _rows(ncols: int) -> list[list[Any]]:
    """Every value in every column (so each meets each column format), and rows of different lengths."""
    values = STRINGS + NUMBERS + OTHERS
    rows = []
    for i in range(len(values)):
        rows.append([values[(i + 7 * j) % len(values)] for j in range(ncols)])
    rows.append(["short row", None])
    rows.append([None] * ncols)
    rows.append(["wider than the headers"] * (ncols + 2))
    rows.append(["长" * 30] * ncols)
    return rows


def _api_table(ws, formats: Formats, first: int, rows, col_formats: dict, widths, string_format, numbers_wrap) -> None:
    """The rows as the writers wrote them before write_rows: set_row, then write_value cell by cell."""
    for i, values in enumerate(rows, first):
        if numbers_wrap:
            height = row_height([xlsx._cell_text(v) for v in values], widths)
        else:
            height = row_height([v if isinstance(v, str) else "" for v in values], widths)
        if height:
            ws.set_row(i, height)
        for j, value in enumerate(values):
            fmt = col_formats.get(j) or (string_format if isinstance(value, str) else None)
            write_value(ws, i, j, value, formats, fmt)


def _fast_table(ws, formats: Formats, first: int, rows, col_formats: dict, widths, string_format, numbers_wrap) -> None:
    ncols = max([len(widths)] + [len(r) for r in rows])
    assert xlsx._fast_ok(ws, first, rows), "the test must exercise the fast path"
    assert xlsx.write_rows(ws, formats, first, rows, [col_formats.get(j) for j in range(ncols)], widths,
                           string_format=string_format, numbers_wrap=numbers_wrap) == first + len(rows)


def _workbook(path: Path, table, first_row: int, numbers_wrap: bool, with_string_format: bool,
              small: bool = False, sheet_class: type | None = None) -> bytes:
    ncols = 8
    widths = [6.0, 10.0, 14.0, 30.0, 1.0, 0.5, 12.0, 92.0]
    workbook = new_workbook(path, "写入测试", small=small)
    if sheet_class is not None:
        workbook.worksheet_class = sheet_class
    formats = Formats(workbook)
    # Formats first used inside the table (index assigned there, in cell order) and one used before it.
    col_formats = {1: formats.yuan, 3: formats.percent, 5: formats.wrap, 6: formats.integer}
    string_format = formats.wrap if with_string_format else None
    ws = workbook.add_worksheet("表")
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    rows = _rows(ncols)
    if first_row:
        ws.set_row(0, 30)
        ws.merge_range(0, 0, 0, ncols - 1, "标题 & <title>", formats.doc_title)
        ws.write_string(first_row - 1, 0, "表头", formats.header)  # held, unwritten, when the table starts
        ws.set_row(first_row, 40)  # a height set before the table's first row
    table(ws, formats, first_row, rows, col_formats, widths, string_format, numbers_wrap)
    after = first_row + len(rows)
    # What comes after a table: a total row, a gap, a tall merged signature row.
    ws.write_number(after, 1, 12.5, formats.yuan_bold)
    ws.write_string(after, 0, "合计", formats.subtotal)
    ws.set_row(after + 2, 33)
    ws.merge_range(after + 2, 0, after + 2, 3, "制表人：", formats.signature)
    # A second table right under the first, starting on the row after the last one written.
    table(ws, formats, after + 3, rows[:5], col_formats, widths, string_format, numbers_wrap)
    ws.freeze_panes(first_row + 1, 0)
    ws.autofilter(first_row, 0, first_row + len(rows), ncols - 1)
    ws.repeat_rows(first_row, first_row)
    chart = workbook.add_chart({"type": "column"})
    chart.add_series({"values": ["表", first_row, 1, first_row + 10, 1]})
    ws.insert_chart(after + 10, 1, chart)  # its anchor depends on the row heights above it
    # A second sheet: the table at the very top (row 0, the sheet's first row held), formats reused,
    # rows of another default height.
    ws2 = workbook.add_worksheet("二")
    ws2.set_default_row(18)  # every <row> then says its height: the fast path asks XlsxWriter for the tag
    table(ws2, formats, 0, rows[::-1], col_formats, widths, string_format, numbers_wrap)
    workbook.close()
    return path.read_bytes()


@pytest.mark.parametrize("first_row", [0, 3])
@pytest.mark.parametrize("numbers_wrap,with_string_format", [(True, False), (False, True)])
@pytest.mark.parametrize("remembered", [10_000, 2])
def test_write_rows_is_byte_identical_to_the_xlsxwriter_api(tmp_path: Path, first_row: int, numbers_wrap: bool,
                                                            with_string_format: bool, remembered: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "_SEEN_MAX", remembered)  # texts and amounts a column remembers, then forgets
    api = _workbook(tmp_path / "api.xlsx", _api_table, first_row, numbers_wrap, with_string_format)
    fast = _workbook(tmp_path / "fast.xlsx", _fast_table, first_row, numbers_wrap, with_string_format)
    assert fast == api


@pytest.mark.parametrize("table", [_api_table, _fast_table])
def test_a_large_workbook_deflates_its_rows_as_written__every_part_the_text_xlsxwriter_writes(
        tmp_path: Path, table) -> None:
    """A province's workbook deflates each sheet's rows as they are written and puts them into the sheet's part in
    the zip as they were deflated (xlsx._RowsDeflated, common.DeflatedRows), where XlsxWriter's own worksheet keeps
    them as text in a temporary file and copies it. The rows hold every kind of text (carriage returns, control
    characters, CJK, emoji): every part is the same text, the zip's CRCs hold, and Excel's reader (openpyxl) reads
    the cells."""
    import zipfile

    import openpyxl
    from xlsxwriter.worksheet import Worksheet
    assert new_workbook(tmp_path / "x.xlsx", "t").worksheet_class is xlsx._RowsDeflated
    _workbook(tmp_path / "ours.xlsx", table, 3, True, False)
    _workbook(tmp_path / "theirs.xlsx", table, 3, True, False, sheet_class=Worksheet)
    with zipfile.ZipFile(tmp_path / "ours.xlsx") as ours, zipfile.ZipFile(tmp_path / "theirs.xlsx") as theirs:
        assert ours.testzip() is None  # every entry's CRC: the head's, the rows' and the tail's, combined
        assert ours.namelist() == theirs.namelist()
        assert [n for n in theirs.namelist() if ours.read(n) != theirs.read(n)] == []
        assert [(i.filename, i.date_time) for i in ours.infolist()] == [(i.filename, i.date_time) for i in theirs.infolist()]
        sheet = ours.read("xl/worksheets/sheet1.xml")
    assert b"_x000D_" in sheet and "🙂".encode() in sheet and sheet.count(b"<row ") > len(_rows(8))
    read = openpyxl.load_workbook(tmp_path / "ours.xlsx", read_only=True)
    assert [c for row in read["二"].iter_rows(values_only=True) for c in row if c == "中文名称"]


def test_a_large_sheets_rows_deflated_in_many_pieces__one_valid_deflate_stream(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows deflated a few hundred characters at a time (a province's are deflated a million at a time): the part
    inflates to the same text as XlsxWriter's, through a stream of many compress calls and a sync flush."""
    import zipfile

    from xlsxwriter.worksheet import Worksheet

    from processor import common
    monkeypatch.setattr(common.DeflatedRows, "CHUNK", 300)
    _workbook(tmp_path / "ours.xlsx", _fast_table, 0, False, True)
    _workbook(tmp_path / "theirs.xlsx", _fast_table, 0, False, True, sheet_class=Worksheet)
    with zipfile.ZipFile(tmp_path / "ours.xlsx") as ours, zipfile.ZipFile(tmp_path / "theirs.xlsx") as theirs:
        assert ours.testzip() is None
        assert all(ours.read(n) == theirs.read(n) for n in theirs.namelist())


@pytest.mark.parametrize("lengths", [(0, 0), (0, 7), (7, 0), (1, 1), (1000, 3), (3, 100_000), (65_537, 1 << 20)])
def test_crc32_combine__the_crc_of_both_parts_together(lengths: tuple[int, int]) -> None:
    import random
    import zlib

    from processor.common import crc32_combine
    generator = random.Random(sum(lengths))
    first, second = (bytes(generator.getrandbits(8) for _ in range(n)) for n in lengths)
    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(first + second)


@pytest.mark.parametrize("table", [_api_table, _fast_table])
def test_a_small_workbook_keeps_its_rows_in_memory_and_writes_the_same_bytes(tmp_path: Path, table) -> None:
    """A receipt (new_workbook(small=True)) streams its rows into memory, not into a temporary file per sheet:
    every part of the workbook must be the same bytes, every row of both sheets in it. (XlsxWriter stamps the
    zip entries of a workbook put together in memory with another date: only the parts are compared.)"""
    import zipfile
    _workbook(tmp_path / "disk.xlsx", table, 3, True, False)
    _workbook(tmp_path / "memory.xlsx", table, 3, True, False, small=True)
    with zipfile.ZipFile(tmp_path / "disk.xlsx") as disk, zipfile.ZipFile(tmp_path / "memory.xlsx") as memory:
        assert memory.namelist() == disk.namelist()
        assert all(memory.read(name) == disk.read(name) for name in disk.namelist())
        assert disk.read("xl/worksheets/sheet2.xml").count(b"<row ") == len(_rows(8))


def test_the_tables_cover_heights_truncation_and_escapes(tmp_path: Path) -> None:
    """The comparison above is not vacuous: its sheet has wrapped rows, escapes, preserved spaces, a truncated
    string, a rich-looking string written raw, and every cell type."""
    import zipfile
    _workbook(tmp_path / "fast.xlsx", _fast_table, 3, True, False)
    xml = zipfile.ZipFile(tmp_path / "fast.xlsx").read("xl/worksheets/sheet1.xml").decode()
    for needle in ['customHeight="1"', 'xml:space="preserve"', "&amp;", "&lt;", "_x0001_", "_x005F_x0041_",
                   '<is><r>not rich</r></is>', "<v>1E+16</v>", "<v>9007199254740992</v>", "<v>1E-12</v>", "<v>0.1</v>", "/>", "是"]:
        assert needle in xml, needle
    assert "z" * 32767 in xml and "z" * 32768 not in xml


def test_leading_or_trailing_whitespace_is_what_xlsxwriter_preserves() -> None:
    """write_rows asks str.isspace() of the first and last character; XlsxWriter asks the regexes ^\\s and \\s$."""
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        c = chr(code)
        if c.isspace() or re.match(r"\s", c):
            assert bool(_preserve_whitespace(c)) == c.isspace()
            assert bool(_preserve_whitespace("a" + c)) == bool(_preserve_whitespace(c + "a")) == c.isspace()


def test_a_number_xlsxwriter_refuses_is_refused(tmp_path: Path) -> None:
    workbook = new_workbook(tmp_path / "nan.xlsx", "t")
    formats = Formats(workbook)
    ws = workbook.add_worksheet("t")
    with pytest.raises(TypeError):
        xlsx.write_rows(ws, formats, 0, [[1.0], [math.nan], [2.0]], [None], [10.0])
    workbook.close()


def test_the_fast_path_is_for_the_pinned_xlsxwriter_only() -> None:
    assert xlsxwriter.__version__ == xlsx._XLSXWRITER_VERSION, (
        "XlsxWriter changed: check tests/test_xlsx_rows.py passes, then update _XLSXWRITER_VERSION")


def test_escaped_body_is_string_body_for_the_texts_it_is_used_for() -> None:
    texts = STRINGS + ["<r>a\nb</r>", " <b> ", "\n&\n", "第一条 < 第二条\n第三条 & 第四条 "]
    used = [t for t in texts if "_x" not in t and len(t) <= rowcells.STR_HALF_MAX
            and (t.isprintable() or t.replace("\n", "").isprintable())]
    assert len(used) > 20
    for text in used:
        assert rowcells.escaped_body(text) == rowcells.string_body(text), text


def test_a_table_written_a_part_at_a_time__the_same_bytes_as_written_whole(tmp_path: Path) -> None:
    """The long tables (the reasons, the finance cadre lines) are made and written a part at a time
    (xlsx.LazyRows): a one-row part, an empty one and parts that split wrapped rows must change nothing."""
    rows = _rows(8) * 6  # longer than the rows the widths are measured on
    assert len(rows) > xlsx.MEASURED_ROWS
    cuts = [0, 1, 3, 3, 50, 51, 300, len(rows)]
    parts = [rows[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]

    def written(path: Path, table) -> bytes:
        workbook = new_workbook(path, "写入测试")
        formats = Formats(workbook)
        ws = workbook.add_worksheet("表")
        xlsx.write_table(ws, formats, [f"列{j}" for j in range(8)], table, {1: formats.yuan}, first_row=2,
                         widths={7: 40})
        workbook.close()
        return path.read_bytes()

    whole = written(tmp_path / "whole.xlsx", rows)
    in_parts = written(tmp_path / "parts.xlsx", xlsx.LazyRows(len(rows), rows[:xlsx.MEASURED_ROWS], lambda: iter(parts)))

    assert in_parts == whole


def _holes_workbook(path: Path, fast: bool) -> bytes:
    """The review workbook's way: rows of a sheet's fields, the fields a branch has no value for left out (NO_CELL),
    at a row's start, middle and end, and a first column left out of every row."""
    workbook = new_workbook(path, "空位测试")
    formats = Formats(workbook)
    locked = workbook.add_format({"font_name": "等线", "bg_color": "#EDEDED", "border": 1})
    hole = xlsx.NO_CELL
    rows = [[hole, "城关镇", D("12.50"), hole, "书记", hole],
            [hole, hole, 3, "长" * 40, hole, hole],
            [hole, "东岗镇", hole, hole, hole, True],
            [hole, "西河镇 & <b>", D("-0.00"), 7.25, "是", hole]]
    for sheet_name, first in (("表", 1), ("二", 0)):
        ws = workbook.add_worksheet(sheet_name)
        if first:
            ws.set_row(0, 48)
            ws.write_string(0, 2, "标题", formats.header)
        if fast:
            assert xlsx._fast_ok(ws, first, rows)
            xlsx.write_rows(ws, formats, first, rows, [locked] * 6, [])
        else:
            for i, values in enumerate(rows, first):
                for j, value in enumerate(values):
                    if value is not hole:
                        write_value(ws, i, j, value, formats, locked)
        ws.write_string(first + len(rows), 3, "after")
    workbook.close()
    return path.read_bytes()


def test_no_cell__left_out_as_the_api_leaves_it_out__byte_identical(tmp_path: Path) -> None:
    assert _holes_workbook(tmp_path / "fast.xlsx", True) == _holes_workbook(tmp_path / "api.xlsx", False)


def test_no_cell__a_row_without_any_cell_is_refused(tmp_path: Path) -> None:
    workbook = new_workbook(tmp_path / "x.xlsx", "x")
    ws = workbook.add_worksheet("表")
    with pytest.raises(ValueError, match="row 2 has no cell"):
        xlsx.write_rows(ws, Formats(workbook), 0, [["a"], [xlsx.NO_CELL], ["b"]], [None], [])


def test_row_heights__whichever_set_a_row_last_holds_it__as_a_dict_would() -> None:
    """xlsx.RowHeights answers XlsxWriter's three questions (anything held? this row? its [height, hidden]?) as the
    dict of entries it replaces would, whether set_row (an entry) or write_rows (the array) set the row last."""
    heights, plain = xlsx.RowHeights(), {}
    assert not heights and 5 not in heights
    steps = [("tall", 5, 40), ("set", 7, [30, True]), ("set", 5, [20, False]), ("tall", 7, 60), ("tall", 9, 40),
             ("tall", 9, 80), ("set", 0, [15, False])]
    for how, row, value in steps:
        if how == "tall":
            heights.tall(row, value)
            plain[row] = [value, False]
        else:
            heights[row] = value
            plain[row] = value
        assert len(heights) == len(plain) and bool(heights)
        for r in range(12):
            assert (r in heights) == (r in plain)
            if r in plain:
                assert heights[r] == plain[r]
    with pytest.raises(KeyError):
        heights[11]
