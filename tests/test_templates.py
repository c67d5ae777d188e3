"""The committed templates: current, self-describing, guarded by the same schemas the validator uses.

Read back with openpyxl, as a county IT person checking the template would.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from processor.cells import column_letters
from processor.paths import SCHEMA_DIR, TEMPLATE_DIR
from processor.rulebook import shipped_rulebooks
from processor.sheets import INSTRUCTIONS_SHEET, sheets_for
from processor.template import OPTIONS_SHEET, TEMPLATE_ROWS, build_shipped, template_file_name
from processor.validate import validate_file

RULEBOOKS = {rb.id: rb for rb in shipped_rulebooks()}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_committed_templates_and_schemas__equal_what_build_shipped_makes_now(tmp_path):
    build_shipped(tmp_path / "templates", tmp_path / "schemas")
    built_templates, committed_templates = _tree(tmp_path / "templates"), _tree(TEMPLATE_DIR)
    assert sorted(built_templates) == sorted(committed_templates)
    stale = [name for name in built_templates if built_templates[name] != committed_templates[name]]
    assert stale == [], "run `python -m processor.cli template --all` and commit the result"
    built_schemas, committed_schemas = _tree(tmp_path / "schemas" / "generated"), _tree(SCHEMA_DIR / "generated")
    assert sorted(built_schemas) == sorted(committed_schemas)
    assert [n for n in built_schemas if built_schemas[n] != committed_schemas[n]] == []


def test_building_twice__byte_identical(tmp_path):
    first = build_shipped(tmp_path / "a" / "templates", tmp_path / "a" / "schemas")
    build_shipped(tmp_path / "b" / "templates", tmp_path / "b" / "schemas")
    assert first
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


@pytest.fixture(scope="module", params=sorted(RULEBOOKS))
def shipped(request):
    rulebook = RULEBOOKS[request.param]
    return rulebook, openpyxl.load_workbook(TEMPLATE_DIR / template_file_name(rulebook))


def test_template_id_and_version__visible_on_the_instructions_sheet(shipped):
    rulebook, wb = shipped
    ws = wb[INSTRUCTIONS_SHEET]
    assert ws.sheet_state == "visible"
    labels = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2) for r in range(1, 20)}
    assert labels["模板编号"].value == rulebook.template_id
    assert labels["模板版本"].value == rulebook.version
    for cell in (labels["模板编号"], labels["模板版本"]):
        assert not ws.row_dimensions[cell.row].hidden
        assert not ws.column_dimensions[cell.column_letter].hidden
        assert cell.font.color is None or cell.font.color.rgb not in ("FFFFFFFF", "00FFFFFF")
        assert cell.protection.locked


def test_every_data_sheet__headers_are_the_schema_titles_in_order(shipped):
    rulebook, wb = shipped
    for sheet in sheets_for(rulebook):
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]][: len(sheet.fields)] == [f.title for f in sheet.fields]


def _validations_by_column(ws) -> dict[str, object]:
    found = {}
    for dv in ws.data_validations.dataValidation:
        for cell_range in dv.sqref.ranges:
            found[column_letters(cell_range.min_col - 1)] = (dv, cell_range)
    return found


def _list_options(wb, formula: str) -> list[str]:
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    sheet, _, area = formula.lstrip("=").partition("!")
    assert sheet.strip("'") == OPTIONS_SHEET
    return [c.value for row in wb[OPTIONS_SHEET][area.replace("$", "")] for c in row]


def test_every_enum_column__has_a_dropdown_of_exactly_its_options(shipped):
    rulebook, wb = shipped
    for sheet in sheets_for(rulebook):
        by_column = _validations_by_column(wb[sheet.name])
        for j, f in enumerate(sheet.fields):
            if "enum" not in f.spec:
                continue
            dv, cell_range = by_column[column_letters(j)]
            assert dv.type == "list", (sheet.name, f.title)
            assert _list_options(wb, dv.formula1) == [str(o) for o in f.spec["enum"]], (sheet.name, f.title)
            assert (cell_range.min_row, cell_range.max_row) == (2, TEMPLATE_ROWS + 1)


def test_every_bounded_number_column__cell_bounds_equal_the_schema(shipped):
    rulebook, wb = shipped
    checked = 0
    for sheet in sheets_for(rulebook):
        by_column = _validations_by_column(wb[sheet.name])
        for j, f in enumerate(sheet.fields):
            if "enum" in f.spec or f.type not in ("number", "integer"):
                continue
            dv, _ = by_column[column_letters(j)]
            assert dv.type == ("whole" if f.type == "integer" else "decimal"), (sheet.name, f.title)
            if "minimum" in f.spec:
                assert Decimal(dv.formula1) == Decimal(str(f.spec["minimum"])), (sheet.name, f.title)
            if "maximum" in f.spec:
                assert Decimal(dv.formula2) == Decimal(str(f.spec["maximum"])), (sheet.name, f.title)
            checked += 1
    assert checked


def _column_locked(ws, column: int) -> bool:
    for dim in ws.column_dimensions.values():
        if dim.min and dim.min <= column <= dim.max:
            return dim.protection.locked
    return True


def test_every_data_sheet__frozen_header_protected_sheet_locked_header_open_inputs(shipped):
    rulebook, wb = shipped
    for sheet in sheets_for(rulebook):
        ws = wb[sheet.name]
        assert ws.freeze_panes == ("C2" if sheet.key == "scores" else "B2"), sheet.name
        assert ws.protection.sheet, sheet.name
        for j in range(1, len(sheet.fields) + 1):
            assert ws.cell(row=1, column=j).protection.locked, (sheet.name, j)
            assert not _column_locked(ws, j), (sheet.name, j)
    assert wb[INSTRUCTIONS_SHEET].protection.sheet


def test_options_sheet__hidden_from_the_clerk(shipped):
    _, wb = shipped
    if OPTIONS_SHEET in wb.sheetnames:
        assert wb[OPTIONS_SHEET].sheet_state == "hidden"


def test_blank_template__asks_only_for_township_year_and_branches(shipped):
    rulebook, _ = shipped
    sub = validate_file(TEMPLATE_DIR / template_file_name(rulebook))
    assert sub.rulebook is not None and sub.rulebook.id == rulebook.id
    # A blank template must never stand for a township (it would replace its real file): no branch is an error.
    assert sorted((p.code, p.sheet) for p in sub.problems) == [("REF_011", INSTRUCTIONS_SHEET),
                                                               ("REF_019", "支部信息"),
                                                               ("TPL_009", INSTRUCTIONS_SHEET)]
    assert all(records == [] for records in sub.records.values())


def test_instructions__no_doubled_punctuation__unique_codes_only_where_codes_are_unique(shipped):
    """Issue (intake safety) item 8: "全文件唯一" on sheets where a branch has many rows misleads the clerk."""
    rulebook, _ = shipped
    book = openpyxl.load_workbook(TEMPLATE_DIR / template_file_name(rulebook), read_only=True)
    rows = [r for r in book[INSTRUCTIONS_SHEET].iter_rows(values_only=True) if r and r[0]]
    texts = [str(c) for r in rows for c in r if isinstance(c, str)]
    assert not [t for t in texts if "。；" in t or "；；" in t or "。。" in t]
    unique = {r[0] for r in rows if any(isinstance(c, str) and "全文件唯一" in c for c in r)}
    assert unique <= {"支部信息", "评分"}
