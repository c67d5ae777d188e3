"""Intake: everything in the inbox becomes a list of inputs, each a workbook's bytes with its provenance.

INBOX is a folder, scanned recursively (a Maildir has cur/ and new/). It may hold workbooks, saved
messages (.eml, or Maildir files) and .zip archives; messages carry attachments, archives carry
members, and both may nest. Attachment and member names are kept only as display text: bytes are
written to the work folder under generated names, never under a name that came from outside.
"""
from __future__ import annotations

import datetime as dt
import email
import email.message
import email.utils
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path, PurePosixPath

from .limits import LIMITS
from .problems import Problem, problem
from .read import CFB_MAGIC, ZIP_MAGIC, shown_file_name

WORKBOOK_EXTENSIONS = {".xlsx", ".xlsm", ".xls", ".ods"}
MESSAGE_EXTENSIONS = {".eml"}
ARCHIVE_EXTENSIONS = {".zip"}
MAILDIR_PARTS = {"cur", "new"}
MAX_NESTING = 3


@dataclass
class Input:
    """One candidate submission: a workbook (or what should have been one) and where it came from."""
    name: str                 # display name (attachment or file name), untrusted text
    origin: str               # where it came from, for the ledger: path in the inbox, then message/archive
    data: bytes
    sender: str = ""
    subject: str = ""
    message_id: str = ""
    date: dt.datetime | None = None   # message date, else file modification time
    problems: list[Problem] = field(default_factory=list)  # set when intake already knows it is unusable
    source: Path | None = None         # the inbox file it came from (its real path, maybe not UTF-8)
    sha256: str = field(init=False, default="")
    size: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        # Hashed once: the bytes are released as soon as they are written to the work folder.
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        self.size = len(self.data)

    @property
    def extension(self) -> str:
        return PurePosixPath(self.name.replace("\\", "/")).suffix.lower()


@dataclass
class Intake:
    inputs: list[Input]
    ignored: list[str]   # files in the inbox that are not submissions (listed, never processed)


def scan_inbox(inbox: Path) -> Intake:
    """Every submission in the inbox, in a stable order (by relative path)."""
    inputs: list[Input] = []
    ignored: list[str] = []
    for path in sorted(_walk(inbox, ignored), key=lambda p: os.fsencode(p.relative_to(inbox))):
        rel = shown_path(path.relative_to(inbox))
        kind = _kind_of(path)
        if kind is None:
            ignored.append(rel)
            continue
        for item in _read_file(path, rel, kind):
            item.source = path
            inputs.append(item)
    return Intake(inputs, ignored)


def shown_path(relative: Path) -> str:
    """A path inside the inbox as text people (and the ledger) can read: every part a shown name."""
    return "/".join(shown_file_name(part) for part in relative.parts)


def _read_file(path: Path, rel: str, kind: str) -> list[Input]:
    """The inputs of one inbox file; its size is known from stat before a byte is read."""
    name = shown_file_name(path.name)
    try:
        stat = path.stat()
        mtime = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.timezone.utc)
        if stat.st_size > LIMITS.max_file_bytes:
            return [Input(name, rel, b"", date=mtime, problems=[problem("FILE_007", file=name, detail=f"{stat.st_size} 字节")])]
        with path.open("rb") as fh:
            data = fh.read(LIMITS.max_file_bytes + 1)  # it may have grown since stat
    except OSError as exc:
        return [Input(name, rel, b"", problems=[problem("FILE_002", file=name, detail=str(exc)[:100])])]
    if len(data) > LIMITS.max_file_bytes:
        return [Input(name, rel, b"", date=mtime, problems=[problem("FILE_007", file=name, detail=f"超过 {len(data) - 1} 字节")])]
    return expand(name, rel, data, kind, date=mtime)


def _walk(inbox: Path, ignored: list[str]):
    """Regular files under inbox; symlinks are listed as ignored, never followed."""
    for root, dirs, files in os.walk(inbox, followlinks=False):
        links = sorted(d for d in dirs if (Path(root) / d).is_symlink())
        ignored += [shown_path((Path(root) / d).relative_to(inbox)) + "（符号链接，未读取）" for d in links]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in links)
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith("."):
                continue
            if path.is_symlink() or not path.is_file():
                ignored.append(shown_path(path.relative_to(inbox)) + "（符号链接或特殊文件，未读取）")
                continue
            yield path


def _kind_of(path: Path) -> str | None:
    """By extension, except that every file a Maildir keeps in cur/ or new/ is a message."""
    kind = _kind_of_name(path.name)
    if kind != "workbook" and path.parent.name in MAILDIR_PARTS:
        return "message"
    return kind


