"""Real mail: fetch submissions from the county mailbox over IMAP, reply with receipts over SMTP.

The nightly run calls three steps (processor/run.py):

1. ``start_mail`` — before intake: UNSEEN messages of the IMAP mailbox are fetched with BODY.PEEK[]
   (nothing is marked) and kept, raw, in DIR/mail/<period>/<UIDVALIDITY>-<UID>.eml. A server that
   cannot be reached, a refused password or a failed TLS handshake is a RunError (exit 2) before
   anything is read, moved or sent. With ``--reply --smtp`` the SMTP login is tried here too.
2. ``MailRun.scan`` — the intake: INBOX (when given) and DIR/mail/<period>, every stored message of the
   period, so the run recomputes from all of them; a crash before the move only means the same
   messages are fetched again under the same names (same bytes: nothing counts twice).
3. ``MailRun.finish`` — after the outputs are committed and the ledger written: the fetched messages
   are moved to the done folder (default 已处理; MOVE, else COPY + \\Deleted + EXPUNGE), then every
   message not yet answered gets its reply (回执：<subject>, receipts attached), sent over SMTP or
   written to DIR/outbox, and recorded in the ledger's ``replies`` table so a rerun never sends twice.

Passwords come from an environment variable or an owner-only file, never from the command line and
never into a message or a log. TLS is the default; plaintext only to a loopback address with
--mail-plaintext.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import imaplib
import ipaddress
import os
import re
import signal
import smtplib
import ssl
import stat
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from loguru import logger

from . import ledger
from .errors import ConfigError, RunError
from .intake import Input, Intake, _header, _kind_of, _message_date, scan_inbox
from .problems import ERROR, WARNING, count_by_severity

DONE_FOLDER = "已处理"
IMAP_PASSWORD_ENV = "STARBATCH_IMAP_PASSWORD"
SMTP_PASSWORD_ENV = "STARBATCH_SMTP_PASSWORD"
MAIL_DIR = "mail"
OUTBOX = "outbox"
TIMEOUT = 60  # seconds per network operation
DEFAULT_PORTS = {"imaps": 993, "imap": 143, "smtps": 465, "smtp": 587}
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
CST = dt.timezone(dt.timedelta(hours=8))
MAIL_KEYS = {"imap", "imap_password_env", "imap_password_file", "imap_done_folder", "mail_plaintext",
             "mail_cafile", "reply", "smtp", "smtp_password_env", "smtp_password_file", "reply_from"}


def _error(message: str) -> Exception:
    return RunError(message)


# --- settings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Server:
    """imaps://user@host[:port]/MAILBOX, imap://…, smtps://user@host:port, smtp://[user@]host:port."""
    scheme: str
    host: str
    port: int
    user: str = ""
    mailbox: str = ""

    @property
    def tls_on_connect(self) -> bool:
        return self.scheme in ("imaps", "smtps")

    @property
    def shown(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{user}{host}:{self.port}" + (f"/{self.mailbox}" if self.mailbox else "")


@dataclass
class MailConfig:
    imap: Server | None = None
    imap_password_env: str = IMAP_PASSWORD_ENV
    imap_password_file: Path | None = None
    done_folder: str = DONE_FOLDER
    plaintext: bool = False
    cafile: Path | None = None
    reply: bool = False
    smtp: Server | None = None
    smtp_password_env: str = SMTP_PASSWORD_ENV
    smtp_password_file: Path | None = None
    reply_from: str = ""


def parse_server(url: str, kinds: tuple[str, str]) -> Server:
    """A server URL; ValueError with the reason (a password in it is refused, never echoed)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in kinds:
        raise ValueError(f"'{parts.scheme}://' is not one of {', '.join(k + '://' for k in kinds)}")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if ":" in userinfo:
        raise ValueError("a password in the URL is not accepted: give it in an environment variable or a file")
    probe = urlsplit(f"//{hostport}")
    try:
        port = probe.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"bad port in '{hostport}'") from None
    if not probe.hostname:
        raise ValueError("no host")
    mailbox = unquote(parts.path.lstrip("/")) if parts.scheme.startswith("imap") else ""
    return Server(parts.scheme, probe.hostname, port, unquote(userinfo), mailbox or ("INBOX" if parts.scheme.startswith("imap") else ""))


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_options(p: argparse.ArgumentParser) -> None:
    """The `run` command's mail options (also keys of the config file, with _ for -)."""
    g = p.add_argument_group("real mail (IMAP fetch, SMTP replies)")
    g.add_argument("--imap", metavar="URL", help="fetch UNSEEN messages: imaps://user@host[:port]/INBOX "
                   "(imap://… uses STARTTLS); INBOX becomes optional")
    g.add_argument("--imap-password-env", metavar="NAME",
                   help=f"environment variable with the IMAP password (default {IMAP_PASSWORD_ENV}; "
                        f"{IMAP_PASSWORD_ENV}_FILE may name a password file)")
    g.add_argument("--imap-password-file", metavar="FILE", help="file with the IMAP password, readable only by its owner")
    g.add_argument("--imap-done-folder", metavar="NAME", help=f"move processed messages here (default {DONE_FOLDER})")
    g.add_argument("--mail-plaintext", action="store_true",
                   help="allow imap:// and smtp:// without TLS, to a loopback address only")
    g.add_argument("--mail-cafile", metavar="FILE", help="CA certificate(s) to trust for the mail servers (PEM)")
    g.add_argument("--reply", action="store_true", help="reply to each message with its receipt(s), once")
    g.add_argument("--smtp", metavar="URL", help="send replies: smtps://user@host:465 or smtp://[user@]host:587 "
                   "(STARTTLS); without it replies are written to DIR/outbox")
    g.add_argument("--smtp-password-env", metavar="NAME",
                   help=f"environment variable with the SMTP password (default {SMTP_PASSWORD_ENV})")
    g.add_argument("--smtp-password-file", metavar="FILE", help="file with the SMTP password, readable only by its owner")
    g.add_argument("--reply-from", metavar="ADDRESS", help="From: of the replies (default: the address the message was sent to)")


def mail_config(pick: Callable[..., Any], pick_path: Callable[[str], Path | None]) -> MailConfig | None:
    """The mail settings from the command line / config file (runconfig's pick functions); None when unused."""

    imap_url, smtp_url, reply = pick("imap"), pick("smtp"), bool(pick("reply", False))
    if not imap_url and not reply:
        return None
    mc = MailConfig(plaintext=bool(pick("mail_plaintext", False)), cafile=pick_path("mail_cafile"), reply=reply,
                    done_folder=str(pick("imap_done_folder", DONE_FOLDER)) or DONE_FOLDER,
                    imap_password_env=str(pick("imap_password_env", IMAP_PASSWORD_ENV)),
                    imap_password_file=pick_path("imap_password_file"),
                    smtp_password_env=str(pick("smtp_password_env", SMTP_PASSWORD_ENV)),
                    smtp_password_file=pick_path("smtp_password_file"), reply_from=str(pick("reply_from", "") or ""))
    for key, url, kinds in (("imap", imap_url, ("imaps", "imap")), ("smtp", smtp_url, ("smtps", "smtp"))):
        if not url:
            continue
        try:
            server = parse_server(str(url), kinds)
        except ValueError as exc:
            raise ConfigError(f"--{key} {_shown_url(str(url))}: {exc}") from None
        if key == "imap" and not server.user:
            raise ConfigError(f"--imap {server.shown}: give the user name (imaps://user@host/INBOX)")
        if not server.tls_on_connect and mc.plaintext and not is_loopback(server.host):
            raise ConfigError(f"--mail-plaintext: plaintext is allowed only to a loopback address, not {server.host}; "
                              f"use {kinds[0]}:// or {kinds[1]}:// with STARTTLS")
        setattr(mc, key, server)
    if mc.cafile is not None and not mc.cafile.is_file():
        raise ConfigError(f"--mail-cafile {mc.cafile}: no such file")
    if mc.reply_from and "@" not in parseaddr(mc.reply_from)[1]:
        raise ConfigError(f"--reply-from '{mc.reply_from}' is not a mail address")
    return mc


def _shown_url(url: str) -> str:
    """A URL fit for a message: any password in it replaced."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)


def read_password(env_name: str, file: Path | None, what: str) -> str:
    """The password: --…-password-file, else the file named by $NAME_FILE, else $NAME."""
    path = file or (Path(os.environ[f"{env_name}_FILE"]) if os.environ.get(f"{env_name}_FILE") else None)
    if path is not None:
        try:
            info = path.stat()
        except OSError as exc:
            raise _error(f"{what} password file {path}: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise _error(f"{what} password file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise _error(f"{what} password file {path} can be read or changed by group or others "
                         f"(mode {stat.S_IMODE(info.st_mode):04o}); make it readable only by its owner: chmod 600 {path}")
        password = path.read_text(encoding="utf-8").rstrip("\r\n")
        if not password:
            raise _error(f"{what} password file {path} is empty")
        return password
    password = os.environ.get(env_name, "")
    if not password:
        raise _error(f"no {what} password: set the environment variable {env_name}, or {env_name}_FILE "
                     f"(or --{what.lower()}-password-file) to a file only you can read")
    return password


def _tls_context(mc: MailConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(mc.cafile) if mc.cafile else None)


def _plaintext(mc: MailConfig, server: Server) -> bool:
    """No TLS at all: only for imap:// or smtp:// to loopback with --mail-plaintext (checked in mail_config)."""
    return not server.tls_on_connect and mc.plaintext and is_loopback(server.host)


def _text(value: Any, secret: str = "") -> str:
    """What went wrong, for a message: server text decoded, the password (if it appears) replaced."""
    def decoded(x: Any) -> str:
        return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)

    if isinstance(value, smtplib.SMTPResponseException):
        text = f"{value.smtp_code} {decoded(value.smtp_error)}"
    elif isinstance(value, BaseException) and value.args and isinstance(value.args[0], bytes):
        text = decoded(value.args[0])
    else:
        text = decoded(value)
    if secret:
        text = text.replace(secret, "***")
    return " ".join(text.split())[:300] or type(value).__name__


