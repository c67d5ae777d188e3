"""The nightly run's settings as one record (read from the command line and TOML by runconfig.py)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunConfig:
    inbox: Path | None  # optional with mail.imap (then only DIR/mail/<period> is scanned)
    out: Path
    rulebook: str
    period: int
    ledger: Path | None = None
    townships: list[str] = field(default_factory=list)
    county: str = ""
    payers: dict[str, str] = field(default_factory=dict)  # pay rule id -> payer the county set (payers.py)
    issuer: str = ""          # who issues the public notice, e.g. 中共明川县委组织部
    notice_phone: str = ""    # where to report during the notice: phone, address, mailbox
    notice_address: str = ""
    notice_mailbox: str = ""
    notice_start: dt.date | None = None
    seed: int | None = None
    log_json: bool = False
    progress: bool | None = None  # None: only on a terminal
    workers: int = 1
    mail: Any = None  # processor.mail.MailConfig: --imap fetch, --reply/--smtp replies

    @property
    def ledger_path(self) -> Path:
        return self.ledger or self.out / "ledger.sqlite"
