"""The rating procedure after the townships: county review, committee confirmation, public notice, complaints.

Applied in a fixed order, after the county steps and before pay (seed 000 line 315, continued on 317):
1. the review list: every branch the rulebook's `procedure.reviewed` picks, plus the drawn spot-check sample;
2. the panel's findings (the accepted review workbook): 维持 keeps the rating, 调整 rescores the branch from the
   panel's item scores and veto findings, 不予认定 sets the rulebook's not-recognised rating;
3. the committee's confirmation (date and reference on the same workbook) starts the public notice;
4. complaints (the accepted complaints workbooks): 属实 cancels the rating (or one star where the rulebook allows);
5. every branch's status, and whether the period is payable: the notice has ended with no open complaint.
A county whose rulebook has no review stage keeps the one-step flow: township ratings, notice, final.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path
from typing import Any

from .conditions import holds, show
from .county import apply_outcomes, township_summary
from .figures import figure
from .problems import problem
from .records import BranchResult, CountyResult, Reason, Record, Submission
from .review import (
    CANCEL_RATING,
    CANCEL_STAR,
    COUNTY,
    REVIEW_KIND,
    ReviewRow,
    township_scores,
)
from .rulebook import Rulebook, rating_text, source_text
from .score import BranchInput, score_branch
from .sheets import REVIEW, SELF, score_field_id

STATUSES = ("township_rated", "under_review", "confirmed", "in_notice", "final", "cancelled")
STATUS_TEXT = {"township_rated": "乡镇评定", "under_review": "县级评审中", "confirmed": "县委已确定",
               "in_notice": "公示中", "final": "已确定（公示期满）", "cancelled": "已取消"}
DRAFT_TEXT = "草案（评定结果未经确定，不得据此发放）"
OUTLIER_Z = Decimal("3.5")  # modified z-score (median and MAD), the usual cut for "far outside the spread"

Key = tuple[str, str]


@dataclass(frozen=True)
class Status:
    code: str
    set_by: str
    set_on: str
    file: str

    def to_dict(self) -> dict[str, str]:
        return {"status": self.code, "status_text": STATUS_TEXT[self.code], "set_by": self.set_by,
                "set_on": self.set_on, "file": self.file}


@dataclass
class Finding:
    """What the county did to one branch: a review conclusion or a complaint, with the rating before and after."""
    key: Key
    kind: str  # 评审 / 抽查 / 公示反馈
    what: str
    before: int
    after: int
    file: str
    cells: list[str] = field(default_factory=list)
    on: str = ""  # the date the body gave (评审日期, 核查日期)


@dataclass
class Outcome:
    review_stage: bool
    listed: dict[Key, str]  # branch -> 评审 / 抽查
    findings: list[Finding]
    statuses: dict[Key, Status]
    confirmation: dict[str, str] | None
    notice: dict[str, Any]
    payable: bool
    why_not_payable: str
    open_complaints: list[Key]

    @property
    def draft(self) -> str | None:
        return None if self.payable else DRAFT_TEXT


def settings(rb: Rulebook) -> dict[str, Any]:
    return rb.data.get("procedure") or {"review_stage": False}


def has_review_stage(rb: Rulebook) -> bool:
    return bool(settings(rb).get("review_stage"))


# --- 1. who is reviewed, and the hints for the panel -----------------------------------------------

def review_list(rb: Rulebook, branches: list[BranchResult], drawn: list[Key]) -> dict[Key, str]:
    """Every branch the rulebook's `reviewed` condition picks (评审), then the drawn sample (抽查)."""
    proc = settings(rb)
    if not proc.get("review_stage"):
        return {}
    listed: dict[Key, str] = {}
    if "reviewed" in proc:
        reviewed = proc["reviewed"]
        for b in branches:
            if holds(reviewed, partial(figure, rb, b)):  # whether, not why: nobody reads the wording here
                listed[b.key] = "评审"
    if proc.get("spot_check_sample"):
        for key in drawn:
            listed.setdefault(key, "抽查")
    return dict(sorted(listed.items()))


