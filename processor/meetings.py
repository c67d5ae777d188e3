"""The meeting cycle (R5 “五个一”, 002_2fd0b28a4b55ec79.txt line 491): each kind of meeting held every month,
quarter or year of the period; a branch's missing months and quarters are named, as warnings, and — with
`effect: standard` — also against the standard of 组织生活好 that claims the cycle was kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .problems import Problem, problem
from .records import BranchResult, Record, Submission
from .rulebook import Rulebook

SHEET = "会议记录"


def check_meetings(rb: Rulebook, sub: Submission, branches: list[BranchResult], year: int) -> list[Problem]:
    spec = rb.data.get("meetings")
    if not spec:
        return []
    held: dict[str, list[Record]] = {}
    for r in sorted(sub.records.get("meetings", []), key=lambda r: r.row):
        held.setdefault(str(r.values.get("branch_code")), []).append(r)
    scores = {str(r.values.get("branch_code")): r for r in sub.records.get("scores", [])}
    problems: list[Problem] = []
    for branch in branches:
        found = [cycle_gaps(c, held.get(branch.branch_code, []), year) for c in spec["cycle"]]
        branch.extras["meetings"] = found
        missing = [f"{f['kind']}缺{'、'.join(f['missing'])}" for f in found if f["missing"]]
        if missing:
            problems.append(_warning(sub, branch, missing, _claimed(rb, scores.get(branch.branch_code))))
    return problems


def cycle_gaps(cycle: dict[str, Any], rows: list[Record], year: int) -> dict[str, Any]:
    dates = [
        d
        for r in rows
        if r.values.get("kind") == cycle["kind"] and (d := _date(r.values.get("date"))) and d.year == year
    ]
    every = cycle["every"]
    if every == "month":
        missing = [f"{m}月" for m in range(1, 13) if not any(d.month == m for d in dates)]
    elif every == "quarter":
        missing = [f"第{q}季度" for q in range(1, 5) if not any((d.month - 1) // 3 + 1 == q for d in dates)]
    else:
        missing = [] if dates else ["全年"]
    return {"kind": cycle["kind"], "every": every, "held": len(dates), "missing": missing}


def _date(value: Any) -> dt.date | None:
    """Dates arrive normalised as ISO text (2026-03-10)."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _claimed(rb: Rulebook, scores: Record | None) -> str:
    """With effect `standard`: the standard scored as met although the records show gaps."""
    spec = rb.data["meetings"]
    if spec["effect"] != "standard" or scores is None:
        return ""
    name = next(i["name"] for i in rb.unit_by_id[spec["unit"]]["items"] if i["id"] == spec["item"])
    for which in ("review", "self"):
        value = scores.values.get(f"{spec['unit']}.{spec['item']}.{which}")
        if value is not None:
            shown = "乡镇评审" if which == "review" else "自评"
            return f"；但“{name}”{shown}得分 {value}，与会议记录不符" if value else ""
    return ""


def _warning(sub: Submission, branch: BranchResult, missing: list[str], claimed: str) -> Problem:
    return problem(
        "SCO_004",
        file=sub.file,
        branch=branch.branch_code,
        sheet=SHEET,
        field="类别",
        detail=f"支部 {branch.branch_code} {branch.name} 未按“五个一”要求开会：{'；'.join(missing)}{claimed}。"
        "请补充会议记录或核实。",
    )
