"""Files a township may send that are not a clean .xlsx: each becomes a problem, and the batch goes on."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import msoffcrypto
from msoffcrypto.format.ooxml import OOXMLFile
import openpyxl
import pytest

from processor.read import sheet_xml_paths
from processor.validate import validate_file, validate_files
from support import (BRANCHES, CADRES, INSTRUCTIONS, comparable, edit_workbook, errors, places, rezip,
                     soffice_convert)


def _not_a_workbook(folder: Path, good: Path) -> Path:
    path = folder / "通知.xlsx"
    path.write_text("这是一封邮件正文，不是工作簿。\n", encoding="utf-8")
    return path


def _zip_without_workbook(folder: Path, good: Path) -> Path:
    path = folder / "压缩包.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    return path


def _empty(folder: Path, good: Path) -> Path:
    path = folder / "空文件.xlsx"
    path.write_bytes(b"")
    return path


def _corrupt_zip(folder: Path, good: Path) -> Path:
    path = folder / "损坏.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00\xff" * 500)
    return path


def _truncated(folder: Path, good: Path) -> Path:
    path = folder / "半截.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def _missing(folder: Path, good: Path) -> Path:
    return folder / "不存在.xlsx"


def _encrypted(folder: Path, good: Path) -> Path:
    path = folder / "加密.xlsx"
    with good.open("rb") as plain, path.open("wb") as out:
        OOXMLFile(plain).encrypt("123456", out)
    return path


BAD_FILES = {
    "not_a_workbook": (_not_a_workbook, "FILE_001"),
    "zip_without_workbook": (_zip_without_workbook, "FILE_001"),
    "empty_file": (_empty, "FILE_002"),
    "corrupt_zip": (_corrupt_zip, "FILE_002"),
    "truncated_xlsx": (_truncated, "FILE_002"),
    "missing_file": (_missing, "FILE_008"),
    "password_protected": (_encrypted, "FILE_003"),
}


@pytest.mark.parametrize("make, code", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_unreadable_file__one_file_problem__and_the_batch_goes_on(tmp_path, valid_r1_file, make, code):
    bad = make(tmp_path, valid_r1_file)
    before, result, after = validate_files([valid_r1_file, bad, valid_r1_file])
    assert [(p.code, p.file, p.sheet, p.cell) for p in result.problems] == [(code, bad.name, "", "")]
    assert result.rulebook is None and not result.accepted and result.records == {}
    for good in (before, after):
        assert good.accepted and good.problems == []
        assert len(good.records["branches"]) == 2


def test_encrypted_workbook__really_is_encrypted(tmp_path, valid_r1_file):
    path = _encrypted(tmp_path, valid_r1_file)
    with path.open("rb") as fh:
        assert msoffcrypto.OfficeFile(fh).is_encrypted()


def test_legacy_xls__warned_and_read_like_the_xlsx(tmp_path, soffice, r1_workbook):
    original = r1_workbook()
    legacy = soffice_convert(original, "xls", tmp_path / "xls")
    sub = validate_file(legacy)
    assert places(sub) == {("FILE_004", "", "")}
    assert errors(sub) == []
    assert sub.accepted
    assert comparable(sub)[1] == comparable(validate_file(original))[1]


def test_xlsm_with_macros__warned_and_read(tmp_path, valid_r1_file):
    xlsm = rezip(valid_r1_file, tmp_path / "城关镇.xlsm", extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})
    sub = validate_file(xlsm)
    assert places(sub) == {("FILE_005", "", "")}
    assert sub.accepted
    assert comparable(sub)[1] == comparable(validate_file(valid_r1_file))[1]


def test_renamed_sheet__missing_sheet_reported__with_the_near_miss_suggested(tmp_path, r1_workbook):
    path = edit_workbook(r1_workbook(), lambda wb: setattr(wb[CADRES], "title", "村干部名单"))
    sub = validate_file(path)
    [missing] = [p for p in sub.problems if p.code == "TPL_004"]
    assert (missing.sheet, missing.cell) == (CADRES, "")
    assert "村干部名单" in missing.message
    assert not sub.accepted


def test_deleted_sheet__missing_sheet_reported__other_sheets_still_checked(tmp_path, r1_workbook, rows):
    rows["branches"][1]["member_count"] = 0
    path = edit_workbook(r1_workbook(rows), lambda wb: wb.remove(wb[CADRES]))
    sub = validate_file(path)
    assert ("TPL_004", CADRES, "") in places(sub)
    assert ("VAL_004", BRANCHES, "F3") in places(sub)


def test_renamed_header__missing_column_reported__with_the_near_miss_suggested(r1_workbook):
    path = edit_workbook(r1_workbook(), lambda wb: setattr(wb[CADRES]["C1"], "value", "职位"))
    sub = validate_file(path)
    [missing] = [p for p in sub.problems if p.code == "TPL_005"]
    assert (missing.sheet, missing.field) == (CADRES, "职务")
    assert "职位" in missing.message
    assert ("TPL_006", CADRES, "C1") in places(sub)


def test_header_row_deleted__no_header_row_reported(r1_workbook):
    path = edit_workbook(r1_workbook(), lambda wb: wb[CADRES].delete_rows(1))
    sub = validate_file(path)
    assert ("TPL_008", CADRES, "") in places(sub)
    assert sub.records["cadres"] == []


def test_unknown_template_id__reported_at_its_cell(r1_workbook):
    path = edit_workbook(r1_workbook(), lambda wb: setattr(wb[INSTRUCTIONS]["B3"], "value", "R9-made-up"))
    sub = validate_file(path)
    assert places(sub) == {("TPL_002", INSTRUCTIONS, "B3")}
    assert sub.problems[0].value == "R9-made-up"
    assert sub.rulebook is None


def test_template_id_removed__reported(r1_workbook):
    path = edit_workbook(r1_workbook(), lambda wb: setattr(wb[INSTRUCTIONS]["B3"], "value", None))
    sub = validate_file(path)
    assert [p.code for p in sub.problems] == ["TPL_001"]


def test_old_template_version__reported_at_its_cell(r1_workbook):
    path = edit_workbook(r1_workbook(), lambda wb: setattr(wb[INSTRUCTIONS]["B4"], "value", "2025.1"))
    sub = validate_file(path)
    assert places(sub) == {("TPL_003", INSTRUCTIONS, "B4")}
    assert sub.problems[0].value == "2025.1"
    assert sub.rulebook is None


def test_instructions_sheet_missing__reported_and_nothing_else_guessed(r1_workbook):
    path = edit_workbook(r1_workbook(), lambda wb: setattr(wb[INSTRUCTIONS], "title", "说明"))
    sub = validate_file(path)
    assert places(sub) == {("TPL_004", INSTRUCTIONS, "")}


def test_township_and_year_left_blank__reported_at_their_cells(r1_workbook):
    sub = validate_file(r1_workbook(meta={"township": None, "period": None}))
    assert {("REF_011", INSTRUCTIONS, "B5"), ("TPL_009", INSTRUCTIONS, "B6")} <= places(sub)


def test_100000_formatted_empty_rows__validate_like_the_plain_file(r1_workbook, rows):
    rows["cadres"][0]["months"] = 13
    original = r1_workbook(rows)

    def format_far_rows(wb: openpyxl.Workbook) -> None:
        for ws in (wb[BRANCHES], wb[CADRES]):
            ws.row_dimensions[100000].height = 30
            ws.cell(row=100000, column=1).fill = openpyxl.styles.PatternFill("solid", fgColor="FFFF00")
            ws.cell(row=100000, column=3).number_format = "0.00"

    padded = edit_workbook(original, format_far_rows, out=original.with_name("带格式空行.xlsx"))
    with zipfile.ZipFile(padded) as zf:
        assert any(b'r="100000"' in zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    assert comparable(validate_file(padded)) == comparable(validate_file(original))
    assert ("VAL_005", CADRES, "E2") in places(validate_file(padded))


def test_shown_name_is_used_for_every_problem_of_the_file(tmp_path):
    sub = validate_file(tmp_path / "x.xlsx", shown_name="邮件附件：城关镇.xlsx")
    assert [(p.code, p.file) for p in sub.problems] == [("FILE_008", "邮件附件：城关镇.xlsx")]


def test_file_is_identified_by_its_content_not_its_name(tmp_path, valid_r1_file):
    renamed = tmp_path / "城关镇.dat"
    renamed.write_bytes(io.BytesIO(valid_r1_file.read_bytes()).getvalue())
    sub = validate_file(renamed)
    assert sub.accepted and sub.problems == []


def _damage_entry(src: Path, dst: Path, entry: str, where: str) -> Path:
    """Damage one part of the zip, leaving its directory intact (a broken download or a bad disk).

    where="data": flip bytes in the middle of its compressed data;
    where="header": spoil the part's name in its local header, which only some readers check.
    """
    blob = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo(entry)
    name_at = info.header_offset + 30
    if where == "header":
        blob[name_at] ^= 0x5A
    else:
        start = name_at + len(info.filename.encode()) + len(info.extra)
        for i in range(start + 10, start + info.compress_size - 10, 7):
            blob[i] ^= 0x5A
    dst.write_bytes(bytes(blob))
    return dst


@pytest.mark.parametrize("where", ["data", "header"])
def test_workbook_with_a_damaged_sheet_part__file_problem__batch_goes_on(tmp_path, valid_r1_file, where):
    entry = sheet_xml_paths(valid_r1_file)[BRANCHES]
    damaged = _damage_entry(valid_r1_file, tmp_path / "坏表.xlsx", entry, where)
    result, after = validate_files([damaged, valid_r1_file])
    assert [p.code for p in result.problems if p.severity == "error"] == ["FILE_002"]
    assert {p.sheet for p in result.problems} <= {"", BRANCHES}
    assert not result.accepted
    assert after.accepted


def test_sheet_with_broken_xml__file_problem_names_the_sheet__batch_goes_on(tmp_path, valid_r1_file):
    entry = sheet_xml_paths(valid_r1_file)[CADRES]
    with zipfile.ZipFile(valid_r1_file) as zf:
        xml = zf.read(entry)
    broken = rezip(valid_r1_file, tmp_path / "坏XML.xlsx", replace={entry: xml[: len(xml) // 2]})
    result, after = validate_files([broken, valid_r1_file])
    assert ("FILE_002", CADRES, "") in places(result)
    assert not result.accepted
    assert after.accepted


def test_one_batch_of_every_kind_of_bad_file__each_reported__every_good_file_still_read(tmp_path, soffice,
                                                                                       r1_workbook, valid_r1_file):
    bad = {code_and_case: make(tmp_path, valid_r1_file) for code_and_case, (make, _) in BAD_FILES.items()}
    expected = {name: code for name, (_, code) in BAD_FILES.items()}
    bad["legacy_xls"] = soffice_convert(valid_r1_file, "xls", tmp_path / "xls")
    expected["legacy_xls"] = "FILE_004"
    bad["xlsm"] = rezip(valid_r1_file, tmp_path / "宏.xlsm", extra={"xl/vbaProject.bin": b"macro"})
    expected["xlsm"] = "FILE_005"
    for case, cell, value, code in [("unknown_template", "B3", "R9-made-up", "TPL_002"),
                                    ("old_version", "B4", "2025.1", "TPL_003")]:
        bad[case] = edit_workbook(valid_r1_file, lambda wb, c=cell, v=value: setattr(wb[INSTRUCTIONS][c], "value", v),
                                  out=tmp_path / f"{case}.xlsx")
        expected[case] = code
    bad["renamed_sheet"] = edit_workbook(valid_r1_file, lambda wb: setattr(wb[CADRES], "title", "村干部名单"),
                                         out=tmp_path / "renamed_sheet.xlsx")
    expected["renamed_sheet"] = "TPL_004"
    batch = []
    for path in bad.values():
        batch += [path, valid_r1_file]
    results = validate_files(batch)
    for case, sub in zip(bad, results[0::2]):
        assert expected[case] in {p.code for p in sub.problems}, case
    for good in results[1::2]:
        assert good.accepted and good.problems == [] and len(good.records["cadres"]) == 3