def review_rows(rb: Rulebook, branches: list[BranchResult], listed: dict[Key, str],
                previous: dict[Key, dict[str, Any]]) -> tuple[list[ReviewRow], list[tuple[str, str]]]:
    """The review workbook's rows (township figures item by item, with hints) and the township-wide hints."""
    by_township: dict[str, list[BranchResult]] = {}
    for b in branches:
        by_township.setdefault(b.township, []).append(b)
    gap = Decimal(str(rb.settings.get("review_gap_warning", 0) or 0))
    fields = _item_fields(rb)
    made: dict[Key, ReviewRow] = {}
    stamps = []
    # Township by township: a branch's score row is read once (a province's rows are read from part files,
    # parts.py), and only the listed branches' item pairs outlive their township.
    for t, own in sorted(by_township.items()):
        spread = _spread(own)
        scored = [(b, _score_row(b)) for b in own]
        pairs = [_item_pairs(fields, row) for _, row in scored]
        if text := _rubber_stamp(pairs):
            stamps.append((t, text))
        for (b, row), own_pairs in zip(scored, pairs, strict=True):
            if b.key in listed:
                hints = _rating_jump(rb, b, previous.get(b.key)) + _gaps(own_pairs, gap) + _outlier(b, spread)
                made[b.key] = ReviewRow(b.township, b.branch_code, b.name, listed[b.key],
                                        rating_text(rb, b.rating, b.grade), township_scores(rb, row), hints)
    return [made[b.key] for b in branches if b.key in made], stamps


def _score_row(b: BranchResult) -> Record | None:
    return next(iter(b.rows.get("scores", [])), None)


def _rating_jump(rb: Rulebook, b: BranchResult, before: dict[str, Any] | None) -> list[str]:
    if before is None or b.rating - int(before["rating"]) < 2:
        return []
    jump = b.rating - int(before["rating"])
    return [f"星级较上期跳升 {jump} 级：上期{rating_text(rb, int(before['rating']))}，本期{rating_text(rb, b.rating)}"]


ItemFields = list[tuple[str, str, str]]  # (unit｜item name, self-score field, township review field)


def _item_fields(rb: Rulebook) -> ItemFields:
    return [(f"{unit['name']}｜{item['name']}", score_field_id(unit["id"], item["id"], SELF),
             score_field_id(unit["id"], item["id"], REVIEW)) for unit in rb.units for item in unit["items"]]


def _item_pairs(fields: ItemFields, row: Record | None) -> list[tuple[str, Decimal, Decimal]]:
    """(item name, self-score, township review score) of every item with both."""
    if row is None:
        return []
    pairs = []
    for name, own_field, review_field in fields:
        own, review = row.values.get(own_field), row.values.get(review_field)
        if own is not None and review is not None:
            pairs.append((name, Decimal(own), Decimal(review)))
    return pairs


def _gaps(pairs: list[tuple[str, Decimal, Decimal]], limit: Decimal) -> list[str]:
    wide = [f"{name} 自评 {show(own)} / 乡镇评审 {show(review)}"
            for name, own, review in pairs if limit and abs(own - review) > limit]
    return [f"自评与乡镇评审分差超过 {show(limit)} 分：" + "；".join(wide)] if wide else []


def _rubber_stamp(pairs: list[list[tuple[str, Decimal, Decimal]]]) -> str:
    """Each branch's (item, self, review) pairs of one township."""
    if len(pairs) < 2 or not all(pairs) or any(o != r for p in pairs for _, o, r in p):
        return ""
    return (f"乡镇评审分与自评分逐项完全相同（{len(pairs)} 个支部、{sum(len(p) for p in pairs)} 项）："
            "可能未独立评审，请重点核查本乡镇推荐的支部")


def _spread(own: list[BranchResult]) -> tuple[Decimal, Decimal] | None:
    """A township's median score and median absolute deviation; None when too few or all alike."""
    scores = sorted(x.score for x in own)
    if len(scores) < 3:
        return None
    median = _median(scores)
    mad = _median(sorted(abs(s - median) for s in scores))
    return None if mad == 0 else (median, mad)


