"""Reading what a clerk typed: true cells, columns found by header, values as they were meant."""
from __future__ import annotations

import datetime as dt
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest

from processor.validate import validate_file
from support import BRANCHES, CADRES, SCORES, comparable, edit_workbook, places, rezip, soffice_convert

ROOT = Path(__file__).resolve().parent.parent

SECRETARY_ABILITY_SELF = "party_building.secretary_ability.self"  # 评分!C, max 20


def _changes(sub) -> dict[tuple[str, str], tuple[str, str, str]]:
    return {(sheet, cell): (c.field, c.before, c.after) for sheet, cell, c in sub.changes}


# --- true A1 addresses -------------------------------------------------------------------------

def test_table_after_leading_empty_rows_and_columns__problem_at_its_true_cell(r1_workbook, rows):
    rows["branches"][1]["member_count"] = 0  # 支部信息!F3 in the template layout
    original = validate_file(r1_workbook(rows))
    assert ("VAL_004", BRANCHES, "F3") in places(original)

    def shift(wb: openpyxl.Workbook) -> None:
        wb[BRANCHES].insert_rows(1, amount=3)
        wb[BRANCHES].insert_cols(1, amount=2)

    moved = validate_file(edit_workbook(r1_workbook(rows, name="移位.xlsx"), shift))
    assert ("VAL_004", BRANCHES, "H6") in places(moved)
    assert ("VAL_004", BRANCHES, "F3") not in places(moved)
    branch = moved.records["branches"][1]
    assert (branch.row, branch.cells["member_count"], branch.cells["township"]) == (6, "H6", "C6")
    assert [r.values for r in moved.records["branches"]] == [r.values for r in original.records["branches"]]


def test_table_after_leading_rows__cross_sheet_problem_points_at_the_moved_cell(r1_workbook, rows):
    rows["cadres"][2]["branch_code"] = "CG-999"  # 村干部!A4
    path = edit_workbook(r1_workbook(rows), lambda wb: wb[CADRES].insert_rows(1, amount=2))
    assert ("REF_001", CADRES, "A6") in places(validate_file(path))


def test_blank_rows_in_the_middle__skipped__rows_keep_their_numbers(r1_workbook, rows):
    rows["cadres"][2]["months"] = 13  # 村干部!E4, then moved down by the blank rows

    def blank_rows(wb: openpyxl.Workbook) -> None:
        wb[CADRES].insert_rows(3, amount=2)

    sub = validate_file(edit_workbook(r1_workbook(rows), blank_rows))
    assert [r.row for r in sub.records["cadres"]] == [2, 5, 6]
    assert places(sub) == {("VAL_005", CADRES, "E6")}


# --- columns found by their header text ----------------------------------------------------------

def test_reordered_columns_with_an_extra_one__read_by_header__extra_column_warned(r1_workbook, rows):
    rows["cadres"][1]["months"] = 13  # 村干部!E3 in the template; the new order puts 在岗月数 in column A
    original = validate_file(r1_workbook(rows))

    def reorder(wb: openpyxl.Workbook) -> None:
        ws = wb[CADRES]
        table = [[c.value for c in row] for row in ws.iter_rows(min_row=1, max_row=4, max_col=5)]
        new_order = [4, 2, None, 0, 1, 3]  # 在岗月数, 职务, (备注), 支部编码, 姓名, 月报酬（元）
        for i, row in enumerate(table, 1):
            for j, source in enumerate(new_order, 1):
                ws.cell(row=i, column=j).value = ("备注" if i == 1 else f"第{i}行备注") if source is None else row[source]

    moved = validate_file(edit_workbook(r1_workbook(rows, name="调列.xlsx"), reorder))
    assert places(moved) == {("VAL_005", CADRES, "A3"), ("TPL_006", CADRES, "C1")}
    assert [p.value for p in moved.problems if p.code == "TPL_006"] == ["备注"]
    assert [r.values for r in moved.records["cadres"]] == [r.values for r in original.records["cadres"]]
    assert moved.records["cadres"][0].cells["branch_code"] == "D2"


def test_header_alias_and_spacing__column_still_found(r1_workbook):
    def rename(wb: openpyxl.Workbook) -> None:
        wb[CADRES]["D1"] = "月报酬"          # an alias of 月报酬（元）
        wb[CADRES]["B1"] = " 姓\u3000名 "      # full-width space inside, spaces around

    sub = validate_file(edit_workbook(r1_workbook(), rename))
    assert sub.problems == []
    assert sub.records["cadres"][0].values["name"] == "王建国"


# --- values as they were meant, every change recorded at its cell ---------------------------------

