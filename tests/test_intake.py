"""Intake: whatever the county's mailbox holds becomes inputs with readable Chinese names, and nothing
from outside (a file name, a member name, a symlink) can make starbatch read or write elsewhere."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from processor.intake import scan_inbox
from run_helpers import (COUNTY, Attachment, at, build_message, results, run_args, run_cli, tree, workbook_bytes, write,
                         zip_gbk_member)

PAYLOAD = b"PK\x03\x04 stands in for a workbook"  # intake does not open workbooks
SENDER = ("城关镇党委", "cg@township.example.cn")


def one_message(tmp_path: Path, *attachments: Attachment, name: str = "m.eml", **kw) -> Path:
    inbox = tmp_path / "inbox"
    data = build_message(sender=kw.pop("sender", SENDER), subject=kw.pop("subject", "城关镇报送"),
                         date=kw.pop("date", at(12)), attachments=list(attachments), **kw)
    write(inbox / name, data)
    return inbox


def names(inbox: Path) -> list[str]:
    return [i.name for i in scan_inbox(inbox).inputs]


# --- attachment names as mail clients write them ----------------------------------------------

def test_intake__rfc2231_utf8_name(tmp_path):
    inbox = one_message(tmp_path, Attachment("城关镇.xlsx", PAYLOAD, "rfc2231-utf8"))
    assert b"filename*=utf-8''%E5%9F%8E%E5%85%B3%E9%95%87.xlsx" in (inbox / "m.eml").read_bytes()
    (item,) = scan_inbox(inbox).inputs
    assert (item.name, item.data, item.problems) == ("城关镇.xlsx", PAYLOAD, [])


@pytest.mark.parametrize("charset", ["gb18030", "gbk"])
def test_intake__rfc2231_gb18030_name(tmp_path, charset):
    inbox = tmp_path / "inbox"
    data = build_message(sender=SENDER, subject="x", date=at(12), attachments=[Attachment("城关镇.xlsx", PAYLOAD)])
    data = data.replace(b"filename*=utf-8''%E5%9F%8E%E5%85%B3%E9%95%87.xlsx",
                        b"filename*=" + charset.encode() + b"''%B3%C7%B9%D8%D5%F2.xlsx")
    write(inbox / "m.eml", data)
    assert f"filename*={charset}''%B3%C7%B9%D8%D5%F2.xlsx".encode() in data
    assert names(inbox) == ["城关镇.xlsx"]


def test_intake__rfc2231_gb18030_name__as_the_email_package_writes_it(tmp_path):
    inbox = one_message(tmp_path, Attachment("河口镇.xlsx", PAYLOAD, "rfc2231-gb18030"))
    assert b"filename*=gb18030''%BA%D3%BF%DA%D5%F2.xlsx" in (inbox / "m.eml").read_bytes()
    assert names(inbox) == ["河口镇.xlsx"]


def test_intake__rfc2047_encoded_word_name(tmp_path):
    inbox = one_message(tmp_path, Attachment("柳林镇.xlsx", PAYLOAD, "rfc2047"))
    assert b'filename="=?utf-8?b?' in (inbox / "m.eml").read_bytes()
    assert names(inbox) == ["柳林镇.xlsx"]


@pytest.mark.parametrize("charset", ["gbk", "gb18030", "utf-8"])
def test_intake__raw_8bit_header_bytes(tmp_path, charset):
    inbox = one_message(tmp_path, Attachment("石桥乡（更正）.xlsx", PAYLOAD, "raw-gbk"), raw_gbk_headers=True,
                        raw_charset=charset, sender=("石桥乡党委", "sq@township.example.cn"), subject="石桥乡五星评定报送")
    data = (inbox / "m.eml").read_bytes()
    assert "石桥乡（更正）.xlsx".encode(charset) in data and b"=?" not in data.split(b"\n\n")[0]
    (item,) = scan_inbox(inbox).inputs
    assert (item.name, item.sender, item.subject) == ("石桥乡（更正）.xlsx", "石桥乡党委 <sq@township.example.cn>",
                                                       "石桥乡五星评定报送")


def test_intake__encoded_headers__sender_subject_date_message_id(tmp_path):
    inbox = one_message(tmp_path, Attachment("城关镇.xlsx", PAYLOAD), message_id="<abc@township.example.cn>")
    (item,) = scan_inbox(inbox).inputs
    assert (item.sender, item.subject, item.message_id) == (
        "城关镇党委 <cg@township.example.cn>", "城关镇报送", "<abc@township.example.cn>")
    assert item.date == at(12)


def test_intake__several_attachments__one_input_each_in_message_order(tmp_path):
    inbox = one_message(tmp_path, Attachment("城关镇.xlsx", b"PK1"), Attachment("报送说明.docx", b"PK2"),
                        Attachment("河口镇.xlsx", b"PK3", "rfc2231-gb18030"), Attachment("柳林镇.xlsx", b"PK4", "rfc2047"))
    items = scan_inbox(inbox).inputs
    assert [(i.name, i.data, i.origin) for i in items] == [
        ("城关镇.xlsx", b"PK1", "m.eml#附件1"), ("河口镇.xlsx", b"PK3", "m.eml#附件3"), ("柳林镇.xlsx", b"PK4", "m.eml#附件4")]
    assert {i.subject for i in items} == {"城关镇报送"}


def test_intake__message_without_a_workbook__one_input_with_MAIL_002(tmp_path):
    inbox = one_message(tmp_path, Attachment("报送说明.docx", b"PK"))
    (item,) = scan_inbox(inbox).inputs
    assert [p.code for p in item.problems] == ["MAIL_002"] and "报送说明.docx" in item.problems[0].message


# --- archives -----------------------------------------------------------------------------------

def test_intake__zip_member_name_gbk_without_utf8_flag(tmp_path):
    packed = zip_gbk_member("石桥乡.xlsx", PAYLOAD)
    with zipfile.ZipFile(io.BytesIO(packed)) as zf:
        info = zf.infolist()[0]
        assert not info.flag_bits & 0x800 and info.filename != "石桥乡.xlsx"  # what zipfile alone would show
    inbox = one_message(tmp_path, Attachment("石桥乡.zip", packed))
    (item,) = scan_inbox(inbox).inputs
    assert (item.name, item.data, item.origin) == ("石桥乡.xlsx", PAYLOAD, "m.eml#附件1!石桥乡.xlsx")
    assert item.subject == "城关镇报送"


def test_intake__loose_zip_with_utf8_flag(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "报送.zip", "w") as zf:
        zf.writestr("柳林镇/柳林镇.xlsx", PAYLOAD)
        zf.writestr("柳林镇/说明.txt", b"x")
    (item,) = scan_inbox(inbox).inputs
    assert (item.name, item.origin) == ("柳林镇/柳林镇.xlsx", "报送.zip!柳林镇/柳林镇.xlsx")


# --- Maildir and loose files --------------------------------------------------------------------

def test_intake__maildir_cur_and_new__files_without_extension_are_messages(tmp_path):
    inbox = tmp_path / "inbox"
    for folder, name, township in [("new", "1768266000.M1P100.host", "城关镇"),
                                   ("cur", "1768352400.M2P200.host:2,S", "河口镇"),
                                   ("tmp", "1768352500.M3P300.host", "柳林镇")]:
        write(inbox / "Maildir" / folder / name, build_message(
            sender=SENDER, subject=f"{township}报送", date=at(12), attachments=[Attachment(f"{township}.xlsx", PAYLOAD)]))
    found = scan_inbox(inbox)
    assert [(i.name, i.origin) for i in found.inputs] == [
        ("河口镇.xlsx", "Maildir/cur/1768352400.M2P200.host:2,S#附件1"),
        ("城关镇.xlsx", "Maildir/new/1768266000.M1P100.host#附件1")]
    assert found.ignored == ["Maildir/tmp/1768352500.M3P300.host"]  # still being delivered: not read


def test_intake__loose_workbooks__dated_by_file_time_in_path_order(tmp_path):
    inbox = tmp_path / "inbox"
    write(inbox / "b" / "河口镇.xlsx", b"PK2", mtime=at(3))
    write(inbox / "a-城关镇.XLSX", b"PK1", mtime=at(2))
    write(inbox / "备注.txt", b"x")
    found = scan_inbox(inbox)
    assert [(i.name, i.origin, i.date) for i in found.inputs] == [
        ("a-城关镇.XLSX", "a-城关镇.XLSX", at(2)), ("河口镇.xlsx", "b/河口镇.xlsx", at(3))]
    assert found.ignored == ["备注.txt"]


def test_intake__message_without_date__file_time(tmp_path):
    inbox = one_message(tmp_path, Attachment("城关镇.xlsx", PAYLOAD))
    data = b"\n".join(l for l in (inbox / "m.eml").read_bytes().split(b"\n") if not l.startswith(b"Date:"))
    write(inbox / "m.eml", data, mtime=at(20))
    assert scan_inbox(inbox).inputs[0].date == at(20)


# --- safety ---------------------------------------------------------------------------------------

HOSTILE = ["../../evil.xlsx", "/etc/passwd.xlsx", "evil\x00.xlsx", "..\\..\\evil2.xlsx", "receipts/../../evil3.xlsx"]


def test_intake__hostile_names_are_display_text_only(tmp_path):
    inbox = one_message(tmp_path, *[Attachment(n, PAYLOAD) for n in HOSTILE])
    assert [i.name for i in scan_inbox(inbox).inputs] == HOSTILE


def test_run__hostile_attachment_names__nothing_created_outside_the_work_folder(tmp_path, monkeypatch):
    """Names from outside pick no path: an attachment or zip member called ../../evil.xlsx, /etc/passwd.xlsx
    or with a NUL in it lands nowhere but in DIR's own outputs, under a generated name."""
    cwd = tmp_path / "deep" / "er" / "cwd"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    wb = {t: workbook_bytes(t, ratings) for t, ratings in COUNTY.items()}
    attachments = [Attachment(n, wb[t]) for n, t in zip(HOSTILE, COUNTY)]
    write(inbox / "m.eml", build_message(sender=SENDER, subject="报送", date=at(12), attachments=attachments))
    member = zipfile.ZipInfo("../../evil-member.xlsx", date_time=(2026, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(inbox / "archive.zip", "w") as zf:
        zf.writestr(member, workbook_bytes("杨庄镇", [3, 2, 1]))  # a sixth township
        zf.writestr("/abs/evil-abs.xlsx", b"not a workbook")
    before_tmp, before_root = tree(tmp_path), set(os.listdir("/"))
    assert not Path("/etc/passwd.xlsx").exists()

    code, stdout, stderr = run_cli(*run_args(inbox, out))

    assert code == 1, stderr  # the /abs member is no workbook: rejected
    created = tree(tmp_path) - before_tmp
    assert created and all(p == "out" or p.startswith("out/") for p in created), created - {"out"}
    assert set(os.listdir("/")) == before_root and not Path("/etc/passwd.xlsx").exists()
    assert not any("evil" in p for p in tree(out) if not p.startswith("receipts/"))
    receipts = sorted((out / "receipts").iterdir())
    assert len(receipts) == 7 and all("/" not in r.name and "\x00" not in r.name for r in receipts)
    shown = {i["file"]: i["state"] for i in results(out)["inputs"]}
    assert shown == {**{n: "accepted" for n in HOSTILE}, "../../evil-member.xlsx": "accepted",
                     "/abs/evil-abs.xlsx": "rejected"}


def test_intake__symlinks_in_the_inbox_are_listed_as_ignored_not_followed(tmp_path):
    outside = tmp_path / "outside"
    write(outside / "外部.xlsx", PAYLOAD)
    write(outside / "folder" / "藏起来.xlsx", PAYLOAD)
    inbox = tmp_path / "inbox"
    write(inbox / "城关镇.xlsx", PAYLOAD)
    (inbox / "链接.xlsx").symlink_to(outside / "外部.xlsx")
    (inbox / "linked-folder").symlink_to(outside / "folder", target_is_directory=True)
    found = scan_inbox(inbox)
    assert [i.origin for i in found.inputs] == ["城关镇.xlsx"]
    assert sorted(found.ignored) == ["linked-folder（符号链接，未读取）", "链接.xlsx（符号链接或特殊文件，未读取）"]


def test_run__symlink_in_the_inbox__not_read_and_named_in_the_summary(tmp_path):
    outside = write(tmp_path / "outside" / "河口镇.xlsx", workbook_bytes("河口镇", COUNTY["河口镇"]))
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    write(inbox / "城关镇.xlsx", workbook_bytes("城关镇", COUNTY["城关镇"]))
    (inbox / "河口镇.xlsx").symlink_to(outside)
    code, stdout, _ = run_cli(*run_args(inbox, out))
    assert code == 0
    assert [i["file"] for i in results(out)["inputs"]] == ["城关镇.xlsx"]
    assert "ignored (not submissions): 1 file(s), e.g. 河口镇.xlsx（符号链接或特殊文件，未读取）" in stdout
