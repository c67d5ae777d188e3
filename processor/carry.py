"""What an accepted submission carries into next period's prefilled template, as the ledger stores it.

Kept apart from prefill.py (which writes workbooks with openpyxl) so the nightly run, which only stores
these records, does not load a workbook library it never uses.
"""
from __future__ import annotations

import datetime as dt
import json
import zlib
from decimal import Decimal
from typing import Any

from .records import Submission

CARRIED_SHEETS = ("branches", "cadres")  # events, vetoes, votes and scores belong to the year they happen in


def submission_records_json(sub: Submission) -> str:
    """The carried sheets' records of one submission, as the ledger keeps them."""
    records = {key: [r.values for r in sub.records.get(key, [])] for key in CARRIED_SHEETS}
    return json.dumps({"template": sub.template, "records": records}, ensure_ascii=False, default=_plain,
                      sort_keys=True)


def packed(records_json: str) -> bytes:
    """The records as the run holds them until the ledger is written: compressed (a township's are ~40 KB of
    JSON, ~80 KB as a str; at a province's two thousand townships that is 160 MB of the run's memory)."""
    return zlib.compress(records_json.encode("utf-8"), 1) if records_json else b""


def unpacked(data: bytes) -> str:
    return zlib.decompress(data).decode("utf-8") if data else ""


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the ledger")