def _outlier(b: BranchResult, spread: tuple[Decimal, Decimal] | None) -> list[str]:
    """DHIS2-style: a score whose modified z-score (median, MAD) within its township exceeds 3.5."""
    if spread is None:
        return []
    median, mad = spread
    z = Decimal("0.6745") * (b.score - median) / mad
    if abs(z) <= OUTLIER_Z:
        return []
    shown_z = z.quantize(Decimal("0.1"), ROUND_HALF_UP)
    return [f"得分 {show(b.score)} 明显偏离本乡镇（中位数 {show(median)}，修正 z 值 {shown_z}）"]


def _median(values: list[Decimal]) -> Decimal:
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


# --- 2–4. the county's findings ----------------------------------------------------------------

def check_against_county(sub: Submission, listed: dict[Key, str], branches: list[BranchResult]) -> None:
    """Findings about branches the county did not list (or does not have) are errors at their cells."""
    kind = sub.meta.get("kind")
    records = sub.records.get("review" if kind == REVIEW_KIND else "complaints", [])
    by_code = {b.branch_code: b for b in branches}
    known = {code for _, code in listed} if kind == REVIEW_KIND else set(by_code)
    code_name = "PRO_005" if kind == REVIEW_KIND else "PRO_007"
    for r in records:
        code = str(r.values.get("branch_code") or "")
        if code and code not in known:
            sub.problems.append(problem(code_name, file=sub.file, sheet=r.sheet, cell=r.cell("branch_code"),
                                        field="支部编码", value=code))
    if kind == REVIEW_KIND and sub.meta.get("confirm_date"):
        present = {str(r.values.get("branch_code")) for r in records}
        for (township, code), kind_text in listed.items():
            if code not in present:
                sub.problems.append(problem("PRO_006", file=sub.file, sheet="县级评审", field="支部编码",
                                            value=code, detail=f"{township}，{kind_text}"))


def apply_review(rb: Rulebook, period: int, county: CountyResult, sub: Submission,
                 listed: dict[Key, str]) -> list[Finding]:
    """The panel's conclusion on every listed branch it concluded; the township's figures give way to its own."""
    codes = {code: key for key in listed for code in [key[1]]}
    findings = []
    for r in sub.records.get("review", []):
        key = codes.get(str(r.values.get("branch_code")))
        conclusion = r.values.get("conclusion")
        if key is None or conclusion is None:
            continue
        index = next(i for i, b in enumerate(county.branches) if b.key == key)
        before = county.branches[index]
        after = _concluded(rb, period, before, r, conclusion, sub.file)
        county.branches[index] = after
        what = f"{listed[key]}结论：{conclusion}"
        findings.append(Finding(key, listed[key], what, before.rating, after.rating, sub.file,
                                [f"{r.sheet}!{r.cell('conclusion')}"], str(r.values.get("review_date") or "")))
    return findings


def _concluded(rb: Rulebook, period: int, b: BranchResult, r: Record, conclusion: str, file: str) -> BranchResult:
    proc = settings(rb)
    source = source_text(proc.get("reviewed_source") or proc.get("source"))
    before = b.rating
    if conclusion == "调整":
        after_b = _rescored(rb, period, b, r)
        _add(after_b, f"县级评审（{file}）：按县级评审组评分和否决认定重新评定，{_change(rb, before, after_b.rating)}",
             f"{rb.id}.procedure.review", source, r)
        return after_b
    if conclusion == "不予认定":
        _recount(rb, b, min(before, int(proc.get("not_recognised_rating", 0))))
        _add(b, f"县级评审（{file}）：不予认定，{_change(rb, before, b.rating)}", f"{rb.id}.procedure.not_recognised",
             source_text(proc.get("not_recognised_source")), r)
        return b
    _add(b, f"县级评审（{file}）：维持乡镇评定（{rating_text(rb, before, b.grade)}）", f"{rb.id}.procedure.review", source, r)
    return b


def _change(rb: Rulebook, before: int, after: int) -> str:
    if before == after:
        return f"仍为{rating_text(rb, after)}"
    return f"由{rating_text(rb, before)}调整为{rating_text(rb, after)}"


def _add(b: BranchResult, text: str, rule: str, source: str, r: Record) -> None:
    b.reasons.append(Reason(text, rule, source, [f"{r.sheet}!{r.cell('conclusion')}"]))