def test_number_stored_as_text__read_as_number(r1_workbook, rows):
    rows["branches"][0]["member_count"] = "35"
    rows["cadres"][0]["monthly_pay"] = "2400.50"
    sub = validate_file(r1_workbook(rows))
    assert sub.problems == []
    assert sub.records["branches"][0].values["member_count"] == 35
    assert str(sub.records["cadres"][0].values["monthly_pay"]) == "2400.50"
    # The clerk sees "35" and we read 35: nothing to tell them, so nothing is listed under 已自动更正.
    assert (BRANCHES, "F2") not in _changes(sub) and (CADRES, "D2") not in _changes(sub)


def test_full_width_digits__read_and_recorded(r1_workbook, rows):
    rows["branches"][0]["member_count"] = "３５"
    sub = validate_file(r1_workbook(rows))
    assert sub.problems == []
    assert sub.records["branches"][0].values["member_count"] == 35
    assert _changes(sub)[(BRANCHES, "F2")] == ("member_count", "３５", "35")


def test_score_with_unit_85fen__read_and_recorded(r1_workbook, rows):
    rows["scores"][0][SECRETARY_ABILITY_SELF] = "18分"
    rows["branches"][0]["target_assessment_score"] = "85分"
    rows["cadres"][0]["monthly_pay"] = "2,400元"
    sub = validate_file(r1_workbook(rows))
    assert sub.problems == []
    assert sub.records["branches"][0].values["target_assessment_score"] == 85
    assert _changes(sub)[(BRANCHES, "M2")] == ("target_assessment_score", "85分", "85")
    assert sub.records["scores"][0].values[SECRETARY_ABILITY_SELF] == 18
    assert _changes(sub)[(SCORES, "C2")] == (SECRETARY_ABILITY_SELF, "18分", "18")
    assert _changes(sub)[(CADRES, "D2")] == ("monthly_pay", "2,400元", "2400")


def test_trailing_and_non_breaking_spaces__trimmed_and_recorded(r1_workbook, rows):
    rows["branches"][0]["branch_name"] = "大王庄村党支部  "
    rows["branches"][0]["branch_type"] = "村党支部\u00a0"
    rows["cadres"][0]["role"] = "\u00a0书记"
    rows["cadres"][0]["months"] = "12 "
    sub = validate_file(r1_workbook(rows))
    assert sub.problems == []
    values = sub.records["branches"][0].values
    assert (values["branch_name"], values["branch_type"]) == ("大王庄村党支部", "村党支部")
    changes = _changes(sub)
    assert changes[(BRANCHES, "C2")] == ("branch_name", "大王庄村党支部  ", "大王庄村党支部")
    assert changes[(BRANCHES, "E2")] == ("branch_type", "村党支部\u00a0", "村党支部")
    assert changes[(CADRES, "C2")] == ("role", "\u00a0书记", "书记")
    assert changes[(CADRES, "E2")] == ("months", "12 ", "12")


def test_yes_no_written_other_ways__read_as_the_option(r1_workbook, rows):
    rows["branches"][0]["secretary_is_head"] = "√"
    sub = validate_file(r1_workbook(rows))
    assert sub.problems == []
    assert sub.records["branches"][0].values["secretary_is_head"] == "是"
    assert _changes(sub)[(BRANCHES, "G2")] == ("secretary_is_head", "√", "是")


def test_dates_as_serial_and_as_text__read_as_the_same_day(r1_workbook, rows):
    forms = [dt.date(2026, 3, 1), 46082, "2026-03-01", "2026/3/1", "2026年3月1日", "２０２６年３月１日"]
    rows["events"] = [{"branch_code": "CG-001", "event_kind": "基层党建星加分", "points": 1, "date": form}
                      for form in forms]
    sub = validate_file(r1_workbook(rows))
    assert sub.problems == []
    assert [r.values["date"] for r in sub.records["events"]] == ["2026-03-01"] * len(forms)
    changes = _changes(sub)
    assert changes[("加扣分事项", "E3")] == ("date", "46082", "2026-03-01")
    assert changes[("加扣分事项", "E5")] == ("date", "2026/3/1", "2026-03-01")
    assert changes[("加扣分事项", "E6")] == ("date", "2026年3月1日", "2026-03-01")
    assert changes[("加扣分事项", "E7")] == ("date", "２０２６年３月１日", "2026-03-01")
    assert ("加扣分事项", "E2") not in changes and ("加扣分事项", "E4") not in changes


def test_clean_workbook__nothing_recorded_as_changed(r1_workbook):
    sub = validate_file(r1_workbook())
    assert sub.problems == [] and sub.changes == []


def test_whole_number_read_from_a_number_cell__shown_without_exponent(r1_workbook, rows):
    rows["scores"][0][SECRETARY_ABILITY_SELF] = 150
    [over] = validate_file(r1_workbook(rows)).problems
    assert (over.code, over.sheet, over.cell, over.value) == ("VAL_005", SCORES, "C2", "150")


