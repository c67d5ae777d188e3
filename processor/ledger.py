"""The ledger: an SQLite file recording every run, every input's state and every branch's result.

Written in one transaction after the run's outputs are in place, so an interrupted run leaves no
half-recorded night. The previous period's results give the promotions and demotions (晋星/减星).
"""
from __future__ import annotations

import json
import os
import sqlite3
import zlib
from collections.abc import Iterable
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
    recipient TEXT, reply_id TEXT, state TEXT NOT NULL DEFAULT 'sent', answer TEXT, raw BLOB
);
CREATE INDEX IF NOT EXISTS replies_sha256 ON replies(sha256);
CREATE TABLE IF NOT EXISTS reminders (
    period INTEGER NOT NULL, township TEXT NOT NULL, day TEXT NOT NULL, deadline TEXT NOT NULL,
    recipient TEXT NOT NULL, message_id TEXT NOT NULL, state TEXT NOT NULL, answer TEXT, transport TEXT,
    recorded TEXT NOT NULL, raw BLOB, PRIMARY KEY (period, township, day)
);
"""
# Columns the replies table gained after ledgers were already in use (added on first use; old rows were sent).
REPLY_COLUMNS = {"reply_id": "TEXT", "state": "TEXT NOT NULL DEFAULT 'sent'", "answer": "TEXT", "raw": "BLOB"}
UNSENT = ("sending", "deferred")  # a message whose fate is unknown or that the server asked to retry


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


def last_rulebook(path: Path) -> str | None:
    """The template id of the last run recorded in this ledger."""
    if not path.exists():
        return None
    with connect(path) as db:
        row = db.execute("SELECT rulebook FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def previous_townships(path: Path, rulebook: str, period: int) -> list[str]:
    return sorted({t for t, _ in previous_results(path, rulebook, period)})


def record_run(path: Path, run: dict[str, Any], inputs: list[dict[str, Any]], branches: Iterable[dict[str, Any]],
               carried: Iterable[tuple[str, str | bytes]] = (), procedure: dict[str, Any] | None = None,
               rows: Path | None = None) -> int:
    """One run in one transaction; a run already recorded under its commit id is not recorded again.

    CARRIED: (township, records JSON or packed_records of it) of each accepted submission, for next period's
    prefilled templates.
    PROCEDURE: every branch's status (who set it, when, from which file) and the payable finance version issued.
    ROWS: branch results and statuses staged by `stage_rows`, recorded after BRANCHES and PROCEDURE's.
    """
    db = connect(path)
    try:
        db.executescript(PREFILL_SCHEMA)
        db.executescript(PROCEDURE_SCHEMA)
        done = db.execute("SELECT id FROM runs WHERE commit_id = ?", (run.get("commit_id"),)).fetchone()
        if done:
            return int(done[0])
        if rows is not None:
            db.execute("ATTACH DATABASE ? AS staged", (str(rows),))  # outside the transaction, as SQLite asks
        with db:
            return _record(db, run, inputs, branches, carried, procedure, rows is not None)
    finally:
        db.close()


def _record(db: sqlite3.Connection, run: dict[str, Any], inputs: list[dict[str, Any]], branches: Iterable[dict[str, Any]],
            carried: Iterable[tuple[str, str | bytes]], procedure: dict[str, Any] | None, staged: bool) -> int:
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
    for township, records in carried:  # one at a time: a province's are ~160 MB
        _store_records(db, run["period"], township, records)
    if procedure:
        _record_procedure(db, run_id, run, procedure)
    if staged:
        _record_staged(db, run_id, run)
    return run_id


# The rows of a run that grow with its branches, staged beside its outputs (`stage_rows`) by a writer job while the
# other jobs write: a province's 200,000 rows took the commit 0.6 s, with its other processors idle, to bind one by
# one (the same statements copy them from the staged file in 0.12 s). Without the run's id, period and rulebook,
# which the commit adds.
STAGED_SCHEMA = """
CREATE TABLE branch_results (township, branch_code, name, rating, grade, qualified, score);
CREATE TABLE branch_status (township, branch_code, status, set_by, set_on, file);
"""


def stage_rows(path: Path, branches: Iterable[tuple[Any, ...]], statuses: Iterable[tuple[Any, ...]]) -> None:
    """BRANCHES (township, branch_code, name, rating, grade, qualified as 0/1/None, score) and STATUSES (township,
    branch_code, status, set_by, set_on, file), in their order, written to the SQLite file PATH for `record_run`:
    written beside it and renamed, so a file of that name is whole."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        # A new file of its own, renamed into place when whole: neither a journal nor a flush to the disk is needed,
        # as for the run's other staged files.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.executescript(STAGED_SCHEMA)
        with db:
            db.executemany("INSERT INTO branch_results VALUES (?,?,?,?,?,?,?)", branches)
            db.executemany("INSERT INTO branch_status VALUES (?,?,?,?,?,?)", statuses)
    finally:
        db.close()
    os.replace(tmp, path)


