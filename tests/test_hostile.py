"""Hostile and broken inputs: each becomes a rejected input with a clear reason, the run goes on and
loses nothing else, and nothing is written outside DIR."""
from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest

from processor.intake import scan_inbox
from processor.limits import LIMITS
from tests.run_helpers import results, run_args, run_cli, tree, workbook_bytes

GOOD_TOWNSHIP = "城关镇"


def _good() -> bytes:
    return workbook_bytes(GOOD_TOWNSHIP, [3, 1])


def _rewrite_member(data: bytes, member: str, change) -> bytes:
    """A copy of an xlsx with one part's bytes changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info.filename, change(content) if info.filename == member else content)
    return out.getvalue()


def _add_member_streamed(data: bytes, member: str, size: int) -> bytes:
    """Add a part of `size` zero bytes, deflated in chunks (the test never holds it inflated)."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(zipfile.ZipInfo(member), "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(size // len(chunk)):
                fh.write(chunk)
    return out.getvalue()


def zip_bomb_declared() -> bytes:
    # A 250 MB part (declared honestly) in a ~250 KB file: refused before anything is inflated.
    return _add_member_streamed(_good(), "xl/media/bomb.bin", 250 << 20)


def zip_bomb_ratio() -> bytes:
    # 24 MB of zeros deflates ~1000:1: past the 200:1 ratio limit.
    return _add_member_streamed(_good(), "xl/media/bomb.bin", 24 << 20)


def entity_expansion() -> bytes:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    return _rewrite_member(_good(), "xl/workbook.xml",
                           lambda xml: laughs + xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else laughs + xml)


def _sheet_with(cells: dict[str, str]) -> bytes:
    wb = openpyxl.Workbook()
    for ref, value in cells.items():
        wb.active[ref] = value
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def far_rows() -> bytes:
    return _sheet_with({"A1": "x", "A1048576": "y"})


def far_columns() -> bytes:
    return _sheet_with({"A1": "x", "XFD1": "y"})


def huge_cell() -> bytes:
    # A 10 MB cell of varied text (so it passes the ratio check and reaches the reader).
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes("河口镇", [2])))
    text = "".join(random.Random(7).choices("abcdefghijklmnopqrstuvwxyz0123456789", k=10_000_000))
    wb["村干部"]["B2"] = text
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def many_sheets() -> bytes:
    wb = openpyxl.Workbook()
    for i in range(199):
        wb.create_sheet(f"S{i}")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def nested_zip(depth: int) -> bytes:
    data, name = _good(), "城关镇.xlsx"
    for level in range(depth):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr(name, data)
        data, name = buffer.getvalue(), f"level{level}.zip"
    return data


HOSTILE = {
    "bomb-declared.xlsx": (zip_bomb_declared, "FILE_007"),
    "bomb-ratio.xlsx": (zip_bomb_ratio, "FILE_007"),
    "entities.xlsx": (entity_expansion, "FILE_009"),
    "rows-1048576.xlsx": (far_rows, "FILE_010"),
    "columns-16384.xlsx": (far_columns, "FILE_010"),
    "cell-10mb.xlsx": (huge_cell, "VAL_012"),
    "sheets-200.xlsx": (many_sheets, "FILE_011"),
    "nested.zip": (lambda: nested_zip(4), "FILE_006"),
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    inbox, out = root / "inbox", root / "out"
    inbox.mkdir()
    (inbox / "good.xlsx").write_bytes(_good())
    for name, (make, _) in HOSTILE.items():
        (inbox / name).write_bytes(make())
    before = tree(root)
    code, stdout, stderr = run_cli(*run_args(inbox, out))
    return root, before, code, stdout, stderr, results(out)


def _input(data: dict, name: str) -> list[dict]:
    return [i for i in data["inputs"] if i["file"] == name or i["origin"].startswith(name)]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input__rejected_with_its_code(hostile_run, name):
    _, _, _, _, _, data = hostile_run
    inputs = _input(data, name)
    assert inputs and all(i["state"] == "rejected" for i in inputs)
    codes = {p["code"] for p in data["problems"] if p["file"] in {i["file"] for i in inputs}}
    assert HOSTILE[name][1] in codes


def test_hostile_inbox__the_good_submission_is_still_accepted_and_every_input_accounted(hostile_run):
    _, _, code, _, stderr, data = hostile_run
    assert code == 1 and "Traceback" not in stderr
    good = _input(data, "good.xlsx")
    assert [i["state"] for i in good] == ["accepted"]
    counts = data["totals"]["inputs"]
    assert counts["inputs"] == len(data["inputs"]) == (counts["accepted"] + counts["rejected"]
                                                       + counts["superseded"] + counts["duplicate"])
    assert {b["township"] for b in data["branches"]} == {GOOD_TOWNSHIP}


def test_hostile_inbox__nothing_written_outside_dir(hostile_run):
    root, before, *_ = hostile_run
    new = {p for p in tree(root) - before if not p.startswith("out/") and p != "out"}
    assert new == set()


def test_nested_zip_within_the_limit__is_read(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "two-deep.zip").write_bytes(nested_zip(2))
    found = scan_inbox(inbox).inputs
    assert [(i.name, i.problems) for i in found] == [("城关镇.xlsx", [])]


def test_limits_are_the_documented_defaults():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert (LIMITS.max_file_bytes, LIMITS.max_unpacked_bytes, LIMITS.max_zip_ratio) == (20 << 20, 200 << 20, 200)
    for text in ("20 MB", "200 MB", "200:1", "20,000", "1,000"):
        assert text in readme


# --- fuzzing the whole run: whatever the inbox holds, every input ends in exactly one state ----------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

STATES = {"accepted", "rejected", "superseded", "duplicate"}


def _mutate(data: bytes, draw) -> bytes:
    blob = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        blob[draw(st.integers(0, len(blob) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        blob = blob[: draw(st.integers(0, len(blob)))]
    return bytes(blob)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_inbox__every_input_ends_in_one_state_and_the_run_finishes(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("fuzzrun")
    inbox, out = root / "inbox", root / "out"
    inbox.mkdir()
    good = _good()
    (inbox / "good.xlsx").write_bytes(good)
    kinds = data.draw(st.lists(st.sampled_from(["random", "mutated", "eml", "zip"]), min_size=1, max_size=3))
    for n, kind in enumerate(kinds):
        if kind == "random":
            blob, suffix = data.draw(st.binary(max_size=2048)), ".xlsx"
        elif kind == "mutated":
            blob, suffix = _mutate(good, data.draw), ".xlsx"
        elif kind == "eml":
            blob, suffix = b"From: a@b\r\nSubject: " + data.draw(st.binary(max_size=200)) + b"\r\n\r\nx", ".eml"
        else:
            blob, suffix = b"PK\x03\x04" + data.draw(st.binary(max_size=512)), ".zip"
        (inbox / f"f{n}{suffix}").write_bytes(blob)
    code, _, stderr = run_cli(*run_args(inbox, out))
    assert code in (0, 1) and "Traceback" not in stderr
    found = results(out)
    assert found["inputs"] and all(i["state"] in STATES for i in found["inputs"])
    counts = found["totals"]["inputs"]
    assert counts["inputs"] == sum(counts[s] for s in STATES) == len(found["inputs"])
