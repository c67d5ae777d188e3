"""The rating procedure end to end (seed 000_556207f0cb65ca56.txt line 315, continued on 317):
township submissions → the county's review workbook → the panel's findings → the committee's confirmation →
the public notice → a complaint → the finance workbook from draft to payable.

Real workbooks: the townships' are filled from the template (run_helpers), the review and complaints workbooks
are the ones the run wrote, typed into with openpyxl as the panel and the department would, and put back in the
inbox. Money deltas are computed by hand below from R1's pay rules (line 319), to the fen.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from processor.procedure import DRAFT_TEXT
from processor.run import nightly_run
from processor.settings import RunConfig
from run_helpers import PERIOD, at, results, run_cli, sheet_values, township_workbook

ROOT = Path(__file__).resolve().parent.parent
REVIEW_BOOK = f"县级评审表_R1_{PERIOD}.xlsx"
COMPLAINTS_BOOK = f"公示反馈表_R1_{PERIOD}.xlsx"
FINANCE_BOOK = f"财务发放表_R1_{PERIOD}.xlsx"

# 城关镇: CG-001 5★, CG-002 4★, CG-003 3★, then 1–2★ and none; 河口镇: HK-001 3★, then 1–2★.
RATINGS = {"城关镇": [5, 4, 3, 2, 1, 0, 2, 1], "河口镇": [3, 2, 1, 1]}
RECOMMENDED = {("城关镇", "CG-001"), ("城关镇", "CG-002"), ("城关镇", "CG-003"), ("河口镇", "HK-001")}


def _run(inbox: Path, out: Path, as_of: dt.date) -> dict[str, Any]:
    nightly_run(RunConfig(inbox=inbox, out=out, rulebook="R1", period=PERIOD, as_of=as_of, progress=False))
    return results(out)


def _stamp(path: Path, when: dt.datetime) -> None:
    import os
    os.utime(path, (when.timestamp(), when.timestamp()))


def _inbox(base: Path) -> Path:
    inbox = base / "inbox"
    inbox.mkdir()
    for n, (township, ratings) in enumerate(RATINGS.items(), 1):
        _stamp(township_workbook(inbox / f"0{n}-{township}.xlsx", township, ratings), at(1, 9, month=11))
    return inbox


def _columns(ws: Any) -> dict[str, int]:
    return {cell.value: cell.column for cell in ws[1] if cell.value}


def _row_of(ws: Any, code: str) -> int:
    column = _columns(ws)["支部编码"]
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, column).value == code)


def _fill_review(source: Path, target: Path, findings: dict[str, dict[str, Any]], when: dt.datetime,
                 confirm: tuple[str, str] | None = None) -> Path:
    """The panel types its scores and conclusions into the workbook the run wrote, as a clerk would."""
    book = openpyxl.load_workbook(source)
    ws = book["县级评审"]
    columns = _columns(ws)
    for code, values in findings.items():
        row = _row_of(ws, code)
        for title, value in values.items():
            ws.cell(row, columns[title]).value = value
    if confirm is not None:
        meta = book["填报说明"]
        for r in range(1, 20):
            label = meta.cell(r, 1).value
            if label == "县委确定日期":
                meta.cell(r, 2).value = confirm[0]
            if label == "确定会议及文号":
                meta.cell(r, 2).value = confirm[1]
    book.save(target)
    _stamp(target, when)
    return target


def _kept(reviewer: str = "张评审", date: str = "2026-11-20") -> dict[str, Any]:
    return {"结论": "维持", "评审人": reviewer, "评审日期": date}


def _by_branch(res: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(b["township"], b["branch_code"]): b for b in res["branches"]}


def _paid(res: dict[str, Any]) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = {}
    for p in res["payments"]:
        paid[p["branch_code"]] = paid.get(p["branch_code"], Decimal(0)) + Decimal(p["amount"])
    return paid


# The panel's findings. CG-001 (5★) loses 美丽乡村星: its four items at 15 of 25 (base 60 < 75) → 4★.
LOWER = {"美丽乡村星｜村庄规划｜县级评审分": 15, "美丽乡村星｜公共设施建设｜县级评审分": 15,
         "美丽乡村星｜人居环境整治｜县级评审分": 15, "美丽乡村星｜村容村貌提升｜县级评审分": 15,
         "结论": "调整", "评审人": "张评审", "评审日期": "2026-11-20", "说明": "美丽乡村星材料不实"}
# CG-003 (3★) gains 产业发展星: its three items at full marks (base 100 ≥ 75, total ≥ 85) → 4★.
RAISE = {"产业发展星｜农村改革｜县级评审分": 30, "产业发展星｜农村产业发展｜县级评审分": 35,
         "产业发展星｜集体经济增收｜县级评审分": 35,
         "结论": "调整", "评审人": "张评审", "评审日期": "2026-11-20"}


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("season")
    inbox, out = _inbox(base), base / "out"
    first = _run(inbox, out, dt.date(2026, 11, 10))
    seen = {"first": first, "first_finance": sheet_values(out / FINANCE_BOOK, "说明"),
            "review_rows": sheet_values(out / REVIEW_BOOK, "县级评审")}
    listed = {(r["township"], r["branch_code"]) for r in first["procedure"]["reviewed"]}
    findings = {code: _kept() for _, code in sorted(listed)}
    findings.update({"CG-001": LOWER, "CG-003": RAISE})
    review = _fill_review(out / REVIEW_BOOK, inbox / "县级评审表_已评审.xlsx", findings, at(20, 10, month=11))
    seen["reviewed"] = _run(inbox, out, dt.date(2026, 11, 25))
    # The committee met on 1 December: the operator types its date and reference into the same workbook.
    _fill_review(review, inbox / "县级评审表_县委确定.xlsx", {}, at(1, 16, month=12),
                 confirm=("2026-12-01", "县委常委会会议（2026年第30次）"))
    seen["confirmed"] = _run(inbox, out, dt.date(2026, 12, 3))
    seen["confirmed_finance"] = sheet_values(out / FINANCE_BOOK, "说明")
    complaints = openpyxl.load_workbook(out / COMPLAINTS_BOOK)
    ws = complaints["公示反馈"]
    columns = _columns(ws)
    for title, value in {"支部编码": "HK-001", "反映的问题": "产业发展数据造假", "核查结论": "属实",
                         "处理": "取消星级", "核查日期": "2026-12-07", "核查人": "李核查"}.items():
        ws.cell(2, columns[title]).value = value
    complaints.save(inbox / "公示反馈表_第1批.xlsx")
    _stamp(inbox / "公示反馈表_第1批.xlsx", at(7, 17, month=12))
    seen["final"] = _run(inbox, out, dt.date(2026, 12, 10))
    seen["final_finance"] = sheet_values(out / FINANCE_BOOK, "说明")
    seen["final_cadres"] = sheet_values(out / FINANCE_BOOK, "干部绩效与奖励")
    seen["out"], seen["inbox"] = out, inbox
    return seen


def test_review_workbook__lists_the_recommended_and_the_drawn_sample_prefilled(season):
    first = season["first"]
    drawn = {(d["township"], d["branch_code"]) for d in first["spot_check"]["drawn"]}
    # 1–2★ candidates: 城关镇 CG-004, 005, 007, 008 and 河口镇 HK-002, 003, 004 = 7; 20% rounded up = 2.
    assert len(drawn) == 2
    listed = {(r["township"], r["branch_code"]): r["kind"] for r in first["procedure"]["reviewed"]}
    assert listed == {**{k: "评审" for k in RECOMMENDED}, **{k: "抽查" for k in drawn}}
    rows = season["review_rows"]
    headers = rows[0]
    on_sheet = {(r[headers.index("乡镇")], r[headers.index("支部编码")]) for r in rows[1:] if r[1]}
    assert on_sheet == set(listed)
    cg1 = next(r for r in rows if r[headers.index("支部编码")] == "CG-001")
    # Prefilled with the township's figures: 5★ earns every star, items at full marks (书记能力 max 20).
    assert cg1[headers.index("基层党建星｜书记能力｜乡镇评分")] == 20
    assert cg1[headers.index("乡镇评定")] == "5星"
    assert cg1[headers.index("基层党建星｜书记能力｜县级评审分")] is None


def test_before_review__statuses_and_a_draft_finance_workbook(season):
    first = season["first"]
    statuses = {(b["township"], b["branch_code"]): b["status"] for b in first["branches"]}
    listed = {(r["township"], r["branch_code"]) for r in first["procedure"]["reviewed"]}
    assert {k for k, s in statuses.items() if s == "under_review"} == listed
    assert {s for k, s in statuses.items() if k not in listed} == {"township_rated"}
    assert season["first_finance"][0][0] == DRAFT_TEXT
    assert first["procedure"]["payable"] is False


def test_review__the_panel_raises_one_and_lowers_another_with_the_reason(season):
    branches = _by_branch(season["reviewed"])
    assert branches[("城关镇", "CG-001")]["rating"] == 4
    assert branches[("城关镇", "CG-003")]["rating"] == 4
    assert branches[("城关镇", "CG-002")]["rating"] == 4  # 维持
    assert any("县级评审" in r["text"] and "由5星调整为4星" in r["text"] for r in branches[("城关镇", "CG-001")]["reasons"])
    assert any("由3星调整为4星" in r["text"] for r in branches[("城关镇", "CG-003")]["reasons"])
    # Reviewed but not yet confirmed: still under review, still a draft.
    assert branches[("城关镇", "CG-001")]["status"] == "under_review"
    assert season["reviewed"]["procedure"]["payable"] is False


def test_confirmation__starts_the_notice(season):
    confirmed = season["confirmed"]
    # Confirmed Tue 2026-12-01; the notice starts the next day, Wed 12-02, and lasts 5 working days counted from
    # the day after: Thu 3, Fri 4, Mon 7, Tue 8, Wed 9 → ends 2026-12-09.
    assert confirmed["notice"]["start"] == "2026-12-02" and confirmed["notice"]["end"] == "2026-12-09"
    assert confirmed["procedure"]["confirmation"]["reference"] == "县委常委会会议（2026年第30次）"
    assert {b["status"] for b in confirmed["branches"]} == {"in_notice"}  # as of 2026-12-03
    assert season["confirmed_finance"][0][0] == DRAFT_TEXT


def test_complaint__cancels_the_third_branch_and_the_period_becomes_payable(season):
    final = season["final"]
    branches = _by_branch(final)
    assert branches[("河口镇", "HK-001")]["rating"] == 0
    assert branches[("河口镇", "HK-001")]["status"] == "cancelled"
    assert {b["status"] for k, b in branches.items() if k != ("河口镇", "HK-001")} == {"final"}
    assert final["procedure"]["payable"] is True
    assert season["final_finance"][0][0] != DRAFT_TEXT
    assert not any(DRAFT_TEXT in str(v) for row in season["final_cadres"] for v in row)


def test_receipts__show_the_status_of_what_each_file_decided(season):
    out = season["out"]
    final = season["final"]
    entry = {i["file"]: i for i in final["inputs"]}
    township = sheet_values(out / "receipts" / entry["02-河口镇.xlsx"]["receipt"], "评定状态")
    assert [r[1] for r in township[1:]] == ["HK-001", "HK-002", "HK-003", "HK-004"]
    assert township[1][5] == "已取消"
    complaint = sheet_values(out / "receipts" / entry["公示反馈表_第1批.xlsx"]["receipt"], "评定状态")
    assert [(r[1], r[5]) for r in complaint[1:]] == [("HK-001", "已取消")]


def test_finance__totals_change_by_exactly_the_adjusted_and_cancelled_amounts(season):
    before, after = _paid(season["first"]), _paid(season["final"])
    # R1 line 319, each branch has a secretary (2400/month) and one other cadre (1800/month), 12 months, 10 people
    # over 70, collective income 500,000.
    # CG-001 5★ → 4★: star reward secretary 300×5×12 = 18,000 → 300×4×12 = 14,400 (−3,600); other
    #   200×5×12 = 12,000 → 9,600 (−2,400); county fund 50,000 → 30,000 (−20,000). Performance (100% from 2★),
    #   幸福积分 1,000 and the elderly 120×10 + 60×10 are unchanged. Δ = −26,000.00
    assert after["CG-001"] - before["CG-001"] == Decimal("-26000.00")
    # CG-003 3★ → 4★: secretary +3,600, other +2,400, county fund 3,000 → 30,000 (+27,000). Δ = +33,000.00
    assert after["CG-003"] - before["CG-003"] == Decimal("33000.00")
    # HK-001 3★ cancelled (rating 0): performance 2400×12×30% = 8,640 and 1800×12×30% = 6,480 at 100% → 0%
    #   (−15,120); star reward 300×3×12 = 10,800 and 200×3×12 = 7,200 (−18,000); county fund −3,000;
    #   幸福积分 −1,000; elderly 120×10 = −1,200 (needs ≥1★) and county top-up 60×10 = −600.
    #   Δ = −15,120 − 18,000 − 3,000 − 1,000 − 1,200 − 600 = −38,920.00
    assert after["HK-001"] - before["HK-001"] == Decimal("-38920.00")
    assert {code for code in before if after.get(code, Decimal(0)) != before[code]} == {"CG-001", "CG-003", "HK-001"}
    total_before = Decimal(season["first"]["totals"]["amount"])
    total_after = Decimal(season["final"]["totals"]["amount"])
    assert total_after - total_before == Decimal("-31920.00")  # −26,000 + 33,000 − 38,920


def test_ledger__statuses_with_who_when_and_file__and_the_issued_version(season):
    with sqlite3.connect(season["out"] / "ledger.sqlite") as db:
        versions = db.execute("SELECT version, issued_on, total FROM finance_versions").fetchall()
        status = db.execute("SELECT status, set_by, set_on, file FROM branch_status WHERE branch_code = 'HK-001' "
                            "ORDER BY run_id DESC LIMIT 1").fetchone()
    assert versions == [(1, "2026-12-10", season["final"]["totals"]["amount"])]
    assert status == ("cancelled", "公示反馈核查", "2026-12-07", "公示反馈表_第1批.xlsx")
    assert season["final"]["procedure"]["finance"]["version"] == 1


def test_accountability_sheet__the_county_changes_per_township_and_direction(season):
    rows = sheet_values(season["out"] / f"评定结果汇总_R1_{PERIOD}.xlsx", "乡镇评审问责")
    headers = next(r for r in rows if r and r[0] == "乡镇")  # below the printed title lines
    cg = dict(zip(headers, next(r for r in rows if r[0] == "城关镇")))
    assert (cg["县级调高"], cg["县级调低"]) == (1, 1)
    hk = dict(zip(headers, next(r for r in rows if r[0] == "河口镇")))
    assert hk["公示反馈属实"] == 1


def test_after_final__a_later_change_is_an_adjustment_against_the_issued_version(season, tmp_path):
    """动态管理: a second complaint after the period was paid is recorded and shown against version 1."""
    inbox, out = season["inbox"], season["out"]
    book = openpyxl.load_workbook(inbox / "公示反馈表_第1批.xlsx")
    ws = book["公示反馈"]
    columns = _columns(ws)
    for title, value in {"支部编码": "CG-002", "反映的问题": "党员管理台账不实", "核查结论": "属实",
                         "处理": "取消星级", "核查日期": "2026-12-15"}.items():
        ws.cell(3, columns[title]).value = value
    book.save(inbox / "公示反馈表_第2批.xlsx")
    _stamp(inbox / "公示反馈表_第2批.xlsx", at(15, 17, month=12))
    later = _run(inbox, out, dt.date(2026, 12, 16))
    assert later["procedure"]["finance"] == {"payable": True, "version": 2, "adjusts_version": 1,
                                             "total": later["totals"]["amount"]}
    rows = sheet_values(out / f"财务调整表_R1_{PERIOD}.xlsx", "调整")
    assert "第2版相对已发放的第1版" in rows[0][0]
    changed = {r[1] for r in rows[3:] if r[0] and r[0] != "合计"}
    assert changed == {"CG-002"}
    total = next(r for r in rows if r[0] == "合计")
    # CG-002 4★ cancelled: performance −15,120; star reward 300×4×12 + 200×4×12 = −24,000; county fund −30,000;
    # 幸福积分 −1,000; elderly −1,200 and −600. Δ = −71,920.00
    assert Decimal(str(total[7])) == Decimal("-71920")
    # A rerun with the same inbox is the same version again: nothing new is issued, the files are the same.
    files = {p.name: p.read_bytes() for p in out.glob("*.xlsx")}
    _run(inbox, out, dt.date(2026, 12, 16))
    assert {p.name: p.read_bytes() for p in out.glob("*.xlsx")} == files
    with sqlite3.connect(out / "ledger.sqlite") as db:
        assert db.execute("SELECT count(*) FROM finance_versions").fetchone()[0] == 2


def test_review_workbook_with_a_wrong_cell__refused_at_the_cell_and_nothing_applied(tmp_path):
    inbox, out = _inbox(tmp_path), tmp_path / "out"
    first = _run(inbox, out, dt.date(2026, 11, 10))
    bad = dict(RAISE)
    bad["基层党建星｜书记能力｜县级评审分"] = 25  # max 20
    _fill_review(out / REVIEW_BOOK, inbox / "县级评审表_有误.xlsx", {"CG-001": LOWER, "CG-003": bad},
                 at(20, 10, month=11))
    second = _run(inbox, out, dt.date(2026, 11, 25))
    entry = next(i for i in second["inputs"] if i["file"] == "县级评审表_有误.xlsx")
    assert entry["state"] == "rejected" and entry["receipt"]
    found = [p for p in second["problems"] if p["file"] == "县级评审表_有误.xlsx" and p["severity"] == "error"]
    assert [(p["code"], p["sheet"], p["field"]) for p in found] == [("VAL_005", "县级评审", "基层党建星｜书记能力｜县级评审分")]
    assert found[0]["cell"][:1].isalpha() and found[0]["cell"].endswith(str(_sheet_row(out, "CG-003")))
    assert [(b["branch_code"], b["rating"]) for b in second["branches"]] == \
        [(b["branch_code"], b["rating"]) for b in first["branches"]]  # CG-001's valid row is not applied either
    receipt = sheet_values(out / "receipts" / entry["receipt"], "回执")
    assert any(r[0] == "报送单位" and "县级评审表" in str(r[1]) for r in receipt)


def _sheet_row(out: Path, code: str) -> int:
    book = openpyxl.load_workbook(out / REVIEW_BOOK, read_only=True)
    rows = list(book["县级评审"].iter_rows(values_only=True))
    return next(i for i, r in enumerate(rows, 1) if r[1] == code)


def test_samples__fresh_dir__review_workbook_draft_finance_and_a_status_for_every_branch(tmp_path):
    code, _, _ = run_cli("run", str(ROOT / "samples"), "--out", str(tmp_path / "out"), "--period", "2026")
    assert code == 1  # the broken samples are rejected
    out = tmp_path / "out"
    assert [p.name for p in out.glob("县级评审表*.xlsx")] == [REVIEW_BOOK]
    assert DRAFT_TEXT in str(sheet_values(out / FINANCE_BOOK, openpyxl.load_workbook(
        out / FINANCE_BOOK, read_only=True).sheetnames[0])[0][0])
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert res["branches"] and all(b.get("status") for b in res["branches"])


def test_review_workbook__hints__rubber_stamp_township(season):
    """run_helpers' townships type the same self and review score on every item: each is flagged, never changed."""
    rows = sheet_values(season["out"] / REVIEW_BOOK, "评审提示")
    stamped = {r[0] for r in rows[1:] if r[3] and "逐项完全相同" in r[3]}
    assert stamped == {"城关镇", "河口镇"}