def _record_staged(db: sqlite3.Connection, run_id: int, run: dict[str, Any]) -> None:
    key = (run_id, run["period"], run["rulebook"])
    db.execute("INSERT INTO branch_results SELECT ?, ?, ?, township, branch_code, name, rating, grade, qualified, score "
               "FROM staged.branch_results ORDER BY rowid", key)
    db.execute("INSERT INTO branch_status SELECT ?, ?, ?, township, branch_code, status, set_by, set_on, file "
               "FROM staged.branch_status ORDER BY rowid", key)


# The rating procedure (processor/procedure.py): each run's status of every branch, and each payable version of
# the finance workbook that was issued. Tables of their own, created on first use.
PROCEDURE_SCHEMA = """
CREATE TABLE IF NOT EXISTS branch_status (
    run_id INTEGER NOT NULL, period INTEGER NOT NULL, rulebook TEXT NOT NULL, township TEXT NOT NULL,
    branch_code TEXT NOT NULL, status TEXT NOT NULL, set_by TEXT NOT NULL, set_on TEXT NOT NULL, file TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS branch_status_period ON branch_status(period, rulebook, township, branch_code);
CREATE TABLE IF NOT EXISTS finance_versions (
    period INTEGER NOT NULL, rulebook TEXT NOT NULL, version INTEGER NOT NULL, issued_on TEXT NOT NULL,
    run_id INTEGER NOT NULL, total TEXT NOT NULL, lines TEXT NOT NULL, PRIMARY KEY (period, rulebook, version)
);
"""


def _record_procedure(db: sqlite3.Connection, run_id: int, run: dict[str, Any], procedure: dict[str, Any]) -> None:
    db.executemany("INSERT INTO branch_status VALUES (?,?,?,?,?,?,?,?,?)",
                   [(run_id, run["period"], run["rulebook"], s["township"], s["branch_code"], s["status"],
                     s["set_by"], s["set_on"], s["file"]) for s in procedure.get("statuses", [])])
    issue = procedure.get("issue")
    if issue:  # a rerun issuing the same version records nothing new
        db.execute("INSERT OR IGNORE INTO finance_versions VALUES (?,?,?,?,?,?,?)",
                   (run["period"], run["rulebook"], issue["version"], issue["issued_on"], run_id, issue["total"],
                    json.dumps(issue["lines"], ensure_ascii=False, sort_keys=True)))


def issued_versions(path: Path, rulebook: str, period: int) -> list[dict[str, Any]]:
    """The payable versions of the period's finance workbook issued so far, oldest first."""
    if not path.exists():
        return []
    with connect(path) as db:
        db.executescript(PROCEDURE_SCHEMA)
        rows = db.execute("SELECT version, issued_on, total, lines FROM finance_versions WHERE period = ? AND "
                          "rulebook = ? ORDER BY version", (period, rulebook)).fetchall()
    return [{"version": v, "issued_on": d, "total": t, "lines": json.loads(lines)} for v, d, t, lines in rows]


