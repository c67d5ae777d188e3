"""One file's reader may exhaust memory, hang or be killed: only that file fails (FILE_012), the others
in the same map still return, in order, and the caller never sees an exception."""
from __future__ import annotations

import os
import signal
import time

from processor.isolate import IsolatedFailure, map_isolated, run_isolated

BUDGET = 512 << 20


def allocate_3gb(_: object) -> int:
    return len(bytearray(3 << 30))


def sleep_long(_: object) -> None:
    time.sleep(60)


def kill_myself(_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_a_while(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def my_pid(_: object) -> int:
    return os.getpid()


def square(n: int) -> int:
    return n * n


def by_kind(kind: str):
    return {"memory": allocate_3gb, "time": sleep_long, "kill": kill_myself, "raise": _raise}.get(kind, _echo)(kind)


def _raise(_: object) -> None:
    raise ValueError("broken cell")


def _echo(kind: str) -> str:
    return f"ok {kind}"


def test_allocating_3gb__memory_failure(tmp_path):
    result = run_isolated(allocate_3gb, None, memory_bytes=BUDGET, seconds=30)
    assert isinstance(result, IsolatedFailure) and result.limit == "memory"
    assert result.problem("城关镇.xlsx").code == "FILE_012" and "超过内存限制" in result.problem("x").message


def test_sleeping__time_failure_after_the_limit():
    started = time.monotonic()
    result = run_isolated(sleep_long, None, memory_bytes=BUDGET, seconds=1)
    assert isinstance(result, IsolatedFailure) and result.limit == "time"
    assert time.monotonic() - started < 10 and "超过时间限制" in result.problem("x").message


def test_killed_by_a_signal__crashed_with_that_signal():
    result = run_isolated(kill_myself, None, memory_bytes=BUDGET, seconds=30)
    assert isinstance(result, IsolatedFailure) and (result.limit, result.signal) == ("crashed", signal.SIGKILL)
    assert "读取进程异常退出（信号 9）" in result.problem("x").message


def test_an_exception__crashed_without_a_signal():
    result = run_isolated(_raise, None, memory_bytes=BUDGET, seconds=30)
    assert isinstance(result, IsolatedFailure) and (result.limit, result.signal) == ("crashed", None)
    assert "ValueError: broken cell" in result.note


def test_result_comes_back():
    assert run_isolated(square, 12, memory_bytes=BUDGET, seconds=30) == 144


def test_map__each_failure_costs_only_its_item__the_rest_return_in_order():
    kinds = ["a", "memory", "b", "time", "c", "kill", "d", "raise", "e"]
    results = list(map_isolated(by_kind, kinds, workers=2, memory_bytes=BUDGET, seconds=3))
    limits = [r.limit if isinstance(r, IsolatedFailure) else r for r in results]
    assert limits == ["ok a", "memory", "ok b", "time", "ok c", "crashed", "ok d", "crashed", "ok e"]


def test_map__one_worker_replaced_after_every_death():
    kinds = ["kill", "a", "kill", "b", "memory", "c"]
    results = list(map_isolated(by_kind, kinds, workers=1, memory_bytes=BUDGET, seconds=30))
    assert [r for r in results if not isinstance(r, IsolatedFailure)] == ["ok a", "ok b", "ok c"]


def test_map__many_items_few_workers__every_one_answered():
    assert list(map_isolated(square, range(200), workers=2, memory_bytes=BUDGET, seconds=30)) == [n * n for n in range(200)]


def test_map__the_next_item_waits_in_the_worker_s_pipe__its_time_limit_counts_from_its_own_start():
    # Each worker holds its next item while it works (isolate._Pool._hand_out): 1.2 s each with a 2 s limit must all
    # come back, though the second was sent at the start and is answered 2.4 s after it.
    started = time.monotonic()
    assert list(map_isolated(sleep_a_while, [1.2, 1.2, 1.2], workers=1, memory_bytes=BUDGET, seconds=2)) == [1.2] * 3
    assert time.monotonic() - started >= 3.6


def test_map__as_many_items_as_workers__each_worker_takes_one():
    # A worker holds a second item only once every worker has one: two files and two workers are read side by side.
    assert len(set(map_isolated(my_pid, [0, 1], workers=2, memory_bytes=BUDGET, seconds=30))) == 2


def test_memory_budget_is_beyond_the_size_at_the_fork():
    """A parent that already maps more than the budget still gets working children."""
    ballast = bytearray(BUDGET + (64 << 20))
    assert run_isolated(square, 3, memory_bytes=BUDGET, seconds=30) == 9
    del ballast


def test_no_child_left_behind():
    before = _children()
    list(map_isolated(by_kind, ["a", "kill", "time", "b"], workers=2, memory_bytes=BUDGET, seconds=2))
    assert _children() <= before


def _children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            found.add(int(pid))
    return found
