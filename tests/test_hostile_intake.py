"""Intake loses nothing and crashes on nothing: non-UTF-8 file and folder names, attachments without a
name, names with terminal escapes, and messages or archives with more workbooks than anyone sends."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

from hostile_corpus import GBK_FOLDER, GBK_NAME, write_bytes_named
from run_helpers import (
    Attachment,
    at,
    build_message,
    results,
    run_args,
    run_cli,
    workbook_bytes,
    write,
)

from processor.intake import scan_inbox
from processor.limits import LIMITS
from processor.read import shown_file_name

ROOT = Path(__file__).resolve().parent.parent
SENDER = ("青山乡党委", "qs@township.example.cn")


def cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "processor.cli", *argv], capture_output=True, env=env, timeout=300, check=False)


# --- names that are not UTF-8 ---------------------------------------------------------------------

def test_gbk_named_file_and_folder__shown_decoded__nothing_crashes(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder = Path(os.fsdecode(os.path.join(os.fsencode(inbox), GBK_FOLDER)))
    folder.mkdir()
    data = workbook_bytes("青山乡", [2, 1])
    write_bytes_named(inbox, GBK_NAME, data)
    write_bytes_named(folder, GBK_NAME, data)
    found = scan_inbox(inbox).inputs
    assert sorted((i.name, i.origin) for i in found) == [("青山乡报送.xlsx", "青山乡/青山乡报送.xlsx"),
                                                         ("青山乡报送.xlsx", "青山乡报送.xlsx")]
    assert all(i.source is not None and i.source.is_file() for i in found)  # the real path, for reading again


def test_gbk_named_file__starbatch_validate_shows_the_decoded_name(tmp_path):
    path = write_bytes_named(tmp_path, GBK_NAME, workbook_bytes("青山乡", [2, 1]))
    done = cli("validate", str(path), "--json")
    assert done.returncode == 0, done.stderr.decode()
    shown = json.loads(done.stdout.decode("utf-8"))
    assert [f["file"] for f in shown["files"]] == ["青山乡报送.xlsx"]


def test_gbk_named_folder__the_run_accepts_the_file_and_records_readable_names(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    folder = Path(os.fsdecode(os.path.join(os.fsencode(inbox), GBK_FOLDER)))
    folder.mkdir()
    write_bytes_named(folder, GBK_NAME, workbook_bytes("青山乡", [2, 1]))
    code, _, stderr = run_cli(*run_args(inbox, out))
    assert code in (0, 1) and "Traceback" not in stderr
    assert [(i["file"], i["origin"], i["state"]) for i in results(out)["inputs"]] == [
        ("青山乡报送.xlsx", "青山乡/青山乡报送.xlsx", "accepted")]


def test_undecodable_name__shown_escaped():
    assert shown_file_name(os.fsdecode(b"\xff\xfe\x81.xlsx")) == "\\xff\\xfe\\x81.xlsx"


def test_names_never_carry_control_sequences(tmp_path):
    inbox = tmp_path / "inbox"
    write(inbox / "m.eml", build_message(sender=SENDER, subject="x", date=at(3), attachments=[
        Attachment("\x1b[2J\x1b[31m青山乡.xlsx", b"PK\x03\x04"), Attachment("青山\u202eslx.exe.xlsx", b"PK\x03\x04")]))
    write(inbox / "a\x1b]0;title\x07.xlsx", b"PK\x03\x04")
    names = [i.name for i in scan_inbox(inbox).inputs]
    assert names == ["a\\x1b]0;title\\x07.xlsx", "\\x1b[2J\\x1b[31m青山乡.xlsx", "青山\\u202eslx.exe.xlsx"]


# --- every attachment is an input -------------------------------------------------------------------

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def message_with(parts: list[tuple[str | None, bytes]]) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "qs@township.example.cn", "zzb@county.example.cn", "报送"
    msg["Date"] = "Mon, 05 Jan 2026 09:00:00 +0800"
    msg.set_content("报送材料见附件。")
    for filename, data in parts:
        msg.add_attachment(data, *XLSX_TYPE, filename=filename)
        if filename is None:
            part = msg.get_payload()[-1]
            del part["Content-Disposition"]  # inline, no name at all
    return msg.as_bytes()


def test_attachment_without_a_name_or_named_only_xlsx__each_an_input(tmp_path):
    good, other, third = (workbook_bytes(t, [2]) for t in ("城关镇", "河口镇", "柳林镇"))
    write(tmp_path / "inbox" / "m.eml", message_with([("城关镇.xlsx", good), (None, other), (".xlsx", third)]))
    found = scan_inbox(tmp_path / "inbox").inputs
    assert [(i.name, i.data, i.problems) for i in found] == [
        ("城关镇.xlsx", good, []), ("附件2（无文件名）.xlsx", other, []), ("附件3（无文件名）.xlsx", third, [])]


def test_attachment_with_no_name__the_run_reads_it(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    write(inbox / "m.eml", message_with([("城关镇.xlsx", workbook_bytes("城关镇", [2])),
                                         (None, workbook_bytes("河口镇", [3]))]))
    _, _, stderr = run_cli(*run_args(inbox, out))
    assert "Traceback" not in stderr
    shown = {i["file"]: i["state"] for i in results(out)["inputs"]}
    assert shown == {"城关镇.xlsx": "accepted", "附件2（无文件名）.xlsx": "accepted"}


def test_text_and_images_without_names__not_inputs(tmp_path):
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "qs@township.example.cn", "报送"
    msg.set_content("正文")
    msg.add_alternative("<p>正文</p>", subtype="html")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n....", "image", "png")
    msg.add_attachment(workbook_bytes("城关镇", [2]), *XLSX_TYPE, filename="城关镇.xlsx")
    write(tmp_path / "inbox" / "m.eml", msg.as_bytes())
    assert [i.name for i in scan_inbox(tmp_path / "inbox").inputs] == ["城关镇.xlsx"]


# --- caps -----------------------------------------------------------------------------------------

def test_message_with_more_workbooks_than_the_cap__the_rest_not_read__one_mail_004(tmp_path):
    count = LIMITS.max_inputs_per_message + 7
    parts = [Attachment(f"乡镇{n:02d}.xlsx", b"PK\x03\x04 %d" % n) for n in range(count)]
    write(tmp_path / "inbox" / "m.eml", build_message(sender=SENDER, subject="x", date=at(3), attachments=parts))
    found = scan_inbox(tmp_path / "inbox").inputs
    assert len(found) == LIMITS.max_inputs_per_message + 1
    last = found[-1]
    assert [p.code for p in last.problems] == ["MAIL_004"] and last.data == b""
    assert "其余 7 个" in last.problems[0].message and f"前 {LIMITS.max_inputs_per_message} 个" in last.problems[0].message
    assert all(not i.problems for i in found[:-1])


def test_archive_with_more_workbooks_than_the_cap__the_rest_not_read__one_mail_004(tmp_path):
    count = LIMITS.max_inputs_per_archive + 3
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for n in range(count):
            zf.writestr(f"乡镇{n:03d}.xlsx", b"PK\x03\x04 %d" % n)
    write(tmp_path / "inbox" / "all.zip", buffer.getvalue())
    found = scan_inbox(tmp_path / "inbox").inputs
    assert len(found) == LIMITS.max_inputs_per_archive + 1
    assert [p.code for p in found[-1].problems] == ["MAIL_004"] and "其余 3 个" in found[-1].problems[0].message


def test_the_run_accounts_for_the_capped_message(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    parts = [Attachment(f"乡镇{n:02d}.xlsx", b"not a workbook %d" % n) for n in range(LIMITS.max_inputs_per_message + 2)]
    write(inbox / "m.eml", build_message(sender=SENDER, subject="x", date=at(3), attachments=parts))
    code, _, stderr = run_cli(*run_args(inbox, out))
    assert code == 1 and "Traceback" not in stderr
    data = results(out)
    assert len(data["inputs"]) == LIMITS.max_inputs_per_message + 1
    assert sum(p["code"] == "MAIL_004" for p in data["problems"]) == 1
