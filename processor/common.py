"""Small facts and helpers every stage shares: China time, atomic writes, output file names."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))  # Beijing time, no daylight saving


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def shown_date(date: dt.datetime | None) -> str:
    """A message or file date as a clerk reads it: Beijing time, to the minute."""
    return date.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if date else "无日期"


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> Path:
    """Write beside the target, fsync, then rename over it: a reader sees the old file or the new, whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def finance_workbook_name(rulebook_id: str, period: int) -> str:
    return f"财务发放表_{rulebook_id}_{period}.xlsx"


def consolidated_workbook_name(rulebook_id: str, period: int) -> str:
    return f"评定结果汇总_{rulebook_id}_{period}.xlsx"
