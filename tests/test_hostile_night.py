"""No single input may stop the night: the whole run over the samples plus one hostile file.

The far-cell workbook with single-quoted references made calamine allocate ~31 GB and killed every night.
Now the guard refuses it; and were a future spelling to slip past the guard, the file's child process hits
its memory limit and only that file is rejected (FILE_012). Either way the ten townships are accepted and
the next night runs normally.
"""
from __future__ import annotations

import json
import resource
import shutil
from pathlib import Path

import pytest

import processor.read
from hostile_corpus import far_cell_xlsx, rewrite_zip
from run_helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
GIB = 1 << 30


def _county_with(tmp_path: Path, hostile: Path) -> Path:
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "samples" / "inbox", inbox)
    shutil.copy(hostile, inbox / "99-hostile.xlsx")
    return inbox


def _township_file_with_a_far_cell(tmp_path: Path) -> Path:
    """城关镇's real workbook whose 支部信息 sheet also holds one value at XFD60000, quoted with single quotes:
    a validating reader reads that sheet, so without a bound it would build the whole range."""
    far = b"<row r='60000'><c r='XFD60000' t='n'><v>3</v></c></row></sheetData>"
    data = rewrite_zip((ROOT / "samples" / "inbox" / "01-城关镇.xlsx").read_bytes(), "xl/worksheets/sheet2.xml",
                       lambda xml: xml.replace(b"</sheetData>", far))
    path = tmp_path / "far-in-a-township.xlsx"
    path.write_bytes(data)
    return path


def _states(out: Path) -> dict[str, tuple[str, list[str]]]:
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    codes: dict[str, list[str]] = {}
    for p in data["problems"]:
        codes.setdefault(p["file"], []).append(p["code"])
    return {i["file"]: (i["state"], codes.get(i["file"], [])) for i in data["inputs"]}


def _peak_rss_bytes() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024


def test_far_cell_with_single_quotes__refused_by_the_guard__ten_townships_accepted__next_night_normal(tmp_path):
    inbox = _county_with(tmp_path, far_cell_xlsx(tmp_path, "single-quotes"))
    out = tmp_path / "out"
    code, summary, _ = run_cli("run", str(inbox), "--out", str(out), "--period", "2026")
    assert code == 1
    states = _states(out)
    assert states["99-hostile.xlsx"] == ("rejected", ["FILE_010"])
    assert sum(1 for s, _ in states.values() if s == "accepted") == 10
    assert "accepted 10 + rejected 1" in summary
    assert _peak_rss_bytes() < GIB
    code, summary, _ = run_cli("run", str(inbox), "--out", str(out), "--period", "2026")  # the next night
    assert code == 1 and "accepted 10 + rejected 1" in summary


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_file_the_guard_misses__its_child_hits_the_memory_limit__only_it_is_rejected(tmp_path, monkeypatch,
                                                                                       workers):
    # Stand-in for a spelling the guard does not know yet: the guard waves every package through.
    monkeypatch.setattr(processor.read, "inspect_open_package", lambda zf, name, keep=None, whole=None: [])
    inbox = _county_with(tmp_path, _township_file_with_a_far_cell(tmp_path))
    out = tmp_path / "out"
    code, summary, _ = run_cli("run", str(inbox), "--out", str(out), "--period", "2026", "--workers", workers)
    assert code == 1
    states = _states(out)
    assert states["99-hostile.xlsx"] == ("rejected", ["FILE_012"])
    assert states["01-城关镇.xlsx"][0] == "accepted"  # its township's good file still stands
    assert sum(1 for s, _ in states.values() if s == "accepted") == 10
    assert _peak_rss_bytes() < GIB  # the child was stopped at its limit; nobody here grew past 1 GB
