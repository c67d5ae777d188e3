"""Builders the nightly-run tests share: township workbooks with designed ratings, saved e-mail
messages (stdlib `email`) carrying them the ways township mail clients do, zip archives, and ways
to run `starbatch run` and read what it wrote.

A township is described by its branches' target ratings (0–5 stars under R1): branch k earns the
first ratings[k] stars in rulebook order (基层党建星 first, so "1+4" never caps), every earned star's
items at full marks, every missed star's items at 60% (base 60 < 75). Self and review scores are
equal, so a workbook validates with no problem at all.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
import tempfile
import zipfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import openpyxl

from processor.fill import fill_template
from processor.rulebook import Rulebook, load_rulebook
from processor.sheets import REVIEW, SELF, score_field_id

PERIOD = 2026
CST = dt.timezone(dt.timedelta(hours=8))
CODES = {"城关镇": "CG", "河口镇": "HK", "柳林镇": "LL", "石桥乡": "SQ", "杨庄镇": "YZ", "青山乡": "QS"}
CONSOLIDATED_SHEETS = ["汇总", "支部评定", "公示名单", "整顿名单", "抽查名单", "荣誉名单", "升降星", "目标达成", "书记分类",
                       "问题清单", "报送情况", "评定程序", "乡镇评审问责"]
XLSX_TYPE = ("vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def r1() -> Rulebook:
    return load_rulebook("R1")


# --- township workbooks ----------------------------------------------------------------------

def branch_code(township: str, n: int) -> str:
    return f"{CODES[township]}-{n:03d}"


def township_rows(township: str, ratings: list[int], *, over_max: bool = False) -> dict[str, list[dict[str, Any]]]:
    """One township's rows; over_max=True types 22 into the first item (max 20): a VAL_005 error."""
    rb = r1()
    rows: dict[str, list[dict[str, Any]]] = {"branches": [], "scores": [], "events": [], "vetoes": [], "cadres": []}
    for n, rating in enumerate(ratings, 1):
        code = branch_code(township, n)
        rows["branches"].append({
            "township": township, "branch_code": code, "branch_name": f"{township}{n}村党支部",
            "village": f"{township}{n}村", "branch_type": "村党支部", "member_count": 30,
            "secretary_is_head": "是", "collective_income": 500000, "elderly_70_plus": 10, "reserve_cadres": 2})
        score: dict[str, Any] = {"branch_code": code}
        for k, unit in enumerate(rb.units):
            for item in unit["items"]:
                value = item["max"] if k < rating else item["max"] * 3 // 5
                score[score_field_id(unit["id"], item["id"], SELF)] = value
                score[score_field_id(unit["id"], item["id"], REVIEW)] = value
        rows["scores"].append(score)
        rows["cadres"] += [
            {"branch_code": code, "name": f"{CODES[township]}{n}书记", "role": "书记", "monthly_pay": 2400, "months": 12},
            {"branch_code": code, "name": f"{CODES[township]}{n}委员", "role": "委员", "monthly_pay": 1800, "months": 12}]
    if over_max:
        first = rb.units[0]["items"][0]
        rows["scores"][0][score_field_id(rb.units[0]["id"], first["id"], SELF)] = first["max"] + 2
    return rows


def township_workbook(path: Path, township: str, ratings: list[int], *, period: int = PERIOD,
                      over_max: bool = False) -> Path:
    return fill_template(r1(), path, {"township": township, "period": period},
                         township_rows(township, ratings, over_max=over_max))


def workbook_bytes(township: str, ratings: list[int], *, period: int = PERIOD, over_max: bool = False) -> bytes:
    """The workbook's bytes (deterministic: the same arguments always give the same bytes)."""
    return _workbook_bytes(township, tuple(ratings), period, over_max)


@lru_cache(maxsize=None)
def _workbook_bytes(township: str, ratings: tuple[int, ...], period: int, over_max: bool) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = township_workbook(Path(tmp) / "t.xlsx", township, list(ratings), period=period, over_max=over_max)
        return path.read_bytes()


# --- messages and archives -------------------------------------------------------------------

@dataclass
class Attachment:
    """An attachment and how its name is written in Content-Disposition:
    rfc2231-utf8 (filename*=utf-8''…), rfc2231-gb18030 (filename*=gb18030''%B3%C7…),
    rfc2047 (filename="=?utf-8?b?…?="), raw-gbk (the GBK bytes as they are) or plain (ASCII as it is)."""
    name: str
    data: bytes
    encoding: str = "rfc2231-utf8"


