"""`starbatch remind`: email every township that has not submitted for the period, at most once a day.

Who has submitted comes from the ledger (an accepted or rejected input of the period, in any run). The
address comes from the config file's ``township_addresses`` table, else from the sender of the township's
last accepted message in the ledger. Each reminder is recorded in the ledger's ``reminders`` table before it
is sent (send.py: exactly once), keyed by period, township and China date — so a second call the same day
sends nothing. ``--dry-run`` writes the messages to DIR/outbox and records nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from loguru import logger

from .. import ledger
from ..common import CHINA_TZ, now_utc
from ..errors import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, ConfigError
from ..prefill import write_prefilled
from ..rulebook import Rulebook, load_rulebook
from ..template import template_file_name, write_template
from .config import MailConfig, smtp_config
from .replies import XLSX, new_message
from .send import (
    OUTBOX,
    Delivery,
    Outgoing,
    check_login,
    default_sender,
    deliver,
    from_ledger,
    to_outbox,
    wire_bytes,
)

DEFAULT_RULEBOOK = "huojia-five-star"

# The workbook attached to a township's reminder: (rulebook, township, scratch folder) → its path.
TemplateFor = Callable[[Rulebook, str, Path], Path]


def blank_template(rulebook: Rulebook, _township: str, folder: Path) -> Path:
    """The same blank workbook for every township (written once per call of send_reminders)."""
    path = folder / "blank" / template_file_name(rulebook)
    return path if path.is_file() else write_template(rulebook, folder / "blank")


def prefilled_else_blank(ledger_path: Path, period: int) -> TemplateFor:
    """The township's template prefilled from its last accepted submission of the year before, where the
    ledger has one (so the clerk only checks and scores); else the blank template."""
    def template_for(rulebook: Rulebook, township: str, folder: Path) -> Path:
        made = write_prefilled(ledger_path, period, folder / "prefilled", rulebook, township)
        return made[0] if made else blank_template(rulebook, township, folder)

    return template_for


@dataclass
class RemindConfig:
    out: Path
    period: int
    deadline: dt.date
    mail: MailConfig
    rulebook: str = DEFAULT_RULEBOOK
    townships: list[str] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)   # township → address (config township_addresses)
    ledger: Path | None = None
    dry_run: bool = False

    @property
    def ledger_path(self) -> Path:
        return self.ledger or self.out / "ledger.sqlite"


@dataclass
class RemindResult:
    day: str
    reminded: list[str] = field(default_factory=list)     # townships sent (or, dry run, written) a reminder now
    earlier: list[str] = field(default_factory=list)      # already reminded today
    submitted: list[str] = field(default_factory=list)
    no_address: list[str] = field(default_factory=list)
    delivery: Delivery | None = None
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        if self.delivery is not None and self.delivery.failed:
            return EXIT_FAILED
        unreached = self.delivery is not None and bool(self.delivery.refused or self.delivery.deferred)
        return EXIT_PROBLEMS if self.no_address or unreached else EXIT_OK

    def summary(self, outbox: Path) -> str:
        how = f"written to {outbox} (dry run: nothing sent or recorded)" if self.dry_run else (
            f"sent via {self.delivery.transport}" if self.delivery else "sent")
        lines = [f"starbatch remind — {self.day}",
                 f"reminders {how}: {len(self.reminded)}" + (f" ({'、'.join(self.reminded)})" if self.reminded else ""),
                 f"submitted already: {len(self.submitted)}"]
        if self.earlier:
            lines.append(f"reminded earlier today, not again: {'、'.join(self.earlier)}")
        if self.no_address:
            lines.append(f"NO ADDRESS (add it to township_addresses in the config file): {'、'.join(self.no_address)}")
        if self.delivery is not None:
            lines += _delivery_lines(self.delivery)
        return "\n".join(lines)


def _delivery_lines(d: Delivery) -> list[str]:
    lines = []
    if d.refused:
        lines.append("refused by the server, not retried today: " + "; ".join(d.unreachable()))
    if d.deferred:
        lines.append("deferred by the server (4xx), sent by the next call: " + "、".join(o.label for o, _ in d.deferred))
    if d.failed:
        lines.append(f"sending stopped ({d.failed}); the next call sends the ones not yet sent")
    return lines


# --- the library function -------------------------------------------------------------------------

def send_reminders(rc: RemindConfig, template_for: TemplateFor | None = None) -> RemindResult:
    """Remind every township of the list that has no accepted or rejected submission for the period."""
    template_for = template_for or prefilled_else_blank(rc.ledger_path, rc.period)
    rulebook = load_rulebook(rc.rulebook)
    expected = _expected(rc, rulebook)
    submitted = ledger.submitted_townships(rc.ledger_path, rc.period)
    result = RemindResult(dt.datetime.now(CHINA_TZ).date().isoformat(), dry_run=rc.dry_run)
    result.submitted = [t for t in expected if t in submitted]
    today = {} if rc.dry_run else ledger.reminders_on(rc.ledger_path, rc.period, result.day)
    if not rc.dry_run:
        check_login(rc.mail)  # before anything is recorded
    fresh: list[Outgoing] = []
    with tempfile.TemporaryDirectory(prefix="starbatch-remind-") as scratch:
        for township in (t for t in expected if t not in submitted):
            if township in today:
                (result.earlier if today[township]["state"] not in ledger.UNSENT else result.reminded).append(township)
                continue
            address = _address(rc, township)
            if not address:
                result.no_address.append(township)
                continue
            workbook = template_for(rulebook, township, Path(scratch))
            fresh.append(_outgoing(rc, rulebook, township, address, workbook, result.day))
            result.reminded.append(township)
    if rc.dry_run:
        to_outbox(rc.out / OUTBOX, fresh, lambda *_: None)
        return result
    result.delivery = _send(rc, result.day, fresh, today)
    sent = {o.key for o in result.delivery.sent}
    result.reminded = [t for t in result.reminded if t in sent]
    return result


def _expected(rc: RemindConfig, rulebook: Rulebook) -> list[str]:
    expected = (rc.townships or ledger.previous_townships(rc.ledger_path, rulebook.template_id, rc.period)
                or sorted(rc.addresses))
    if not expected:
        raise ConfigError("which townships must submit? give --townships A,B, or townships / township_addresses in "
                          "--config, or run the previous period first")
    return expected


def _address(rc: RemindConfig, township: str) -> str:
    source = rc.addresses.get(township) or ledger.last_accepted_sender(rc.ledger_path, township)
    return next((addr for _, addr in getaddresses([source]) if "@" in addr), "")


def _send(rc: RemindConfig, day: str, fresh: list[Outgoing], today: dict[str, dict[str, Any]]) -> Delivery:
    """Record the new reminders, then send them and any of today's whose fate is unknown (same bytes)."""
    ledger.record_reminder_intents(rc.ledger_path, [
        {"period": rc.period, "township": o.key, "day": day, "deadline": rc.deadline.isoformat(),
         "recipient": o.recipient, "message_id": o.message_id, "raw": o.raw} for o in fresh], now_utc())
    again = [from_ledger(t, row["recipient"], row["raw"], _file_name(rc, t, day)) for t, row in today.items()
             if row["state"] in ledger.UNSENT and row["raw"]]

    def mark(o: Outgoing, state: str, answer: str, transport: str) -> None:
        ledger.mark_reminder(rc.ledger_path, (rc.period, o.key, day), state, answer, transport, now_utc())

    delivery = deliver(rc.mail, rc.out, [*again, *fresh], mark)
    logger.info("remind: {} sent, {} refused, {} deferred", len(delivery.sent), len(delivery.refused),
                len(delivery.deferred))
    return delivery