def branch_statuses(path: Path, rulebook: str, period: int) -> list[dict[str, Any]]:
    """The statuses the last recorded run of the period gave."""
    if not path.exists():
        return []
    with connect(path) as db:
        db.executescript(PROCEDURE_SCHEMA)
        rows = db.execute("SELECT township, branch_code, status, set_by, set_on, file FROM branch_status WHERE "
                          "run_id = (SELECT max(run_id) FROM branch_status WHERE period = ? AND rulebook = ?) "
                          "ORDER BY township, branch_code", (period, rulebook)).fetchall()
    keys = ("township", "branch_code", "status", "set_by", "set_on", "file")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _replies_db(path: Path) -> sqlite3.Connection:
    db = connect(path)
    have = {row[1] for row in db.execute("PRAGMA table_info(replies)")}
    for name, kind in REPLY_COLUMNS.items():
        if name not in have:
            db.execute(f"ALTER TABLE replies ADD COLUMN {name} {kind}")
    return db


def replied(path: Path) -> tuple[set[str], set[str]]:
    """Messages answered or being answered (processor/mail): sha256 of their raw bytes, and their Message-IDs."""
    if not path.exists():
        return set(), set()
    with _replies_db(path) as db:
        rows = db.execute("SELECT sha256, message_id FROM replies").fetchall()
    return {s for s, _ in rows}, {m for _, m in rows if m}


def record_reply_intents(path: Path, replies: list[dict[str, Any]], when: str) -> None:
    """Replies about to be sent, with their bytes and Message-ID, in one transaction (state 'sending')."""
    with _replies_db(path) as db:
        db.executemany(
            "INSERT INTO replies (message_id, sha256, sent, receipts, transport, recipient, reply_id, state, raw) "
            "VALUES (?,?,?,?,?,?,?,'sending',?)",
            [(r["message_id"], r["sha256"], when, json.dumps(r["receipts"], ensure_ascii=False), "",
              r["recipient"], r["reply_id"], r["raw"]) for r in replies])


def unsent_replies(path: Path) -> list[dict[str, Any]]:
    """Replies recorded but not known to be delivered: sent again with the same bytes (same Message-ID)."""
    if not path.exists():
        return []
    with _replies_db(path) as db:
        rows = db.execute(f"SELECT sha256, recipient, reply_id, raw FROM replies WHERE state IN {UNSENT} "
                          "AND raw IS NOT NULL ORDER BY rowid").fetchall()
    return [{"sha256": s, "recipient": r, "reply_id": i, "raw": raw} for s, r, i, raw in rows]


def mark_reply(path: Path, sha256: str, state: str, answer: str, transport: str, when: str) -> None:
    """What happened to a reply; its bytes are kept only while it may have to be sent again."""
    with _replies_db(path) as db:
        db.execute(f"UPDATE replies SET state = ?, answer = ?, transport = ?, sent = ?, "
                   f"raw = CASE WHEN ? IN {UNSENT} THEN raw END WHERE sha256 = ? AND state IN {UNSENT}",
                   (state, answer, transport, when, state, sha256))


# --- reminders (starbatch remind) -------------------------------------------------------------------

def submitted_townships(path: Path, period: int) -> set[str]:
    """Townships with an accepted or rejected submission for the period, in any run."""
    if not path.exists():
        return set()
    with connect(path) as db:
        rows = db.execute("SELECT DISTINCT i.township FROM inputs i JOIN runs r ON r.id = i.run_id "
                          "WHERE r.period = ? AND i.state IN ('accepted', 'rejected') AND i.township <> ''",
                          (period,)).fetchall()
    return {t for (t,) in rows}


