"""Sending, exactly once: SMTP (or DIR/outbox) for messages whose intent is already in the ledger.

The caller records every message (its bytes and Message-ID, state 'sending') before it calls ``deliver``;
``deliver`` sends each and calls ``mark`` with what happened. A message the server accepted is marked 'sent'
at once; a kill or a dropped connection in between leaves it 'sending', and the next run sends the same bytes
again — the same Message-ID, which mail clients show once. A recipient the server refuses for good (5xx) is
marked 'refused' with the server's answer and skipped; a 4xx refusal is 'deferred' (tried next run); the
other messages are still sent. Only a failure of the connection or of the sender stops the loop.
"""
from __future__ import annotations

import os
import signal
import smtplib
import ssl
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path

from ..common import atomic_write
from ..errors import RunError
from .config import (
    TIMEOUT,
    MailConfig,
    Server,
    error_text,
    plaintext,
    smtp_password,
    tls_context,
)

OUTBOX = "outbox"
SENT, REFUSED, DEFERRED, OUTBOXED, SENDING = "sent", "refused", "deferred", "outbox", "sending"
CRASH_AFTER_SEND_ENV = "STARBATCH_CRASH_AFTER_SEND"  # test hook: die after the server accepted a message


@dataclass(frozen=True)
class Outgoing:
    """One message as it will go on the wire, kept in the ledger until it is sent."""
    key: str            # the ledger row it belongs to
    recipient: str
    sender: str         # envelope MAIL FROM
    message_id: str
    raw: bytes
    name: str           # file name in DIR/outbox
    label: str = ""     # who it is for, in the summary (a township, a subject)


@dataclass
class Delivery:
    transport: str
    sent: list[Outgoing] = field(default_factory=list)
    refused: list[tuple[Outgoing, str]] = field(default_factory=list)   # (message, the server's answer)
    deferred: list[tuple[Outgoing, str]] = field(default_factory=list)
    failed: str = ""    # why the loop stopped; the messages not marked go out next run

    def add(self, o: Outgoing, state: str, answer: str) -> None:
        if state in (SENT, OUTBOXED):
            self.sent.append(o)
        elif state == REFUSED:
            self.refused.append((o, answer))
        else:
            self.deferred.append((o, answer))

    def unreachable(self) -> list[str]:
        """'label <address> (answer)' of every recipient refused for good."""
        return [f"{o.label} <{o.recipient}> ({answer})".strip() for o, answer in self.refused]


Mark = Callable[[Outgoing, str, str, str], None]   # (message, state, server's answer, transport)


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as SMTP carries it (CRLF, non-ASCII headers encoded): stored and re-sent byte for byte."""
    return msg.as_bytes(policy=policy.SMTP)


def deliver(mc: MailConfig, out: Path, items: Iterable[Outgoing], mark: Mark) -> Delivery:
    """Send (or, without --smtp, write to DIR/outbox) each message; mark each as it goes."""
    items = list(items)
    if mc.smtp is None:
        return to_outbox(out / OUTBOX, items, mark)
    password = smtp_password(mc)
    smtp = smtp_connect(mc, password)
    delivery = Delivery(mc.smtp.shown)
    try:
        for o in items:
            state, answer = _send_one(smtp, o)
            _crash_hook(state)
            mark(o, state, answer, delivery.transport)
            delivery.add(o, state, answer)
    except (smtplib.SMTPException, OSError) as exc:
        delivery.failed = f"{mc.smtp.where}: {error_text(exc, password)}"
    finally:
        close_smtp(smtp)
    return delivery


def _send_one(smtp: smtplib.SMTP, o: Outgoing) -> tuple[str, str]:
    """SENT, or REFUSED / DEFERRED with the server's answer for this recipient or this message."""
    try:
        smtp.sendmail(o.sender, [o.recipient], o.raw)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = exc.recipients.get(o.recipient, (550, b"refused"))
        return (REFUSED if code >= 500 else DEFERRED), error_text(f"{code} {error_text(text)}")
    except smtplib.SMTPDataError as exc:  # the message itself refused (too big, content policy)
        return (REFUSED if exc.smtp_code >= 500 else DEFERRED), error_text(exc)
    return SENT, ""


def _crash_hook(state: str) -> None:
    if state == SENT and os.environ.get(CRASH_AFTER_SEND_ENV) == "1":
        os.kill(os.getpid(), signal.SIGKILL)


def to_outbox(outbox: Path, items: list[Outgoing], mark: Mark) -> Delivery:
    """Each message as an .eml file for any mail client (also `remind --dry-run`, whose mark records nothing)."""
    outbox.mkdir(parents=True, exist_ok=True)
    delivery = Delivery(f"{OUTBOX}/")
    for o in items:
        atomic_write(outbox / o.name, o.raw)  # the same name again after a crash: still one file
        mark(o, OUTBOXED, "", f"{OUTBOX}/{o.name}")
        delivery.add(o, OUTBOXED, "")
    return delivery


def envelope_sender(msg: EmailMessage) -> str:
    return parseaddr(str(msg["From"]))[1]


def from_ledger(key: str, recipient: str, raw: bytes, name: str) -> Outgoing:
    """A message recorded but not known to be delivered, to be sent again byte for byte."""
    head = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    return Outgoing(key, recipient, envelope_sender(head), str(head["Message-ID"] or ""), raw, name,
                    label=str(head["Subject"] or ""))


def default_sender(mc: MailConfig) -> str:
    """From: when neither --reply-from nor the original message gives one: the SMTP (or IMAP) user."""
    server = mc.smtp or mc.imap
    user = server.user if server else ""
    return user if "@" in user else f"{user or 'starbatch'}@{server.host if server else 'localhost'}"


# --- SMTP ----------------------------------------------------------------------------------------

def smtp_connect(mc: MailConfig, password: str) -> smtplib.SMTP:
    """A connected (and logged-in, when the URL names a user) SMTP session; RunError without the password."""
    s = mc.smtp
    if s is None:
        raise RunError("no SMTP server given (--smtp URL)")
    try:
        smtp = _open(mc, s)
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise RunError(f"TLS with {s.where} failed: {error_text(exc, password)} "
                       f"(a private CA: --mail-cafile FILE)") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise RunError(f"cannot reach {s.where}: {error_text(exc, password)}") from None
    if s.user:
        try:
            smtp.login(s.user, password)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            close_smtp(smtp)
            raise RunError(f"{s.where} refused the login as {s.user}: {error_text(exc, password)}") from None
    return smtp


def _open(mc: MailConfig, s: Server) -> smtplib.SMTP:
    smtp: smtplib.SMTP
    if s.tls_on_connect:
        smtp = smtplib.SMTP_SSL(s.host, s.port, context=tls_context(mc), timeout=TIMEOUT)
    else:
        smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
    try:
        smtp.ehlo()
        if not s.tls_on_connect and not plaintext(mc, s):
            if not smtp.has_extn("starttls"):
                raise RunError(f"{s.where} does not offer STARTTLS; use smtps:// (or --mail-plaintext to a loopback "
                               f"address)")
            smtp.starttls(context=tls_context(mc))
            smtp.ehlo()
    except BaseException:
        close_smtp(smtp)
        raise
    return smtp


def close_smtp(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):  # already gone
        with suppress(smtplib.SMTPException, OSError):
            smtp.close()


def check_login(mc: MailConfig) -> None:
    """Before anything is read or sent: the SMTP server can be reached and takes the password."""
    if mc.smtp is not None:
        close_smtp(smtp_connect(mc, smtp_password(mc)))