# --- the message ----------------------------------------------------------------------------------

def _outgoing(rc: RemindConfig, rulebook: Rulebook, township: str, address: str, workbook: Path, day: str) -> Outgoing:
    msg = reminder_message(rc, rulebook, township, address, workbook, day)
    return Outgoing(township, address, address_of(msg["From"]), str(msg["Message-ID"]), wire_bytes(msg),
                    _file_name(rc, township, day), label=township)


def address_of(value: object) -> str:
    return next((addr for _, addr in getaddresses([str(value)]) if "@" in addr), "")


def _file_name(rc: RemindConfig, township: str, day: str) -> str:
    return f"remind-{rc.period}-{day}-{township}.eml"


def reminder_message(rc: RemindConfig, rulebook: Rulebook, township: str, address: str, workbook: Path,
                     day: str) -> EmailMessage:
    """A short Chinese reminder with the deadline, the fill-in workbook attached."""
    sender = rc.mail.reply_from or default_sender(rc.mail)
    deadline = f"{rc.deadline.year}年{rc.deadline.month}月{rc.deadline.day}日"
    msg = new_message(sender, address, f"提醒：请于{deadline}前报送{rc.period}年度党支部星级评定表（{township}）",
                      f"starbatch.remind.{rc.period}", "auto-generated")
    msg.set_content(_body(rc, rulebook, township, deadline, workbook.name, day), cte="base64")
    msg.add_attachment(workbook.read_bytes(), maintype=XLSX[0], subtype=XLSX[1], filename=workbook.name)
    return msg


