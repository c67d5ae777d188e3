"""IMAP transport (IMAPClient): fetch UNSEEN messages with BODY.PEEK[] into DIR/mail/<period>, and after the
commit mark them seen and move them to the done folder (MOVE, else COPY + \\Deleted + EXPUNGE).

IMAPClient does the protocol: folder names in modified UTF-7, quoting, SEARCH/FETCH/SELECT response parsing,
capabilities after login. What stays here is the policy: TLS unless plaintext to loopback was asked for, a
private CA, timeouts, errors as one RunError line without the password.
"""
from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from ..common import atomic_write
from ..errors import RunError
from .config import (
    TIMEOUT,
    MailConfig,
    Server,
    error_text,
    imap_password,
    plaintext,
    tls_context,
)

if TYPE_CHECKING:
    from imapclient import IMAPClient

# imapclient (~20 ms to import) is loaded by what talks to a server: a run without --imap never does.
SEEN = b"\\Seen"
IMAP_ERRORS = (OSError, imaplib.IMAP4.error)  # IMAPClientError is an imaplib.IMAP4.error


def imap_utf7_encode(name: str) -> str:
    """A folder name as IMAP sends it (RFC 3501 5.1.3)."""
    from imapclient import imap_utf7

    return imap_utf7.encode(name).decode("ascii")


def imap_utf7_decode(name: str) -> str:
    from imapclient import imap_utf7

    return imap_utf7.decode(name.encode("ascii"))


# --- connecting ----------------------------------------------------------------------------------

def imap_connect(mc: MailConfig, password: str) -> IMAPClient:
    """A logged-in IMAP session; RunError (no password in it) when it cannot be had."""
    s = _server(mc)
    try:
        client = _open(mc, s)
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise RunError(f"TLS with {s.where} failed: {error_text(exc, password)} "
                       f"(a private CA: --mail-cafile FILE)") from None
    except IMAP_ERRORS as exc:
        raise RunError(f"cannot reach {s.where}: {error_text(exc, password)}") from None
    try:
        _login(client, s, password)
    except (imaplib.IMAP4.error, UnicodeError) as exc:
        close(client)
        raise RunError(f"{s.where} refused the login as {s.user}: {error_text(exc, password)}") from None
    except OSError as exc:
        close(client)
        raise RunError(f"{s.where} dropped the connection at login: {error_text(exc, password)}") from None
    return client


def _server(mc: MailConfig) -> Server:
    if mc.imap is None:
        raise RunError("no IMAP server given (--imap URL)")
    return mc.imap


def _open(mc: MailConfig, s: Server) -> IMAPClient:
    """Connected, with TLS unless plaintext to loopback was asked for."""
    from imapclient import IMAPClient

    if s.tls_on_connect:
        return IMAPClient(s.host, s.port, ssl=True, ssl_context=tls_context(mc), timeout=TIMEOUT)
    client = IMAPClient(s.host, s.port, ssl=False, timeout=TIMEOUT)
    if plaintext(mc, s):
        return client
    try:
        if not client.has_capability("STARTTLS"):
            raise RunError(f"{s.where} does not offer STARTTLS; use imaps:// (or --mail-plaintext to a loopback "
                           f"address)")
        client.starttls(tls_context(mc))
    except BaseException:
        close(client)
        raise
    return client


def _login(client: IMAPClient, s: Server, password: str) -> None:
    # LOGIN takes ASCII only; a non-ASCII password needs AUTHENTICATE PLAIN (UTF-8).
    if client.has_capability("AUTH=PLAIN") and not password.isascii():
        client.plain_login(s.user, password)
    else:
        client.login(s.user, password)


def close(client: IMAPClient | None) -> None:
    if client is None:
        return
    try:
        client.logout()
    except IMAP_ERRORS:  # already gone
        with suppress(*IMAP_ERRORS):
            client.shutdown()


