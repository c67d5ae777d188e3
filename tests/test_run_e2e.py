"""`starbatch run` end to end over a county inbox of saved messages, a Maildir, a zip and loose files.

The inbox (tests/run_helpers.py, build_county_inbox) holds five townships' submissions in every form
the county's mailbox sees, plus a resubmission, a duplicate and a broken file; 杨庄镇 is listed
but sends nothing. One run over it is shared by the tests that only read its outputs.
"""
from __future__ import annotations

import json
import math
import random
import re
import sqlite3
import zipfile
from collections import Counter
from types import SimpleNamespace

import pytest

from processor.consolidate import STATE_TEXT
from processor.results import _compact
from run_helpers import (CONSOLIDATED_SHEETS, COUNTY, LISTED, Attachment, at, branch_code, build_county_inbox,
                         build_message, consolidated_path, ledger_runs, results, run_args, run_cli, sheet_values, table,
                         workbook_bytes, write)

STATES = ("accepted", "rejected", "superseded", "duplicate")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    base = tmp_path_factory.mktemp("county")
    inbox, out = base / "inbox", base / "out"
    states = build_county_inbox(inbox)
    code, stdout, stderr = run_cli(*run_args(inbox, out, "--townships", ",".join(LISTED),
                                             "--notice-start", "2026-09-28"))
    return SimpleNamespace(inbox=inbox, out=out, states=states, code=code, stdout=stdout, stderr=stderr,
                           results=results(out), book=consolidated_path(out))


def by_file(county: SimpleNamespace) -> dict[str, dict]:
    inputs = county.results["inputs"]
    assert len({i["file"] for i in inputs}) == len(inputs), "test inbox uses distinct display names"
    return {i["file"]: i for i in inputs}


# --- what is in the consolidated workbook ------------------------------------------------------

def test_run__county_inbox__every_consolidated_sheet_present(county):
    import openpyxl

    workbook = openpyxl.load_workbook(county.book, read_only=True)
    assert workbook.sheetnames == CONSOLIDATED_SHEETS
    workbook.close()


def test_run__county_inbox__chart_on_汇总(county):
    with zipfile.ZipFile(county.book) as zf:
        names = zf.namelist()
        workbook_xml = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        drawing = zf.read("xl/drawings/_rels/drawing1.xml.rels").decode()
    assert re.search(r'<sheet name="汇总" sheetId="1" r:id="rId1"', workbook_xml)
    assert "xl/charts/chart1.xml" in names
    assert "../drawings/drawing1.xml" in rels and "../charts/chart1.xml" in drawing


def test_run__county_inbox__汇总_lists_every_township_with_its_state(county):
    rows = {r["乡镇"]: r for r in table(county.book, "汇总", "乡镇")}
    assert sorted(rows) == sorted(LISTED)
    assert rows["杨庄镇"]["报送情况"] == "未报送" and rows["杨庄镇"]["支部数"] == 0
    for township, ratings in COUNTY.items():
        assert rows[township]["报送情况"] == "已报送，通过"
        assert rows[township]["支部数"] == len(ratings)


# --- every input accounted for ------------------------------------------------------------------

def test_run__county_inbox__each_input_in_its_state(county):
    assert {f: i["state"] for f, i in by_file(county).items()} == county.states


def test_run__counts_reconcile__results_json(county):
    totals = county.results["totals"]["inputs"]
    states = Counter(i["state"] for i in county.results["inputs"])
    assert totals["inputs"] == len(county.results["inputs"]) == 8
    assert totals["inputs"] == sum(totals[s] for s in STATES)
    assert {s: totals[s] for s in STATES} == {s: states[s] for s in STATES} == \
        {"accepted": 5, "rejected": 1, "superseded": 1, "duplicate": 1}


def test_run__counts_reconcile__ledger(county):
    (run,) = ledger_runs(county.out)
    assert run["counts"] == county.results["totals"]["inputs"]
    assert run["counts"]["inputs"] == sum(run["counts"][s] for s in STATES)
    with sqlite3.connect(county.out / "ledger.sqlite") as db:
        recorded = Counter(s for (s,) in db.execute("SELECT state FROM inputs WHERE run_id = ?", (run["id"],)))
    assert {s: recorded[s] for s in STATES} == {s: run["counts"][s] for s in STATES}


def test_run__counts_reconcile__报送情况(county):
    rows = table(county.book, "报送情况", "文件")
    shown = Counter(r["状态"] for r in rows)
    totals = county.results["totals"]["inputs"]
    assert len(rows) == totals["inputs"]
    assert {s: shown[STATE_TEXT[s]] for s in STATES} == {s: totals[s] for s in STATES}


def test_run__summary_shows_the_same_sum(county):
    assert "inputs 8 = accepted 5 + rejected 1 + superseded 1 + duplicate 1" in county.stdout


# --- resubmission, duplicate, missing ----------------------------------------------------------

