"""Real mail: `starbatch run --imap … --reply --smtp …` against a real Dovecot and a real aiosmtpd on loopback
(tests/mail_servers.py starts and stops them), plus the parts that need no server (folder-name encoding,
password handling, replies written to DIR/outbox)."""
from __future__ import annotations

import dataclasses
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest

from mail_servers import HOST, Dovecot, free_port, mail_cert, dovecot, mailbox, smtp_plain, smtp_tls  # noqa: F401 (fixtures)
from processor.mail import imap_utf7_decode, imap_utf7_encode
from processor.paths import ROOT
from run_helpers import (PERIOD, Attachment, at, build_message, results, run_args, run_cli, workbook_bytes, write)

DONE = "已处理"


# --- messages --------------------------------------------------------------------------------------

def submissions() -> dict[str, bytes]:
    """Two township messages: 河口镇 (filename*=gb18030'') + 柳林镇 (RFC 2047) in one, 城关镇 with an error."""
    return {
        "<hk-ll@township.example.cn>": build_message(
            sender=("河口镇组织办", "hk@township.example.cn"), subject="河口镇、柳林镇报送", date=at(11),
            message_id="<hk-ll@township.example.cn>",
            attachments=[Attachment("河口镇.xlsx", workbook_bytes("河口镇", [4, 1, 0]), "rfc2231-gb18030"),
                         Attachment("柳林镇.xlsx", workbook_bytes("柳林镇", [2, 2, 3]), "rfc2047")]),
        "<cg@township.example.cn>": build_message(
            sender=("城关镇党委", "cg@township.example.cn"), subject="城关镇五星支部评定", date=at(12),
            message_id="<cg@township.example.cn>",
            attachments=[Attachment("城关镇.xlsx", workbook_bytes("城关镇", [5, 3, 2], over_max=True), "rfc2231-utf8")]),
    }


def no_workbook_message() -> bytes:
    return build_message(sender=("石桥乡", "sq@township.example.cn"), subject="石桥乡报送（忘了附件）", date=at(13),
                         message_id="<sq-none@township.example.cn>",
                         attachments=[Attachment("说明.docx", b"PK\x03\x04 not a workbook")])


def mail_args(out: Path, *extra: str) -> list[str]:
    return ["run", "--out", str(out), "--period", str(PERIOD), *extra]


def attachments(msg: EmailMessage) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in msg.iter_attachments()]


def receipt_cell(data: bytes, label: str) -> object:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        rows = list(workbook["回执"].iter_rows(values_only=True))
    finally:
        workbook.close()
    return next(r[1] for r in rows if r and r[0] == label)


def unseen(server: Dovecot, user: str, password: str, mailbox_name: str = "INBOX") -> list[bool]:
    return ["\\Seen" not in flags for _, flags in server.messages(user, password, mailbox_name)]


def shown_inputs(data: dict) -> list[tuple[str, str, str]]:
    """(file, state, sha256) of every input; a message without a workbook is named after its (generated) file."""
    return sorted(("（邮件）", i["state"], "") if i["file"].endswith("（邮件）") else (i["file"], i["state"], i["sha256"])
                  for i in data["inputs"])


def replies_in_ledger(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "ledger.sqlite") as db:
        return db.execute("SELECT message_id, sha256, receipts, transport FROM replies ORDER BY rowid").fetchall()


# --- no server needed ------------------------------------------------------------------------------

