"""The run's intake with mail: INBOX (when given) and DIR/mail/<period>, through the same scan, remembering which
message file every input came from (so the reply goes to its sender)."""
from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from ..intake import Input, Intake, _header, _kind_of, _message_date, scan_inbox
from ..settings import RunConfig

MAIL_DIR = "mail"

Scan = Callable[[Path], Intake]


def mail_folder(config: RunConfig) -> Path:
    return config.out / MAIL_DIR / str(config.period)


def scan_inputs(config: RunConfig, sources: dict[int, Path] | None = None, scan: Scan = scan_inbox) -> Intake:
    """INBOX (if given) and then DIR/mail/<period>. Records each input's message file in SOURCES (by id)."""
    sources = {} if sources is None else sources
    inputs: list[Input] = []
    ignored: list[str] = []
    if config.inbox is not None:
        got = scan(config.inbox)
        _note_sources(got.inputs, sources)
        inputs += got.inputs
        ignored += got.ignored
    folder = mail_folder(config)
    if folder.is_dir():
        got = scan(folder)
        _note_sources(got.inputs, sources)
        prefix = f"{MAIL_DIR}/{config.period}/"
        for item in got.inputs:
            if id(item) in sources and not item.sender and not item.message_id:
                _provenance_from_headers(item, sources[id(item)])  # e.g. an oversized message (FILE_007)
            item.origin = prefix + item.origin
        inputs += got.inputs
        ignored += [prefix + name for name in got.ignored]
    return Intake(inputs, ignored)


def _note_sources(inputs: list[Input], sources: dict[int, Path]) -> None:
    for item in inputs:
        path = _message_file(item)
        if path is not None:
            sources[id(item)] = path


def _message_file(item: Input) -> Path | None:
    """The top-level message file an input came from (None for loose workbooks and archives). Its real path,
    not the shown origin: a folder copied from a Windows share may have a name that is not UTF-8."""
    if item.source is None or "!" in item.origin.split("#", 1)[0]:
        return None
    return item.source if _kind_of(item.source) == "message" and item.source.is_file() else None


def _head(path: Path, limit: int = 256 * 1024) -> bytes:
    with path.open("rb") as fh:
        data = fh.read(limit)
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in data:
            return data[:data.index(sep) + len(sep)]
    return data


def headers(path: Path) -> EmailMessage | None:
    """The header block of a stored message (None when it cannot be parsed: no reply can be addressed)."""
    try:
        return BytesParser(policy=policy.default).parsebytes(_head(path), headersonly=True)
    except Exception:  # noqa: BLE001 (the email package raises many kinds on hostile headers)
        return None


def header(msg: EmailMessage | None, key: str) -> str:
    return _header(msg, key) if msg is not None else ""


def _provenance_from_headers(item: Input, path: Path) -> None:
    msg = headers(path)
    if msg is None:
        return
    try:
        item.sender, item.subject = _header(msg, "From"), _header(msg, "Subject")
        item.message_id = _header(msg, "Message-ID")
        item.date = _message_date(msg) or item.date
    except Exception:  # noqa: BLE001, S110 (hostile headers: keep what intake gave)
        pass