def build_message(*, sender: tuple[str, str], subject: str, date: dt.datetime, attachments: list[Attachment],
                  raw_gbk_headers: bool = False, raw_charset: str = "gbk", message_id: str = "") -> bytes:
    """A saved message (.eml / Maildir file) built with the stdlib email package (compat32 MIME classes).

    raw_gbk_headers=True writes Subject and the sender's name (and raw-gbk attachment names) as raw
    8-bit bytes in raw_charset (GBK by default), as some old Chinese mail clients do, instead of
    RFC 2047 encoded words.
    """
    raw: dict[str, bytes] = {}

    def token(text: str) -> str:
        key = f"RAWGBK{len(raw):02d}X"
        raw[key] = text.encode(raw_charset)
        return key

    msg = MIMEMultipart()
    name, address = sender
    msg["From"] = f"{token(name)} <{address}>" if raw_gbk_headers else formataddr((name, address), "utf-8")
    msg["To"] = "zzb@county.example.cn"
    msg["Subject"] = token(subject) if raw_gbk_headers else Header(subject, "utf-8").encode()
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id or f"<{hashlib.sha1((subject + date.isoformat()).encode()).hexdigest()[:16]}@township.example.cn>"
    msg.attach(MIMEText("报送材料见附件。", "plain", "utf-8"))
    for a in attachments:
        subtype = XLSX_TYPE if a.name.endswith(".xlsx") else "octet-stream"
        part = MIMEApplication(a.data, _subtype=subtype)
        part.add_header("Content-Disposition", "attachment", filename=_disposition_name(a, token))
        msg.attach(part)
    data = msg.as_bytes()
    for key, value in raw.items():
        data = data.replace(key.encode(), value)
    return data


def _disposition_name(a: Attachment, token) -> Any:
    if a.encoding == "rfc2231-utf8":
        return ("utf-8", "", a.name)
    if a.encoding == "rfc2231-gb18030":
        return ("gb18030", "", a.name)
    if a.encoding == "rfc2047":
        return Header(a.name, "utf-8").encode()
    if a.encoding == "raw-gbk":
        return token(a.name)
    if a.encoding == "plain":
        return a.name
    raise ValueError(a.encoding)


def zip_gbk_member(member: str, data: bytes) -> bytes:
    """A .zip made the way Chinese Windows makes it: member name in GBK, UTF-8 flag (bit 11) not set."""
    gbk = member.encode("gbk")
    stem, dot, ext = member.rpartition(".")
    placeholder = ("Q" * (len(gbk) - len(ext) - 1) + "." + ext).encode("ascii")
    assert len(placeholder) == len(gbk)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo(placeholder.decode(), date_time=(2026, 1, 1, 0, 0, 0)), data)
    packed = buffer.getvalue()
    assert packed.count(placeholder) == 2  # local header and central directory
    packed = packed.replace(placeholder, gbk)
    with zipfile.ZipFile(io.BytesIO(packed)) as check:
        assert not check.infolist()[0].flag_bits & 0x800
    return packed


def at(day: int, hour: int = 9, month: int = 1) -> dt.datetime:
    return dt.datetime(PERIOD, month, day, hour, 0, tzinfo=CST)