# --- modified UTF-7 (RFC 3501 5.1.3) ------------------------------------------------------------

def imap_utf7_encode(name: str) -> str:
    """A folder name as IMAP sends it: printable ASCII as is ('&' as '&-'), the rest as &BASE64,-."""
    out, pending = [], []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def imap_utf7_decode(name: str) -> str:
    out, i = [], 0
    while i < len(name):
        ch = name[i]
        if ch != "&":
            out.append(ch)
            i += 1
            continue
        end = name.index("-", i)
        chunk = name[i + 1:end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            out.append(base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be"))
        i = end + 1
    return "".join(out)


def _quoted(mailbox: str) -> str:
    encoded = imap_utf7_encode(mailbox)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- IMAP ----------------------------------------------------------------------------------------

def imap_connect(mc: MailConfig, password: str) -> imaplib.IMAP4:
    """A logged-in IMAP session; RunError (no password in it) when it cannot be had."""
    s = mc.imap
    assert s is not None
    where = f"IMAP server {s.host}:{s.port}"
    imap = None
    try:
        if s.tls_on_connect:
            imap = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=_tls_context(mc), timeout=TIMEOUT)
        else:
            imap = imaplib.IMAP4(s.host, s.port, timeout=TIMEOUT)
            if not _plaintext(mc, s):
                if "STARTTLS" not in imap.capabilities:
                    raise _error(f"{where} does not offer STARTTLS; use imaps:// (or --mail-plaintext to a loopback "
                                 f"address)")
                imap.starttls(ssl_context=_tls_context(mc))
    except (ssl.SSLError, ssl.CertificateError) as exc:
        _close(imap)
        raise _error(f"TLS with {where} failed: {_text(exc, password)} (a private CA: --mail-cafile FILE)") from None
    except (OSError, imaplib.IMAP4.error) as exc:
        _close(imap)
        raise _error(f"cannot reach {where}: {_text(exc, password)}") from None
    try:
        if "AUTH=PLAIN" in imap.capabilities and not password.isascii():
            imap.authenticate("PLAIN", lambda _: f"\0{s.user}\0{password}".encode("utf-8"))
        else:
            imap.login(s.user, password)
    except (imaplib.IMAP4.error, UnicodeError) as exc:
        _close(imap)
        raise _error(f"{where} refused the login as {s.user}: {_text(exc, password)}") from None
    except OSError as exc:
        _close(imap)
        raise _error(f"{where} dropped the connection at login: {_text(exc, password)}") from None
    return imap


def _close(imap: imaplib.IMAP4 | None) -> None:
    if imap is None:
        return
    try:
        imap.logout()
    except Exception:  # already gone
        pass


def capabilities(imap: imaplib.IMAP4) -> set[str]:
    """The capabilities as they are after login (imaplib keeps only the greeting's)."""
    typ, data = imap.capability()
    if typ != "OK" or not data:
        return set(imap.capabilities)
    return set(_text(data[-1]).upper().split())


def _select(imap: imaplib.IMAP4, mailbox: str, readonly: bool, where: str) -> int:
    typ, data = imap.select(_quoted(mailbox), readonly=readonly)
    if typ != "OK":
        raise _error(f"{where}: cannot open the mailbox '{mailbox}': {_text(data[0] if data else typ)}")
    _, values = imap.response("UIDVALIDITY")
    try:
        return int(values[0])
    except (TypeError, ValueError, IndexError):
        raise _error(f"{where}: the server sent no UIDVALIDITY for '{mailbox}'") from None


def _unseen(imap: imaplib.IMAP4) -> list[int]:
    typ, data = imap.uid("SEARCH", "UNSEEN")
    if typ != "OK":
        raise imaplib.IMAP4.error(_text(data[0] if data else typ))
    return sorted(int(x) for x in b" ".join(d for d in data if d).split())


def _fetch_raw(imap: imaplib.IMAP4, uid: int) -> bytes | None:
    typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if typ != "OK":
        raise imaplib.IMAP4.error(_text(data[0] if data else typ))
    for item in data:
        if isinstance(item, tuple) and b"BODY[]" in item[0].upper():
            return item[1]
    return None  # expunged meanwhile


def stored_name(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}-{uid}.eml"


def _store(folder: Path, name: str, raw: bytes) -> None:
    """Atomically, under a generated name; the same message fetched again leaves the file as it was."""
    path = folder / name
    if path.exists() and path.read_bytes() == raw:
        return
    tmp = folder / f".{name}.tmp-{os.getpid()}"
    tmp.write_bytes(raw)
    os.replace(tmp, path)


# --- the run's three steps ---------------------------------------------------------------------

@dataclass
class MailRun:
    config: Any                     # processor.run.RunConfig
    uidvalidity: int = 0
    fetched: list[int] = field(default_factory=list)         # UIDs stored this run, moved after the commit
    sources: dict[int, Path] = field(default_factory=dict)   # id(Input) → the message file it came from
    notes: list[str] = field(default_factory=list)           # lines for the summary

    @property
    def mc(self) -> MailConfig | None:
        return getattr(self.config, "mail", None)

    @property
    def folder(self) -> Path:
        return mail_folder(self.config)

    def scan(self, scan: Callable[[Path], Intake] = scan_inbox) -> Intake:
        return scan_inputs(self.config, self.sources, scan)

    def finish(self, accounted: list[Any], outcome: Any) -> None:
        finish_mail(self, accounted, outcome)


def mail_folder(config: Any) -> Path:
    return config.out / MAIL_DIR / str(config.period)


def start_mail(config: Any) -> MailRun:
    """Before intake: check the SMTP login (with --reply --smtp), fetch UNSEEN messages into DIR/mail/<period>."""
    run = MailRun(config)
    mc = run.mc
    if mc is None:
        return run
    if mc.reply and mc.smtp is not None:
        _close_smtp(smtp_connect(mc, _smtp_password(mc)))
    if mc.imap is None:
        return run
    password = read_password(mc.imap_password_env, mc.imap_password_file, "IMAP")
    where = f"IMAP server {mc.imap.host}:{mc.imap.port}"
    imap = imap_connect(mc, password)
    try:
        run.uidvalidity = _select(imap, mc.imap.mailbox, True, where)  # EXAMINE: nothing is marked
        uids = _unseen(imap)
        run.folder.mkdir(parents=True, exist_ok=True)
        for uid in uids:
            raw = _fetch_raw(imap, uid)
            if raw is not None:
                _store(run.folder, stored_name(run.uidvalidity, uid), raw)
                run.fetched.append(uid)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _error(f"{where}: fetching from '{mc.imap.mailbox}' failed: {_text(exc, password)}") from None
    finally:
        _close(imap)
    logger.info("mail: fetched {} message(s) from {} into {}", len(run.fetched), mc.imap.shown, run.folder)
    run.notes.append(f"mail: fetched {len(run.fetched)} new message(s) from {mc.imap.shown}")
    if os.environ.get("STARBATCH_CRASH_AFTER_FETCH") == "1":  # test hook: die between fetch and move
        os.kill(os.getpid(), signal.SIGKILL)
    return run


def scan_inputs(config: Any, sources: dict[int, Path] | None = None,
                scan: Callable[[Path], Intake] = scan_inbox) -> Intake:
    """INBOX (if given) and then DIR/mail/<period>, through the same intake. Records each input's message file."""
    sources = {} if sources is None else sources
    inputs: list[Input] = []
    ignored: list[str] = []
    if config.inbox is not None:
        got = scan(config.inbox)
        for item in got.inputs:
            path = _message_file(config.inbox, item.origin)
            if path is not None:
                sources[id(item)] = path
        inputs += got.inputs
        ignored += got.ignored
    folder = mail_folder(config)
    if folder.is_dir():
        got = scan(folder)
        prefix = f"{MAIL_DIR}/{config.period}/"
        for item in got.inputs:
            path = _message_file(folder, item.origin)
            if path is not None:
                sources[id(item)] = path
                if not item.sender and not item.message_id:
                    _provenance_from_headers(item, path)  # e.g. an oversized message (FILE_007)
            item.origin = prefix + item.origin
        inputs += got.inputs
        ignored += [prefix + name for name in got.ignored]
    return Intake(inputs, ignored)


def _message_file(root: Path, origin: str) -> Path | None:
    """The top-level message file an input came from (None for loose workbooks and archives)."""
    rel = origin.split("#", 1)[0]
    if "!" in rel:
        return None
    path = root / rel
    return path if _kind_of(path) == "message" and path.is_file() else None


def _head(path: Path, limit: int = 256 * 1024) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(limit)
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in data:
            return data[:data.index(sep) + len(sep)]
    return data


def _headers(path: Path) -> EmailMessage | None:
    try:
        return BytesParser(policy=policy.default).parsebytes(_head(path), headersonly=True)
    except Exception:  # unreadable headers: no reply can be addressed
        return None


def _provenance_from_headers(item: Input, path: Path) -> None:
    msg = _headers(path)
    if msg is None:
        return
    try:
        item.sender, item.subject = _header(msg, "From"), _header(msg, "Subject")
        item.message_id = _header(msg, "Message-ID")
        item.date = _message_date(msg) or item.date
    except Exception:  # keep what intake gave
        pass


# --- after the commit: move, then reply --------------------------------------------------------

def finish_mail(run: MailRun, accounted: list[Any], outcome: Any) -> None:
    """Move the fetched messages, then send the replies. Outputs are committed: a failure here is reported
    (exit 2, a line in the summary) and is harmless — the next run moves and replies what is left."""
    mc = run.mc
    failed = False
    if mc is not None and mc.imap is not None:
        try:
            move_fetched(run)
        except Exception as exc:  # the outputs stand; the messages are fetched again next run
            failed = True
            logger.error("mail: moving the processed messages failed: {}", exc)
            run.notes.append(f"mail: could NOT move the messages to {mc.done_folder} ({exc}); "
                             f"the next run fetches them again without counting them twice")
    if mc is not None and mc.reply:
        try:
            send_replies(run, accounted)
        except Exception as exc:
            failed = True
            logger.error("mail: replying failed: {}", exc)
            run.notes.append(f"mail: replies stopped ({exc}); the next run sends the ones not yet sent")
    if run.notes:
        outcome.summary = outcome.summary + "\n" + "\n".join(run.notes)
    if failed:
        outcome.exit_code = 2


def move_fetched(run: MailRun, use_move: bool | None = None) -> None:
    """Mark \\Seen and move the processed messages to the done folder (created if missing): those fetched
    this run, and any stored earlier that are still in the mailbox (a move that failed on an earlier night)."""
    mc = run.mc
    s = mc.imap
    password = read_password(mc.imap_password_env, mc.imap_password_file, "IMAP")
    where = f"IMAP server {s.host}:{s.port}"
    imap = imap_connect(mc, password)
    try:
        caps = capabilities(imap)
        validity = _select(imap, s.mailbox, False, where)
        if run.fetched and validity != run.uidvalidity:  # UIDs of the old validity mean nothing now
            logger.warning("mail: '{}' changed its UIDVALIDITY ({} → {}); this run's messages stay", s.mailbox,
                           run.uidvalidity, validity)
        typ, data = imap.uid("SEARCH", "ALL")
        _ok((typ, data), "list the mailbox")
        present = {int(x) for x in b" ".join(d for d in data if d).split()}
        moving = sorted(present & _stored_uids(run.folder, validity))  # stored = processed by this run
        if not moving:
            return
        _ensure_folder(imap, mc.done_folder, where)
        uids = ",".join(str(u) for u in moving)
        target = _quoted(mc.done_folder)
        _ok(imap.uid("STORE", uids, "+FLAGS.SILENT", "(\\Seen)"), "mark as seen")
        if (use_move if use_move is not None else "MOVE" in caps):
            _ok(imap.uid("MOVE", uids, target), f"move to {mc.done_folder}")
        else:
            _ok(imap.uid("COPY", uids, target), f"copy to {mc.done_folder}")
            _ok(imap.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)"), "mark as deleted")
            if "UIDPLUS" in caps:
                _ok(imap.uid("EXPUNGE", uids), "expunge")
            else:
                _ok(imap.expunge(), "expunge")
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _error(f"{where}: {_text(exc, password)}") from None
    finally:
        _close(imap)
    logger.info("mail: moved {} message(s) to {}", len(moving), mc.done_folder)
    run.notes.append(f"mail: moved {len(moving)} message(s) to {mc.done_folder}")


def _stored_uids(folder: Path, uidvalidity: int) -> set[int]:
    found = set()
    for path in folder.glob(f"{uidvalidity}-*.eml") if folder.is_dir() else []:
        uid = path.stem.split("-", 1)[1]
        if uid.isdigit():
            found.add(int(uid))
    return found


def _ok(result: tuple[str, list], what: str) -> None:
    typ, data = result
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what}: {_text(data[0] if data else typ)}")


