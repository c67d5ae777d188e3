"""The nightly run's three mail steps (called by processor/run.py).

1. ``start_mail`` — before intake: UNSEEN messages of the IMAP mailbox are fetched with BODY.PEEK[] (nothing
   is marked) and kept, raw, in DIR/mail/<period>/<UIDVALIDITY>-<UID>.eml. A server that cannot be reached,
   a refused password or a failed TLS handshake is a RunError (exit 2) before anything is read, moved or
   sent. With ``--reply --smtp`` the SMTP login is tried here too.
2. ``MailRun.scan`` — the intake: INBOX (when given) and DIR/mail/<period>, every stored message of the
   period, so the run recomputes from all of them; a crash before the move only means the same messages are
   fetched again under the same names (same bytes: nothing counts twice).
3. ``MailRun.finish`` — after the outputs are committed and the ledger written: the fetched messages are
   moved to the done folder, then every message not yet answered gets its reply, exactly once (replies.py,
   send.py). It returns a ``MailFinish``; the caller adds its lines to the summary and decides the exit code.
"""
from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from ..accounting import Accounted
from ..errors import StarbatchError
from ..intake import Intake, scan_inbox
from ..settings import RunConfig
from .config import MailConfig
from .imap import fetch_unseen, move_stored
from .replies import send_replies
from .scan import Scan, mail_folder, scan_inputs
from .send import check_login

CRASH_AFTER_FETCH_ENV = "STARBATCH_CRASH_AFTER_FETCH"  # test hook: die between fetch and move


@dataclass
class MailFinish:
    """What the mail steps after the commit did. The outputs stand whatever it says."""
    notes: list[str] = field(default_factory=list)        # lines for the run's summary
    failed: bool = False      # a move or the reply loop failed: the caller may exit 2; the next run completes it
    unreachable: list[str] = field(default_factory=list)  # replies the server refused for good: 'who <addr> (answer)'


@dataclass
class MailRun:
    config: RunConfig
    uidvalidity: int = 0
    fetched: list[int] = field(default_factory=list)         # UIDs stored this run, moved after the commit
    sources: dict[int, Path] = field(default_factory=dict)   # id(Input) → the message file it came from
    notes: list[str] = field(default_factory=list)           # lines for the summary

    @property
    def mc(self) -> MailConfig | None:
        mc = self.config.mail
        return mc if isinstance(mc, MailConfig) else None

    @property
    def folder(self) -> Path:
        return mail_folder(self.config)

    def scan(self, scan: Scan = scan_inbox) -> Intake:
        return scan_inputs(self.config, self.sources, scan)

    def finish(self, accounted: Sequence[Accounted]) -> MailFinish:
        return finish_mail(self, accounted)


def start_mail(config: RunConfig) -> MailRun:
    """Before intake: check the SMTP login (with --reply --smtp), fetch UNSEEN messages into DIR/mail/<period>."""
    run = MailRun(config)
    mc = run.mc
    if mc is None:
        return run
    if mc.reply:
        check_login(mc)
    if mc.imap is None:
        return run
    got = fetch_unseen(mc, run.folder)
    run.uidvalidity, run.fetched = got.uidvalidity, got.uids
    logger.info("mail: fetched {} message(s) from {} into {}", len(run.fetched), mc.imap.shown, run.folder)
    run.notes.append(f"mail: fetched {len(run.fetched)} new message(s) from {mc.imap.shown}")
    if os.environ.get(CRASH_AFTER_FETCH_ENV) == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    return run


def finish_mail(run: MailRun, accounted: Sequence[Accounted]) -> MailFinish:
    """Move the fetched messages, then send the replies. Outputs are committed: a failure here is reported,
    not raised, and is harmless — the next run moves and replies what is left."""
    done = MailFinish(notes=list(run.notes))
    mc = run.mc
    if mc is not None and mc.imap is not None:
        _move(run, mc, done)
    if mc is not None and mc.reply:
        _reply(run, mc, accounted, done)
    return done


def move_fetched(run: MailRun, use_move: bool | None = None) -> int:
    """Mark seen and move what is stored (this run's and any left from a night whose move failed)."""
    mc = run.mc
    assert mc is not None
    moved = move_stored(mc, run.folder, run.uidvalidity if run.fetched else None, use_move)
    logger.info("mail: moved {} message(s) to {}", moved, mc.done_folder)
    return moved


def _move(run: MailRun, mc: MailConfig, done: MailFinish) -> None:
    try:
        moved = move_fetched(run)
    except (StarbatchError, OSError) as exc:  # the outputs stand; the messages are fetched again next run
        done.failed = True
        logger.error("mail: moving the processed messages failed: {}", exc)
        done.notes.append(f"mail: could NOT move the messages to {mc.done_folder} ({exc}); "
                          f"the next run fetches them again without counting them twice")
        return
    if moved:
        done.notes.append(f"mail: moved {moved} message(s) to {mc.done_folder}")


def _reply(run: MailRun, mc: MailConfig, accounted: Sequence[Accounted], done: MailFinish) -> None:
    try:
        delivery = send_replies(run.config, mc, run.sources, accounted)
    except (StarbatchError, OSError, sqlite3.Error) as exc:  # e.g. the SMTP server went away between the login check and now
        done.failed = True
        logger.error("mail: replying failed: {}", exc)
        done.notes.append(f"mail: replies stopped ({exc}); the next run sends the ones not yet sent")
        return
    if delivery is None:
        done.notes.append("mail: no new replies")
        return
    n = len(delivery.sent)
    how = f"written to {run.config.out / delivery.transport}" if mc.smtp is None else f"sent via {delivery.transport}"
    done.notes.append(f"mail: {n} repl{'y' if n == 1 else 'ies'} {how}")
    done.unreachable = delivery.unreachable()
    if done.unreachable:
        done.notes.append(f"mail: {len(done.unreachable)} repl{'y' if len(done.unreachable) == 1 else 'ies'} "
                          f"refused by the server, not retried: " + "; ".join(done.unreachable))
    if delivery.deferred:
        done.notes.append(f"mail: {len(delivery.deferred)} deferred by the server (4xx), tried again next run")
    if delivery.failed:
        done.failed = True
        logger.error("mail: replying stopped: {}", delivery.failed)
        done.notes.append(f"mail: replies stopped ({delivery.failed}); the next run sends the ones not yet sent")