def test_folder_names__modified_utf7_as_rfc3501():
    assert imap_utf7_encode("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"   # RFC 3501 5.1.3
    assert imap_utf7_encode("已处理") == "&XfJZBHQG-"
    assert imap_utf7_encode("A&B") == "A&-B" and imap_utf7_encode("INBOX") == "INBOX"
    for name in ("已处理", "报送/2026年", "Hi & 你好 ☺", "~/,+-"):
        assert imap_utf7_decode(imap_utf7_encode(name)) == name
        assert imap_utf7_encode(name).isascii()


def test_password_file_readable_by_others__refused_with_the_reason(tmp_path, monkeypatch):
    secret = tmp_path / "imap.pw"
    secret.write_text("geheim-123\n", encoding="utf-8")
    secret.chmod(0o644)
    monkeypatch.delenv("STARBATCH_IMAP_PASSWORD", raising=False)
    code, _, err = run_cli(*mail_args(tmp_path / "out", "--imap", f"imaps://zzb@{HOST}:{free_port()}/INBOX",
                                      "--imap-password-file", str(secret)))
    assert code == 2
    assert "chmod 600" in err and "group or others" in err and "geheim" not in err


def test_plaintext_only_to_loopback__and_no_password_in_the_url(tmp_path):
    code, _, err = run_cli(*mail_args(tmp_path / "out", "--imap", "imap://zzb@mail.example.gov.cn/INBOX",
                                      "--mail-plaintext"))
    assert code == 2 and "loopback" in err
    code, _, err = run_cli(*mail_args(tmp_path / "out", "--imap", "imaps://zzb:hunter2@mail.example.gov.cn/INBOX"))
    assert code == 2 and "password in the URL" in err and "hunter2" not in err
    code, _, err = run_cli(*mail_args(tmp_path / "out"))
    assert code == 2 and "--imap" in err


def test_reply_without_smtp__written_to_outbox__once(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    for n, raw in enumerate([*submissions().values(), no_workbook_message()]):
        write(inbox / f"m{n}.eml", raw)
    write(inbox / "青山乡.xlsx", workbook_bytes("青山乡", [0, 1, 2]))  # a loose workbook: nobody to reply to
    code, summary, _ = run_cli(*run_args(inbox, out, "--reply"))
    assert code == 1
    outbox = sorted((out / "outbox").glob("*.eml"))
    assert len(outbox) == 3 and "3 replies written" in summary
    replies = {m["In-Reply-To"]: m for m in (BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in outbox)}
    assert set(replies) == {*submissions(), "<sq-none@township.example.cn>"}
    hk = replies["<hk-ll@township.example.cn>"]
    assert hk["Subject"] == "回执：河口镇、柳林镇报送" and hk["To"] == "hk@township.example.cn"
    assert sorted(receipt_cell(data, "报送文件") for _, data in attachments(hk)) == ["柳林镇.xlsx", "河口镇.xlsx"]
    none = replies["<sq-none@township.example.cn>"]
    assert "MAIL_002" not in none.get_body().get_content()  # the Chinese message, not the code
    assert "没有 Excel 工作簿附件" in none.get_body().get_content()
    [(name, data)] = attachments(none)
    assert receipt_cell(data, "审核结果").startswith("未通过")

    code, summary, _ = run_cli(*run_args(inbox, out, "--reply"))  # the rerun replies to nobody again
    assert sorted((out / "outbox").glob("*.eml")) == outbox and "no new replies" in summary
    assert len(replies_in_ledger(out)) == 3


# --- against Dovecot and aiosmtpd ----------------------------------------------------------------------

def test_end_to_end__imap_fetch__moved_to_done__receipts_replied_over_smtp(tmp_path, monkeypatch, dovecot, mailbox,
                                                                           smtp_tls, mail_cert):
    user, password = mailbox
    sent = submissions()
    for raw in sent.values():
        dovecot.append(user, password, raw)
    already_read = build_message(sender=("某单位", "x@example.cn"), subject="已读的通知", date=at(9), attachments=[])
    dovecot.append(user, password, already_read, flags="(\\Seen)")  # not UNSEEN: left alone
    monkeypatch.setenv("STARBATCH_IMAP_PASSWORD", password)
    monkeypatch.setenv("STARBATCH_SMTP_PASSWORD", smtp_tls.password)
    out = tmp_path / "out"
    code, summary, err = run_cli(*mail_args(out, "--imap", dovecot.url(user), "--mail-cafile", str(mail_cert.cert),
                                            "--reply", "--smtp", smtp_tls.url(), "--reply-from", "县委组织部 <zzb@county.example.cn>"))
    assert code == 1, err  # 城关镇 is rejected
    assert password not in summary + err and smtp_tls.password not in summary + err
    states = {i["file"]: i["state"] for i in results(out)["inputs"]}
    assert states == {"河口镇.xlsx": "accepted", "柳林镇.xlsx": "accepted", "城关镇.xlsx": "rejected"}
    assert all(i["origin"].startswith(f"mail/{PERIOD}/") for i in results(out)["inputs"])
    assert len(list((out / "mail" / str(PERIOD)).glob("*.eml"))) == 2

    # Moved to 已处理 (created, modified UTF-7 on the wire), marked seen; only the read message left in INBOX.
    assert [raw for raw, _ in dovecot.messages(user, password)] == [already_read.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")]
    assert password not in (out / "logs" / "starbatch.log").read_text(encoding="utf-8")
    assert DONE in dovecot.folders(user, password)
    assert unseen(dovecot, user, password, DONE) == [False, False]

    replies = smtp_tls.messages()
    assert len(replies) == 2
    by_original = {m["In-Reply-To"]: m for m in replies}
    assert set(by_original) == set(sent)
    hk = by_original["<hk-ll@township.example.cn>"]
    assert hk["Subject"] == "回执：河口镇、柳林镇报送"
    assert hk["References"] == "<hk-ll@township.example.cn>"
    assert hk["To"] == "hk@township.example.cn"
    assert "通过" in hk.get_body().get_content()
    named = {receipt_cell(data, "报送文件"): name for name, data in attachments(hk)}
    assert set(named) == {"河口镇.xlsx", "柳林镇.xlsx"}  # GB18030 RFC 2231 and RFC 2047 names decoded
    for shown, name in named.items():
        assert name.startswith("回执_") and name.endswith(".xlsx") and (out / "receipts" / name).is_file()
    raw_hk = smtp_tls.handler.received[[m["In-Reply-To"] for m in replies].index("<hk-ll@township.example.cn>")][2]
    assert re.search(rb"filename\*(0\*)?=utf-8''%E5%9B%9E%E6%89%A7_", raw_hk)  # 回执_… as RFC 2231 UTF-8
    cg = by_original["<cg@township.example.cn>"]
    [(name, data)] = attachments(cg)
    assert receipt_cell(data, "报送文件") == "城关镇.xlsx" and receipt_cell(data, "审核结果").startswith("未通过")
    assert "未通过" in cg.get_body().get_content() and "重新发送" in cg.get_body().get_content()
    assert [t for *_, t in replies_in_ledger(out)] == [smtp_tls.url(), smtp_tls.url()]

    # The next night: nothing new, the same results, nobody answered twice.
    before = results(out)
    code, summary, _ = run_cli(*mail_args(out, "--imap", dovecot.url(user), "--mail-cafile", str(mail_cert.cert),
                                          "--reply", "--smtp", smtp_tls.url()))
    assert code == 1 and "fetched 0 new" in summary
    assert results(out)["inputs"] == before["inputs"] and results(out)["totals"] == before["totals"]
    assert len(smtp_tls.messages()) == 2


def test_no_workbook_and_oversized_messages__rejected_with_receipts__moved_and_replied(
        tmp_path, monkeypatch, dovecot, mailbox, smtp_plain):
    import processor.intake

    user, password = mailbox
    big = build_message(sender=("杨庄镇", "yz@township.example.cn"), subject="杨庄镇报送（含扫描件）", date=at(14),
                        message_id="<yz-big@township.example.cn>",
                        attachments=[Attachment("杨庄镇.xlsx", workbook_bytes("杨庄镇", [1, 1])),
                                     Attachment("扫描件.pdf", os.urandom(400_000))])
    monkeypatch.setattr(processor.intake, "LIMITS", dataclasses.replace(processor.intake.LIMITS, max_file_bytes=300_000))
    assert len(big) > 300_000 > len(no_workbook_message())
    dovecot.append(user, password, no_workbook_message())
    dovecot.append(user, password, big)
    monkeypatch.setenv("STARBATCH_IMAP_PASSWORD", password)
    out = tmp_path / "out"
    code, summary, err = run_cli(*mail_args(out, "--imap", dovecot.url(user, tls="imap"), "--mail-plaintext",
                                            "--reply", "--smtp", smtp_plain.url()))
    assert code == 1, err
    inputs = results(out)["inputs"]
    assert [i["state"] for i in inputs] == ["rejected", "rejected"]
    codes = {p["code"] for p in results(out)["problems"]}
    assert {"MAIL_002", "FILE_007"} <= codes
    assert dovecot.messages(user, password) == [] and len(dovecot.messages(user, password, DONE)) == 2
    replies = {m["In-Reply-To"]: m for m in smtp_plain.messages()}
    assert set(replies) == {"<sq-none@township.example.cn>", "<yz-big@township.example.cn>"}
    big_reply = replies["<yz-big@township.example.cn>"]
    assert big_reply["Subject"] == "回执：杨庄镇报送（含扫描件）" and big_reply["To"] == "yz@township.example.cn"
    assert "文件超过大小限制" in big_reply.get_body().get_content()
    [(_, data)] = attachments(big_reply)
    assert receipt_cell(data, "审核结果").startswith("未通过")
    [(_, data)] = attachments(replies["<sq-none@township.example.cn>"])
    assert receipt_cell(data, "错误") == 1


def test_crash_after_fetch_before_move__rerun_counts_pays_and_replies_once(tmp_path, dovecot, mailbox, smtp_plain):
    user, password = mailbox
    messages = [*submissions().values(), no_workbook_message()]
    for raw in messages:
        dovecot.append(user, password, raw)
    # What the same messages give as saved .eml files, without any mail server.
    base_inbox, base_out = tmp_path / "inbox", tmp_path / "base"
    for n, raw in enumerate(messages):
        write(base_inbox / f"m{n}.eml", raw)
    run_cli(*run_args(base_inbox, base_out))
    base = results(base_out)

    out = tmp_path / "out"
    argv = [sys.executable, "-m", "processor.cli", *mail_args(out, "--imap", dovecot.url(user, tls="imap"),
                                                                "--mail-plaintext", "--reply", "--smtp", smtp_plain.url())]
    secret = tmp_path / "imap.pw"  # as in the README's cron line: a file only the operator can read
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARBATCH_")}
    env["STARBATCH_IMAP_PASSWORD_FILE"] = str(secret)
    crashed = subprocess.run(argv, cwd=ROOT, env={**env, "STARBATCH_CRASH_AFTER_FETCH": "1"}, capture_output=True,
                             text=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert len(list((out / "mail" / str(PERIOD)).glob("*.eml"))) == 3  # fetched and kept …
    assert unseen(dovecot, user, password) == [True, True, True]      # … but nothing marked or moved
    assert smtp_plain.messages() == [] and not (out / "results.json").exists()

    for night in (1, 2):
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        assert password not in done.stdout + done.stderr
        got = results(out)
        assert shown_inputs(got) == shown_inputs(base)
        assert not any(i["state"] == "duplicate" for i in got["inputs"])
        assert got["totals"]["amount"] == base["totals"]["amount"] and got["payments"] == base["payments"]
        assert len(list((out / "mail" / str(PERIOD)).glob("*.eml"))) == 3
        assert dovecot.messages(user, password) == [] and len(dovecot.messages(user, password, DONE)) == 3
        assert len(smtp_plain.messages()) == 3  # one reply per message, however many nights
    assert {m["In-Reply-To"] for m in smtp_plain.messages()} == {*submissions(), "<sq-none@township.example.cn>"}
    assert len(replies_in_ledger(out)) == 3


@pytest.mark.parametrize("wrong", ["imap-password", "smtp-password", "imap-down", "imap-tls"])
def test_mail_failure__exit_2_with_the_reason__mailbox_unchanged_nothing_sent(tmp_path, monkeypatch, dovecot, mailbox,
                                                                             smtp_tls, mail_cert, wrong):
    user, password = mailbox
    for raw in submissions().values():
        dovecot.append(user, password, raw)
    imap_url = dovecot.url(user, tls="imap")  # STARTTLS
    cafile = ["--mail-cafile", str(mail_cert.cert)]
    monkeypatch.setenv("STARBATCH_IMAP_PASSWORD", "not-the-password" if wrong == "imap-password" else password)
    monkeypatch.setenv("STARBATCH_SMTP_PASSWORD", "wrong-smtp-pw" if wrong == "smtp-password" else smtp_tls.password)
    if wrong == "imap-down":
        imap_url = f"imaps://{user}@{HOST}:{free_port()}/INBOX"
    if wrong == "imap-tls":
        imap_url, cafile = dovecot.url(user, tls="imaps"), []  # the self-signed certificate is not trusted
    out = tmp_path / "out"
    replies = ["--reply", "--smtp", smtp_tls.url()] if cafile else []
    code, summary, err = run_cli(*mail_args(out, "--imap", imap_url, *cafile, *replies))
    assert code == 2
    expected = {"imap-password": "refused the login as", "smtp-password": "SMTP server", "imap-down": "cannot reach IMAP",
                "imap-tls": "TLS with IMAP server"}[wrong]
    assert expected in err, err
    for secret in (password, smtp_tls.password, "not-the-password", "wrong-smtp-pw"):
        assert secret not in err + summary
    assert unseen(dovecot, user, password) == [True, True]
    assert DONE not in dovecot.folders(user, password)
    assert smtp_tls.messages() == []
    assert not (out / "results.json").exists() and not list((out / "mail").glob("*/*.eml"))


def test_move_without_the_move_capability__copy_delete_expunge__stored_messages_moved_later(tmp_path, monkeypatch, dovecot, mailbox):
    from processor.mail import MailConfig, MailRun, move_fetched, parse_server, start_mail
    from processor.settings import RunConfig

    user, password = mailbox
    for raw in submissions().values():
        dovecot.append(user, password, raw)
    monkeypatch.setenv("STARBATCH_IMAP_PASSWORD", password)
    mc = MailConfig(imap=parse_server(dovecot.url(user, tls="imap"), ("imaps", "imap")), plaintext=True,
                    done_folder="2026年 已处理")
    config = RunConfig(inbox=None, out=tmp_path / "out", rulebook="R1", period=PERIOD, mail=mc)
    run = start_mail(config)
    assert len(run.fetched) == 2 and unseen(dovecot, user, password) == [True, True]
    # A later night fetches nothing new (say this night's move failed): what is stored is still moved.
    later = MailRun(config)
    move_fetched(later, use_move=False)
    assert dovecot.messages(user, password) == []
    assert unseen(dovecot, user, password, "2026年 已处理") == [False, False]


def test_config_file__mail_keys__paths_relative_to_it(tmp_path):
    from processor.cli import _parser
    from processor.runconfig import run_config

    (tmp_path / "ca.pem").write_text("-", encoding="utf-8")
    conf = tmp_path / "starbatch.toml"
    conf.write_text('out = "out"\nperiod = 2026\nimap = "imaps://zzb@mail.example.gov.cn/%E6%94%B6%E4%BB%B6%E7%AE%B1"\n'
                    'imap_password_file = "imap.pw"\nmail_cafile = "ca.pem"\nreply = true\n'
                    'smtp = "smtps://zzb@mail.example.gov.cn:465"\nimap_done_folder = "2026已处理"\n', encoding="utf-8")
    config = run_config(_parser().parse_args(["run", "--config", str(conf)]))
    assert config.inbox is None and config.out == tmp_path / "out"
    mc = config.mail
    assert (mc.imap.host, mc.imap.port, mc.imap.user, mc.imap.mailbox) == ("mail.example.gov.cn", 993, "zzb", "收件箱")
    assert (mc.smtp.scheme, mc.smtp.port) == ("smtps", 465) and mc.reply and mc.done_folder == "2026已处理"
    assert mc.imap_password_file == tmp_path / "imap.pw" and mc.cafile == tmp_path / "ca.pem"
