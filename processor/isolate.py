"""Run work on one untrusted file in a child process with a memory and a time limit.

A reader that allocates without bound (calamine builds a sheet's whole range in memory) or loops
must cost only its own file, never the night. The child is forked, so `func` needs no import path
and starts with the parent's memory shared copy-on-write; its address-space limit (RLIMIT_AS) is
its size at the fork plus `memory_bytes`, because a fork already maps everything the parent had.
A child that runs out of memory, runs out of time, is killed by a signal or raises comes back as
an `IsolatedFailure` value; nothing here raises because a child died.
"""
from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from .limits import LIMITS
from .problems import Problem, problem

MEMORY, TIME, CRASHED = "memory", "time", "crashed"
_DETAIL = {MEMORY: "超过内存限制", TIME: "超过时间限制", CRASHED: "读取进程异常退出"}
# What a child prints to stderr when an allocation outside Python fails (Rust, C).
_OUT_OF_MEMORY_TEXT = (b"memory allocation of", b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory")


@dataclass(frozen=True)
class IsolatedFailure:
    """Why the child gave no result: `limit` is memory, time or crashed; `signal` when one killed it."""
    limit: str
    signal: int | None = None
    note: str = ""  # for the log: the exception or the end of the child's stderr

    @property
    def detail(self) -> str:
        words = _DETAIL[self.limit]
        return f"{words}（信号 {self.signal}）" if self.limit == CRASHED and self.signal else words

    def problem(self, file: str) -> Problem:
        return problem("FILE_012", file=file, detail=self.detail)


def run_isolated(func: Callable[[Any], Any], arg: Any, *, memory_bytes: int = LIMITS.isolate_memory_bytes,
                 seconds: float = LIMITS.isolate_seconds) -> Any:
    """func(arg) in a child process; its result, or an IsolatedFailure saying which limit it hit."""
    results = map_isolated(func, [arg], workers=1, memory_bytes=memory_bytes, seconds=seconds)
    try:
        return next(results)
    finally:
        results.close()


def map_isolated(func: Callable[[Any], Any], args: Iterable[Any], workers: int = 2, *,
                 memory_bytes: int = LIMITS.isolate_memory_bytes,
                 seconds: float = LIMITS.isolate_seconds) -> Generator[Any, None, None]:
    """func(arg) for every arg in `workers` child processes, yielded in the order of args.

    A failure costs only its own item: a worker that died or overran is replaced.
    """
    pool = _Pool(func, max(1, workers), memory_bytes, seconds)
    try:
        yield from pool.run(list(args))
    finally:
        pool.close()


class _Worker:
    """One forked child that runs items sent over a pipe until told to stop."""

    def __init__(self, context, func: Callable[[Any], Any], memory_bytes: int) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 — lives as long as the worker
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve, daemon=True,
                                       args=(child_conn, func, memory_bytes, self.stderr.fileno(), os.getpid()))
        self.process.start()
        child_conn.close()
        self.items: list[int] = []  # the items sent, oldest first: it works on the first, the next waits in the pipe
        self.deadline = 0.0  # for the first item, from when it was started
        self.item_start = 0  # where the first item's stderr begins in the file

    @property
    def index(self) -> int | None:
        """The item it works on."""
        return self.items[0] if self.items else None

    def give(self, index: int, arg: Any, seconds: float) -> bool:
        """Send one item; False when the worker can no longer take it."""
        try:
            self.conn.send((index, arg))
        except (OSError, ValueError):
            return False
        self.items.append(index)
        if len(self.items) == 1:
            self._started(seconds)
        return True

    def finished(self, seconds: float) -> None:
        """Its first item's result came back: it is on to the next one, if it holds one."""
        self.items.pop(0)
        if self.items:
            self._started(seconds)

    def _started(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.item_start = os.lseek(self.stderr.fileno(), 0, os.SEEK_CUR)  # the offset is shared with the child

    def death(self) -> IsolatedFailure:
        """The failure of the item it held when it died (reaped first, so the signal is known)."""
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        code = self.process.exitcode
        tail = self._stderr_tail()
        if any(text in tail for text in _OUT_OF_MEMORY_TEXT):
            return IsolatedFailure(MEMORY, -code if code and code < 0 else None, tail.decode("utf-8", "replace"))
        return IsolatedFailure(CRASHED, -code if code and code < 0 else None, tail.decode("utf-8", "replace"))

    def kill(self) -> None:
        if self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(5)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        self.conn.close()
        self._forward_stderr()

    def _forward_stderr(self) -> None:
        """What the child wrote to stderr (warnings, a crash's last words) goes to the parent's stderr."""
        try:
            self.stderr.seek(0)
            text = self.stderr.read(8192)
            if text:
                sys.stderr.write(text.decode("utf-8", "replace"))
        except (OSError, ValueError):
            pass
        finally:
            self.stderr.close()

    def _stderr_tail(self) -> bytes:
        """The first lines the dying item wrote (a Rust panic prints its reason before a long backtrace)."""
        try:
            self.stderr.seek(self.item_start)
            return self.stderr.read(4096)
        except OSError:
            return b""


class _Pool:
    def __init__(self, func: Callable[[Any], Any], workers: int, memory_bytes: int, seconds: float) -> None:
        self.context = multiprocessing.get_context("fork")
        self.func, self.size, self.memory_bytes, self.seconds = func, workers, memory_bytes, seconds
        self.workers: list[_Worker] = []

    def run(self, args: list[Any]) -> Iterator[Any]:
        done: dict[int, Any] = {}
        pending = list(range(len(args)))[::-1]
        for index in range(len(args)):
            while index not in done:
                self._hand_out(args, pending, done)
                if not pending and not any(w.items for w in self.workers) and index not in done:
                    raise RuntimeError(f"item {index} was lost: neither handed out nor answered")  # a bug here
                self._collect(done, pending)
            yield done.pop(index)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def _hand_out(self, args: list[Any], pending: list[int], done: dict[int, Any]) -> None:
        """Each worker gets an item, and one more waiting in its pipe: it starts the next as soon as it has sent a
        result, not when the parent has taken it in (unpickling a township's result is ~3 ms of its ~20)."""
        while pending and len(self.workers) < self.size:
            self.workers.append(_Worker(self.context, self.func, self.memory_bytes))
        # Round by round: every worker gets an item before any gets a second (two files, two workers: one each).
        for depth in (1, 2):
            for worker in [w for w in self.workers if len(w.items) < depth]:
                if not pending:
                    return
                index = pending.pop()
                if worker.give(index, args[index], self.seconds):
                    continue
                if worker.index is None:
                    done[index] = self._replace(worker, pending)
                else:  # its pipe is gone while it holds an item: that item's failure is found in _collect
                    pending.append(index)

    def _collect(self, done: dict[int, Any], pending: list[int]) -> None:
        busy = [w for w in self.workers if w.index is not None]
        if not busy:
            return
        timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
        for worker in busy:
            # Its conn is asked again: a result may have come while another worker was being replaced.
            if (worker.conn in ready or worker.conn.poll()) and self._receive(worker, done, pending):
                continue
            index = worker.index
            assert index is not None  # busy workers hold an item
            if worker.process.sentinel in ready:
                done[index] = self._replace(worker, pending)
            elif time.monotonic() >= worker.deadline:
                worker.kill()
                done[index] = IsolatedFailure(TIME, note=f"{self.seconds} s")
                self._replace(worker, pending)

    def _receive(self, worker: _Worker, done: dict[int, Any], pending: list[int]) -> bool:
        try:
            index, result = worker.conn.recv()
        except (EOFError, OSError):
            return False  # it died while sending: its sentinel reports it
        done[index] = result
        worker.finished(self.seconds)
        if isinstance(result, IsolatedFailure) and result.limit == MEMORY:
            # After a MemoryError its heap may be fragmented: it is stopped (it is alive and answers, so this is
            # quick, where reaping it as a dead one waited 5 s) and a new one started; what it held goes again.
            pending.extend(reversed(worker.items))
            worker.items.clear()
            worker.stop()
            self.workers.remove(worker)
        return True

    def _replace(self, worker: _Worker, pending: list[int]) -> IsolatedFailure:
        """Drop a worker (reaping it) and say how its first item failed; the item waiting behind it, never started,
        goes back to be handed out first. A new worker is started on demand."""
        failure = worker.death()  # its pipes close a moment before it can be reaped: death() waits
        worker.kill()
        worker.stop()
        self.workers.remove(worker)
        pending.extend(reversed(worker.items[1:]))
        worker.items.clear()
        return failure


def _serve(conn: Connection, func: Callable[[Any], Any], memory_bytes: int, stderr_fd: int, parent: int) -> None:
    """The child's loop: limit its memory, then run items until told to stop, or the parent is gone."""
    os.dup2(stderr_fd, 2)  # kept so the parent can tell an allocation failure from another crash
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _limit_address_space(memory_bytes)
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent:
                    return
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        index, arg = item
        _reply(conn, index, _call(func, arg))


def _call(func: Callable[[Any], Any], arg: Any) -> Any:
    try:
        return func(arg)
    except MemoryError:
        return IsolatedFailure(MEMORY, note="MemoryError")
    except BaseException as exc:  # noqa: BLE001 — whatever the item raised is that item's failure
        return IsolatedFailure(CRASHED, note="".join(traceback.format_exception_only(exc))[-500:])


def _reply(conn: Connection, index: int, result: Any) -> None:
    try:
        conn.send((index, result))
    except MemoryError:
        conn.send((index, IsolatedFailure(MEMORY, note="result too large")))
    except Exception as exc:  # noqa: BLE001 — a result that cannot be pickled
        conn.send((index, IsolatedFailure(CRASHED, note=f"result not picklable: {exc}"[:500])))


def _limit_address_space(extra: int) -> None:
    limit = _address_space() + extra
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _address_space() -> int:
    """This process's mapped size now (VmSize), in bytes."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
