"""One run per output folder, held by the kernel.

The lock is an `flock` on DIR/.starbatch.lock. The kernel frees it when its holder dies however it
dies (kill -9, a zombie whose parent never reaped it, a power cut), so there is no "stale lock" to
guess about, and a lock file that is empty — what a competing run's fresh lock looks like for an
instant — is never mistaken for one. The file's text (pid, host, start time) is only there to name
the holder in the message; the kernel alone decides who holds it.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

from loguru import logger

from .common import now_utc
from .errors import RunError

LOCK_NAME = ".starbatch.lock"


class RunLock:
    """`with RunLock(DIR / LOCK_NAME):` — RunError (exit 2) naming the holder when another run has DIR."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunError(_held_message(self.path)) from None
            # The previous holder may have unlinked the file between our open and our flock: then we
            # hold a lock on a file nobody else can see, so start again on the one at the path.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        self._fd = fd
        _note_takeover(fd, self.path)
        _write_holder(fd)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        # Unlink while still holding the lock: a run that opened the old file re-checks the path.
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _holder(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        value = json.loads(raw.decode("utf-8")) if raw else {}
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _note_takeover(fd: int, path: Path) -> None:
    """A lock file left by a run that died: say so in the log (its staging folder is cleaned later)."""
    before = _holder(fd)
    if before:
        logger.warning("stale lock {} left by pid {} (started {}) taken over; that run did not finish",
                       path, before.get("pid"), before.get("started"))


def _write_holder(fd: int) -> None:
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": now_utc()})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode("utf-8"), 0)


def _held_message(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    if not isinstance(holder, dict) or not holder:
        return f"another run holds {path} (it is starting); try again when it has finished"
    return (f"another run holds {path}: pid {holder.get('pid')} on {holder.get('host')}, "
            f"started {holder.get('started')}; try again when it has finished")


def process_alive(pid: int) -> bool:
    """Whether pid is a running process (a zombie counts as dead: it can do nothing more)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
