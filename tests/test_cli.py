"""`starbatch validate`: JSON for scripts, exit codes for batch jobs, a receipt workbook per township."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest

from processor.cli import main
from processor.paths import ROOT
from processor.receipt import write_receipt
from processor.validate import validate_file
from support import BRANCHES, CADRES, edit_workbook, rezip

PROBLEM_KEYS = {"severity", "code", "sheet", "cell", "field", "value", "message"}
INJECTION = '=HYPERLINK("http://x","y")'


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _problems(report: dict, index: int = 0) -> set[tuple[str, str, str]]:
    return {(p["code"], p["sheet"], p["cell"]) for p in report["files"][index]["problems"]}


def test_validate_json__clean_file__exit_0_and_no_problems(capsys, r1_workbook):
    path = r1_workbook()
    code, out, _ = _run(capsys, "validate", "--json", str(path))
    report = json.loads(out)
    assert code == 0
    [entry] = report["files"]
    assert {"file", "template", "problems"} <= set(entry)
    assert (entry["file"], entry["template"], entry["problems"]) == (path.name, "R1-huojia-five-star", [])


def test_validate_json__errors__exit_1_and_each_problem_with_its_place(capsys, r1_workbook, rows):
    rows["cadres"][1]["months"] = 13
    rows["branches"][1]["branch_type"] = "社区党支部"
    code, out, _ = _run(capsys, "validate", "--json", str(r1_workbook(rows)))
    report = json.loads(out)
    assert code == 1
    assert _problems(report) == {("VAL_005", CADRES, "E3"), ("VAL_006", BRANCHES, "E3")}
    for p in report["files"][0]["problems"]:
        assert set(p) == PROBLEM_KEYS
        assert p["severity"] == "error" and p["message"]
    months = next(p for p in report["files"][0]["problems"] if p["code"] == "VAL_005")
    assert (months["field"], months["value"]) == ("在岗月数", "13")


def test_validate_json__warnings_only__exit_0(capsys, tmp_path, valid_r1_file):
    xlsm = rezip(valid_r1_file, tmp_path / "城关镇.xlsm", extra={"xl/vbaProject.bin": b"macro"})
    code, out, _ = _run(capsys, "validate", "--json", str(xlsm))
    assert code == 0
    assert [p["severity"] for p in json.loads(out)["files"][0]["problems"]] == ["warning"]


def test_validate_json__several_files__each_reported_in_order__bad_one_makes_exit_1(capsys, tmp_path,
                                                                                   valid_r1_file):
    empty = tmp_path / "空.xlsx"
    empty.write_bytes(b"")
    code, out, _ = _run(capsys, "validate", "--json", str(valid_r1_file), str(empty), str(valid_r1_file))
    report = json.loads(out)
    assert code == 1
    assert [f["file"] for f in report["files"]] == [valid_r1_file.name, empty.name, valid_r1_file.name]
    assert [[p["code"] for p in f["problems"]] for f in report["files"]] == [[], ["FILE_002"], []]


def test_validate__a_path_that_does_not_exist__operator_typo__exit_2_one_line(capsys, tmp_path, valid_r1_file):
    code, out, err = _run(capsys, "validate", str(valid_r1_file), str(tmp_path / "没交.xlsx"))
    assert code == 2 and out == "" and "没交.xlsx" in err and len(err.strip().splitlines()) == 1


def test_validate__unknown_rulebook__exit_2(capsys, valid_r1_file):
    code, out, err = _run(capsys, "validate", "--rulebook", "no-such-rulebook", str(valid_r1_file))
    assert code == 2
    assert out == ""
    assert "no-such-rulebook" in err


def test_validate__rulebook_given__used_for_every_file(capsys, valid_r1_file):
    assert _run(capsys, "validate", "--json", "--rulebook", "R1", str(valid_r1_file))[0] == 0
    code, out, _ = _run(capsys, "validate", "--json", "--rulebook", "R2", str(valid_r1_file))
    assert code == 1
    assert [p["code"] for p in json.loads(out)["files"][0]["problems"]] == ["TPL_002"]


def test_validate_table__each_problem_on_a_line_with_its_code_sheet_and_cell(capsys, r1_workbook, rows):
    rows["cadres"][1]["months"] = 13
    code, out, _ = _run(capsys, "validate", str(r1_workbook(rows)))
    assert code == 1
    assert any(re.search(r"VAL_005\s+村干部\s+E3", line) for line in out.splitlines())


def test_validate_as_a_subprocess__json_on_stdout_and_exit_code(r1_workbook, rows):
    rows["cadres"][1]["months"] = 13
    path = r1_workbook(rows)
    done = subprocess.run([sys.executable, "-m", "processor.cli", "validate", "--json", str(path)],
                          cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert done.returncode == 1, done.stderr
    assert _problems(json.loads(done.stdout)) == {("VAL_005", CADRES, "E3")}


# --- receipts ------------------------------------------------------------------------------------

def _receipts(folder: Path) -> list[Path]:
    return sorted(folder.glob("回执_*.xlsx"))


def test_receipt__one_per_file__every_problem_linked_to_its_cell(capsys, tmp_path, r1_workbook, rows):
    rows["cadres"][1]["months"] = 13
    rows["branches"][1]["member_count"] = 0
    bad = r1_workbook(rows, name="城关镇（2026 终稿）.xlsx")
    good = r1_workbook(name="太山镇.xlsx")
    code, _, _ = _run(capsys, "validate", "--receipt", str(tmp_path / "回执"), str(bad), str(good))
    assert code == 1
    receipts = _receipts(tmp_path / "回执")
    assert len(receipts) == 2
    bad_receipt = next(r for r in receipts if "2026" in r.name)
    ws = openpyxl.load_workbook(bad_receipt)["问题清单"]
    header = [c.value for c in ws[1]]
    at = {name: header.index(name) + 1 for name in ("代码", "工作表", "单元格")}
    listed = []
    for row in range(2, ws.max_row + 1):
        sheet, cell = ws.cell(row, at["工作表"]).value, ws.cell(row, at["单元格"]).value
        link = ws.cell(row, at["单元格"]).hyperlink
        assert link is not None, (sheet, cell)
        assert unquote(link.target) == bad.name  # opens the township's own file beside the receipt
        assert link.location == f"'{sheet}'!{cell}"
        listed.append((ws.cell(row, at["代码"]).value, sheet, cell))
    assert sorted(listed) == sorted([("VAL_004", BRANCHES, "F3"), ("VAL_005", CADRES, "E3")])


def test_receipt__clean_file__says_accepted_and_lists_no_problem(capsys, tmp_path, r1_workbook):
    assert _run(capsys, "validate", "--receipt", str(tmp_path / "out"), str(r1_workbook()))[0] == 0
    [receipt] = _receipts(tmp_path / "out")
    wb = openpyxl.load_workbook(receipt)
    assert wb["问题清单"].max_row == 1
    summary = {row[0]: row[1] for row in wb["回执"].iter_rows(min_row=1, max_col=2, values_only=True) if row[0]}
    assert (summary["错误"], summary["填报乡镇"]) == (0, "城关镇")


def test_receipt__unreadable_file__still_gets_a_receipt(capsys, tmp_path):
    broken = tmp_path / "损坏.xlsx"
    broken.write_bytes(b"PK\x03\x04 broken")
    assert _run(capsys, "validate", "--receipt", str(tmp_path / "out"), str(broken))[0] == 1
    [receipt] = _receipts(tmp_path / "out")
    ws = openpyxl.load_workbook(receipt)["问题清单"]
    assert ws.cell(2, 3).value == "FILE_002"


def _as_text_in_cell(path: Path, sheet: str, cell: str, text: str) -> None:
    """What Excel does when a clerk types '=…' into a text-formatted cell: the cell holds text."""
    def put(wb: openpyxl.Workbook) -> None:
        wb[sheet][cell].value = text
        wb[sheet][cell].data_type = "s"
    edit_workbook(path, put)


def test_receipt__formula_like_text_from_a_submission__written_as_text_never_a_formula(capsys, tmp_path,
                                                                                       r1_workbook):
    path = r1_workbook()
    _as_text_in_cell(path, CADRES, "B3", INJECTION + "  ")   # a cadre name, trimmed: shown under 已自动更正
    _as_text_in_cell(path, CADRES, "C3", INJECTION)          # a role: VAL_006 with the text as its value
    _as_text_in_cell(path, "填报说明", "B5", INJECTION)       # the township: shown on the summary
    code, out, _ = _run(capsys, "validate", "--json", "--receipt", str(tmp_path / "out"), str(path))
    assert code == 1
    assert (("VAL_006", CADRES, "C3") in _problems(json.loads(out)))
    [receipt] = _receipts(tmp_path / "out")
    with zipfile.ZipFile(receipt) as zf:
        sheets = {n: zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")}
    assert sheets and not any(re.search(rb"<f[ >]", xml) for xml in sheets.values())
    wb = openpyxl.load_workbook(receipt)
    texts = [c.value for ws in wb for row in ws.iter_rows() for c in row if c.value == INJECTION]
    assert len(texts) >= 3  # the name under 已自动更正, the role under 问题清单, the township on 回执
    links = [c.hyperlink.target for ws in wb for row in ws.iter_rows() for c in row if c.hyperlink]
    assert all("http://x" not in (t or "") for t in links)


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"], ["template", "--help"]])
def test_every_command__has_help(capsys, argv):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    assert "usage" in capsys.readouterr().out


@pytest.mark.parametrize("shown, opened", [
    ("城关镇#2.xlsx", "城关镇#2.xlsx"),
    ("..\\..\\Windows\\城关镇.xlsx", "城关镇.xlsx"),
    ("\\\\server\\share\\城关镇.xlsx", "城关镇.xlsx"),
    ("C:城关镇.xlsx", "C_城关镇.xlsx"),
    ("http://x/城关镇.xlsx", "城关镇.xlsx"),
])
def test_receipt_link__opens_only_a_file_beside_the_receipt(tmp_path, r1_workbook, rows, shown, opened):
    rows["cadres"][1]["months"] = 13
    sub = validate_file(r1_workbook(rows), shown_name=shown)
    ws = openpyxl.load_workbook(write_receipt(sub, tmp_path / "out"))["问题清单"]
    link = ws.cell(2, 5).hyperlink
    assert unquote(link.target) == opened
    assert link.location == f"'{CADRES}'!E3"
