"""Builders the scoring tests share: a township of branches, written as a real workbook, scored.

A test describes each branch by what the rules look at (a star's base score, its events, vetoes,
votes, branch facts); `branch()` turns that into the rows a township clerk would type, `county()`
writes them with `processor.fill.fill_template`, validates every file, asserts it validated clean,
and scores them with `processor.pipeline.score_files`.

A unit's score is given as its total; `split()` spreads it over the unit's items in template
order, filling each item to its maximum before the next (75 over 20/20/15/15/15/15 → 20+20+15+15+5+0),
so a test's hand arithmetic is about the totals the rules talk about.
"""
from __future__ import annotations

import copy
import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from processor.fill import fill_template
from processor.pipeline import ScoreReport, score_files
from processor.problems import ERROR, WARNING
from processor.rulebook import Rulebook, load_rulebook
from processor.county import score_county
from processor.records import BranchResult, CountyResult
from processor.sheets import REVIEW, SELF, score_field_id
from processor.records import Submission
from processor.validate import validate_file

PERIOD = 2026
TOWNSHIP = "城关镇"


def rulebook(name: str) -> Rulebook:
    return load_rulebook(name)


# --- one branch, as a clerk would fill it -----------------------------------------------------

def split(rb: Rulebook, unit_id: str, total: Any) -> dict[str, Decimal]:
    """A unit total spread over its items in order, each filled to its max before the next."""
    left = Decimal(str(total))
    unit = rb.unit_by_id[unit_id]
    top = sum(Decimal(str(i["max"])) for i in unit["items"])
    assert 0 <= left <= top, f"{unit_id}: {total} is outside 0..{top}"
    out: dict[str, Decimal] = {}
    for item in unit["items"]:
        take = min(left, Decimal(str(item["max"])))
        out[item["id"]] = take
        left -= take
    return out


def _cell(value: Decimal) -> int | float:
    """What a clerk types: 20 as a whole number, 4.5 as a decimal."""
    return int(value) if value == value.to_integral_value() else float(value)


def event(kind: str, *, points: Any = None, level: str | None = None, count: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"event_kind": kind, "date": dt.date(PERIOD, 5, 20)}
    if points is not None:
        row["points"] = points
    if level is not None:
        row["level"] = level
    if count is not None:
        row["count"] = count
    return row


def vote(target: str, members: int, participants: int, yes: int) -> dict[str, Any]:
    return {"target": target, "members": members, "participants": participants, "votes_yes": yes}


@dataclass
class Branch:
    """What a test says about one branch; everything else gets a neutral valid default."""
    code: str
    scores: dict[str, Any]                 # unit id → self-score total (split over items)
    review: dict[str, Any]                 # unit id → township-review total (blank when absent)
    items: dict[str, Any]                  # score field id → value, written as given (overrides)
    events: list[dict[str, Any]]
    vetoes: list[str]
    votes: list[dict[str, Any]]
    info: dict[str, Any]                   # 支部信息 fields


def branch(code: str, *, scores: dict[str, Any] | None = None, review: dict[str, Any] | None = None,
           items: dict[str, Any] | None = None, events: Iterable[dict[str, Any]] = (),
           vetoes: Iterable[str] = (), votes: Iterable[dict[str, Any]] = (), **info: Any) -> Branch:
    return Branch(code, dict(scores or {}), dict(review or {}), dict(items or {}), list(events), list(vetoes),
                  list(votes), info)


def applicable_units(rb: Rulebook, branch_type: str) -> list[dict[str, Any]]:
    return [u for u in rb.units if not u.get("applies_to") or branch_type in u["applies_to"]]


def rows_for(rb: Rulebook, branches: list[Branch], township: str = TOWNSHIP,
             default_score: str = "max") -> dict[str, list[dict[str, Any]]]:
    """The sheets' rows. A unit the test does not score gets its full marks (default_score="max") or 0."""
    rows: dict[str, list[dict[str, Any]]] = {"branches": [], "scores": [], "events": [], "vetoes": [],
                                             "votes": [], "cadres": []}
    for b in branches:
        info = {"township": township, "branch_code": b.code, "branch_name": f"{b.code}党支部",
                "village": f"{b.code}村", "branch_type": rb.data["branch_types"][0], "member_count": 30,
                "secretary_is_head": "是"}
        if rb.data["rating"].get("grades_within") == "parent_committee":
            info["parent_committee"] = "第一基层党委"
        info.update(b.info)
        rows["branches"].append(info)
        score: dict[str, Any] = {"branch_code": b.code}
        for unit in applicable_units(rb, info["branch_type"]):
            own = b.scores.get(unit["id"], "max" if default_score == "max" else 0)
            if own == "max":
                own = sum(Decimal(str(i["max"])) for i in unit["items"])
            for item_id, value in split(rb, unit["id"], own).items():
                score[score_field_id(unit["id"], item_id, SELF)] = _cell(value)
            if unit["id"] in b.review:
                for item_id, value in split(rb, unit["id"], b.review[unit["id"]]).items():
                    score[score_field_id(unit["id"], item_id, REVIEW)] = _cell(value)
        score.update(b.items)
        rows["scores"].append(score)
        rows["events"] += [{"branch_code": b.code, **e} for e in b.events]
        rows["vetoes"] += [{"branch_code": b.code, "veto": v, "date": dt.date(PERIOD, 4, 1)} for v in b.vetoes]
        votes = b.votes
        if not votes and (rb.votes or {}).get("required"):
            # R4 requires the vote (REF_020): everyone satisfied, which changes no figure a test looks at.
            votes = [vote(rb.vote_target_name(t), 40, 40, 40) for t in rb.votes["targets"]]
        rows["votes"] += [{"branch_code": b.code, **v} for v in votes]
        rows["cadres"].append({"branch_code": b.code, "name": f"{b.code}书记", "role": "书记",
                               "monthly_pay": 2000, "months": 12})
    return rows


