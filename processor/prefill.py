"""Prefilled templates: next period's workbook already holds what the county knows from this one.

The run stores the records of every accepted submission in the ledger (`record_accepted`). A year
later `starbatch template --prefill` writes one workbook per township with last period's branches and
cadres (roles, monthly pay), collective income and the like; the 评分 sheet lists the branches with
their scores blank and last period's rating as a note. Carried cells are marked for the clerk to check.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .carry import CARRIED_SHEETS, submission_records_json
from .fill import prefill_template
from .ledger import previous_results, record_submission_records, submission_records
from .rulebook import Rulebook, load_rulebook
from .sheets import sheets_for
from .validate import Submission

YEARLY_FIELDS = {"target_assessment_score"}  # assessed anew every year: left blank
SCORE_IDENTITY = ("branch_code", "branch_name")  # each branch gets its 评分 row, scores blank


@dataclass
class Prefill:
    township: str
    template: str  # the template id the records were submitted with
    rows: dict[str, list[dict[str, Any]]]  # sheet key -> [{field id: value}]
    previous: dict[str, str]  # branch code -> last period's rating in words


def record_accepted(ledger_path: Path, period: int, subs: list[Submission]) -> None:
    """Store the records of the period's accepted submissions (called by the run after its ledger write)."""
    for sub in subs:
        if sub.accepted and sub.township:
            record_submission_records(ledger_path, period, sub.township, submission_records_json(sub))


def prefill_data(ledger_path: Path, period: int, township: str | None = None) -> list[Prefill]:
    """What the ledger knows from the period before `period`, one entry per township (sorted)."""
    stored = submission_records(ledger_path, period - 1)
    chosen = sorted(t for t in stored if township is None or t == township)
    return [_prefill(t, json.loads(stored[t])) for t in chosen]


def write_prefilled(ledger_path: Path, period: int, out_dir: Path, rulebook: Rulebook | None = None,
                    township: str | None = None) -> list[Path]:
    """One prefilled workbook per township (rulebook: the one last period's submissions used, if not given)."""
    written = []
    for data in prefill_data(ledger_path, period, township):
        book = rulebook or load_rulebook(data.template)
        data.previous = _ratings(ledger_path, book, period, data.township)
        written.append(_write(book, data, period, out_dir))
    return written


def _prefill(township: str, stored: dict[str, Any]) -> Prefill:
    rows = {key: [{k: v for k, v in r.items() if k not in YEARLY_FIELDS} for r in stored["records"].get(key, [])]
            for key in CARRIED_SHEETS}
    rows["scores"] = [{k: r.get(k) for k in SCORE_IDENTITY} for r in rows["branches"]]
    return Prefill(township=township, template=stored.get("template", ""), rows=rows, previous={})


def _ratings(ledger_path: Path, rulebook: Rulebook, period: int, township: str) -> dict[str, str]:
    results = previous_results(ledger_path, rulebook.template_id, period)
    return {code: _rating_text(r) for (t, code), r in results.items() if t == township}


def _rating_text(result: dict[str, Any]) -> str:
    grade = f"，{result['grade']}" if result.get("grade") else ""
    return f"{result['rating']}星{grade}"


def _write(rulebook: Rulebook, data: Prefill, period: int, out_dir: Path) -> Path:
    rows = {key: [_typed(rulebook, key, r) for r in records] for key, records in data.rows.items()}
    notes = {"scores": {i: f"上年（{period - 1}年度）评定：{data.previous[r['branch_code']]}（仅供参考）"
                        for i, r in enumerate(rows["scores"], 2) if r.get("branch_code") in data.previous}}
    heading = (f"本表已按{period - 1}年度报送预填：浅蓝底纹的单元格沿用上年数据，请逐项核对后再填写评分；"
               "“评分”表支部名称上的批注是上年评定结果，仅供参考。")
    path = out_dir / f"{data.township}_{rulebook.template_id}_{period}_预填.xlsx"
    return prefill_template(rulebook, path, {"township": data.township, "period": period}, rows, notes, heading)


def _typed(rulebook: Rulebook, key: str, record: dict[str, Any]) -> dict[str, Any]:
    """Stored values back to what a cell should hold: numbers as numbers, dates as dates."""
    fields = {f.id: f for sheet in sheets_for(rulebook) if sheet.key == key for f in sheet.fields}
    return {fid: _cell_value(fields[fid].kind, fields[fid].type, v) for fid, v in record.items()
            if fid in fields and v is not None}


def _cell_value(kind: str, json_type: str, value: Any) -> Any:
    if kind == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind == "percent":
        return f"{value}%"
    if json_type == "integer" and isinstance(value, str | int):
        return int(value)
    if json_type == "number" or kind == "money":
        return Decimal(str(value))
    return value
