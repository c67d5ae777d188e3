"""results.json: the run for integrations — inputs, branches, payments, problems, totals.

Amounts are strings ("1234.50"), never floats. Streamed: a province's branches and payments are
written one record per line and never held as one text.
"""
from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

from .accounting import Accounted
from .common import shown_date
from .county import TargetResult
from .pay import PayResult
from .problems import Problem, count_by_severity
from .records import CountyResult
from .rulebook import Rulebook, rating_text

RESULTS_JSON = "results.json"


def write_results_json(path: Path, period: int, rb: Rulebook, accounted: list[Accounted], county: CountyResult,
                       payments: PayResult, problems: list[tuple[str, str, Problem]], missing: list[str],
                       counts: dict[str, int], seed: int, spot: dict[str, Any], notice: dict[str, Any],
                       ignored: list[str], targets: list[TargetResult] | None = None, county_name: str = "") -> Path:
    sections = {
        "rulebook": rb.template_id, "period": period, "seed": seed, "county": county_name,
        "rating_labels": rating_labels(rb),
        "inputs": ({"file": a.input.name, "origin": a.input.origin, "sha256": a.input.sha256,
                    "township": a.sub.township, "state": a.state, "sender": a.input.sender,
                    "subject": a.input.subject, "date": shown_date(a.input.date), "receipt": a.receipt,
                    **{k: v for k, v in count_by_severity(a.sub.problems).items() if k != "info"}} for a in accounted),
        "missing": missing,
        "ignored": ignored,
        "branches": (b.to_dict() for b in county.branches),
        "payments": (l.to_dict() for l in payments.lines),
        "problems": ({"township": t, "state": s, **p.to_dict()} for t, s, p in problems),
        "spot_check": {"seed": seed, "share": str(spot["share"]), "candidates": spot["candidates"],
                       "drawn": [{"township": t, "branch_code": c} for t, c in spot["drawn"]]},
        "notice": notice,
        "targets": [target_record(t) for t in targets or []],
        "totals": {"inputs": counts, "amount": f"{payments.total():.2f}",
                   "by_payer": {p: f"{payments.total(p):.2f}" for p in sorted({l.payer for l in payments.lines})}},
    }
    with path.open("w", encoding="utf-8") as fh:
        fh.write("{")
        for n, (key, value) in enumerate(sections.items()):
            fh.write(("\n" if n == 0 else ",\n") + json.dumps(key) + ": ")
            if isinstance(value, types.GeneratorType):
                # One record per line; compact JSON inside uses the C encoder (indent is ~10× slower).
                fh.write("[")
                for i, record in enumerate(value):
                    fh.write(("\n" if i == 0 else ",\n") + _compact(record))
                fh.write("]")
            else:
                fh.write(_compact(value))
        fh.write("\n}\n")
    return path


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


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
