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
    rulebook: str | None  # None: the one every submission names (refused when they disagree)
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
    accept_shrink: list[str] = field(default_factory=list)  # files confirmed to drop branches/cadres (accounting.py)
    mail: Any = None  # processor.mail.MailConfig: --imap fetch, --reply/--smtp replies
    as_of: dt.date | None = None  # the day the procedure's statuses are judged on (None: today in China)

    @property
    def ledger_path(self) -> Path:
        return self.ledger or self.out / "ledger.sqlite"


def due_period(today: dt.date) -> int:
    """The rating year a run started without --period is for: ratings of year Y are made from December of Y
    into the first half of Y+1, so from January to June it is the previous year."""
    return today.year - 1 if today.month <= 6 else today.year
