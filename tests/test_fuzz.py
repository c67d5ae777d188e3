"""Whatever arrives by email, validation answers with a Submission: it never raises."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.problems import CATALOGUE
from processor.sheets import sheets_for
from processor.records import Submission
from processor.validate import validate_file
from support import r1, valid_r1_rows, write_r1

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
A1 = re.compile(r"^[A-Z]{1,3}[0-9]{1,7}$")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def valid_bytes(workdir) -> bytes:
    return write_r1(workdir / "valid.xlsx").read_bytes()


def _well_formed(sub: Submission) -> None:
    assert isinstance(sub, Submission)
    for p in sub.problems:
        assert p.code in CATALOGUE
        assert p.cell == "" or A1.match(p.cell), p
    for records in sub.records.values():
        for record in records:
            assert all(A1.match(cell) for cell in record.cells.values())


def _check(path: Path, data: bytes) -> Submission:
    path.write_bytes(data)
    sub = validate_file(path)
    _well_formed(sub)
    return sub


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes__never_raise(workdir, data):
    _check(workdir / "random.xlsx", data)


@FUZZ
@given(prefix=st.sampled_from([b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<?xml", b""]),
       data=st.binary(max_size=4096))
def test_random_bytes_behind_a_workbook_signature__never_raise(workdir, prefix, data):
    sub = _check(workdir / "signed.xlsx", prefix + data)
    assert sub.problems  # nothing in there is a usable workbook


@FUZZ
@given(st.data())
def test_valid_workbook_with_bytes_flipped_or_cut__never_raises(workdir, valid_bytes, data):
    blob = bytearray(valid_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    _check(workdir / "flipped.xlsx", bytes(blob))


NASTY = [b"", b"<", b">", b"&", b"\x00", b'"', b"<f>1+1</f>", b'<c r="XFE1048577">', b'<c r="A0">',
         b"<v>1e400</v>", b"<v>NaN</v>", b"<v>-0</v>", b't="s"', b't="e"', b't="b"', b"<v>99999999</v>",
         b'<sheet name="" sheetId="9" r:id="rId99"/>', "填报说明".encode(), b"\xff\xfe", b"</sheetData>"]


@FUZZ
@given(st.data())
def test_valid_workbook_with_its_xml_mutated__never_raises(workdir, valid_bytes, data):
    with zipfile.ZipFile(io.BytesIO(valid_bytes)) as zf:
        entries = {info.filename: zf.read(info.filename) for info in zf.infolist()}
    name = data.draw(st.sampled_from(sorted(entries)))
    xml = entries[name]
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(xml)))
        end = data.draw(st.integers(start, min(len(xml), start + 200)))
        xml = xml[:start] + data.draw(st.sampled_from(NASTY) | st.binary(max_size=40)) + xml[end:]
    entries[name] = xml
    if data.draw(st.integers(0, 9)) == 0:
        del entries[data.draw(st.sampled_from(sorted(entries)))]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for entry, content in entries.items():
            out.writestr(entry, content)
    _check(workdir / "mutated.xlsx", buffer.getvalue())


CELL_VALUES = (st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40) | st.integers(-10**12, 10**12)
               | st.floats(allow_nan=False, allow_infinity=False, width=64) | st.booleans() | st.none())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_values_typed_into_any_cells__never_raise__problems_in_the_sheet_of_the_cell(workdir, data):
    rulebook = r1()
    rows = valid_r1_rows(rulebook)
    sheets = {s.key: s for s in sheets_for(rulebook)}
    for _ in range(data.draw(st.integers(1, 6))):
        key = data.draw(st.sampled_from(["branches", "scores", "events", "cadres"]))
        index = data.draw(st.integers(0, len(rows[key]) - 1))
        field = data.draw(st.sampled_from([f.id for f in sheets[key].fields]))
        value = data.draw(CELL_VALUES)
        if isinstance(value, str) and value[:1] in "=+-@":
            value = "'" + value  # openpyxl would store it as a formula: keep this test about values
        rows[key][index][field] = value
    sub = validate_file(write_r1(workdir / "typed.xlsx", rows))
    _well_formed(sub)
    assert sub.rulebook is not None
    assert {p.sheet for p in sub.problems} <= {s.name for s in sheets.values()}
    assert all(p.cell for p in sub.problems)