def _rescored(rb: Rulebook, period: int, b: BranchResult, r: Record) -> BranchResult:
    """The branch scored again: the panel's item scores where given (else the township's), and its veto finding."""
    township = _score_row(b)
    values = dict(township.values) if township is not None else {"branch_code": b.branch_code}
    columns = dict(r.columns)
    for unit in rb.units:
        for item in unit["items"]:
            given = r.values.get(score_field_id(unit["id"], item["id"], COUNTY))
            review_id = score_field_id(unit["id"], item["id"], REVIEW)
            if given is not None:
                values[review_id] = given
            columns[review_id] = r.columns.get(score_field_id(unit["id"], item["id"], COUNTY), "A")
    scores = Record(r.sheet, r.row, values, columns)
    vetoes = list(b.rows.get("vetoes", []))
    if r.values.get("veto"):
        vetoes.append(Record(r.sheet, r.row, {"branch_code": b.branch_code, "veto": r.values["veto"]}, r.columns))
    sub = Submission(file=b.file, path=Path(b.file), meta={"township": b.township})
    branch_row = next(iter(b.rows.get("branches", [])))
    data = BranchInput(sub, branch_row, scores, b.event_rows, vetoes, b.rows.get("votes", []), b.cadres)
    fresh = score_branch(rb, period, data, [])  # gap warnings were the township's, already reported
    fresh.rows = b.rows
    apply_outcomes(rb, [fresh])
    return fresh


def _recount(rb: Rulebook, b: BranchResult, rating: int) -> None:
    """A new rating: the outcomes (qualified, lists) follow it; the old outcome lines leave the trail."""
    b.rating = rating
    b.reasons = [x for x in b.reasons
                 if not (x.rule.startswith(f"{rb.id}.outcomes.") or x.text.startswith("评定结果："))]
    apply_outcomes(rb, [b])


def apply_complaints(rb: Rulebook, county: CountyResult, subs: list[Submission]) -> tuple[list[Finding], list[Key]]:
    """属实 cancels (or takes one star); 核查中 holds the period open. Returns the findings and the open ones."""
    proc = settings(rb)
    by_code = {b.branch_code: b for b in county.branches}
    findings: list[Finding] = []
    still_open: list[Key] = []
    for sub in subs:
        for r in sub.records.get("complaints", []):
            b = by_code.get(str(r.values.get("branch_code")))
            if b is None:
                continue
            finding = r.values.get("finding")
            if finding == "核查中":
                still_open.append(b.key)
                continue
            before = b.rating
            if finding == "属实":
                cut = (min(before, int(proc.get("cancelled_rating", 0))) if r.values.get("action") == CANCEL_RATING
                       else max(0, before - 1))
                _recount(rb, b, cut)
            text = f"公示反馈（{sub.file}）：{r.values.get('report', '')}；核查{finding}"
            if finding == "属实":
                text += f"，{r.values.get('action')}，{_change(rb, before, b.rating)}"
            b.reasons.append(Reason(text, f"{rb.id}.procedure.complaint",
                                    source_text(proc.get("cancelled_source") if finding == "属实"
                                                else proc.get("complaint_source") or proc.get("source")),
                                    [f"{r.sheet}!{r.cell('finding')}"]))
            findings.append(Finding(b.key, "公示反馈", f"{finding}{'，' + str(r.values.get('action')) if finding == '属实' else ''}",
                                    before, b.rating, sub.file, [f"{r.sheet}!{r.cell('finding')}"],
                                    str(r.values.get("checked_on") or "")))
            if r.values.get("action") == CANCEL_STAR and finding == "属实":
                findings[-1].what = f"属实，{CANCEL_STAR}"
    return findings, sorted(set(still_open))


# --- the whole procedure -----------------------------------------------------------------------

@dataclass
class Inputs:
    """What the run hands the procedure: the county's accepted review and complaints workbooks and the dates."""
    review: Submission | None
    complaints: list[Submission]
    as_of: dt.date
    notice_start: dt.date | None  # the operator's --notice-start, else derived here
    default_start: dt.date | None  # one-step flow: the day after the newest township submission
    township_dates: dict[str, str]  # township file -> when it arrived (shown)