# --- formulas are never trusted -------------------------------------------------------------------

def test_formula_in_score_cell__reported_at_its_cell_not_read(r1_workbook, rows):
    rows["scores"][1][SECRETARY_ABILITY_SELF] = "=10+5"
    sub = validate_file(r1_workbook(rows))
    assert places(sub) == {("VAL_009", SCORES, "C3")}
    record = sub.records["scores"][1]
    assert SECRETARY_ABILITY_SELF not in record.values
    assert SECRETARY_ABILITY_SELF in record.formulas


def test_formula_in_required_cell__only_the_formula_reported(r1_workbook, rows):
    rows["cadres"][0]["name"] = '=CONCATENATE("王","建国")'
    sub = validate_file(r1_workbook(rows))
    assert places(sub) == {("VAL_009", CADRES, "B2")}


def test_formula_with_cached_value_after_libreoffice__still_not_trusted(tmp_path, soffice, r1_workbook, rows):
    rows["scores"][1][SECRETARY_ABILITY_SELF] = "=10+5"
    resaved = soffice_convert(r1_workbook(rows), "xlsx", tmp_path / "lo")
    with zipfile.ZipFile(resaved) as zf:
        xml = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))
    assert b"<f" in xml and b"<v>15</v>" in xml  # the cached value is there: it must still not be used
    sub = validate_file(resaved)
    assert places(sub) == {("VAL_009", SCORES, "C3")}
    assert SECRETARY_ABILITY_SELF not in sub.records["scores"][1].values
    assert comparable(sub) == comparable(validate_file(r1_workbook(rows, name="原件.xlsx")))


@pytest.mark.parametrize("fmt", ["ods", "xls"])
def test_formula_in_ods_or_xls__still_not_trusted(tmp_path, soffice, r1_workbook, rows, fmt):
    rows["scores"][1][SECRETARY_ABILITY_SELF] = "=10+5"
    sub = validate_file(soffice_convert(r1_workbook(rows), fmt, tmp_path / fmt))
    assert ("VAL_009", SCORES, "C3") in places(sub)


@pytest.mark.parametrize("fmt", ["xlsx", "ods", "xls"])
def test_hidden_row_column_and_sheet_with_data__read__a_warning_at_their_cells(tmp_path, soffice, r1_workbook, fmt):
    """A clerk who hides a row, a column or a sheet still has it counted: the receipt says where."""
    book = openpyxl.load_workbook(r1_workbook())
    book["村干部"].row_dimensions[3].hidden = True
    book["支部信息"].column_dimensions["D"].hidden = True
    book["加扣分事项"].sheet_state = "hidden"
    book.save(tmp_path / "hidden.xlsx")
    path = tmp_path / "hidden.xlsx" if fmt == "xlsx" else soffice_convert(tmp_path / "hidden.xlsx", fmt, tmp_path / fmt)
    sub = validate_file(path)
    found = places(sub)
    assert ("VAL_013", "村干部", "A3") in found
    assert ("VAL_014", "支部信息", "D2") in found
    assert ("TPL_012", "加扣分事项", "") in found
    assert sub.accepted  # warnings: the data is read and counted


# --- one inflate: the reader hands calamine the members the guard inflated -----------------------

def _cells_as_calamine_reads_the_file(path) -> dict[str, list[list]]:
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=True) for name in book.sheet_names}


def _cells_as_the_reader_reads_them(path) -> dict[str, list[list]]:
    from processor.read import open_workbook

    book, problems = open_workbook(path)
    assert book is not None, problems
    try:
        return {name: book.sheet(name).rows for name in book.sheet_names}
    finally:
        book.close()


def test_members_handed_on_stored__every_sample_reads_cell_for_cell_as_from_its_file(tmp_path):
    from processor.read import _stored_package

    samples = sorted((ROOT / "samples" / "inbox").glob("*.xlsx")) + sorted((ROOT / "samples" / "broken").glob("*.xlsx"))
    readable = [p for p in samples if zipfile.is_zipfile(p)]
    assert len(readable) >= 30
    for path in readable:
        assert _cells_as_the_reader_reads_them(path) == _cells_as_calamine_reads_the_file(path), path.name
    # The package handed on is a plain zip of the same members, each stored, whose CRC-32s check out.
    with zipfile.ZipFile(readable[0]) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    stored = tmp_path / "stored.xlsx"
    stored.write_bytes(_stored_package(members))
    with zipfile.ZipFile(stored) as zf:
        assert zf.testzip() is None
        assert [(i.filename, i.compress_type) for i in zf.infolist()] == [(i.filename, zipfile.ZIP_STORED)
                                                                           for i, _ in members]
        assert [zf.read(i.filename) for i in zf.infolist()] == [data for _, data in members]


