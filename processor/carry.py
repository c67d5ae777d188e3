"""What an accepted submission carries into next period's prefilled template, as the ledger stores it.

Kept apart from prefill.py (which writes workbooks with openpyxl) so the nightly run, which only stores
these records, does not load a workbook library it never uses.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from .records import Submission

CARRIED_SHEETS = ("branches", "cadres")  # events, vetoes, votes and scores belong to the year they happen in


def submission_records_json(sub: Submission) -> str:
    """The carried sheets' records of one submission, as the ledger keeps them."""
    records = {key: [r.values for r in sub.records.get(key, [])] for key in CARRIED_SHEETS}
    return json.dumps({"template": sub.template, "records": records}, ensure_ascii=False, default=_plain,
                      sort_keys=True)


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in the ledger")