def expand(name: str, origin: str, data: bytes, kind: str, date: dt.datetime | None = None,
           sender: str = "", subject: str = "", message_id: str = "", depth: int = 0) -> list[Input]:
    """A file's bytes → the workbook inputs inside it (itself, a message's attachments, an archive's members)."""
    if kind == "workbook":
        return [Input(name, origin, data, sender, subject, message_id, date)]
    if depth >= MAX_NESTING:
        return [Input(name, origin, data, sender, subject, message_id, date,
                      [problem("FILE_006", file=name, detail=f"嵌套超过 {MAX_NESTING} 层的附件或压缩包")])]
    if kind == "message":
        return _expand_message(name, origin, data, date, depth)
    return _expand_archive(name, origin, data, date, sender, subject, message_id, depth)


def _expand_message(name: str, origin: str, data: bytes, file_date: dt.datetime | None, depth: int) -> list[Input]:
    try:
        msg = email.message_from_bytes(data, policy=policy.default)
        sender = _header(msg, "From")
        subject = _header(msg, "Subject")
        message_id = _header(msg, "Message-ID")
        date = _message_date(msg) or file_date
        attachments = list(_attachments(msg))
    except Exception as exc:  # the email package raises many kinds on broken input
        return [Input(name, origin, data, date=file_date,
                      problems=[problem("MAIL_001", file=name, detail=str(exc)[:120])])]
    context = (date, sender, subject, message_id)
    found = _expand_members(name, origin, attachments, context, depth)
    if not found:
        listed = "、".join(shown_file_name(f) if f else "（无文件名）" for f, _, _ in attachments) or "无附件"
        found.append(Input(f"{name}（邮件）", origin, data, sender, subject, message_id, date,
                           [problem("MAIL_002", file=name, detail=listed[:200])]))
    return found


def _expand_members(name: str, origin: str, members: list[tuple[str | None, bytes, str]], context: tuple,
                    depth: int) -> list[Input]:
    """Inputs from a message's attachments, (name, bytes, content type) each; past the cap, the rest are not read."""
    date, sender, subject, message_id = context
    found: list[Input] = []
    for i, (filename, payload, content_type) in enumerate(members, 1):
        shown, kind = _shown_and_kind(filename, payload, content_type, i)
        if kind is None:
            continue
        if len(found) >= LIMITS.max_inputs_per_message:
            left = sum(_shown_and_kind(*m, j)[1] is not None for j, m in enumerate(members[i - 1:], i))
            found.append(_too_many(name, origin, context, LIMITS.max_inputs_per_message, left))
            break
        found += expand(shown, f"{origin}#附件{i}", payload, kind, date, sender, subject, message_id, depth + 1)
    return found


def _too_many(name: str, origin: str, context: tuple, cap: int, left: int) -> Input:
    date, sender, subject, message_id = context
    return Input(f"{name}（其余 {left} 个未处理）", origin, b"", sender, subject, message_id, date,
                 [problem("MAIL_004", file=name, detail=f"超过 {cap} 个，其余 {left} 个未读取", limit=cap)])


def _shown_and_kind(filename: str | None, payload: bytes, content_type: str, i: int) -> tuple[str, str | None]:
    """The name to show and the kind (workbook, message, archive); by content when the name says nothing."""
    kind = _kind_of_name(filename or "")
    if filename and kind is not None and _has_stem(filename):
        return shown_file_name(filename), kind
    sniffed = _kind_of_content(payload, content_type)
    if sniffed is None:
        return filename or "", None
    return (shown_file_name(filename) if filename and _has_stem(filename) else f"附件{i}（无文件名）{sniffed[1]}"), sniffed[0]


def _has_stem(filename: str | None) -> bool:
    """False for no name and for a name that is only an extension (".xlsx")."""
    base = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return bool(base) and base.lower() not in WORKBOOK_EXTENSIONS | MESSAGE_EXTENSIONS | ARCHIVE_EXTENSIONS


_SPREADSHEET_TYPES = ("spreadsheet", "excel", "officedocument.spreadsheetml", "ms-excel")
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-zip")


def _kind_of_content(data: bytes, content_type: str) -> tuple[str, str] | None:
    """(kind, extension) of an attachment judged by its bytes; None when it is no workbook."""
    if data.startswith(CFB_MAGIC):
        streams = ("Workbook", "Book", "EncryptedPackage")
        return ("workbook", ".xls") if any(n.encode("utf-16-le") in data for n in streams) else None
    if not data.startswith(ZIP_MAGIC):
        return None
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError):
        return ("workbook", ".xlsx") if any(t in content_type for t in _SPREADSHEET_TYPES) else None
    if "xl/workbook.xml" in names:
        return "workbook", ".xlsm" if "xl/vbaProject.bin" in names else ".xlsx"
    if "content.xml" in names and "mimetype" in names:
        return "workbook", ".ods"
    return ("archive", ".zip") if content_type in _ZIP_TYPES else None