def test_members_handed_on_stored__a_libreoffice_copy_with_a_non_ascii_part_name_reads_as_from_its_file(
        tmp_path, soffice, r1_workbook, rows):
    resaved = soffice_convert(r1_workbook(rows), "xlsx", tmp_path / "lo")
    # A part whose name is not ASCII (a zip flags it UTF-8): the copy keeps the name and the flag.
    renamed = rezip(resaved, tmp_path / "附件.xlsx", extra={"customXml/说明.xml": "<说明/>".encode()})
    for path in (resaved, renamed):
        assert _cells_as_the_reader_reads_them(path) == _cells_as_calamine_reads_the_file(path)
    assert validate_file(renamed).accepted


def test_members_handed_on_stored__not_a_package_beyond_the_bound__it_is_read_as_it_came(tmp_path, r1_workbook, rows):
    from processor import read

    path = r1_workbook(rows)
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    assert read._stored_package(members) is not None
    padded = members + [(zipfile.ZipInfo("customXml/padding.xml"), b" " * (read.HAND_ON_MAX + 1))]
    assert read._stored_package(padded) is None
    # Text that packs ~2:1, as a large real part does (the guard refuses a package that packs like a bomb).
    noise = random.Random(0).randbytes(read.HAND_ON_MAX // 2 + 1).hex().encode()
    big = rezip(path, tmp_path / "big.xlsx", extra={"customXml/padding.xml": b"<a>" + noise + b"</a>"})
    assert _cells_as_the_reader_reads_them(big) == _cells_as_calamine_reads_the_file(big)
    assert validate_file(big).accepted


def test_members_handed_on_stored__calamine_told_of_no_merges_first__the_reader_still_finds_the_file_s_own(
        tmp_path, r1_workbook, rows):
    """Each worksheet handed to calamine has an empty <mergeCells> ahead of its rows (read._merges_told_first: its
    merged-cell scan stops there rather than reading every row again); its cells read as calamine reads the file, and
    the merge over two cadres' branch codes is still named at its cell, from the part as the township sent it."""
    from processor import read

    book = openpyxl.load_workbook(r1_workbook(rows))
    ws = book[CADRES]
    ws.insert_rows(3)
    ws["A3"].value, ws["B3"].value = None, "第二名干部"
    ws.merge_cells("A2:A3")
    book.save(merged := tmp_path / "merged.xlsx")
    assert _cells_as_the_reader_reads_them(merged) == _cells_as_calamine_reads_the_file(merged)
    assert [(p.sheet, p.value) for p in validate_file(merged).problems if p.code == "VAL_016"] == [(CADRES, "A2:A3")]
    with zipfile.ZipFile(merged) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
        parts = read._sheet_parts({name: zf.read(name) for name in zf.namelist()})
    sheets = set(parts.values())
    assert len(sheets) == len(book.sheetnames)
    handed = tmp_path / "handed.xlsx"
    handed.write_bytes(read._stored_package(members, sheets))
    with zipfile.ZipFile(handed) as zf:
        assert zf.testzip() is None  # each changed part's CRC-32 is its own
        for info, data in members:
            told = data.replace(b"<sheetData", b"<mergeCells></mergeCells><sheetData", 1)
            assert zf.read(info.filename) == (told if info.filename in sheets else data)
        own = zf.read(parts[CADRES])  # the sheet's own merge, after its rows, as it came
        assert own.index(b'ref="A2:A3"') > own.index(b"</sheetData>")


def test_members_handed_on_stored__a_sheet_broken_after_its_rows_refused__one_laid_out_otherwise_read(
        tmp_path, r1_workbook, rows):
    """calamine no longer reads a worksheet past its rows, so the reader checks the rest itself and, where it is not
    well-formed, has calamine read the sheet as it came: a part cut short in its data validations is refused naming the
    sheet, as when calamine read it whole; a "<sheetData" in a comment ahead of the rows is read as before."""
    from processor.read import sheet_xml_paths

    path = r1_workbook(rows)
    entry = sheet_xml_paths(path)[CADRES]
    with zipfile.ZipFile(path) as zf:
        part = zf.read(entry)
    after_rows = part.index(b"</sheetData>") + len(b"</sheetData>")
    cut = rezip(path, tmp_path / "cut.xlsx", replace={entry: part[: after_rows + (len(part) - after_rows) // 2]})
    sub = validate_file(cut)
    assert [(p.code, p.sheet) for p in sub.problems if p.code == "FILE_002"] == [("FILE_002", CADRES)]
    assert not sub.accepted
    at = part.index(b"<sheetData")
    commented = rezip(path, tmp_path / "commented.xlsx",
                      replace={entry: part[:at] + b"<!-- <sheetData> written by hand -->" + part[at:]})
    assert _cells_as_the_reader_reads_them(commented) == _cells_as_calamine_reads_the_file(commented)
    assert validate_file(commented).accepted
