"""The nightly run's settings: command line over a small TOML file over defaults."""
from __future__ import annotations

import argparse
import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .mail import MAIL_KEYS, mail_config
from .rulebook import resolve_rulebook_path
from .run import RunConfig

KEYS = {"inbox", "out", "rulebook", "rulebook_dir", "period", "ledger", "townships", "county", "notice_start", "seed",
        "log_json", "workers"} | MAIL_KEYS


def run_config(args: argparse.Namespace) -> RunConfig:
    file = _read_file(args.config) if args.config else {}
    base = args.config.parent if args.config else Path(".")

    def pick(name: str, default: Any = None) -> Any:
        value = getattr(args, name, None)
        return value if value is not None and value is not False else file.get(name, default)  # --seed 0 counts

    def pick_path(name: str) -> Path | None:
        if getattr(args, name, None) is not None:
            return Path(getattr(args, name))
        value = file.get(name)
        return None if value is None else (Path(value) if Path(value).is_absolute() else base / value)

    inbox, out = pick_path("inbox"), pick_path("out")
    mail = mail_config(pick, pick_path)  # None without --imap/--reply
    if not out or not (inbox or (mail and mail.imap)):
        raise ConfigError("give INBOX (or --imap URL) and --out DIR (or inbox/imap/out in --config)")
    townships = pick("townships", [])
    if isinstance(townships, str):
        townships = [t.strip() for t in townships.replace("，", ",").split(",") if t.strip()]
    notice = pick("notice_start")
    try:
        notice_date = dt.date.fromisoformat(str(notice)) if notice else None
    except ValueError:
        raise ConfigError(f"notice_start '{notice}' is not a date (YYYY-MM-DD)") from None
    rulebook, rulebook_dir = str(pick("rulebook", "huojia-five-star")), pick_path("rulebook_dir")
    if rulebook_dir:  # a county's own rulebook: the run loads it by its path
        rulebook = str(resolve_rulebook_path(rulebook, rulebook_dir))
    return RunConfig(
        inbox=inbox, out=out, rulebook=rulebook,
        period=int(pick("period", dt.date.today().year)), ledger=pick_path("ledger"),
        townships=list(townships), county=str(pick("county", "")), notice_start=notice_date,
        seed=pick("seed"), log_json=bool(pick("log_json", False)), workers=int(pick("workers", 1)), mail=mail)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; allowed: {', '.join(sorted(KEYS))}")
    return data