def _body(rc: RemindConfig, rulebook: Rulebook, township: str, deadline: str, attachment: str, day: str) -> str:
    lines = [f"{township}：", "",
             f"截至 {day}，县委组织部尚未收到贵乡镇{rc.period}年度党支部星级评定表（{rulebook.name}）。",
             f"请于 {deadline} 前，用附件中的模板（{attachment}）填写，并把整个工作簿作为附件回复到本邮箱。",
             "如已发送，请忽略本提醒；系统处理后会自动回复回执。", "",
             "本邮件由县委组织部星级评定系统（starbatch）自动发送。"]
    return "\n".join(lines) + "\n"


# --- settings from the command line and the config file ---------------------------------------------

def remind_config(args: argparse.Namespace) -> RemindConfig:
    """Command line over the nightly run's TOML file (the keys remind uses; the run checks the others)."""
    file = _read_toml(args.config) if args.config else {}
    base = args.config.parent if args.config else Path(".")

    def pick(name: str, default: Any = None) -> Any:
        value = getattr(args, name, None)
        return value if value is not None and value is not False else file.get(name, default)

    def pick_path(name: str) -> Path | None:
        value = getattr(args, name, None)
        if value is not None:
            return Path(value)
        value = file.get(name)
        return None if value is None else (Path(value) if Path(value).is_absolute() else base / value)

    out = pick_path("out")
    if out is None:
        raise ConfigError("give --out DIR (the nightly run's output folder, with its ledger.sqlite)")
    mc = smtp_config(pick, pick_path)
    if mc.smtp is None and not args.dry_run:
        raise ConfigError("give --smtp URL to send the reminders, or --dry-run to write them to DIR/outbox")
    return RemindConfig(out=out, period=int(pick("period", dt.date.today().year)), deadline=_date(args.deadline),
                        mail=mc, rulebook=str(pick("rulebook", DEFAULT_RULEBOOK)), townships=_townships(pick("townships", [])),
                        addresses=_addresses(file.get("township_addresses", {})), ledger=pick_path("ledger"),
                        dry_run=bool(args.dry_run))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(f"--deadline '{text}' is not a date (YYYY-MM-DD)") from None


def _townships(value: object) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in value.replace("，", ",").split(",") if t.strip()]
    return [str(t) for t in value] if isinstance(value, list) else []


def _addresses(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError("township_addresses must be a table: township_addresses = {\"城关镇\" = \"cg@example.cn\"} (Chinese keys in quotes)")
    bad = sorted(t for t, a in value.items() if not address_of(a))
    if bad:
        raise ConfigError(f"township_addresses: not a mail address for {', '.join(bad)}")
    return {str(t): str(a) for t, a in value.items()}
