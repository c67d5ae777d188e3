"""results.json: the run for integrations — inputs, branches, payments, problems, totals.

Amounts are strings ("1234.50"), never floats. Streamed: a province's branches and payments are
written one record per line and never held as one text. Each text once: a reason is structured
(text, rule, cells) and a rule's seed line is written once, in "rule_sources", not on every reason
and payment line (a reason whose rule has another seed line than the one recorded carries its own).
"""
from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import orjson

from .accounting import Accounted
from .common import DirectOutput, shown_date
from .county import TargetResult
from .pay import PaymentLine, PayResult
from .problems import Problem, count_by_severity
from .records import BranchResult, CountyResult, Reason
from .rulebook import Rulebook, rating_text

RESULTS_JSON = "results.json"


def write_results_json(path: Path, period: int, rb: Rulebook, accounted: list[Accounted], county: CountyResult,
                       payments: PayResult, problems: list[tuple[str, str, Problem]], missing: list[str],
                       counts: dict[str, int], seed: int, spot: dict[str, Any], notice: dict[str, Any],
                       ignored: list[str], statuses: dict[tuple[str, str], dict[str, str]] | None = None,
                       procedure: dict[str, Any] | None = None, targets: list[TargetResult] | None = None,
                       county_name: str = "") -> Path:
    """STATUSES: each branch's rating status (processor/procedure.py), shown as its `status` and `status_detail`."""
    shown = statuses or {}
    sources = RuleSources()
    sections: dict[str, Any] = {
        "rulebook": rb.template_id, "period": period, "seed": seed, "county": county_name,
        "rating_labels": rating_labels(rb),
        "inputs": ({"file": a.input.name, "origin": a.input.origin, "sha256": a.input.sha256,
                    "township": a.sub.township, "state": a.state, "sender": a.input.sender,
                    "subject": a.input.subject, "date": shown_date(a.input.date), "receipt": a.receipt,
                    **{k: v for k, v in count_by_severity(a.sub.problems).items() if k != "info"}} for a in accounted),
        "missing": missing,
        "ignored": ignored,
        "branches": (_with_status(branch_record(b, sources), shown.get(b.key)) for b in county.branches),
        "payments": (payment_record(line, sources) for line in payments.lines),
        "problems": ({"township": t, "state": s, **p.to_dict()} for t, s, p in problems),
        "spot_check": {"seed": seed, "share": str(spot["share"]), "candidates": spot["candidates"],
                       "drawn": [{"township": t, "branch_code": c} for t, c in spot["drawn"]]},
        "notice": notice,
        "procedure": procedure or {},
        "targets": [target_record(t) for t in targets or []],
        "rule_sources": lambda: sources.by_rule,  # after branches and payments: every rule they named
        "totals": {"inputs": counts, "amount": f"{payments.total():.2f}",
                   "by_payer": {p: f"{payments.total(p):.2f}" for p in sorted(payments.payers())}},
    }
    with DirectOutput(path) as fh:  # ~570 MB for a province: past the page cache (common.DirectOutput)
        fh.write(b"{")
        for n, (key, value) in enumerate(sections.items()):
            fh.write((b"\n" if n == 0 else b",\n") + _compact(key) + b": ")
            if isinstance(value, types.GeneratorType):
                # One record per line, compact inside (indent is ~10× slower).
                fh.write(b"[")
                for i, record in enumerate(value):
                    fh.write((b"\n" if i == 0 else b",\n") + _compact(record))
                fh.write(b"]")
            else:
                fh.write(_compact(value() if callable(value) else value))
        fh.write(b"\n}\n")
    return path


def _with_status(branch: dict[str, Any], status: dict[str, str] | None) -> dict[str, Any]:
    if status is not None:
        branch["status"] = status["status"]
        branch["status_detail"] = status
    return branch


class RuleSources:
    """Each rule's seed line, the first time it is named; afterwards records give only the rule id."""

    def __init__(self) -> None:
        self.by_rule: dict[str, str] = {}

    def shared(self, rule: str, source: str) -> bool:
        return self.by_rule.setdefault(rule, source) == source


def branch_record(b: BranchResult, sources: RuleSources) -> dict[str, Any]:
    return b.to_dict(reasons=[reason_record(r, sources) for r in b.reasons])


def reason_record(r: Reason, sources: RuleSources) -> dict[str, Any]:
    record: dict[str, Any] = {"text": r.text, "rule": r.rule}
    if not sources.shared(r.rule, r.source):
        record["source"] = r.source
    if r.cells:
        record["cells"] = r.cells
    return record


def payment_record(line: PaymentLine, sources: RuleSources) -> dict[str, Any]:
    """A payment line; its "kind" is the rule id whose seed line is in rule_sources."""
    record = line.to_dict(with_rule=False)
    if not sources.shared(line.rule_id, line.source):
        record["source"] = line.source
    return record


def rating_labels(rb: Rulebook) -> dict[str, str]:
    """Each rating's text, best first, keyed as a branch is labelled: its grade, else its rating ("5": "5星")."""
    if rb.data["rating"]["mode"] == "grades":
        return {**{g["name"]: g["name"] for g in rb.data["rating"]["grades"]}, "0": rating_text(rb, 0)}
    return {str(n): rating_text(rb, n) for n in range(rb.data["rating"]["max"], -1, -1)}


def target_record(t: TargetResult) -> dict[str, Any]:
    """A county-wide target with its exact count, so a rollup can add counties up."""
    return {"id": t.target.get("id", ""), "name": t.target["name"], "measure": t.target.get("measure", "share"),
            "goal": t.target.get("goal"), "count": t.count, "of": t.of,
            "value": None if t.value is None else str(t.value), "met": t.met}


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one, not one per record (json.dumps
# with options makes a new encoder each call: a tenth of the file's time at a province's 800,000 records)


def _compact(value: Any) -> bytes:
    """Compact UTF-8 JSON. orjson writes the same bytes as the standard library's encoder with these options for
    what a run has (texts, whole numbers, lists, dicts with text keys; amounts are texts), four to six times faster:
    at a province's 800,000 records, ~7 of the file's 16 seconds. What orjson refuses (a whole number beyond 64 bits,
    a key that is not a text) is written by the standard library, as before."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _ENCODER.encode(value).encode("utf-8")
