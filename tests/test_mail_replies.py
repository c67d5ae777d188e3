"""Replies exactly once (`starbatch run INBOX --reply --smtp …` against a real aiosmtpd on loopback): a recipient
refused for good is recorded and skipped while the others are answered; a run killed right after the server
accepted a reply sends it again with the same Message-ID and bytes, and nothing else twice."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from mail_servers import mail_cert, smtp_refusing  # noqa: F401 (fixtures)
from processor import ledger
from processor.paths import ROOT
from run_helpers import Attachment, at, build_message, run_args, run_cli, workbook_bytes, write

HK, CG, SQ = "hk@township.example.cn", "cg@township.example.cn", "sq@township.example.cn"


def inbox_of_three(inbox: Path) -> dict[str, str]:
    """Three township messages, in this order on disk (and so in the reply loop): 河口镇, 城关镇, 石桥乡.
    Returns address → the Message-ID of the message it sent."""
    sent = {HK: "<hk@township.example.cn>", CG: "<cg@township.example.cn>", SQ: "<sq@township.example.cn>"}
    for n, (address, township, counts) in enumerate([(HK, "河口镇", [4, 1, 0]), (CG, "城关镇", [5, 3, 2]),
                                                     (SQ, "石桥乡", [1, 1, 1])]):
        write(inbox / f"m{n}.eml", build_message(
            sender=(f"{township}组织办", address), subject=f"{township}报送", date=at(10 + n), message_id=sent[address],
            attachments=[Attachment(f"{township}.xlsx", workbook_bytes(township, counts))]))
    return sent


def reply_rows(out: Path) -> dict[str, tuple]:
    with sqlite3.connect(out / "ledger.sqlite") as db:
        rows = db.execute("SELECT recipient, state, answer, reply_id, raw FROM replies").fetchall()
    return {r[0]: r[1:] for r in rows}


def smtp_args(server, *extra: str) -> list[str]:
    return ["--reply", "--smtp", server.url(), "--mail-plaintext", *extra]


def test_one_recipient_refused_550__others_answered__recorded__never_retried(tmp_path, smtp_refusing):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox_of_three(inbox)
    smtp_refusing.handler.answers[CG] = "550 5.1.1 <cg@township.example.cn>: Recipient address rejected"
    code, summary, err = run_cli(*run_args(inbox, out, *smtp_args(smtp_refusing)))
    assert code == 0, err  # all three accepted; a refused reply is not a failed run
    assert sorted(to for _, [to], _ in smtp_refusing.handler.received) == [HK, SQ]  # 石桥乡, after the refusal, too
    assert "refused by the server" in summary and CG in summary and "550 5.1.1" in summary
    rows = reply_rows(out)
    assert {to: state for to, (state, *_) in rows.items()} == {HK: "sent", CG: "refused", SQ: "sent"}
    assert "Recipient address rejected" in rows[CG][1] and rows[CG][3] is None  # the answer kept, the bytes not

    for _ in range(2):  # later nights: nobody is answered again, the refused address is not tried again
        code, summary, _ = run_cli(*run_args(inbox, out, *smtp_args(smtp_refusing)))
        assert code == 0 and "no new replies" in summary
    assert smtp_refusing.handler.rcpts.count(CG) == 1 and len(smtp_refusing.handler.received) == 2


def test_recipient_deferred_450__sent_the_next_night_with_the_same_message_id(tmp_path, smtp_refusing):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox_of_three(inbox)
    smtp_refusing.handler.answers[SQ] = "450 4.2.0 <sq@township.example.cn>: mailbox busy"
    code, summary, _ = run_cli(*run_args(inbox, out, *smtp_args(smtp_refusing)))
    assert code == 0 and "tried again next run" in summary
    deferred_id = reply_rows(out)[SQ][2]
    assert reply_rows(out)[SQ][0] == "deferred"

    del smtp_refusing.handler.answers[SQ]
    code, summary, _ = run_cli(*run_args(inbox, out, *smtp_args(smtp_refusing)))
    assert code == 0 and "1 reply sent" in summary
    assert [m["Message-ID"] for m in smtp_refusing.messages() if m["To"] == SQ] == [deferred_id]
    assert {state for state, *_ in reply_rows(out).values()} == {"sent"}


def test_killed_after_the_first_accepted_reply__rerun_resends_it_identically__the_rest_once(tmp_path, smtp_refusing):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    originals = inbox_of_three(inbox)
    argv = [sys.executable, "-m", "processor.cli", *run_args(inbox, out, *smtp_args(smtp_refusing))]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARBATCH_")}
    killed = subprocess.run(argv, cwd=ROOT, env={**env, "STARBATCH_CRASH_AFTER_SEND": "1"}, capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [(_, [first_to], first_raw)] = smtp_refusing.handler.received  # the server has it; the ledger does not know
    assert {state for state, *_ in reply_rows(out).values()} == {"sending"}

    for night in (1, 2):
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        received = smtp_refusing.handler.received
        assert len(received) == 4  # three replies, the uncertain one twice — never a third time
        again = [raw for _, [to], raw in received[1:] if to == first_to]
        assert again == [first_raw]  # the same bytes: the same Message-ID, which mail clients show once
        by_original = {}
        for m in smtp_refusing.messages():
            by_original.setdefault(m["In-Reply-To"], set()).add(m["Message-ID"])
        assert set(by_original) == set(originals.values()) and all(len(ids) == 1 for ids in by_original.values())
        assert {state for state, *_ in reply_rows(out).values()} == {"sent"}


def test_ledger_from_before_reply_states__old_replies_count_as_sent(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:  # the replies table as the first mail version wrote it
        db.execute("CREATE TABLE replies (message_id TEXT, sha256 TEXT NOT NULL, sent TEXT NOT NULL, "
                   "receipts TEXT NOT NULL, transport TEXT NOT NULL, recipient TEXT)")
        db.execute("INSERT INTO replies VALUES ('<a@b>', 'abc', '2026-11-30T00:00:00+00:00', '[]', 'smtp://x', 'a@b')")
    db.close()
    assert ledger.replied(path) == ({"abc"}, {"<a@b>"})
    assert ledger.unsent_replies(path) == []
    ledger.record_reply_intents(path, [{"message_id": "<c@d>", "sha256": "def", "recipient": "c@d", "receipts": [],
                                        "reply_id": "<r@county>", "raw": b"raw bytes"}], "2026-12-01T00:00:00+00:00")
    assert [r["reply_id"] for r in ledger.unsent_replies(path)] == ["<r@county>"]
    ledger.mark_reply(path, "def", "sent", "", "smtp://x", "2026-12-01T00:00:01+00:00")
    assert ledger.unsent_replies(path) == [] and ledger.replied(path)[0] == {"abc", "def"}