def _ensure_folder(imap: imaplib.IMAP4, name: str, where: str) -> None:
    encoded = _quoted(name)
    typ, data = imap.list('""', encoded)
    if typ == "OK" and any(d for d in data if d):
        return
    typ, data = imap.create(encoded)
    if typ != "OK":
        raise _error(f"{where}: cannot create the folder '{name}': {_text(data[0] if data else typ)}")
    imap.subscribe(encoded)


# --- replies -------------------------------------------------------------------------------------

def _smtp_password(mc: MailConfig) -> str:
    if mc.smtp is None or not mc.smtp.user:
        return ""
    return read_password(mc.smtp_password_env, mc.smtp_password_file, "SMTP")


def smtp_connect(mc: MailConfig, password: str) -> smtplib.SMTP:
    s = mc.smtp
    where = f"SMTP server {s.host}:{s.port}"
    smtp = None
    try:
        if s.tls_on_connect:
            smtp = smtplib.SMTP_SSL(s.host, s.port, context=_tls_context(mc), timeout=TIMEOUT)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
        smtp.ehlo()
        if not s.tls_on_connect and not _plaintext(mc, s):
            if not smtp.has_extn("starttls"):
                raise _error(f"{where} does not offer STARTTLS; use smtps:// (or --mail-plaintext to a loopback "
                             f"address)")
            smtp.starttls(context=_tls_context(mc))
            smtp.ehlo()
    except (ssl.SSLError, ssl.CertificateError) as exc:
        _close_smtp(smtp)
        raise _error(f"TLS with {where} failed: {_text(exc, password)} (a private CA: --mail-cafile FILE)") from None
    except (OSError, smtplib.SMTPException) as exc:
        _close_smtp(smtp)
        raise _error(f"cannot reach {where}: {_text(exc, password)}") from None
    if s.user:
        try:
            smtp.login(s.user, password)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            _close_smtp(smtp)
            raise _error(f"{where} refused the login as {s.user}: {_text(exc, password)}") from None
    return smtp