def _header(msg: EmailMessage, key: str) -> str:
    raw = _raw_header(msg, key)
    if raw is not None:
        return raw
    try:
        value = msg.get(key)
        return "" if value is None else _repair_text(str(value))
    except Exception:  # undecodable header bytes: keep what can be read
        values = msg.get_all(key) or [""]
        return _repair_text(str(values[0]))


def _message_date(msg: EmailMessage) -> dt.datetime | None:
    try:
        value = msg.get("Date")
        parsed = email.utils.parsedate_to_datetime(str(value)) if value else None
    except Exception:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def _attachments(msg: EmailMessage):
    """(name or None, bytes, content type) of every leaf part that is not the message's text."""
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = _filename(part)
        content_type = part.get_content_type()
        if not filename and part.get_content_disposition() != "attachment" and content_type.startswith("text/"):
            continue
        payload = part.get_payload(decode=True) or b""
        yield (_repair_text(filename) if filename else None), payload, content_type


def _repair_text(text: str) -> str:
    """Header text in raw 8-bit bytes arrives as surrogate escapes; decode it as UTF-8, else GB18030."""
    if _has_raw_bytes(text):
        raw = text.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("gb18030", errors="replace")
    return text


def _has_raw_bytes(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _raw_header(part: EmailMessage, key: str) -> str | None:
    """A header sent as raw 8-bit bytes (not MIME-encoded), repaired; None when it was plain ASCII.

    The parsed header (policy.default) would have decoded such bytes as UTF-8 with replacement
    characters, so GBK text must be taken from the raw value.
    """
    for name, value in part.raw_items():
        if name.lower() == key.lower() and _has_raw_bytes(value):
            return " ".join(_repair_text(value).split())
    return None


def _filename(part: EmailMessage) -> str | None:
    """The attachment's name; from the raw header when its bytes were sent unencoded (GBK)."""
    if _raw_header(part, "Content-Disposition") is None and _raw_header(part, "Content-Type") is None:
        return part.get_filename()
    legacy = email.message.Message()  # compat32: parameters of an already-decoded header
    for name, value in part.raw_items():
        if name.lower() in ("content-disposition", "content-type"):
            legacy[name] = " ".join(_repair_text(value).split())
    return legacy.get_filename()


def _kind_of_name(filename: str) -> str | None:
    ext = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if ext in WORKBOOK_EXTENSIONS:
        return "workbook"
    if ext in MESSAGE_EXTENSIONS:
        return "message"
    if ext in ARCHIVE_EXTENSIONS:
        return "archive"
    return None


def _expand_archive(name: str, origin: str, data: bytes, date, sender, subject, message_id, depth) -> list[Input]:
    def rejected(code: str, detail: str) -> list[Input]:
        return [Input(name, origin, data, sender, subject, message_id, date, [problem(code, file=name, detail=detail)])]

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError) as exc:
        return rejected("FILE_002", str(exc)[:100])
    declared = sum(i.file_size for i in infos)
    if len(infos) > LIMITS.max_zip_members or declared > LIMITS.max_unpacked_bytes:
        return rejected("FILE_007", f"压缩包声明解压后 {declared} 字节、{len(infos)} 个文件")
    found: list[Input] = []
    for n, info in enumerate(infos):
        member = _member_name(info)
        kind = _kind_of_name(member)
        if kind is None:
            continue
        if len(found) >= LIMITS.max_inputs_per_archive:
            left = sum(_kind_of_name(_member_name(i)) is not None for i in infos[n:])
            found.append(_too_many(name, origin, (date, sender, subject, message_id), LIMITS.max_inputs_per_archive, left))
            break
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > LIMITS.max_file_bytes or (info.file_size > 1_000_000 and ratio > LIMITS.max_zip_ratio):
            found += [Input(member, f"{origin}!{member}", b"", sender, subject, message_id, date,
                            [problem("FILE_007", file=member, detail=f"解压后 {info.file_size} 字节")])]
            continue
        try:
            payload = _read_bounded(archive, info)
        except (zipfile.BadZipFile, ValueError, RuntimeError, OSError) as exc:
            found.append(Input(member, f"{origin}!{member}", b"", sender, subject, message_id, date,
                               [problem("FILE_002", file=member, detail=str(exc)[:100])]))
            continue
        found += expand(member, f"{origin}!{member}", payload, kind, date, sender, subject, message_id, depth + 1)
    if not found:
        return rejected("MAIL_003", "、".join(_member_name(i) for i in infos)[:200] or "空压缩包")
    return found


def _member_name(info: zipfile.ZipInfo) -> str:
    """Zip member names without the UTF-8 flag are usually GBK from Chinese Windows."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gb18030")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return shown_file_name(name.replace("\x00", ""))


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Inflate at most the limit, whatever the header claimed."""
    with archive.open(info) as fh:
        data = fh.read(LIMITS.max_file_bytes + 1)
    if len(data) > LIMITS.max_file_bytes:
        raise ValueError(f"解压后超过 {LIMITS.max_file_bytes} 字节")
    return data
