"""What an accepted submission carries into next period's prefilled template, as the ledger stores it.

Kept apart from prefill.py (which writes workbooks with openpyxl) so the nightly run, which only stores
these records, does not load a workbook library it never uses.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any, TypeVar

from .common import MadeWhenRead
from .ledger import packed_records, records_text
from .records import Submission

T = TypeVar("T")
CARRIED_SHEETS = ("branches", "cadres")  # events, vetoes, votes and scores belong to the year they happen in


def submission_records_json(sub: Submission) -> str:
    """The carried sheets' records of one submission, as the ledger keeps them."""
    records = {key: [r.values for r in sub.records.get(key, [])] for key in CARRIED_SHEETS}
    return json.dumps({"template": sub.template, "records": records}, ensure_ascii=False, default=_plain,
                      sort_keys=True)


class _PackedView(MadeWhenRead[tuple[str, bytes], T]):
    """Each accepted submission's (township, packed records), each shown as `_shown` makes it only while it is read."""

    def __init__(self, items: list[tuple[str, bytes]]) -> None:
        super().__init__(items, lambda pair: self._shown(*pair))

    def _shown(self, township: str, data: bytes) -> T:
        raise NotImplementedError


class CarriedRecords(_PackedView[tuple[str, str]]):
    """(township, records JSON) of each accepted submission, as the ledger record lists them, each unpacked only
    while it is read: the staged record and the ledger take them one at a time, so a province's ~160 MB of
    records JSON is never in memory at once (at the commit it was the run's peak)."""

    def _shown(self, township: str, data: bytes) -> tuple[str, str]:
        return township, records_text(data)

    def packed_items(self) -> list[tuple[str, bytes]]:
        """(township, packed records) of each: what the ledger stores, never unpacked on the way."""
        return list(self._items)

    def staged(self) -> StagedCarried:
        """As the staged ledger record keeps them (publish.stage_ledger_record): still compressed."""
        return StagedCarried(list(self._items))


class StagedCarried(_PackedView[tuple[str, dict[str, str]]]):
    """(township, {"zlib": base64 of the packed records}) of each accepted submission: the staged ledger record's
    form of them. Written as text, each township's records JSON was quoted again inside the record's JSON, in the
    commit, with a processor idle: at 400 townships the staged record was 26.7 MB in 0.20 s, packed 10.3 MB in
    0.12 s. `carried_text` reads either form."""

    def _shown(self, township: str, data: bytes) -> tuple[str, dict[str, str]]:
        return township, {"zlib": base64.b64encode(data).decode("ascii")}


def carried_text(value: str | dict[str, str]) -> str:
    """The records JSON of a staged record's carried entry: packed (StagedCarried) or text (a record the run held
    in memory, or one staged as text by an earlier version)."""
    return records_text(base64.b64decode(value["zlib"])) if isinstance(value, dict) else value


def carried_packed(value: str | dict[str, str]) -> bytes:
    """A staged record's carried entry as the ledger stores it (`carried_text`'s, left packed)."""
    return base64.b64decode(value["zlib"]) if isinstance(value, dict) else packed_records(value)


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the ledger")
