"""Accounting: every input ends in exactly one state, and no accepted work disappears without a line.

accepted / rejected / superseded (an older submission of the same township: 以最后一次报送为准) /
duplicate (the same bytes again) / held (a newer file that would drop branches or cadres of the accepted one:
the accepted one stays in force until the operator confirms the shrink). Decided from the inputs alone, so a rerun decides the same.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from .common import shown_date
from .intake import Input
from .problems import problem
from .records import BranchResult, Submission

STATES = ("accepted", "rejected", "superseded", "duplicate", "held")


@dataclass
class Accounted:
    input: Input
    sub: Submission
    branches: list[BranchResult] = field(default_factory=list)  # scored branches (when the file validated)
    state: str = ""
    note: str = ""
    receipt: str = ""
    carried: bytes = b""  # the records next period's template carries over, packed (ledger.packed_records)
    lost: str = ""  # held: what would disappear if it replaced the file in force


def account(accounted: list[Accounted], accept_shrink: Collection[str] = ()) -> None:
    """Each input ends in exactly one state. Duplicates first (same bytes), then per township the newest wins —
    unless it would make accepted work disappear (fewer branches or cadres, or a rejected file replacing an
    accepted one): then it is held (or rejected) and the older file stays in force, with a line that says so.
    ACCEPT_SHRINK names the files the operator has confirmed may shrink their township."""
    last_of_hash = _mark_duplicates(accounted)
    by_township: dict[str, list[Accounted]] = {}
    for a in accounted:
        if not a.state and a.sub.township and a.sub.rulebook is not None:
            by_township.setdefault(a.sub.township, []).append(a)
    for group in by_township.values():
        ordered = sorted(group, key=lambda a: _age_key(last_of_hash.get(a.input.sha256) or a))
        winner = _in_force(ordered, set(accept_shrink))
        sent = last_of_hash.get(winner.input.sha256, winner).input
        for a in ordered:
            if a is not winner and not a.state:
                if a.sub.accepted or not winner.sub.accepted or _age_key(a) < _age_key(winner):
                    a.state, a.note = "superseded", sent.name
                    a.sub.problems.append(problem("RUN_001", file=a.input.name,
                                                  detail=f"{sent.name}，{shown_date(sent.date)}"))
    _supersede_unreadable_by_sender(accounted)
    for a in accounted:
        if not a.state:
            a.state = "accepted" if a.sub.accepted else "rejected"


def files_in_force(accounted: list[Accounted]) -> dict[str, str]:
    """Township → the name of its accepted file (the one its figures come from tonight)."""
    return {a.sub.township: a.input.name for a in accounted if a.state == "accepted" and a.sub.township}


def _mark_duplicates(accounted: list[Accounted]) -> dict[str, Accounted]:
    """Same bytes again: a duplicate of the first copy. Returns the latest copy of every content."""
    first_of_hash: dict[str, Accounted] = {}
    last_of_hash: dict[str, Accounted] = {}  # a workbook sent again is as new as its latest copy
    for a in sorted(accounted, key=_age_key):
        if a.input.size and a.input.sha256 in first_of_hash:
            a.state = "duplicate"
            a.note = first_of_hash[a.input.sha256].input.name
            a.sub.problems.append(problem("RUN_002", file=a.input.name, detail=a.note))
            last_of_hash[a.input.sha256] = a
        else:
            first_of_hash.setdefault(a.input.sha256, a)
    return last_of_hash


def _in_force(ordered: list[Accounted], confirmed: set[str]) -> Accounted:
    """The submission that stands for the township (ORDERED oldest first). A newer file that would lose
    branches or cadres of the accepted one before it is held; a newer rejected file leaves it in force."""
    for n in range(len(ordered) - 1, 0, -1):
        newest, before = ordered[n], _last_accepted(ordered[:n])
        if before is None:
            return newest
        if not newest.sub.accepted:
            continue  # stays rejected with its receipt; the accepted one before it is still used
        lost = shrinkage(before, newest)
        if not lost or newest.input.name in confirmed:
            return newest
        newest.state, newest.note, newest.lost = "held", before.input.name, lost
        newest.sub.problems.append(problem("RUN_005", file=newest.input.name, value=before.input.name,
                                           detail=lost))
    return ordered[0]


def _last_accepted(older: list[Accounted]) -> Accounted | None:
    return next((a for a in reversed(older) if a.sub.accepted), None)


def shrinkage(before: Accounted, after: Accounted) -> str:
    """What would disappear if AFTER replaced BEFORE: branches and cadres by code and name ('' when nothing)."""
    branches = {b.branch_code: b.name for b in before.branches}
    kept = {b.branch_code for b in after.branches}
    gone_branches = [f"{code} {name}".strip() for code, name in sorted(branches.items()) if code not in kept]
    cadres = _cadres(before) - _cadres(after)
    gone_cadres = [f"{code} {name}" for code, name in sorted(cadres) if code in kept]
    parts = []
    if gone_branches:
        parts.append(f"支部 {len(gone_branches)} 个（{'、'.join(gone_branches[:10])}{'等' if len(gone_branches) > 10 else ''}）")
    if gone_cadres:
        parts.append(f"村干部 {len(gone_cadres)} 名（{'、'.join(gone_cadres[:10])}{'等' if len(gone_cadres) > 10 else ''}）")
    return "；".join(parts)


def _cadres(a: Accounted) -> set[tuple[str, str]]:
    return {(b.branch_code, str(c.values.get("name", ""))) for b in a.branches for c in b.cadres}


def _supersede_unreadable_by_sender(accounted: list[Accounted]) -> None:
    """A submission whose township could not be read is replaced by a newer one from the same sender,
    so a broken first send does not stay rejected every night after the township resent it."""
    for a in accounted:
        if a.state or a.sub.township or not a.input.sender:
            continue
        newer = [b for b in accounted if b is not a and b.input.sender == a.input.sender
                 and b.state != "duplicate" and _age_key(b) > _age_key(a)]
        if newer:
            latest = max(newer, key=_age_key)
            a.state, a.note = "superseded", latest.input.name
            a.sub.problems.append(problem("RUN_001", file=a.input.name,
                                          detail=f"{latest.input.name}，{shown_date(latest.input.date)}，同一发件人"))


def _age_key(a: Accounted) -> tuple[dt.datetime, str, str]:
    """Older first: message date, else file time; then where it came from, so ties are stable."""
    date = a.input.date or dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return (date, a.input.origin, a.input.name)
