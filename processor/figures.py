"""A scored branch's figures by name, as rulebook conditions use them (score, rating, unit_total.X, …).

Penalties and adjustments (score.py), county steps and outcomes (county.py) all ask through here.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from .records import BranchResult, Record
from .rulebook import Rulebook


def figure(rb: Rulebook, result: BranchResult, name: str) -> Decimal | None:
    """Branch-level figures for penalties, adjustments and outcomes."""
    kind, _, ref = name.partition(".")
    if name == "score":
        return result.score
    if name == "rating":
        return Decimal(result.rating)
    if name == "qualified":
        return None if result.qualified is None else Decimal(1 if result.qualified else 0)
    if name in ("vote_share", "turnout"):
        return result.figures_cache.get(name)
    if name == "reelection_overdue_days":
        return result.facts.get("reelection_overdue_days")
    if kind == "fact":
        return result.facts.get(ref)
    if kind in ("unit_earned", "unit_total"):
        unit = next((u for u in result.units if u.id == ref), None)
        if unit is None:
            return None
        return Decimal(1 if unit.earned else 0) if kind == "unit_earned" else unit.total
    if kind == "event_count":
        return event_count(ref, rb, result.event_rows)
    return None


def event_count(event_id: str, rb: Rulebook, events: Sequence[Record]) -> Decimal:
    event = next(e for e in rb.events if e["id"] == event_id)
    return Decimal(sum(int(r.values.get("count", 1)) for r in events if r.values.get("event_kind") == event["name"]))