def write(path: Path, data: bytes, mtime: dt.datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


# --- running ---------------------------------------------------------------------------------

def run_args(inbox: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(inbox), "--out", str(out), "--period", str(PERIOD), *extra]


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`starbatch …` in this process; (exit code, stdout, stderr)."""
    from processor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# --- reading what a run wrote ----------------------------------------------------------------

def output_files(out: Path) -> dict[str, bytes]:
    """The run's outputs by relative path: workbooks, results.json, receipts. Not the ledger (nor its good copy), logs,
    the lock or staging folders."""
    found = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith((".", "logs/")) and rel not in ("ledger.sqlite", "ledger.sqlite.bak"):
            found[rel] = path.read_bytes()
    return found


def results(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def consolidated_path(out: Path, period: int = PERIOD) -> Path:
    return out / f"评定结果汇总_R1_{period}.xlsx"


def sheet_values(path: Path, sheet: str) -> list[list[Any]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return [list(row) for row in workbook[sheet].iter_rows(values_only=True)]
    finally:
        workbook.close()


def table(path: Path, sheet: str, header_first: str) -> list[dict[str, Any]]:
    """Rows of the table whose header row starts with header_first, as dicts by header text."""
    rows = sheet_values(path, sheet)
    start = next(i for i, r in enumerate(rows) if r and r[0] == header_first)
    headers = rows[start]
    return [dict(zip(headers, r)) for r in rows[start + 1:] if any(v is not None for v in r)]


def ledger_runs(out: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(out / "ledger.sqlite") as db:
        rows = db.execute("SELECT id, period, seed, exit_code, counts FROM runs ORDER BY id").fetchall()
    return [{"id": i, "period": p, "seed": s, "exit_code": e, "counts": json.loads(c)} for i, p, s, e, c in rows]


def tree(folder: Path) -> set[str]:
    """Every path under folder (files, folders, links), relative."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


# --- the county inbox the end-to-end tests run over ------------------------------------------

# township → branch ratings in its current (accepted) submission
COUNTY = {"城关镇": [5, 3, 2], "河口镇": [4, 1, 0], "柳林镇": [2, 2, 3], "石桥乡": [1, 5, 2], "青山乡": [0, 1, 2]}
LISTED = ["城关镇", "河口镇", "柳林镇", "石桥乡", "青山乡", "杨庄镇"]   # 杨庄镇 sends nothing


def build_county_inbox(inbox: Path, *, broken: bool = True) -> dict[str, str]:
    """Five townships' submissions in every form the county's mailbox holds; returns file → state.

    - mail/a-城关镇-更正.eml (12 Jan): 城关镇's corrected workbook; Subject, sender and file name in raw GBK bytes.
    - mail/b-城关镇-初次.eml (10 Jan): 城关镇's first workbook, with an error; sorts after the correction
      but is older by its Date, so it is superseded.
    - mail/c-河口柳林.eml (11 Jan): two workbooks (河口镇 as filename*=gb18030'', 柳林镇 as an RFC 2047
      encoded word) and a .docx cover letter.
    - Maildir/new/<id> (13 Jan, no extension): 石桥乡.zip whose member name is GBK without the UTF-8 flag.
    - Maildir/cur/<id>:2,S (14 Jan): 河口镇's workbook again, same bytes, another name → duplicate.
    - 青山乡.xlsx, loose (file time 15 Jan).
    - 其他/损坏.xlsx (broken=True): text saved as .xlsx → rejected.
    """
    wb = {t: workbook_bytes(t, r) for t, r in COUNTY.items()}
    write(inbox / "mail" / "a-城关镇-更正.eml", build_message(
        sender=("城关镇党委", "cg@township.example.cn"), subject="城关镇五星支部评定（更正）", date=at(12),
        attachments=[Attachment("城关镇（更正）.xlsx", wb["城关镇"], "raw-gbk")], raw_gbk_headers=True))
    write(inbox / "mail" / "b-城关镇-初次.eml", build_message(
        sender=("城关镇党委", "cg@township.example.cn"), subject="城关镇五星支部评定", date=at(10),
        attachments=[Attachment("城关镇.xlsx", workbook_bytes("城关镇", COUNTY["城关镇"], over_max=True))]))
    write(inbox / "mail" / "c-河口柳林.eml", build_message(
        sender=("河口镇组织办", "hk@township.example.cn"), subject="河口镇、柳林镇报送", date=at(11),
        attachments=[Attachment("河口镇.xlsx", wb["河口镇"], "rfc2231-gb18030"),
                     Attachment("柳林镇.xlsx", wb["柳林镇"], "rfc2047"),
                     Attachment("报送说明.docx", b"PK\x03\x04 not a workbook", "rfc2231-utf8")]))
    write(inbox / "Maildir" / "new" / "1768266000.M1P100.mailhost", build_message(
        sender=("石桥乡", "sq@township.example.cn"), subject="石桥乡报送（压缩包）", date=at(13),
        attachments=[Attachment("石桥乡.zip", zip_gbk_member("石桥乡.xlsx", wb["石桥乡"]))]))
    write(inbox / "Maildir" / "cur" / "1768352400.M2P200.mailhost:2,S", build_message(
        sender=("河口镇组织办", "hk@township.example.cn"), subject="重发：河口镇报送", date=at(14),
        attachments=[Attachment("河口镇（重发）.xlsx", wb["河口镇"])]))
    write(inbox / "青山乡.xlsx", wb["青山乡"], mtime=at(15))
    states = {"城关镇（更正）.xlsx": "accepted", "城关镇.xlsx": "superseded", "河口镇.xlsx": "accepted",
              "柳林镇.xlsx": "accepted", "石桥乡.xlsx": "accepted", "河口镇（重发）.xlsx": "duplicate",
              "青山乡.xlsx": "accepted"}
    if broken:
        write(inbox / "其他" / "损坏.xlsx", "这不是工作簿".encode("utf-8"), mtime=at(16))
        states["损坏.xlsx"] = "rejected"
    return states


def loose_inbox(inbox: Path, county: dict[str, list[int]], *, period: int = PERIOD) -> Path:
    """One loose workbook per township, named like the samples (01-城关镇.xlsx), with fixed file times."""
    for n, (township, ratings) in enumerate(county.items(), 1):
        write(inbox / f"{n:02d}-{township}.xlsx", workbook_bytes(township, ratings, period=period),
              mtime=dt.datetime(period, 12, 1, 9, 0, tzinfo=CST))
    return inbox


# --- memory -----------------------------------------------------------------------------------

def unpickled_bytes(data: bytes) -> int:
    """The memory (tracemalloc) the objects pickled in `data` take once unpickled, as the run holds them."""
    import pickle
    import tracemalloc

    tracemalloc.start()
    try:
        kept = pickle.loads(data)  # noqa: F841 (alive while measured)
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