def test_run__resubmission__newest_message_date_wins(county):
    inputs = by_file(county)
    older, newer = inputs["城关镇.xlsx"], inputs["城关镇（更正）.xlsx"]
    assert older["origin"].startswith("mail/b-") and newer["origin"].startswith("mail/a-")  # path order is the other way
    assert (older["state"], older["error"]) == ("superseded", 1)  # a rejected older one, then an accepted newer one
    assert newer["state"] == "accepted"
    codes = [p["code"] for p in county.results["problems"] if p["file"] == "城关镇.xlsx"]
    assert "RUN_001" in codes
    ratings = [b["rating"] for b in county.results["branches"] if b["township"] == "城关镇"]
    assert ratings == COUNTY["城关镇"]


def test_run__first_version_sent_again_after_a_correction__the_newest_message_wins(tmp_path):
    """10 Jan v1, 11 Jan v2, 12 Jan v1 again ("please use the first one"): v1 is what the township sent last."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    v1, v2 = workbook_bytes("城关镇", [5, 3, 2]), workbook_bytes("城关镇", [1, 1, 1])
    for day, data in [(10, v1), (11, v2), (12, v1)]:
        write(inbox / f"{day}.eml", build_message(sender=("城关镇党委", "cg@township.example.cn"), subject=f"报送{day}",
                                                  date=at(day), attachments=[Attachment("城关镇.xlsx", data)]))
    code, *_ = run_cli(*run_args(inbox, out))
    assert code == 0
    got = results(out)
    assert [(i["origin"], i["state"]) for i in got["inputs"]] == [
        ("10.eml#附件1", "accepted"), ("11.eml#附件1", "superseded"), ("12.eml#附件1", "duplicate")]
    assert [b["rating"] for b in got["branches"]] == [5, 3, 2]
    (note,) = [p["message"] for p in got["problems"] if p["code"] == "RUN_001"]
    assert "2026-01-12 09:00" in note


def test_run__same_workbook_twice__duplicate(county):
    inputs = by_file(county)
    first, again = inputs["河口镇.xlsx"], inputs["河口镇（重发）.xlsx"]
    assert first["sha256"] == again["sha256"]
    assert (first["state"], again["state"]) == ("accepted", "duplicate")
    assert again["receipt"] == ""
    dup = [p for p in county.results["problems"] if p["file"] == "河口镇（重发）.xlsx"]
    assert [p["code"] for p in dup] == ["RUN_002"] and "河口镇.xlsx" in dup[0]["message"]
    assert sum(1 for b in county.results["branches"] if b["township"] == "河口镇") == len(COUNTY["河口镇"])


def test_run__listed_township_absent__missing_and_exit_1(county):
    assert county.code == 1
    assert county.results["missing"] == ["杨庄镇"]
    assert county.results["totals"]["inputs"]["missing"] == 1
    assert any(p["code"] == "RUN_003" and p["state"] == "missing" and p["township"] == "杨庄镇"
               for p in county.results["problems"])
    assert "杨庄镇" in county.stdout


def test_run__clean_inbox_no_missing_township__exit_0(tmp_path):
    """A rejected first submission replaced by an accepted one is the normal course: still exit 0."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    states = build_county_inbox(inbox, broken=False)
    code, stdout, _ = run_cli(*run_args(inbox, out, "--townships", ",".join(COUNTY)))
    assert code == 0, stdout
    assert results(out)["missing"] == []
    assert {i["file"]: i["state"] for i in results(out)["inputs"]} == states


# --- receipts and provenance -------------------------------------------------------------------

def test_run__receipts__one_per_non_duplicate_input(county):
    written = sorted(p.name for p in (county.out / "receipts").iterdir())
    expected = sorted(i["receipt"] for i in county.results["inputs"] if i["state"] != "duplicate")
    assert written == expected
    assert len(written) == 7 and all(name.startswith("回执_") and name.endswith(".xlsx") for name in written)
    assert f"receipts/{by_file(county)['损坏.xlsx']['receipt']}" in county.stdout


def test_run__sender_subject_and_date_kept(county):
    inputs = by_file(county)
    raw_gbk = inputs["城关镇（更正）.xlsx"]
    assert (raw_gbk["sender"], raw_gbk["subject"], raw_gbk["date"]) == (
        "城关镇党委 <cg@township.example.cn>", "城关镇五星支部评定（更正）", "2026-01-12 09:00")
    zipped = inputs["石桥乡.xlsx"]
    assert (zipped["sender"], zipped["subject"], zipped["date"]) == (
        "石桥乡 <sq@township.example.cn>", "石桥乡报送（压缩包）", "2026-01-13 09:00")
    assert zipped["origin"] == "Maildir/new/1768266000.M1P100.mailhost#附件1!石桥乡.xlsx"
    loose = inputs["青山乡.xlsx"]
    assert (loose["sender"], loose["subject"], loose["date"]) == ("", "", "2026-01-15 09:00")
    shown = {r["文件"]: r for r in table(county.book, "报送情况", "文件")}
    assert shown["城关镇（更正）.xlsx"]["发件人"] == raw_gbk["sender"]
    assert shown["城关镇（更正）.xlsx"]["主题"] == raw_gbk["subject"]


