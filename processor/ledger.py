"""The ledger: an SQLite file recording every run, every input's state and every branch's result.

Written in one transaction after the run's outputs are in place, so an interrupted run leaves no
half-recorded night. The previous period's results give the promotions and demotions (晋星/减星).
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT NOT NULL, inbox TEXT NOT NULL,
    rulebook TEXT NOT NULL, period INTEGER NOT NULL, seed TEXT NOT NULL, exit_code INTEGER NOT NULL,
    counts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inputs (
    run_id INTEGER NOT NULL REFERENCES runs(id), sha256 TEXT NOT NULL, name TEXT NOT NULL, origin TEXT NOT NULL,
    sender TEXT, subject TEXT, message_id TEXT, sent TEXT, township TEXT, period INTEGER, state TEXT NOT NULL,
    errors INTEGER NOT NULL, warnings INTEGER NOT NULL, receipt TEXT
);
CREATE TABLE IF NOT EXISTS branch_results (
    run_id INTEGER NOT NULL REFERENCES runs(id), period INTEGER NOT NULL, rulebook TEXT NOT NULL,
    township TEXT NOT NULL, branch_code TEXT NOT NULL, name TEXT, rating INTEGER NOT NULL, grade TEXT,
    qualified INTEGER, score TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS branch_results_period ON branch_results(period, rulebook, township, branch_code);
CREATE TABLE IF NOT EXISTS replies (
    message_id TEXT, sha256 TEXT NOT NULL, sent TEXT NOT NULL, receipts TEXT NOT NULL, transport TEXT NOT NULL,
    recipient TEXT
);
CREATE INDEX IF NOT EXISTS replies_sha256 ON replies(sha256);
"""


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    return db


def previous_results(path: Path, rulebook: str, period: int) -> dict[tuple[str, str], dict[str, Any]]:
    """The latest recorded result of every branch in the period before this one."""
    if not path.exists():
        return {}
    with connect(path) as db:
        run = db.execute("SELECT max(run_id) FROM branch_results WHERE period = ? AND rulebook = ?",
                         (period - 1, rulebook)).fetchone()[0]
        if run is None:
            return {}
        rows = db.execute("SELECT township, branch_code, name, rating, grade FROM branch_results WHERE run_id = ?",
                          (run,)).fetchall()
    return {(t, c): {"name": n, "rating": r, "grade": g} for t, c, n, r, g in rows}


def previous_townships(path: Path, rulebook: str, period: int) -> list[str]:
    return sorted({t for t, _ in previous_results(path, rulebook, period)})


def record_run(path: Path, run: dict[str, Any], inputs: list[dict[str, Any]], branches: list[dict[str, Any]]) -> int:
    with connect(path) as db:
        cur = db.execute(
            "INSERT INTO runs (started, finished, inbox, rulebook, period, seed, exit_code, counts) VALUES (?,?,?,?,?,?,?,?)",
            (run["started"], run["finished"], run["inbox"], run["rulebook"], run["period"], str(run["seed"]),
             run["exit_code"], json.dumps(run["counts"], ensure_ascii=False)))
        run_id = cur.lastrowid
        db.executemany(
            "INSERT INTO inputs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(run_id, i["sha256"], i["file"], i["origin"], i["sender"], i["subject"], i["message_id"], i["date"],
              i["township"], i["period"], i["state"], i["errors"], i["warnings"], i["receipt"]) for i in inputs])
        db.executemany(
            "INSERT INTO branch_results VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(run_id, run["period"], run["rulebook"], b["township"], b["branch_code"], b["name"], b["rating"],
              b["grade"], None if b["qualified"] is None else int(b["qualified"]), b["score"]) for b in branches])
    return run_id


def replied(path: Path) -> tuple[set[str], set[str]]:
    """Messages already answered (processor/mail.py): sha256 of their raw bytes, and their Message-IDs."""
    if not path.exists():
        return set(), set()
    with connect(path) as db:
        rows = db.execute("SELECT sha256, message_id FROM replies").fetchall()
    return {s for s, _ in rows}, {m for _, m in rows if m}


def record_reply(path: Path, reply: dict[str, Any]) -> None:
    """One reply sent (or written to the outbox), recorded at once so a rerun never sends it again."""
    with connect(path) as db:
        db.execute("INSERT INTO replies (message_id, sha256, sent, receipts, transport, recipient) VALUES (?,?,?,?,?,?)",
                   (reply["message_id"], reply["sha256"], reply["sent"], json.dumps(reply["receipts"], ensure_ascii=False),
                    reply["transport"], reply.get("recipient", "")))


# The records of accepted submissions, kept so next period's templates can be prefilled (processor/prefill.py).
# A table of its own, created on first use: older ledgers gain it without a migration.
PREFILL_SCHEMA = """
CREATE TABLE IF NOT EXISTS submission_records (
    id INTEGER PRIMARY KEY, period INTEGER NOT NULL, township TEXT NOT NULL, records TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submission_records_period ON submission_records(period, township);
"""


def record_submission_records(path: Path, period: int, township: str, records_json: str) -> None:
    """The records of one accepted submission; a later call for the same township and period supersedes it."""
    with connect(path) as db:
        db.executescript(PREFILL_SCHEMA)
        db.execute("INSERT INTO submission_records (period, township, records) VALUES (?,?,?)",
                   (period, township, records_json))


def submission_records(path: Path, period: int) -> dict[str, str]:
    """The last recorded records JSON of every township in the period."""
    if not path.exists():
        return {}
    with connect(path) as db:
        db.executescript(PREFILL_SCHEMA)
        rows = db.execute("SELECT township, records FROM submission_records WHERE period = ? ORDER BY id",
                          (period,)).fetchall()
    return dict(rows)
