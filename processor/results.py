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
from .pay import PayResult
from .problems import Problem, count_by_severity
from .records import CountyResult
from .rulebook import Rulebook

RESULTS_JSON = "results.json"


def write_results_json(path: Path, period: int, rb: Rulebook, accounted: list[Accounted], county: CountyResult,
                       payments: PayResult, problems: list[tuple[str, str, Problem]], missing: list[str],
                       counts: dict[str, int], seed: int, spot: dict[str, Any], notice: dict[str, Any],
                       ignored: list[str], statuses: dict[tuple[str, str], dict[str, str]] | None = None,
                       procedure: dict[str, Any] | None = None) -> Path:
    """STATUSES: each branch's rating status (processor/procedure.py), shown as its `status` and `status_detail`."""
    shown = statuses or {}
    sections = {
        "rulebook": rb.template_id, "period": period, "seed": seed,
        "inputs": ({"file": a.input.name, "origin": a.input.origin, "sha256": a.input.sha256,
                    "township": a.sub.township, "state": a.state, "sender": a.input.sender,
                    "subject": a.input.subject, "date": shown_date(a.input.date), "receipt": a.receipt,
                    **{k: v for k, v in count_by_severity(a.sub.problems).items() if k != "info"}} for a in accounted),
        "missing": missing,
        "ignored": ignored,
        "branches": (_with_status(b.to_dict(), shown.get(b.key)) for b in county.branches),
        "payments": (l.to_dict() for l in payments.lines),
        "problems": ({"township": t, "state": s, **p.to_dict()} for t, s, p in problems),
        "spot_check": {"seed": seed, "share": str(spot["share"]), "candidates": spot["candidates"],
                       "drawn": [{"township": t, "branch_code": c} for t, c in spot["drawn"]]},
        "notice": notice,
        "procedure": procedure or {},
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


def _with_status(branch: dict[str, Any], status: dict[str, str] | None) -> dict[str, Any]:
    if status is not None:
        branch["status"] = status["status"]
        branch["status_detail"] = status
    return branch


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