def test_review_workbooks__superseded_by_the_newer_from_the_same_body(season):
    states = {i["file"]: i["state"] for i in season["confirmed"]["inputs"]}
    assert states["县级评审表_已评审.xlsx"] == "superseded"
    assert states["县级评审表_县委确定.xlsx"] == "accepted"


def test_review_workbook_sent_twice__duplicate(tmp_path):
    inbox, out = _inbox(tmp_path), tmp_path / "out"
    _run(inbox, out, dt.date(2026, 11, 10))
    listed = _fill_review(out / REVIEW_BOOK, inbox / "评审_a.xlsx", {"CG-003": RAISE}, at(20, 10, month=11))
    (inbox / "评审_b.xlsx").write_bytes(listed.read_bytes())
    _stamp(inbox / "评审_b.xlsx", at(21, 10, month=11))
    res = _run(inbox, out, dt.date(2026, 11, 25))
    states = sorted(i["state"] for i in res["inputs"] if i["file"].startswith("评审_"))
    assert states == ["accepted", "duplicate"]
    assert _by_branch(res)[("城关镇", "CG-003")]["rating"] == 4


def test_county_without_review_stage__one_step_flow_payable_after_the_notice(tmp_path):
    import yaml
    data = yaml.safe_load((ROOT / "rulebooks" / "r1-huojia-five-star.yaml").read_text(encoding="utf-8"))
    data["procedure"]["review_stage"] = False
    rulebook = tmp_path / "r1-one-step.yaml"
    rulebook.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    inbox, out = _inbox(tmp_path), tmp_path / "out"

    def run(as_of: dt.date) -> dict[str, Any]:
        nightly_run(RunConfig(inbox=inbox, out=out, rulebook=str(rulebook), period=PERIOD, as_of=as_of,
                              notice_start=dt.date(2026, 11, 2), progress=False))
        return results(out)

    # Notice from Mon 2026-11-02: five working days after it, Tue 3 … Mon 9 → ends 2026-11-09.
    during = run(dt.date(2026, 11, 5))
    assert not (out / REVIEW_BOOK).exists()
    assert {b["status"] for b in during["branches"]} == {"in_notice"}
    assert during["procedure"]["payable"] is False
    after = run(dt.date(2026, 11, 10))
    assert {b["status"] for b in after["branches"]} == {"final"}
    assert after["procedure"]["payable"] is True
    assert sheet_values(out / FINANCE_BOOK, "说明")[0][0] != DRAFT_TEXT