def write(rb: Rulebook, path: Path, branches: list[Branch], township: str = TOWNSHIP,
          default_score: str = "max") -> Path:
    return fill_template(rb, path, {"township": township, "period": PERIOD},
                         rows_for(rb, branches, township, default_score))


# --- validate, assert clean, score ----------------------------------------------------------

def assert_clean(sub: Submission) -> None:
    """Validated with no error and no warning (normalisation notes are fine)."""
    bad = [(p.code, p.sheet, p.cell, p.message) for p in sub.problems if p.severity in (ERROR, WARNING)]
    assert sub.accepted and not bad, f"{sub.file} did not validate clean: {bad}"


@dataclass
class Scored:
    report: ScoreReport
    county: CountyResult

    @property
    def branches(self) -> list[BranchResult]:
        return self.county.branches

    def __getitem__(self, code: str) -> BranchResult:
        found = [b for b in self.county.branches if b.branch_code == code]
        assert len(found) == 1, f"{code}: {len(found)} results"
        return found[0]

    def problems(self, code: str) -> list:
        return [p for p in self.county.problems if p.code == code]


def score_paths(paths: list[Path], rb: Rulebook | None = None) -> Scored:
    report = score_files(paths, rb)
    for sub in report.submissions:
        assert_clean(sub)
    assert len(report.groups) == 1, "expected one (rulebook, period) group"
    return Scored(report, report.groups[0].county)


def county(rb: Rulebook, folder: Path, branches: list[Branch], township: str = TOWNSHIP,
           default_score: str = "max") -> Scored:
    """One township's workbook with these branches, validated clean and scored."""
    path = write(rb, folder / f"{township}.xlsx", branches, township, default_score)
    return score_paths([path])


def score_one(rb: Rulebook, folder: Path, b: Branch, **kw: Any) -> BranchResult:
    return county(rb, folder, [b], **kw)[b.code]


# --- looking at results -----------------------------------------------------------------------

def reason_texts(b: BranchResult) -> list[str]:
    return [r.text for r in b.reasons]


def reasons_by_rule(b: BranchResult, rule: str) -> list:
    return [r for r in b.reasons if r.rule == rule]


def the_reason(b: BranchResult, rule: str):
    found = reasons_by_rule(b, rule)
    assert len(found) == 1, f"{b.branch_code}: {len(found)} reasons with rule {rule}: {reason_texts(b)}"
    return found[0]


def assert_reason(b: BranchResult, rule: str, *fragments: str, source: str | None = None):
    """A reason under `rule` whose text holds every fragment and whose source cites `source`; returned."""
    under = reasons_by_rule(b, rule)
    assert under, f"{b.branch_code}: no reason with rule {rule}: {reason_texts(b)}"
    matching = [r for r in under if all(f in r.text for f in fragments)]
    assert matching, f"{b.branch_code}: no {rule} reason holds {fragments}: {[r.text for r in under]}"
    if source is not None:
        assert any(source in r.source for r in matching), f"{source!r} not in {[r.source for r in matching]}"
    return matching[0]


def unit(b: BranchResult, unit_id: str):
    return next(u for u in b.units if u.id == unit_id)


def earned(b: BranchResult) -> list[str]:
    return [u.id for u in b.units if u.earned]


def comparable(branches: list[BranchResult], drop_file: bool = False) -> list[dict[str, Any]]:
    out = []
    for b in branches:
        d = b.to_dict()
        if drop_file:
            d.pop("file")
        out.append(d)
    return out


# --- in-memory submissions for property tests -------------------------------------------------

def validated(rb: Rulebook, path: Path) -> Submission:
    sub = validate_file(path)
    assert_clean(sub)
    return sub


def rescore(rb: Rulebook, subs: list[Submission]) -> CountyResult:
    return score_county(rb, subs, PERIOD)


def shuffled(subs: list[Submission], rng: random.Random) -> list[Submission]:
    """The same submissions with every sheet's records and the order of files shuffled."""
    out = []
    for sub in subs:
        copy_ = copy.copy(sub)
        copy_.records = {k: rng.sample(v, len(v)) for k, v in sub.records.items()}
        out.append(copy_)
    return rng.sample(out, len(out))
