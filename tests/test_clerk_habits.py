"""One message per clerk habit, at the right cell (issue: intake safety, item 6).

Each test starts from the valid two-branch R1 workbook and does what a clerk does in Excel with openpyxl,
then asserts the code, the sheet and the cell of what the receipt says.
"""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from processor.validate import validate_file
from support import BRANCHES, CADRES, INSTRUCTIONS, SCORES, places, soffice_convert, write_r1


@pytest.fixture
def valid(tmp_path: Path) -> Path:
    return write_r1(tmp_path / "城关镇.xlsx")


def _edit(path: Path, change, out: Path) -> Path:
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(out)
    return out


def _column(ws, title: str) -> int:
    return next(c.column for c in ws[1] if c.value and str(c.value).lstrip("*").strip() == title)


def test_merged_branch_codes__one_message_naming_the_merge__no_must_fill_lines_under_it(valid, tmp_path):
    def merge(book):
        ws = book[CADRES]
        col = _column(ws, "支部编码")
        letter = openpyxl.utils.get_column_letter(col)
        ws.insert_rows(3)  # a second cadre of the first branch, code merged down as clerks do
        ws.cell(3, _column(ws, "姓名"), "李四")
        ws.cell(3, _column(ws, "职务"), "委员")
        ws.cell(3, _column(ws, "月报酬（元）"), 1500)
        ws.cell(3, _column(ws, "在岗月数"), 12)
        ws.merge_cells(f"{letter}2:{letter}3")
    sub = validate_file(_edit(valid, merge, tmp_path / "merged.xlsx"))
    merges = [(p.sheet, p.cell, p.value) for p in sub.problems if p.code == "VAL_016"]
    assert len(merges) == 1 and merges[0][0] == CADRES and merges[0][2].endswith("3")
    assert not [p for p in sub.problems if p.code == "VAL_001" and p.sheet == CADRES and p.cell.endswith("3")]


@pytest.mark.parametrize("word", ["合计", "小计", "总计"])
def test_total_row_at_the_bottom__one_message_delete_it__at_its_row(valid, tmp_path, word):
    def add_total(book):
        ws = book[CADRES]
        row = ws.max_row + 1
        ws.cell(row, 1, word)
        ws.cell(row, _column(ws, "月报酬（元）"), 99999)
        ws.cell(row, _column(ws, "在岗月数"), 24)
    sub = validate_file(_edit(valid, add_total, tmp_path / "total.xlsx"))
    totals = [(p.code, p.sheet, p.cell) for p in sub.problems if p.code == "VAL_015"]
    last = openpyxl.load_workbook(tmp_path / "total.xlsx")[CADRES].max_row
    assert totals == [("VAL_015", CADRES, f"A{last}")]
    assert [p.code for p in sub.problems if p.severity == "error"] == ["VAL_015"]  # nothing unrelated
    assert "删除合计行" in sub.problems[[p.code for p in sub.problems].index("VAL_015")].message


def test_branch_code_in_lower_case_and_full_width__matched__recorded_as_a_correction(valid, tmp_path):
    book = openpyxl.load_workbook(valid)
    code = book[BRANCHES].cell(2, _column(book[BRANCHES], "支部编码")).value
    typed = code.lower().replace("0", "０")

    def retype(book):
        ws = book[SCORES]
        ws.cell(2, _column(ws, "支部编码"), typed)
    sub = validate_file(_edit(valid, retype, tmp_path / "case.xlsx"))
    assert not [p for p in sub.problems if p.severity == "error"]
    assert any(sheet == SCORES and change.after == code and change.before == typed
               for sheet, _, change in sub.changes)


@pytest.mark.parametrize("year", ["2026年", "2026年度", "２０２６"])
def test_year_with_年_or_年度__accepted(valid, tmp_path, year):
    def set_year(book):
        ws = book[INSTRUCTIONS]
        for row in ws.iter_rows():
            if row[0].value == "评定年度":
                row[1].value = year
    sub = validate_file(_edit(valid, set_year, tmp_path / "year.xlsx"))
    assert sub.meta["period"] == 2026 and not [p for p in sub.problems if p.code == "TPL_009"]


def test_bad_year__message_names_the_cell_by_its_template_label(valid, tmp_path):
    def set_year(book):
        for row in book[INSTRUCTIONS].iter_rows():
            if row[0].value == "评定年度":
                row[1].value = "今年"
    sub = validate_file(_edit(valid, set_year, tmp_path / "year.xlsx"))
    [bad] = [p for p in sub.problems if p.code == "TPL_009"]
    assert bad.sheet == INSTRUCTIONS and bad.field == "评定年度" and "评定年度" in bad.message
    assert "填报年度" not in bad.message


def test_a_workbook_that_is_not_a_template__one_message_where_to_get_it(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "计分规则填写说明"
    book.create_sheet("党建工作台账")
    book.active["A1"] = "某村党建工作台账"
    book.save(tmp_path / "台账.xlsx")
    sub = validate_file(tmp_path / "台账.xlsx")
    assert [(p.code, p.sheet, p.cell) for p in sub.problems] == [("TPL_013", "", "")]
    assert "县委组织部" in sub.problems[0].message and "计分规则填写说明" in sub.problems[0].message


def test_merged_cells_in_ods__named_too(valid, tmp_path, soffice):
    def merge(book):
        ws = book[CADRES]
        letter = openpyxl.utils.get_column_letter(_column(ws, "支部编码"))
        ws.insert_rows(3)
        ws.cell(3, _column(ws, "姓名"), "李四")
        ws.cell(3, _column(ws, "职务"), "委员")
        ws.cell(3, _column(ws, "月报酬（元）"), 1500)
        ws.cell(3, _column(ws, "在岗月数"), 12)
        ws.merge_cells(f"{letter}2:{letter}3")
    ods = soffice_convert(_edit(valid, merge, tmp_path / "merged.xlsx"), "ods", tmp_path / "ods")
    sub = validate_file(ods)
    assert [p.sheet for p in sub.problems if p.code == "VAL_016"] == [CADRES]
    assert ("VAL_016", CADRES, places(sub, "VAL_016").pop()[2]) in places(sub)
