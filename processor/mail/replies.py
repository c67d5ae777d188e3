"""Replies: one per stored message, 回执：<subject> with the receipts attached, sent exactly once.

Every new reply is recorded in the ledger's ``replies`` table (its bytes and a generated Message-ID, state
'sending') before anything is sent; see send.py for what happens next.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path

from loguru import logger

from .. import ledger
from ..accounting import Accounted
from ..common import now_utc, shown_date
from ..intake import Input
from ..problems import ERROR, WARNING, count_by_severity
from ..settings import RunConfig
from .config import MailConfig
from .scan import header, headers
from .send import (
    Delivery,
    Outgoing,
    default_sender,
    deliver,
    envelope_sender,
    from_ledger,
    wire_bytes,
)

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
STATE_LINE = {"accepted": "通过", "rejected": "未通过", "superseded": "已被替代（未使用）", "duplicate": "重复报送（未重复计算）"}


@dataclass
class Reply:
    source: Path
    sha256: str
    message_id: str     # of the message answered
    recipient: str
    message: EmailMessage
    receipts: list[str]

    def outgoing(self) -> Outgoing:
        return Outgoing(self.sha256, self.recipient, envelope_sender(self.message), str(self.message["Message-ID"]),
                        wire_bytes(self.message), f"reply-{self.sha256[:16]}.eml",
                        label=str(self.message["Subject"]))


def send_replies(config: RunConfig, mc: MailConfig, sources: Mapping[int, Path],
                 accounted: Sequence[Accounted]) -> Delivery | None:
    """Record the new replies, then send them and any left unsent by an earlier run. None: nothing to send."""
    fresh = new_replies(config, mc, sources, accounted)
    if fresh:
        ledger.record_reply_intents(config.ledger_path, [_intent(r) for r in fresh], now_utc())
    pending = [_outgoing(row) for row in ledger.unsent_replies(config.ledger_path)]  # the fresh ones included
    if not pending:
        return None

    def mark(o: Outgoing, state: str, answer: str, transport: str) -> None:
        ledger.mark_reply(config.ledger_path, o.key, state, answer, transport, now_utc())

    delivery = deliver(mc, config.out, pending, mark)
    logger.info("mail: {} replies delivered, {} refused, {} deferred", len(delivery.sent), len(delivery.refused),
                len(delivery.deferred))
    return delivery


def new_replies(config: RunConfig, mc: MailConfig, sources: Mapping[int, Path],
                accounted: Sequence[Accounted]) -> list[Reply]:
    """A reply for every stored message not yet in the ledger (by its raw sha256 or its Message-ID)."""
    groups: dict[Path, list[Accounted]] = {}
    for a in accounted:
        path = sources.get(id(a.input))
        if path is not None:
            groups.setdefault(path, []).append(a)
    done_sha, done_ids = ledger.replied(config.ledger_path)
    fresh = []
    for path, items in groups.items():
        raw_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        message_id = next((a.input.message_id for a in items if a.input.message_id), "")
        if raw_sha in done_sha or (message_id and message_id in done_ids):
            continue
        reply = build_reply(config, mc, path, raw_sha, items)
        if reply is None:
            logger.warning("mail: no reply for {}: no sender address", path.name)
            continue
        fresh.append(reply)
    return fresh


def _intent(r: Reply) -> dict[str, object]:
    o = r.outgoing()
    return {"message_id": r.message_id, "sha256": r.sha256, "recipient": r.recipient, "receipts": r.receipts,
            "reply_id": o.message_id, "raw": o.raw}


def _outgoing(row: dict) -> Outgoing:
    return from_ledger(row["sha256"], row["recipient"], row["raw"], f"reply-{row['sha256'][:16]}.eml")


# --- composing -----------------------------------------------------------------------------------

def build_reply(config: RunConfig, mc: MailConfig, path: Path, raw_sha: str, items: Sequence[Accounted]) -> Reply | None:
    """The reply to one message: 回执：<subject>, In-Reply-To/References, a short Chinese body, receipts attached."""
    original = headers(path)
    first = items[0].input
    reply_to = header(original, "Reply-To")
    recipient = next((addr for _, addr in getaddresses([reply_to or first.sender]) if "@" in addr), "")
    if not recipient:
        return None
    message_id = first.message_id.strip()
    sender = mc.reply_from or _addressed_to(header(original, "To")) or default_sender(mc)
    msg = new_message(sender, recipient, f"回执：{first.subject or '（无主题）'}", f"starbatch.{raw_sha[:12]}",
                      "auto-replied")
    if message_id:
        msg["In-Reply-To"] = message_id
        msg["References"] = " ".join(x for x in (header(original, "References"), message_id) if x)
    receipts = _receipts(config, items)
    msg.set_content(reply_body(first, items), cte="base64")
    for name in receipts:
        msg.add_attachment((config.out / "receipts" / name).read_bytes(), maintype=XLSX[0], subtype=XLSX[1],
                           filename=name)
    return Reply(path, raw_sha, message_id, recipient, msg, receipts)


def new_message(sender: str, recipient: str, subject: str, id_prefix: str, auto: str) -> EmailMessage:
    """A message the county sends on its own (a receipt's reply, a reminder): headers every mail client and
    autoresponder reads the same way, a fresh Message-ID, and Auto-Submitted so no vacation reply answers it."""
    msg = EmailMessage(policy=policy.default)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = new_message_id(id_prefix, sender)
    msg["Auto-Submitted"] = auto
    return msg


def new_message_id(prefix: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{prefix}.{os.urandom(4).hex()}@{domain}>"


def _addressed_to(to_header: str) -> str:
    """The address the township wrote to (with its display name): the natural From: of the reply."""
    return next((f"{n} <{a}>" if n else a for n, a in getaddresses([to_header]) if "@" in a), "")


def _receipts(config: RunConfig, items: Sequence[Accounted]) -> list[str]:
    receipts: list[str] = []
    for a in items:
        if a.receipt and a.receipt not in receipts and (config.out / "receipts" / a.receipt).is_file():
            receipts.append(a.receipt)
    return receipts


def reply_body(first: Input, items: Sequence[Accounted]) -> str:
    rejected = sum(1 for a in items if a.state == "rejected")
    when = shown_date(first.date) if first.date else ""
    received = (f"县委组织部已收到您{('于 ' + when + ' ') if when else ''}发送的邮件“{first.subject or '（无主题）'}”，"
                f"共审核 {len(items)} 个文件，{'全部通过' if not rejected else f'{rejected} 个未通过'}：")
    lines = ["您好！", "", received, ""]
    for n, a in enumerate(items, 1):
        lines += _item_lines(n, a)
    lines += ["", "下一步："]
    if rejected:
        lines.append("请打开附件中的回执，在“问题清单”中逐条查看（点击单元格链接可定位到原文件），修改后把整个工作簿"
                     "作为附件重新发送到本邮箱。以最后一次报送为准。")
    else:
        lines.append("无需操作。如有“提示”，请核实；确需更正的，修改后重新报送即可（以最后一次报送为准）。")
    lines += ["", "本邮件由县委组织部星级评定系统（starbatch）自动发送。"]
    return "\n".join(lines) + "\n"


def _item_lines(n: int, a: Accounted) -> list[str]:
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
    first_error = next((p for p in a.sub.problems if p.severity == ERROR), None)
    if a.state == "rejected" and first_error is not None:
        return [line + "。", f"   主要问题：{first_error.message}"]
    return [line + "。"]