def run_procedure(rb: Rulebook, period: int, county: CountyResult, listed: dict[Key, str], given: Inputs,
                  notice_for: Callable[[dt.date | None, int], dict[str, Any]]) -> Outcome:
    days = rb.settings.get("notice_working_days", 5)
    review_stage = has_review_stage(rb)
    findings: list[Finding] = []
    confirmation = None
    if review_stage and given.review is not None:
        findings += apply_review(rb, period, county, given.review, listed)
        confirmation = _confirmation(given.review)
    complaint_findings, still_open = apply_complaints(rb, county, given.complaints)
    findings += complaint_findings
    county.townships = township_summary(rb, county.branches)
    if review_stage and confirmation is None and given.notice_start is None:
        notice = {"start": None, "end": None, "working_days": days, "pending": True,
                  "error": f"{settings(rb).get('confirming_body', '县委')}尚未确定名单，公示期在确定后计算"}
    else:
        start = given.notice_start or (_day_after(confirmation["date"]) if confirmation else given.default_start)
        notice = notice_for(start, days)
    ended = bool(notice.get("end")) and given.as_of > dt.date.fromisoformat(notice["end"])
    unconfirmed = review_stage and confirmation is None
    payable = ended and not still_open and not unconfirmed
    why = ("" if payable else f"{settings(rb).get('confirming_body', '县委')}尚未确定名单" if unconfirmed else
           "有核查中的公示反馈" if ended else
           "公示期尚未结束" if notice.get("end") else str(notice.get("error") or "公示期未确定"))
    statuses = _statuses(rb, county, listed, findings, confirmation, notice, given, still_open, review_stage)
    return Outcome(review_stage, listed, findings, statuses, confirmation, notice, payable, why, still_open)


def _confirmation(sub: Submission) -> dict[str, str] | None:
    date = sub.meta.get("confirm_date")
    if not date:
        return None
    return {"date": str(date), "reference": str(sub.meta.get("confirm_ref") or ""), "file": sub.file,
            "body": str(sub.meta.get("body") or "")}


def _day_after(date: str) -> dt.date:
    return dt.date.fromisoformat(date) + dt.timedelta(days=1)


def _statuses(rb: Rulebook, county: CountyResult, listed: dict[Key, str], findings: list[Finding],
              confirmation: dict[str, str] | None, notice: dict[str, Any], given: Inputs, still_open: list[Key],
              review_stage: bool) -> dict[Key, Status]:
    proc = settings(rb)
    cancelled = {f.key: f for f in findings if f.kind == "公示反馈" and f.what.endswith(CANCEL_RATING)}
    start, end = notice.get("start"), notice.get("end")
    over = bool(start and end and given.as_of > dt.date.fromisoformat(end))
    in_notice = bool(start and given.as_of >= dt.date.fromisoformat(start))
    open_keys = set(still_open)
    # A status is the same for every branch of a file (a frozen value): one of each, not one per branch of a province.
    made: dict[tuple[str, str, str, str], Status] = {}
    found: dict[Key, Status] = {}
    said: tuple[str, str, str, str]
    for b in county.branches:
        if b.key in cancelled:
            f = cancelled[b.key]
            said = ("cancelled", "公示反馈核查", f.on, f.file)
        elif review_stage and confirmation is None:
            said = (("under_review", proc.get("reviewing_body", "县级评审组"), "", given.review.file if given.review else "")
                    if b.key in listed else ("township_rated", b.township, given.township_dates.get(b.file, ""), b.file))
        elif over and b.key not in open_keys:
            said = ("final", "公示期满", str(end), confirmation["file"] if confirmation else b.file)
        elif in_notice:
            said = ("in_notice", "结果公示", str(start), confirmation["file"] if confirmation else b.file)
        elif confirmation:
            said = ("confirmed", f"{proc.get('confirming_body', '县委')}（{confirmation['reference']}）",
                    confirmation["date"], confirmation["file"])
        else:
            said = ("township_rated", b.township, given.township_dates.get(b.file, ""), b.file)
        status = made.get(said)
        if status is None:
            status = made[said] = Status(*said)
        found[b.key] = status
    return found


