"""Accounting: every input ends in exactly one state, and no accepted work disappears without a line.

accepted / rejected / superseded (an older submission of the same township: 以最后一次报送为准) /
duplicate (the same bytes again). Decided from the inputs alone, so a rerun decides the same.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .common import shown_date
from .intake import Input
from .problems import problem
from .records import BranchResult, Submission

STATES = ("accepted", "rejected", "superseded", "duplicate")


@dataclass
class Accounted:
    input: Input
    sub: Submission
    branches: list[BranchResult] = field(default_factory=list)  # scored branches (when the file validated)
    state: str = ""
    note: str = ""
    receipt: str = ""
    carried: str = ""  # an accepted file's records, kept in the ledger for next period's prefilled template


def account(accounted: list[Accounted]) -> None:
    """Each input ends in exactly one state. Duplicates first (same bytes), then the newest per township wins."""
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
    by_township: dict[str, list[Accounted]] = {}
    for a in accounted:
        if not a.state and a.sub.township and a.sub.rulebook is not None:
            by_township.setdefault(a.sub.township, []).append(a)
    for group in by_township.values():
        newest = max(group, key=lambda a: _age_key(last_of_hash.get(a.input.sha256) or a))
        sent = last_of_hash.get(newest.input.sha256, newest).input
        for a in group:
            if a is not newest:
                a.state = "superseded"
                a.note = sent.name
                a.sub.problems.append(problem("RUN_001", file=a.input.name, detail=f"{sent.name}，{shown_date(sent.date)}"))
    _supersede_unreadable_by_sender(accounted)
    for a in accounted:
        if not a.state:
            a.state = "accepted" if a.sub.accepted else "rejected"


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