def last_accepted_sender(path: Path, township: str) -> str:
    """The From: of the township's most recent accepted message (any period); '' when none."""
    if not path.exists():
        return ""
    with connect(path) as db:
        row = db.execute("SELECT sender FROM inputs WHERE township = ? AND state = 'accepted' AND sender <> '' "
                         "ORDER BY run_id DESC, sent DESC LIMIT 1", (township,)).fetchone()
    return row[0] if row else ""


def reminders_on(path: Path, period: int, day: str) -> dict[str, dict[str, Any]]:
    """The reminders recorded for the period on that day (China date), by township."""
    if not path.exists():
        return {}
    with connect(path) as db:
        rows = db.execute("SELECT township, state, recipient, message_id, raw FROM reminders "
                          "WHERE period = ? AND day = ?", (period, day)).fetchall()
    return {t: {"state": s, "recipient": r, "message_id": m, "raw": raw} for t, s, r, m, raw in rows}


def record_reminder_intents(path: Path, reminders: list[dict[str, Any]], when: str) -> None:
    with connect(path) as db:
        db.executemany(
            "INSERT INTO reminders (period, township, day, deadline, recipient, message_id, state, recorded, raw) "
            "VALUES (?,?,?,?,?,?,'sending',?,?)",
            [(r["period"], r["township"], r["day"], r["deadline"], r["recipient"], r["message_id"], when, r["raw"])
             for r in reminders])


def mark_reminder(path: Path, key: tuple[int, str, str], state: str, answer: str, transport: str, when: str) -> None:
    """KEY is (period, township, day)."""
    with connect(path) as db:
        db.execute(f"UPDATE reminders SET state = ?, answer = ?, transport = ?, recorded = ?, "
                   f"raw = CASE WHEN ? IN {UNSENT} THEN raw END WHERE period = ? AND township = ? AND day = ?",
                   (state, answer, transport, when, state, *key))


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
        _store_records(db, period, township, records_json)


def packed_records(records_json: str) -> bytes:
    """A township's records JSON as the ledger stores it: deflated (level 1). A province's were ~160 MB of text a
    period, written into the ledger in the commit and copied again into its good copy (~0.4 s of each at this size),
    for ~35 MB deflated. The same text always gives the same bytes, so an unchanged file is recognised."""
    return zlib.compress(records_json.encode("utf-8"), 1) if records_json else b""


def records_text(stored: str | bytes) -> str:
    """The records JSON of a stored row: deflated (packed_records), or text as ledgers before 2026-12-05 hold it."""
    if isinstance(stored, str):
        return stored
    return zlib.decompress(stored).decode("utf-8") if stored else ""


def _store_records(db: sqlite3.Connection, period: int, township: str, records: str | bytes) -> None:
    """Stored unless they are what the ledger holds last for the township and period. The file in force is read
    again every night, and its records stored again each time grew the samples' ledger by ~130,000 characters a night
    (a province's by ~160 MB), which the good copy beside the ledger, made again after every run, copies too.
    RECORDS: the JSON text, or packed_records of it (the run holds them packed)."""
    stored = records if isinstance(records, bytes) else packed_records(records)
    last = db.execute("SELECT records FROM submission_records WHERE period = ? AND township = ? ORDER BY id DESC LIMIT 1",
                      (period, township)).fetchone()
    if last is not None and (last[0] == stored or isinstance(last[0], str) and last[0] == records_text(stored)):
        return
    db.execute("INSERT INTO submission_records (period, township, records) VALUES (?,?,?)", (period, township, stored))


def submission_records(path: Path, period: int) -> dict[str, str]:
    """The last recorded records JSON of every township in the period."""
    if not path.exists():
        return {}
    with connect(path) as db:
        db.executescript(PREFILL_SCHEMA)
        rows = db.execute("SELECT township, records FROM submission_records WHERE period = ? ORDER BY id",
                          (period,)).fetchall()
    return {township: records_text(records) for township, records in rows}