# --- what the writers show ---------------------------------------------------------------------

def status_rows(rb: Rulebook, county: CountyResult, outcome: Outcome) -> list[list[Any]]:
    """评定程序 sheet: every branch, its status, who set it, when and from which file."""
    return [status_row(rb, b, outcome) for b in county.branches]


def status_row(rb: Rulebook, b: BranchResult, outcome: Outcome) -> list[Any]:
    s = outcome.statuses[b.key]
    return [b.township, b.branch_code, b.name, outcome.listed.get(b.key, "—"), rating_text(rb, b.rating, b.grade),
            STATUS_TEXT[s.code], s.set_by, s.set_on, s.file]


STATUS_HEADERS = ["乡镇", "支部编码", "支部名称", "县级审查", "当前评定", "状态", "设定者", "日期", "依据文件"]
ACCOUNTABILITY_HEADERS = ["乡镇", "县级评审支部数", "抽查支部数", "已出结论", "维持", "县级调高", "县级调低",
                          "不予认定", "公示反馈属实", "调整方向"]


def accountability_rows(county: CountyResult, outcome: Outcome) -> list[list[Any]]:
    """Per township: how many reviewed or spot-checked branches the county changed, and which way."""
    # Grouped once by township: a province has thousands of townships and tens of thousands of listed branches.
    findings: dict[str, list[Finding]] = {}
    for f in outcome.findings:
        findings.setdefault(f.key[0], []).append(f)
    listed: Counter[tuple[str, str]] = Counter((k[0], v) for k, v in outcome.listed.items())
    rows = []
    for t in sorted({b.township for b in county.branches}):
        mine = findings.get(t, [])
        review = [f for f in mine if f.kind in ("评审", "抽查")]
        up = sum(1 for f in review if f.after > f.before)
        down = sum(1 for f in review if f.after < f.before)
        direction = ("乡镇评定偏高（县级调低多于调高）" if down > up else "乡镇评定偏低（县级调高多于调低）" if up > down
                     else "—")
        rows.append([t, listed[(t, "评审")], listed[(t, "抽查")], len(review),
                     sum(1 for f in review if f.before == f.after), up, down,
                     sum(1 for f in review if f.what.endswith("不予认定")),
                     sum(1 for f in mine if f.kind == "公示反馈" and f.what.startswith("属实")), direction])
    return rows


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {"review_stage": outcome.review_stage, "payable": outcome.payable,
            "draft": outcome.draft or "", "why_not_payable": outcome.why_not_payable,
            "confirmation": outcome.confirmation, "open_complaints": [list(k) for k in outcome.open_complaints],
            "reviewed": [{"township": t, "branch_code": c, "kind": k} for (t, c), k in outcome.listed.items()],
            "findings": [{"township": f.key[0], "branch_code": f.key[1], "kind": f.kind, "what": f.what,
                          "before": f.before, "after": f.after, "file": f.file, "cells": f.cells}
                         for f in outcome.findings]}


# --- which finance version is issued -------------------------------------------------------------

def line_key(township: str, branch_code: str, rule_id: str, payee: str, role: str, cell: str) -> str:
    return f"{township}|{branch_code}|{rule_id}|{payee}|{role}|{cell}"


def finance_version(issued: list[dict[str, Any]], lines: dict[str, str], payable: bool,
                    as_of: dt.date, total: str) -> tuple[int | None, dict[str, Any] | None, dict[str, Any] | None]:
    """(version of this workbook, the issued version it adjusts, the issue to record). A rerun that pays the same
    lines as the last issued version is that version again, so its workbook is the same."""
    last = issued[-1] if issued else None
    if last is not None and last["lines"] == lines:
        earlier = issued[-2] if len(issued) > 1 else None
        return (last["version"] if payable else None), earlier, (last if payable else None)
    if not payable:
        return None, last, None
    version = (last["version"] if last else 0) + 1
    return version, last, {"version": version, "issued_on": as_of.isoformat(), "total": total, "lines": lines}