def _close_smtp(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass


@dataclass
class Reply:
    source: Path
    sha256: str
    message_id: str
    recipient: str
    message: EmailMessage
    receipts: list[str]


def send_replies(run: MailRun, accounted: list[Any]) -> None:
    """One reply per message not yet answered (by the raw message's sha256 or its Message-ID)."""
    config, mc = run.config, run.mc
    groups: dict[Path, list[Any]] = {}
    for a in accounted:
        path = run.sources.get(id(a.input))
        if path is not None:
            groups.setdefault(path, []).append(a)
    done_sha, done_ids = ledger.replied(config.ledger_path)
    pending: list[Reply] = []
    for path, items in groups.items():
        raw_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        message_id = next((a.input.message_id for a in items if a.input.message_id), "")
        if raw_sha in done_sha or (message_id and message_id in done_ids):
            continue
        reply = build_reply(config, mc, path, raw_sha, items)
        if reply is None:
            logger.warning("mail: no reply for {}: no sender address", path.name)
            continue
        pending.append(reply)
    if not pending:
        run.notes.append("mail: no new replies")
        return
    if mc.smtp is not None:
        password = _smtp_password(mc)
        smtp = smtp_connect(mc, password)
        transport = mc.smtp.shown
        try:
            for r in pending:
                envelope_from = parseaddr(str(r.message["From"]))[1]
                smtp.send_message(r.message, from_addr=envelope_from, to_addrs=[r.recipient])
                _record(config, r, transport)
        except (smtplib.SMTPException, OSError) as exc:
            raise _error(f"SMTP server {mc.smtp.host}:{mc.smtp.port}: {_text(exc, password)}") from None
        finally:
            _close_smtp(smtp)
        run.notes.append(f"mail: {len(pending)} repl{'y' if len(pending) == 1 else 'ies'} sent via {transport}")
    else:
        outbox = config.out / OUTBOX
        outbox.mkdir(parents=True, exist_ok=True)
        for r in pending:
            name = f"reply-{r.sha256[:16]}.eml"
            tmp = outbox / f".{name}.tmp-{os.getpid()}"
            tmp.write_bytes(r.message.as_bytes())
            os.replace(tmp, outbox / name)
            _record(config, r, f"{OUTBOX}/{name}")
        run.notes.append(f"mail: {len(pending)} repl{'y' if len(pending) == 1 else 'ies'} written to {outbox}")
    logger.info("mail: {} replies", len(pending))


def _record(config: Any, r: Reply, transport: str) -> None:
    ledger.record_reply(config.ledger_path, {
        "message_id": r.message_id, "sha256": r.sha256, "recipient": r.recipient, "receipts": r.receipts,
        "transport": transport, "sent": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})


STATE_LINE = {"accepted": "通过", "rejected": "未通过", "superseded": "已被替代（未使用）", "duplicate": "重复报送（未重复计算）"}


def build_reply(config: Any, mc: MailConfig, path: Path, raw_sha: str, items: list[Any]) -> Reply | None:
    """The reply to one message: 回执：<subject>, In-Reply-To/References, a short Chinese body, receipts attached."""
    original = _headers(path)
    first = items[0].input
    reply_to = _header(original, "Reply-To") if original is not None else ""
    recipient = next((addr for _, addr in getaddresses([reply_to or first.sender]) if "@" in addr), "")
    if not recipient:
        return None
    message_id = first.message_id.strip()
    to_header = _header(original, "To") if original is not None else ""
    sender = mc.reply_from or next((f"{n} <{a}>" if n else a for n, a in getaddresses([to_header]) if "@" in a), "")
    if not sender:
        server = mc.smtp or mc.imap
        user = server.user if server else ""
        sender = user if "@" in user else f"{user or 'starbatch'}@{server.host if server else 'localhost'}"
    msg = EmailMessage(policy=policy.default)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = f"回执：{first.subject or '（无主题）'}"
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = f"<starbatch.{raw_sha[:12]}.{os.urandom(4).hex()}@{parseaddr(sender)[1].rpartition('@')[2] or 'localhost'}>"
    if message_id:
        references = _header(original, "References") if original is not None else ""
        msg["In-Reply-To"] = message_id
        msg["References"] = " ".join(x for x in (references, message_id) if x)
    msg["Auto-Submitted"] = "auto-replied"
    receipts = []
    for a in items:
        if a.receipt and a.receipt not in receipts and (config.out / "receipts" / a.receipt).is_file():
            receipts.append(a.receipt)
    msg.set_content(reply_body(first, items), cte="base64")
    for name in receipts:
        msg.add_attachment((config.out / "receipts" / name).read_bytes(), maintype=XLSX[0], subtype=XLSX[1],
                           filename=name)
    return Reply(path, raw_sha, message_id, recipient, msg, receipts)


def reply_body(first: Input, items: list[Any]) -> str:
    rejected = sum(1 for a in items if a.state == "rejected")
    when = first.date.astimezone(CST).strftime("%Y-%m-%d %H:%M") if first.date else ""
    lines = ["您好！", "",
             f"县委组织部已收到您{('于 ' + when + ' ') if when else ''}发送的邮件“{first.subject or '（无主题）'}”，"
             f"共审核 {len(items)} 个文件，{'全部通过' if not rejected else f'{rejected} 个未通过'}：", ""]
    for n, a in enumerate(items, 1):
        counts = count_by_severity(a.sub.problems)
        township = f"（{a.sub.township}）" if a.sub.township else ""
        shown = "本邮件" if "#" not in a.input.origin else f"《{a.input.name}》"  # no workbook: the message itself
        line = f"{n}. {shown}{township}：{STATE_LINE.get(a.state, a.state)}"
        if a.state == "duplicate":
            line += f"，与《{a.note}》内容完全相同"
        elif a.state == "superseded":
            line += f"，本乡镇有更新的报送《{a.note}》"
        else:
            line += f"，错误 {counts[ERROR]} 条，提示 {counts[WARNING]} 条"
        if a.receipt:
            line += f"（回执见附件 {a.receipt}）"
        lines.append(line + "。")
        first_error = next((p for p in a.sub.problems if p.severity == ERROR), None)
        if a.state == "rejected" and first_error is not None:
            lines.append(f"   主要问题：{first_error.message}")
    lines += ["", "下一步："]
    if rejected:
        lines.append("请打开附件中的回执，在“问题清单”中逐条查看（点击单元格链接可定位到原文件），修改后把整个工作簿"
                     "作为附件重新发送到本邮箱。以最后一次报送为准。")
    else:
        lines.append("无需操作。如有“提示”，请核实；确需更正的，修改后重新报送即可（以最后一次报送为准）。")
    lines += ["", "本邮件由县委组织部星级评定系统（starbatch）自动发送。"]
    return "\n".join(lines) + "\n"
