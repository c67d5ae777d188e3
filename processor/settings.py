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
    notice_start: dt.date | None = None
    seed: int | None = None
    log_json: bool = False
    progress: bool | None = None  # None: only on a terminal
    workers: int = 1
    mail: Any = None  # processor.mail.MailConfig: --imap fetch, --reply/--smtp replies
    as_of: dt.date | None = None  # the day the procedure's statuses are judged on (None: today in China)

    @property
    def ledger_path(self) -> Path:
        return self.ledger or self.out / "ledger.sqlite"
