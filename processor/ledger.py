"""The ledger: an SQLite file recording every run, every input's state and every branch's result.

Written in one transaction after the run's outputs are in place, so an interrupted run leaves no
half-recorded night. The previous period's results give the promotions and demotions (晋星/减星).
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from .errors import RunError

BACKUP_SUFFIX = ".bak"

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
    """The ledger, its tables made or brought up to date; RunError naming the file when it is damaged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path)
        db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
        if "commit_id" not in columns:  # ledgers written before commits were journalled
            db.execute("ALTER TABLE runs ADD COLUMN commit_id TEXT")
    except sqlite3.DatabaseError as exc:
        raise RunError(f"the ledger {path} is damaged ({exc}); move it aside and restore the last good copy "
                       f"{path.name}{BACKUP_SUFFIX} beside it (cp {path}{BACKUP_SUFFIX} {path}), then run again") from None
    return db


def keep_good_copy(path: Path) -> None:
    """After a successful write: a consistent copy beside the ledger, for when the disk fails it."""
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    tmp = path.with_name(path.name + BACKUP_SUFFIX + ".tmp")
    source, target = sqlite3.connect(path), sqlite3.connect(tmp)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    os.replace(tmp, backup)


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
    """One run in one transaction; a run already recorded under its commit id is not recorded again."""
    with connect(path) as db:
        done = db.execute("SELECT id FROM runs WHERE commit_id = ?", (run.get("commit_id"),)).fetchone()
        if done:
            return int(done[0])
        cur = db.execute(
            "INSERT INTO runs (started, finished, inbox, rulebook, period, seed, exit_code, counts, commit_id) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (run["started"], run["finished"], run["inbox"], run["rulebook"], run["period"], str(run["seed"]),
             run["exit_code"], json.dumps(run["counts"], ensure_ascii=False), run.get("commit_id")))
        run_id = int(cur.lastrowid or 0)
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