@contextmanager
def session(mc: MailConfig, doing: str) -> Iterator[IMAPClient]:
    """A logged-in session; a protocol or network error inside becomes one RunError line."""
    password = imap_password(mc)
    client = imap_connect(mc, password)
    try:
        yield client
    except IMAP_ERRORS as exc:
        raise RunError(f"{_server(mc).where}: {doing} failed: {error_text(exc, password)}") from None
    finally:
        close(client)


def select(client: IMAPClient, s: Server, readonly: bool) -> int:
    """Open the mailbox of the URL; its UIDVALIDITY."""
    from imapclient.exceptions import IMAPClientError

    try:
        info = client.select_folder(s.mailbox, readonly=readonly)
    except IMAPClientError as exc:
        raise RunError(f"{s.where}: cannot open the mailbox '{s.mailbox}': {error_text(exc)}") from None
    validity = info.get(b"UIDVALIDITY")
    if not isinstance(validity, int):
        raise RunError(f"{s.where}: the server sent no UIDVALIDITY for '{s.mailbox}'")
    return validity


# --- fetch before intake -------------------------------------------------------------------------

@dataclass
class Fetched:
    uidvalidity: int
    uids: list[int]


def fetch_unseen(mc: MailConfig, folder: Path) -> Fetched:
    """Every UNSEEN message, raw, into FOLDER/<UIDVALIDITY>-<UID>.eml; EXAMINE and PEEK: nothing is marked."""
    s = _server(mc)
    with session(mc, f"fetching from '{s.mailbox}'") as client:
        validity = select(client, s, readonly=True)
        folder.mkdir(parents=True, exist_ok=True)
        fetched = []
        for uid in sorted(client.search("UNSEEN")):
            raw = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]")
            if raw is not None:  # None: expunged meanwhile
                store(folder, stored_name(validity, uid), raw)
                fetched.append(uid)
    return Fetched(validity, fetched)


def stored_name(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}-{uid}.eml"


def store(folder: Path, name: str, raw: bytes) -> None:
    """Atomically, under a generated name; the same message fetched again leaves the file as it was."""
    path = folder / name
    if path.exists() and path.read_bytes() == raw:
        return
    atomic_write(path, raw)


def stored_uids(folder: Path, uidvalidity: int) -> set[int]:
    found = set()
    for path in folder.glob(f"{uidvalidity}-*.eml") if folder.is_dir() else []:
        uid = path.stem.split("-", 1)[1]
        if uid.isdigit():
            found.add(int(uid))
    return found


# --- move after the commit ------------------------------------------------------------------------

def move_stored(mc: MailConfig, folder: Path, fetched_validity: int | None = None,
                use_move: bool | None = None) -> int:
    """Mark \\Seen and move to the done folder (created if missing) every message of the mailbox that is
    stored in FOLDER: this run's and any from a night whose move failed. The number moved."""
    s = _server(mc)
    with session(mc, f"moving to '{mc.done_folder}'") as client:
        validity = select(client, s, readonly=False)
        if fetched_validity and validity != fetched_validity:  # UIDs of the old validity mean nothing now
            logger.warning("mail: '{}' changed its UIDVALIDITY ({} → {}); this run's messages stay", s.mailbox,
                           fetched_validity, validity)
        moving = sorted(set(client.search("ALL")) & stored_uids(folder, validity))
        if moving:
            _ensure_folder(client, mc.done_folder, s.where)
            client.add_flags(moving, [SEEN], silent=True)
            _move(client, moving, mc.done_folder, client.has_capability("MOVE") if use_move is None else use_move)
    return len(moving)


def _move(client: IMAPClient, uids: list[int], target: str, use_move: bool) -> None:
    if use_move:
        client.move(uids, target)
        return
    client.copy(uids, target)
    client.delete_messages(uids, silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)  # only ours, not what another client marked deleted
    else:
        client.expunge()


def _ensure_folder(client: IMAPClient, name: str, where: str) -> None:
    from imapclient.exceptions import IMAPClientError

    if client.folder_exists(name):
        return
    try:
        client.create_folder(name)
    except IMAPClientError as exc:
        raise RunError(f"{where}: cannot create the folder '{name}': {error_text(exc)}") from None
    client.subscribe_folder(name)
