"""Nothing a clerk or an operator does by mistake silently changes the results (issue: intake safety).

Runs the real CLI over a copy of the sample county (175 branches, 13,711,739.08 yuan) with one more file
or one wrong option, and checks what stays in the outputs, what the summary says, and the exit code.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import openpyxl
import pytest

from mail_servers import mail_cert, dovecot, mailbox, smtp_plain  # noqa: F401 (fixtures)
from processor.fill import fill_template
from processor.rulebook import load_rulebook
from run_helpers import run_cli
from test_mail import submissions

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TOTAL = "13711739.08"
SAMPLE_BRANCHES = 175
NEWER = 1_800_000_000  # a file time after every sample's


@pytest.fixture
def county(tmp_path: Path) -> Path:
    """A copy of the samples' inbox (ten townships, all accepted)."""
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "samples" / "inbox", inbox)
    return inbox


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def _run(inbox: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("run", str(inbox), "--out", str(out), "--period", "2026", *extra)


def _newer(path: Path) -> Path:
    os.utime(path, (NEWER, NEWER))
    return path


def _without_branch(src: Path, dst: Path, code: str) -> Path:
    """The township's own workbook again, with one branch deleted from every sheet (what a clerk's edit does)."""
    book = openpyxl.load_workbook(src)
    for ws in book.worksheets:
        for row in range(ws.max_row, 0, -1):
            if any(cell.value == code for cell in ws[row]):
                ws.delete_rows(row)
    book.save(dst)
    return _newer(dst)


# --- 1. content-aware supersession ---------------------------------------------------------------

def test_blank_resubmission__refused__all_175_branches_and_the_money_stay__exit_1(county, tmp_path):
    fill_template(load_rulebook("R1"), county / "城关镇-补充.xlsx", {"township": "城关镇", "period": 2026}, {})
    _newer(county / "城关镇-补充.xlsx")
    code, summary, _ = _run(county, tmp_path / "out")
    data = _results(tmp_path / "out")
    assert code == 1
    assert len(data["branches"]) == SAMPLE_BRANCHES and data["totals"]["amount"] == SAMPLE_TOTAL
    states = {i["file"]: i["state"] for i in data["inputs"]}
    assert states["城关镇-补充.xlsx"] == "rejected" and states["01-城关镇.xlsx"] == "accepted"
    assert any(p["code"] == "REF_019" and p["sheet"] == "支部信息" for p in data["problems"])
    assert "01-城关镇.xlsx stays in force for 城关镇" in summary


def test_resubmission_dropping_one_branch__held__older_file_stays__operator_confirms_the_shrink(county, tmp_path):
    book = openpyxl.load_workbook(county / "01-城关镇.xlsx", read_only=True)
    code_col = [c.value for c in next(book["支部信息"].iter_rows(max_row=1))].index("支部编码")
    codes = [r[code_col] for r in book["支部信息"].iter_rows(min_row=2, values_only=True) if r[code_col]]
    dropped = codes[-1]
    _without_branch(county / "01-城关镇.xlsx", county / "城关镇-更正.xlsx", dropped)

    code, summary, _ = _run(county, tmp_path / "out")
    data = _results(tmp_path / "out")
    assert code == 1
    assert len(data["branches"]) == SAMPLE_BRANCHES and data["totals"]["amount"] == SAMPLE_TOTAL
    states = {i["file"]: i["state"] for i in data["inputs"]}
    assert states["城关镇-更正.xlsx"] == "held" and states["01-城关镇.xlsx"] == "accepted"
    held = [p for p in data["problems"] if p["code"] == "RUN_005"]
    assert len(held) == 1 and dropped in held[0]["message"] and held[0]["file"] == "城关镇-更正.xlsx"
    assert "held: 城关镇-更正.xlsx" in summary and "--accept-shrink" in summary
    assert "held 1" in summary

    code, summary, _ = _run(county, tmp_path / "out2", "--accept-shrink", "城关镇-更正.xlsx")
    data = _results(tmp_path / "out2")
    states = {i["file"]: i["state"] for i in data["inputs"]}
    assert states["城关镇-更正.xlsx"] == "accepted" and states["01-城关镇.xlsx"] == "superseded"
    assert len(data["branches"]) == SAMPLE_BRANCHES - 1
    assert dropped not in {b["branch_code"] for b in data["branches"]}


# --- 2. the operator's mistakes stop the run -------------------------------------------------------

def test_wrong_period__exit_2_one_line_hint__nothing_written(county, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("run", str(county), "--out", str(out), "--period", "2025")
    assert code == 2 and stdout == ""
    assert "所有报送均为2026年度，而本次汇总为2025年度；请检查 --period" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (out / "receipts").exists() and not (out / "results.json").exists()


def test_wrong_rulebook__exit_2_one_line_hint__nothing_written(county, tmp_path):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("run", str(county), "--out", str(out), "--period", "2026", "--rulebook", "R2")
    assert code == 2 and "请检查 --rulebook" in stderr and "R1-huojia-five-star" in stderr
    assert not (out / "receipts").exists() and not (out / "results.json").exists()


def test_no_rulebook_given__the_one_the_submissions_name(county, tmp_path):
    code, summary, _ = run_cli("run", str(county), "--out", str(tmp_path / "out"), "--period", "2026")
    assert code == 0 and "R1-huojia-five-star" in summary
    assert _results(tmp_path / "out")["totals"]["amount"] == SAMPLE_TOTAL


def test_wrong_period_with_reply_over_real_smtp__nothing_sent_nothing_moved(tmp_path, monkeypatch, dovecot, mailbox,
                                                                           smtp_plain):
    user, password = mailbox
    for raw in submissions().values():
        dovecot.append(user, password, raw)
    monkeypatch.setenv("STARBATCH_IMAP_PASSWORD", password)
    out = tmp_path / "out"
    code, _, stderr = run_cli("run", "--out", str(out), "--period", "2027", "--imap", dovecot.url(user, tls="imap"),
                              "--mail-plaintext", "--reply", "--smtp", smtp_plain.url())
    assert code == 2 and "请检查 --period" in stderr
    assert smtp_plain.messages() == []
    assert len(dovecot.messages(user, password)) == 2  # still in the inbox: not moved, not answered
    assert not (out / "results.json").exists() and not (out / "receipts").exists()


# --- 3. paths ------------------------------------------------------------------------------------

def test_out_inside_the_inbox__exit_2(county):
    code, _, stderr = _run(county, county / "out")
    assert code == 2 and "收件箱" in stderr
    assert not (county / "out").exists()


def test_inbox_inside_out__exit_2(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(ROOT / "samples" / "inbox", out / "inbox")
    code, _, stderr = _run(out / "inbox", out)
    assert code == 2 and "输出文件夹" in stderr


def test_validate_a_folder__every_workbook_in_it(county):
    code, stdout, _ = run_cli("validate", str(county), "--json")
    files = json.loads(stdout)["files"]
    assert code == 0 and len(files) == 10


def test_validate_a_missing_file__exit_2_one_line(tmp_path):
    code, _, stderr = run_cli("validate", str(tmp_path / "没有这个文件.xlsx"))
    assert code == 2 and "找不到" in stderr and len(stderr.strip().splitlines()) == 1
