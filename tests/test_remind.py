"""`starbatch remind`: one reminder per township that has not submitted for the period, with the blank template
attached, against a real aiosmtpd on loopback; none to those that submitted; none on a second call the same day."""
from __future__ import annotations

import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest

from mail_servers import mail_cert, smtp_plain  # noqa: F401 (fixtures)
from processor.paths import ROOT
from run_helpers import PERIOD, Attachment, at, build_message, run_args, run_cli, workbook_bytes, write

ADDRESS = {"城关镇": "cg@township.example.cn", "河口镇": "hk@township.example.cn", "柳林镇": "ll@township.example.cn",
           "石桥乡": "sq@township.example.cn"}
LIULIN_NEW = "ll-new@township.example.cn"  # 柳林镇's address in the config file wins over the ledger's


def send(inbox: Path, n: int, township: str, period: int, *, over_max: bool = False) -> None:
    write(inbox / f"m{n}.eml", build_message(
        sender=(f"{township}组织办", ADDRESS[township]), subject=f"{township}{period}年度报送", date=at(10 + n),
        message_id=f"<{period}-{n}@township.example.cn>",
        attachments=[Attachment(f"{township}.xlsx", workbook_bytes(township, [2, 1, 1], period=period,
                                                                   over_max=over_max))]))


@pytest.fixture(scope="module")
def county_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger with last year's four townships accepted, and this year 河口镇 accepted, 城关镇 rejected."""
    root = tmp_path_factory.mktemp("remind")
    out = root / "out"
    for n, township in enumerate(ADDRESS):
        send(root / "last", n, township, PERIOD - 1)
    code, _, err = run_cli(*run_args(root / "last", out, "--period", str(PERIOD - 1)))
    assert code == 0, err
    send(root / "this", 0, "河口镇", PERIOD)
    send(root / "this", 1, "城关镇", PERIOD, over_max=True)
    code, _, err = run_cli(*run_args(root / "this", out))
    assert code == 1, err  # 城关镇 rejected, 柳林镇 and 石桥乡 missing
    return out


def copy_of(out: Path, tmp_path: Path) -> Path:
    """Each test its own DIR (the ledger gains reminders), from the same prepared one."""
    return Path(shutil.copytree(out, tmp_path / "out"))


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "starbatch.toml"
    path.write_text(f'township_addresses = {{"柳林镇" = "柳林镇组织办 <{LIULIN_NEW}>"}}\n', encoding="utf-8")
    return path


def remind(out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("remind", "--period", str(PERIOD), "--deadline", "2027-01-10", "--out", str(out), *extra)


def reminder_rows(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "ledger.sqlite") as db:
        return db.execute("SELECT township, recipient, state FROM reminders ORDER BY township").fetchall()


def test_remind__one_message_per_missing_township__none_to_those_that_submitted__none_again_today(
        county_out, tmp_path, smtp_plain):
    out = copy_of(county_out, tmp_path)
    smtp = ["--smtp", smtp_plain.url(), "--mail-plaintext", "--reply-from", "县委组织部 <zzb@county.example.cn>"]
    code, summary, err = remind(out, "--config", str(config_file(tmp_path)), *smtp)
    assert code == 0, err
    received = {to: raw for _, [to], raw in smtp_plain.handler.received}
    assert set(received) == {LIULIN_NEW, ADDRESS["石桥乡"]}  # not 河口镇 (accepted) nor 城关镇 (rejected)
    assert reminder_rows(out) == [("柳林镇", LIULIN_NEW, "sent"), ("石桥乡", ADDRESS["石桥乡"], "sent")]
    assert "柳林镇" in summary and "石桥乡" in summary

    msg = BytesParser(policy=policy.default).parsebytes(received[ADDRESS["石桥乡"]])
    assert msg["Subject"] == f"提醒：请于2027年1月10日前报送{PERIOD}年度党支部星级评定表（石桥乡）"
    assert msg["From"] == "县委组织部 <zzb@county.example.cn>" and msg["To"] == ADDRESS["石桥乡"]
    body = msg.get_body().get_content()
    assert body.startswith("石桥乡：") and "2027年1月10日" in body
    [part] = list(msg.iter_attachments())
    workbook = openpyxl.load_workbook(io.BytesIO(part.get_content()))
    assert part.get_filename().endswith(".xlsx") and len(workbook.sheetnames) > 1  # the blank template

    code, summary, _ = remind(out, "--config", str(config_file(tmp_path)), *smtp)  # the same day again
    assert code == 0 and "reminded earlier today" in summary
    assert len(smtp_plain.handler.received) == 2 and len(reminder_rows(out)) == 2


def test_remind__dry_run_writes_the_outbox__sends_and_records_nothing__no_address_listed(county_out, tmp_path, smtp_plain):
    out = copy_of(county_out, tmp_path)
    code, summary, err = remind(out, "--townships", "城关镇,河口镇,柳林镇,石桥乡,杨庄镇", "--dry-run")
    assert code == 1, err  # 杨庄镇 has never sent anything: no address to remind
    assert "NO ADDRESS" in summary and "杨庄镇" in summary
    written = sorted(p.name for p in (out / "outbox").glob("remind-*.eml"))
    assert [name.rsplit("-", 1)[1] for name in written] == ["柳林镇.eml", "石桥乡.eml"]
    assert smtp_plain.handler.received == [] and reminder_rows(out) == []


def test_remind__needs_smtp_or_dry_run__and_a_date(county_out, tmp_path):
    code, _, err = remind(tmp_path / "out")
    assert code == 2 and "--smtp" in err and "--dry-run" in err
    code, _, err = run_cli("remind", "--deadline", "明年一月", "--out", str(tmp_path), "--dry-run")
    assert code == 2 and "YYYY-MM-DD" in err


def test_remind__killed_after_the_first_accepted__same_day_call_resends_it_identically__the_other_once(
        county_out, tmp_path, smtp_plain):
    out = copy_of(county_out, tmp_path)
    argv = [sys.executable, "-m", "processor.cli", "remind", "--period", str(PERIOD), "--deadline", "2027-01-10",
            "--out", str(out), "--smtp", smtp_plain.url(), "--mail-plaintext"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARBATCH_")}
    killed = subprocess.run(argv, cwd=ROOT, env={**env, "STARBATCH_CRASH_AFTER_SEND": "1"}, capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [(_, [first_to], first_raw)] = smtp_plain.handler.received
    for _ in range(2):
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        received = smtp_plain.handler.received
        assert sorted(to for _, [to], _ in received) == sorted([first_to, ADDRESS["柳林镇"], ADDRESS["石桥乡"]])
        assert [raw for _, [to], raw in received if to == first_to] == [first_raw, first_raw]
        assert {state for *_, state in reminder_rows(out)} == {"sent"}


def test_remind__township_known_from_last_year__gets_its_prefilled_template(county_out, tmp_path):
    """最多报一次: a township that submitted last year is reminded with last year's branches and cadres filled in."""
    out = copy_of(county_out, tmp_path)
    code, _, err = remind(out, "--townships", "柳林镇,石桥乡", "--dry-run")
    assert code == 0, err
    [path] = [p for p in (out / "outbox").glob("remind-*.eml") if p.name.endswith("石桥乡.eml")]
    msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == f"石桥乡_R1-huojia-five-star_{PERIOD}_预填.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(part.get_content()))
    codes = [row[1] for row in workbook["支部信息"].iter_rows(min_row=2, values_only=True) if row[1]]
    assert len(codes) == 3  # last year's three branches (workbook_bytes("石桥乡", [2, 1, 1]))
