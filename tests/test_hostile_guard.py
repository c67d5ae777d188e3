"""No single file may stop the night: a far cell however it is spelled, repeated .ods rows and
columns, a far .xls cell, too many sheets — each refused by the guard before a reader allocates,
while this test process's peak memory stays small."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from hypothesis import given, settings
from hypothesis import strategies as st
from hostile_corpus import (
    FAR_CELL_SPELLINGS,
    doctype_after_padding_xlsx,
    far_cell_xlsx,
    huge_dimension_xlsx,
    many_cells_without_r_xlsx,
    ods_many_tables,
    ods_plain,
    ods_repeated_columns,
    ods_repeated_rows,
    patch_xls_cells,
)
from support import soffice_convert

from processor import guard, xlsxscan
from processor.guard import xlsx_sheet_extent
from processor.isolate import IsolatedFailure, run_isolated
from processor.paths import SAMPLES_DIR, TEMPLATE_DIR
from processor.read import open_workbook
from processor.validate import validate_file
from processor.xlsxscan import plain_and_near

PEAK_BOUND_KB = 1_500_000  # the test process may grow, but never by a sheet's worth of gigabytes


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def codes(path: Path) -> list[str]:
    return [p.code for p in validate_file(path).problems]


@pytest.mark.parametrize("spelling", sorted(FAR_CELL_SPELLINGS))
def test_far_cell__any_xml_spelling__refused_by_the_guard(tmp_path, spelling):
    path = far_cell_xlsx(tmp_path, spelling)
    assert codes(path) == ["FILE_010"]
    assert peak_rss_kb() < PEAK_BOUND_KB


def test_far_cell__really_costs_gigabytes_when_the_guard_is_bypassed(tmp_path):
    """Proof the corpus is hostile: calamine itself, in a 1 GiB child, runs out of memory on it."""
    path = far_cell_xlsx(tmp_path, "single-quotes")

    def read_directly(p: str):
        book = python_calamine.CalamineWorkbook.from_path(p)
        return book.get_sheet_by_name(book.sheet_names[0]).height

    result = run_isolated(read_directly, str(path), memory_bytes=1 << 30, seconds=60)
    assert isinstance(result, IsolatedFailure) and result.limit == "memory"


def test_cells_placed_by_counting_past_the_column_limit__refused(tmp_path):
    assert codes(many_cells_without_r_xlsx(tmp_path)) == ["FILE_010"]


def test_dimension_claiming_the_whole_sheet__only_a_hint__file_is_read(tmp_path):
    book, problems = open_workbook(huge_dimension_xlsx(tmp_path))
    assert problems == [] and book.sheet(book.sheet_names[0]).rows == [["x", ""], ["", 3]]


def test_entity_declaration_behind_a_long_comment__refused(tmp_path):
    assert codes(doctype_after_padding_xlsx(tmp_path)) == ["FILE_009"]


def test_formatted_far_cell_without_value__not_counted():
    xml = b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="90000"><c r="XFD90000" s="3"/></row></sheetData></worksheet>'
    assert not xlsx_sheet_extent(xml).too_large
    assert not xlsx_sheet_extent(xml.replace(b"<c ", b"<c\n")).too_large  # the exact pass agrees
    as_openpyxl_writes_it = xml.replace(b's="3"/>', b's="3" t="n"></c>')
    assert not xlsx_sheet_extent(as_openpyxl_writes_it).too_large
    assert not xlsx_sheet_extent(as_openpyxl_writes_it.replace(b"<c ", b"<c\n")).too_large


def test_far_row_with_a_valued_cell_without_r__counted():
    xml = b"<worksheet><sheetData><row r='30000'><c><v>1</v></c></row></sheetData></worksheet>"
    extent = xlsx_sheet_extent(xml)
    assert (extent.rows, extent.columns) == (30000, 1)


@pytest.mark.parametrize("cell", [b'<c a="<" r="XFD30000"><v>1</v></c>', b'<c a="/>" r="XFD30000"><v>1</v></c>',
                                  b'<c a=">" r="XFD30000"><v>1</v></c>'])
def test_angle_brackets_inside_quoted_attributes__the_far_cell_still_found(cell):
    xml = b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c>' + cell + b"</row></sheetData></worksheet>"
    assert xlsx_sheet_extent(xml).too_large


def test_reference_written_in_cell_text__not_a_cell():
    xml = b'<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t> r="XFD30000"</t></is></c></row></sheetData></worksheet>'
    assert not xlsx_sheet_extent(xml).too_large


ROOT_NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://rels">'


@pytest.mark.parametrize("cell", [b'<c r="XFD30000"><v>1</v></c>',  # the literal scan, as Excel writes a sheet
                                  b'<c xmlns:x="urn:x" x:r="XFD30000"><v>1</v></c>',  # prefixed r: the exact pass
                                  b'<c xmlns:r="urn:x" r="XFD30000"><v>1</v></c>'])  # a second declaration
def test_far_cell_in_a_sheet_declaring_xmlns_r__found(cell):
    xml = ROOT_NS + b'<sheetData><row r="1"><c r="A1"><v>1</v></c>' + cell + b"</row></sheetData></worksheet>"
    assert xlsx_sheet_extent(xml).too_large


def test_the_fast_and_the_exact_pass_agree_on_a_real_township(r1_workbook):
    with zipfile.ZipFile(r1_workbook()) as zf:
        for name in (n for n in zf.namelist() if n.startswith("xl/worksheets/")):
            xml = zf.read(name)
            fast = xlsx_sheet_extent(xml)
            exact = xlsx_sheet_extent(xml.replace(b'<c r="', b'<c  r="'))  # two spaces: not the plain form
            assert 0 < exact.rows < 1000 and fast.rows == 0 and not exact.too_large


# The one-pass scan (processor/xlsxscan.py) stands in for the literal scans of a sheet written the usual way. It may
# send a sheet to the scans that did not need them, never spare one that did: wherever it says "plain and near", each
# literal scan must pass (then the guard counts nothing). Real sheets get its answer; hostile pieces are spliced in.
_SPLICED = [b' r="', b' r="XFD60000"', b' r="AAA1"', b' r="A12345"', b' r="B2"', b"<c ", b"<c>", b"<c/>", b'<c r="A1"',
            b"<row ", b"<row>", b'<row r="70000"', b'<c r="AAA1"', b'<c r="A12345"', b'<row r="12345"', b'<c r="ZZ9999"',
            b':c ', b":row>", b':r="', b' xmlns:r="u"', b"=", b" =", b'="', b"'", b"\t", b"\n", b"\r", b"/>", b">", b"<",
            b"sheetData", b'<x:c r="A1"', b'r="A1" r="XFD1"']


def _literal_scans_pass(xml: bytes) -> bool:
    spaced = xml.translate(guard._SPACES)
    return (not guard._dimension_exceeds(spaced) and guard._plain(spaced)
            and next(guard._TAG_NOT_NEAR.finditer(spaced), None) is None)


def test_one_pass_scan__plain_only_where_every_literal_scan_passes(r1_workbook):
    with zipfile.ZipFile(r1_workbook()) as zf:
        sheets = [zf.read(n) for n in sorted(zf.namelist()) if n.startswith("xl/worksheets/")]

    @settings(max_examples=1500, deadline=None, derandomize=True)
    @given(data=st.data())
    def check(data):
        xml = bytearray(data.draw(st.sampled_from(sheets)))
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(xml)))
            xml[at:at] = data.draw(st.sampled_from(_SPLICED))
        answer = plain_and_near(bytes(xml))
        assert guard.plain_and_near(bytes(xml)) == answer  # the guard's (in C where built) answers as its reference
        if answer:
            assert _literal_scans_pass(bytes(xml))

    check()


_SCAN_ALPHABET = b'<cro=w" :A1/>\t'


def test_one_pass_scan_in_c__answers_as_its_reference_at_every_edge():
    # Every string of up to five of the bytes the scan looks at (ends of input included), then longer ones at random.
    import itertools

    for length in range(6):
        for letters in itertools.product(_SCAN_ALPHABET, repeat=length):
            xml = bytes(letters)
            assert guard.plain_and_near(xml) == plain_and_near(xml), xml

    @settings(max_examples=3000, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from([bytes([b]) for b in _SCAN_ALPHABET] + _SPLICED), max_size=30))
    def check(pieces):
        xml = b"".join(pieces)
        assert guard.plain_and_near(xml) == plain_and_near(xml)
        assert guard.plain_and_near(b'<worksheet xmlns:r="u"><sheetData>' + xml) == plain_and_near(
            b'<worksheet xmlns:r="u"><sheetData>' + xml)

    check()


def test_one_pass_scan__takes_the_sheets_office_programs_write(r1_workbook, tmp_path):
    # As openpyxl (the templates and a township's workbook) and the shipped samples write them: each is answered by
    # the one pass, which is what makes the guard cheaper. A far cell is not.
    books = [r1_workbook(), *sorted(SAMPLES_DIR.glob("*.xlsx")), *sorted(TEMPLATE_DIR.glob("*.xlsx"))]
    for book in books:
        with zipfile.ZipFile(book) as zf:
            for name in (n for n in zf.namelist() if n.startswith("xl/worksheets/")):
                xml = zf.read(name)
                assert plain_and_near(xml) and guard.plain_and_near(xml) and _literal_scans_pass(xml), (book.name, name)
    with zipfile.ZipFile(far_cell_xlsx(tmp_path, "second-r-attribute")) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
        assert not plain_and_near(xml) and not guard.plain_and_near(xml) and xlsx_sheet_extent(xml).too_large
    assert guard.SCAN_COMPILED == (not xlsxscan.__file__.endswith(".py"))
    if guard.SCAN_COMPILED:  # built with the package: the scan in C, not its reference
        assert guard.plain_and_near.__module__ == "processor._plainscan"


def _members_read_both_ways(data: bytes) -> list[tuple[bytes | None, bytes | BaseException]]:
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            try:
                by_zipfile: bytes | BaseException = zf.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
                by_zipfile = exc
            out.append((guard._inflate_whole(zf, info), by_zipfile))
    return out


def test_inflating_in_one_call__the_bytes_zipfile_reads__else_left_to_zipfile(r1_workbook):
    book = r1_workbook().read_bytes()
    assert all(whole == by_zipfile for whole, by_zipfile in _members_read_both_ways(book))  # every part in one call
    with zipfile.ZipFile(io.BytesIO(book)) as zf:
        sheet = zf.getinfo("xl/worksheets/sheet2.xml")
    start = sheet.header_offset + 30 + len(sheet.orig_filename.encode())  # openpyxl writes no extra field
    central = book.index(b"PK\x01\x02")  # the central directory's entry of that sheet
    while book[central + 46:central + 46 + len(sheet.orig_filename)] != sheet.orig_filename.encode():
        central = book.index(b"PK\x01\x02", central + 4)
    spoiled = {
        "CRC-32": book[:central + 16] + b"\0\0\0\0" + book[central + 20:],  # zipfile checks the central directory's
        "deflated data": book[:start + 40] + bytes(b ^ 0x5A for b in book[start + 40:start + 80]) + book[start + 80:],
        "name in the local header": book[:sheet.header_offset + 30] + b"X" + book[sheet.header_offset + 31:],
    }
    for what, data in spoiled.items():
        both = _members_read_both_ways(data)
        assert any(isinstance(by_zipfile, BaseException) for _, by_zipfile in both), what  # zipfile refuses it…
        for whole, by_zipfile in both:
            assert whole is None or whole == by_zipfile, what  # …and the one call never reads what zipfile would not
    stored = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    assert all(whole == by_zipfile for whole, by_zipfile in _members_read_both_ways(stored.getvalue()))


# --- .ods -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, code", [(ods_repeated_rows, "FILE_010"), (ods_repeated_columns, "FILE_010"),
                                        (ods_many_tables, "FILE_011")])
def test_ods_repeats_and_tables__refused_before_reading(tmp_path, make, code):
    path = make(tmp_path)
    assert codes(path) == [code]
    assert peak_rss_kb() < PEAK_BOUND_KB


def test_ods_with_libreoffices_empty_repeated_tail__read(tmp_path):
    book, problems = open_workbook(ods_plain(tmp_path))
    assert problems == [] and book.sheet("S").rows == [[1.0, 1.0]]


def test_ods_made_by_libreoffice__passes_the_guard(tmp_path, soffice, valid_r1_file):
    ods = soffice_convert(valid_r1_file, "ods", tmp_path)
    sub = validate_file(ods)
    assert sub.accepted, sub.problems


# --- .xls -----------------------------------------------------------------------------------------

@pytest.fixture
def small_xls(tmp_path, soffice) -> Path:
    folder = tmp_path / "xls"
    folder.mkdir()
    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["B2"] = "x", "y"
    wb.save(folder / "small.xlsx")
    return soffice_convert(folder / "small.xlsx", "xls", folder)


def test_xls_far_cell__refused_before_reading(tmp_path, small_xls):
    path = patch_xls_cells(Path(shutil.copy(small_xls, tmp_path / "far.xls")), 65000, 250)
    assert codes(path) == ["FILE_010"]


def test_xls_with_too_many_sheets__refused(tmp_path, soffice):
    wb = openpyxl.Workbook()
    for i in range(60):
        wb.create_sheet(f"S{i}")["A1"] = i
    wb.save(tmp_path / "many.xlsx")
    assert codes(soffice_convert(tmp_path / "many.xlsx", "xls", tmp_path)) == ["FILE_011"]


def test_real_xls_named_xlsx__read_by_content(tmp_path, soffice, valid_r1_file):
    xls = soffice_convert(valid_r1_file, "xls", tmp_path)
    renamed = xls.rename(tmp_path / "城关镇.xlsx")
    sub = validate_file(renamed)
    assert sub.accepted and [p.code for p in sub.problems] == ["FILE_004"]


def test_xls_guard_reads_the_stream_olefile_reads(small_xls):
    import olefile

    from processor.guard import cfb_stream
    assert cfb_stream(small_xls.read_bytes(), ("Workbook",)) == olefile.OleFileIO(str(small_xls)).openstream("Workbook").read()


def test_broken_compound_file__file_problem_not_a_crash(tmp_path, small_xls):
    data = bytearray(small_xls.read_bytes())
    data[0x30:0x34] = b"\xff\xff\xff\x7f"  # directory starts beyond the file
    (tmp_path / "broken.xls").write_bytes(bytes(data))
    assert codes(tmp_path / "broken.xls") == ["FILE_002"]


# --- size before bytes ------------------------------------------------------------------------------

def test_4gb_file__refused_from_its_size_without_reading(tmp_path):
    path = tmp_path / "4GB.xlsx"
    with open(path, "wb") as fh:
        fh.truncate(4 << 30)  # sparse: nothing is written to disk
    book, problems = open_workbook(path)
    assert book is None and [p.code for p in problems] == ["FILE_007"]
    assert peak_rss_kb() < PEAK_BOUND_KB


def test_4gb_file_in_the_inbox__refused_by_intake_without_reading(tmp_path):
    (tmp_path / "inbox").mkdir()
    with open(tmp_path / "inbox" / "4GB.xlsx", "wb") as fh:
        fh.truncate(4 << 30)
    script = ("import sys; from pathlib import Path; from processor.intake import scan_inbox; "
              "found = scan_inbox(Path(sys.argv[1])).inputs; "
              "print([p.code for i in found for p in i.problems]); "
              "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "inbox")], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "['FILE_007']" and int(out[1]) < 300_000


def test_4gb_file__starbatch_validate_refuses_it_with_bounded_memory(tmp_path):
    path = tmp_path / "4GB.xlsx"
    with open(path, "wb") as fh:
        fh.truncate(4 << 30)
    script = ("import sys, resource; from processor.cli import main\n"
              "code = main(['validate', sys.argv[1], '--json'])\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}, timeout=300)
    assert '"FILE_007"' in done.stdout, done.stderr
    assert int(done.stdout.splitlines()[-1]) < 1_000_000  # imports take ~350 MB; the file would take 4 GB


# xlsxscan.contains answers `needle in data` through one rare byte of the needle: the guard's DOCTYPE check and the
# reader's hidden-row and merge checks rest on it. Drawn from the bytes those needles are made of, so that near
# misses ("<", "!", "hidde", "mergeCel") are common, and with far more than 64 copies of the rare byte sometimes.
_NEEDLES = [(b"<!", 1), (b"hidden", 0), (b"mergeCell", 3)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"<", b"!", b"h", b"hidde", b"n", b"mergeCel", b"l", b"g", b" ", b"<c r=\"A1\">",
                                 b"!" * 70, b"h" * 70, b"g" * 70]), max_size=60).map(b"".join),
       st.sampled_from(_NEEDLES))
def test_contains__through_the_needle_s_rare_byte__the_same_answer_as_in(data, chosen):
    needle, rare = chosen
    assert xlsxscan.contains(data, needle, rare) == (needle in data)


def test_doctype_hidden_rows_and_merges__still_found_in_a_real_sheet_after_many_rare_bytes(tmp_path):
    # Past the 64 occurrences the byte is not taken as rare: `in` answers (a sheet full of "!" and "h" in its text).
    padding = b"<c r=\"A1\" t=\"inlineStr\"><is><t>" + b"!h g" * 200 + b"</t></is></c>"
    for needle, rare in _NEEDLES:
        assert xlsxscan.contains(padding + needle, needle, rare)
        assert not xlsxscan.contains(padding, needle, rare)
