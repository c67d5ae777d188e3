"""The nightly run's settings: command line over a small TOML file over defaults."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .mail.config import MAIL_KEYS, mail_config
from .rulebook import resolve_rulebook_path, schema_validator
from .settings import RunConfig, due_period

# What each key of the TOML file may hold; a wrong value is refused with the key and this text.
_TEXT = {"type": "string", "minLength": 1}
RUN_KEYS: dict[str, tuple[dict[str, Any], str]] = {
    "inbox": (_TEXT, "a folder path"),
    "out": (_TEXT, "a folder path"),
    "rulebook": (_TEXT, "a rulebook id, key or .yaml path, e.g. \"R1\""),
    "rulebook_dir": (_TEXT, "a folder of the county's own rulebooks"),
    "period": ({"type": "integer", "minimum": 2000, "maximum": 2100}, "a rating year, e.g. 2026"),
    "ledger": (_TEXT, "a file path"),
    "townships": ({"type": ["array", "string"], "items": _TEXT}, "a list of township names"),
    "county": ({"type": "string"}, "the county's name, e.g. \"明川县\""),
    "payers": ({"type": "object", "additionalProperties": _TEXT},
               "a table of pay rule id = payer, e.g. {performance = \"乡镇财政\", elderly_allowance = \"县财政\"}"),
    "issuer": (_TEXT, "the body that issues the public notice, e.g. \"中共明川县委组织部\""),
    "notice_phone": (_TEXT, "a phone number for reports during the public notice"),
    "notice_address": (_TEXT, "a postal address for reports during the public notice"),
    "notice_mailbox": (_TEXT, "an e-mail address for reports during the public notice"),
    "notice_start": ({"type": ["string", "object"]}, "a date, e.g. 2027-01-05"),
    "seed": ({"type": "integer", "minimum": 0}, "a whole number ≥ 0"),
    "log_json": ({"type": "boolean"}, "true or false"),
    "workers": ({"type": "integer", "minimum": 1, "maximum": 64}, "a whole number from 1 to 64"),
    "accept_shrink": ({"type": ["array", "string"], "items": _TEXT}, "a list of file names the operator confirmed"),
}
MAIL_VALUE = ({"type": ["string", "boolean"]}, "text (or true/false for reply and mail_plaintext)")
KEYS = set(RUN_KEYS) | MAIL_KEYS


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
    workers = checked_workers(pick("workers"))
    rulebook, rulebook_dir = pick("rulebook"), pick_path("rulebook_dir")
    if rulebook and rulebook_dir:  # a county's own rulebook: the run loads it by its path
        rulebook = str(resolve_rulebook_path(str(rulebook), rulebook_dir))
    _check_folders(inbox, out)
    shrink = pick("accept_shrink", [])
    return RunConfig(
        inbox=inbox, out=out, rulebook=str(rulebook) if rulebook else None,
        period=int(pick("period", due_period(dt.date.today()))), ledger=pick_path("ledger"),
        townships=list(townships), county=str(pick("county", "")), notice_start=notice_date,
        seed=pick("seed"), log_json=bool(pick("log_json", False)), workers=workers, mail=mail,
        accept_shrink=[shrink] if isinstance(shrink, str) else list(shrink),
        payers=dict(file.get("payers", {})), issuer=str(pick("issuer", "")),
        notice_phone=str(pick("notice_phone", "")), notice_address=str(pick("notice_address", "")),
        notice_mailbox=str(pick("notice_mailbox", "")))


def checked_workers(workers: Any) -> int:
    """--workers as given (a whole number from 1; ConfigError otherwise), else default_workers()."""
    if workers is None:
        return default_workers()
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"--workers {workers}: give a whole number of processes from 1 up")
    return workers


def default_workers() -> int:
    """The processors this run may use, at most 4: a county server runs the batch at night, and each worker
    may take up to its memory limit (limits.py), so a large machine is not filled by default."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _check_folders(inbox: Path | None, out: Path) -> None:
    """DIR inside INBOX would read its own outputs back as submissions next night; INBOX inside DIR likewise."""
    if inbox is None:
        return
    a, b = inbox.resolve(), out.resolve()
    if a == b or a in b.parents:
        raise ConfigError(f"--out {out} 在收件箱 {inbox} 之内：下次运行会把输出当作报送读入。请把输出文件夹放在收件箱之外 "
                          f"/ the output folder is inside the inbox; put it elsewhere")
    if b in a.parents:
        raise ConfigError(f"收件箱 {inbox} 在输出文件夹 {out} 之内。请把两者分开 / the inbox is inside the output folder")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; allowed: {', '.join(sorted(KEYS))}")
    for key, value in sorted(data.items()):
        schema, allowed = RUN_KEYS.get(key, MAIL_VALUE)
        if isinstance(value, dt.date):
            value = value.isoformat()  # TOML's own dates (notice_start = 2027-01-05)
            data[key] = value
        if not schema_validator(schema).is_valid(value):
            raise ConfigError(f"{path}: {key} = {value!r} is not allowed; {key} must be {allowed}")
    return data