# --- results.json ------------------------------------------------------------------------------

def test_run__results_json__inputs(county):
    for i in county.results["inputs"]:
        assert {"file", "sha256", "township", "state"} <= set(i)
        assert re.fullmatch(r"[0-9a-f]{64}", i["sha256"]) and i["state"] in STATES


def test_run__results_json__branches(county):
    branches = county.results["branches"]
    sources = county.results["rule_sources"]
    assert all(isinstance(s, str) and s for s in sources.values())
    assert {(b["township"], b["branch_code"], b["rating"]) for b in branches} == {
        (t, branch_code(t, n), r) for t, ratings in COUNTY.items() for n, r in enumerate(ratings, 1)}
    for b in branches:
        assert {"township", "branch_code", "name", "rating", "qualified", "reasons"} <= set(b)
        assert b["qualified"] is (b["rating"] >= 2)
        assert b["reasons"] and all(r["text"] and r["rule"] in sources for r in b["reasons"])
        assert "reason_details" not in b  # each reason once, structured; its rule's seed line once, in rule_sources


def test_run__results_json__payments_are_strings_with_two_decimals(county):
    payments = county.results["payments"]
    assert payments
    assert all(isinstance(p["amount"], str) and re.fullmatch(r"\d+\.\d{2}", p["amount"]) for p in payments)
    assert re.fullmatch(r"\d+\.\d{2}", county.results["totals"]["amount"])
    assert all(p["kind"] in county.results["rule_sources"] and "rule" not in p for p in payments)


def test_run__results_json__problems_and_totals(county):
    problems = county.results["problems"]
    assert {"township", "state", "file", "code", "severity", "sheet", "cell", "message"} <= set(problems[0])
    assert ("损坏.xlsx", "FILE_001") in {(p["file"], p["code"]) for p in problems}
    assert {"inputs", "amount", "by_payer"} <= set(county.results["totals"])



def test_run__results_json__one_record_per_line__compact_utf8_as_the_standard_library_writes_it(county):
    # The layout integrations read line by line (README, results.json): each branch, payment and problem on a line of
    # its own, compact, Chinese as UTF-8 — the bytes json.dumps(ensure_ascii=False, separators=(",", ":")) gives.
    lines = [line.rstrip(b",").removesuffix(b"]")  # a list's last record ends it
             for line in (county.out / "results.json").read_bytes().split(b"\n")]
    records = [line for line in lines if line.startswith(b"{") and line != b"{"]
    assert len(records) >= len(county.results["branches"]) + len(county.results["payments"])
    for line in records:
        assert json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":")).encode("utf-8") == line


def test_results_json__what_orjson_refuses__written_by_the_standard_library():
    # A whole number beyond 64 bits or a key that is not a text (not in a run today) still gives valid JSON.
    assert _compact({"n": 2 ** 70, 7: "七"}) == '{"n":1180591620717411303424,"7":"七"}'.encode()
    assert _compact(["支部\x01\u2028", 1, None, True]) == json.dumps(
        ["支部\x01\u2028", 1, None, True], ensure_ascii=False, separators=(",", ":")).encode()

# --- public notice and spot check --------------------------------------------------------------

def test_run__公示名单__shows_start_and_end(county):
    assert county.results["notice"] == {"start": "2026-09-28", "end": "2026-10-10", "working_days": 5, "error": ""}
    rows = sheet_values(county.book, "公示名单")
    assert "2026-09-28" in rows[2][0] and "2026-10-10" in rows[2][0]  # under the sheet's title and facts
    listed = table(county.book, "公示名单", "乡镇")
    # every “星级” branch, one star and up (000 line 315; changed on purpose by issue 11 item 5)
    starred = {(t, branch_code(t, n)) for t, ratings in COUNTY.items() for n, r in enumerate(ratings, 1) if r >= 1}
    assert {(r["乡镇"], r["支部编码"]) for r in listed} == starred
    assert {(r["公示开始"], r["公示结束"]) for r in listed} == {("2026-09-28", "2026-10-10")}


def test_run__spot_check__20_percent_of_one_and_two_star_rounded_up(county):
    spot = county.results["spot_check"]
    candidates = sorted((t, branch_code(t, n)) for t, ratings in COUNTY.items()
                        for n, r in enumerate(ratings, 1) if r in (1, 2))
    assert spot["candidates"] == len(candidates) == 8
    assert len(spot["drawn"]) == math.ceil(8 * 20 / 100) == 2
    drawn = sorted(random.Random(spot["seed"]).sample(candidates, 2))
    assert [(d["township"], d["branch_code"]) for d in spot["drawn"]] == drawn
    assert county.results["seed"] == spot["seed"]
    assert f"spot-check seed {spot['seed']}" in county.stdout
    sheet = sheet_values(county.book, "抽查名单")
    assert str(spot["seed"]) in sheet[2][0]  # under the sheet's title and facts
    assert [(r["乡镇"], r["支部编码"]) for r in table(county.book, "抽查名单", "序号")] == drawn
