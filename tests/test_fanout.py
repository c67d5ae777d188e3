"""Writer jobs started early (fanout.Started): written in a child while the run goes on, as if written here."""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import pytest

from processor.fanout import Started, WriterJob


def _writes(path: Path, text: str) -> WriterJob:
    def write() -> list[Path]:
        path.write_text(f"{text} {os.getpid()}", encoding="utf-8")
        return [path]
    return WriterJob(path.name, write)


def test_two_workers__jobs_written_by_another_process_while_the_caller_goes_on(tmp_path):
    timings: dict[str, float] = {}
    with Started([_writes(tmp_path / "a.txt", "A"), _writes(tmp_path / "b.txt", "B")], 2, timings) as started:
        here = os.getpid()  # the caller's own work happens here meanwhile
        written = started.finish()
    assert written == [[tmp_path / "a.txt"], [tmp_path / "b.txt"]]
    for name, text in (("a.txt", "A"), ("b.txt", "B")):
        said, pid = (tmp_path / name).read_text(encoding="utf-8").split()
        assert said == text and int(pid) != here
    assert set(timings) == {"write a.txt", "write b.txt"}


def test_one_worker__jobs_written_here_before_the_caller_goes_on(tmp_path):
    started = Started([_writes(tmp_path / "a.txt", "A")], 1)
    assert (tmp_path / "a.txt").read_text(encoding="utf-8").split()[1] == str(os.getpid())
    assert started.finish() == [[tmp_path / "a.txt"]]


def test_job_failing_in_the_child__written_again_here__its_exception_is_the_callers(tmp_path):
    def broken() -> list[Path]:
        raise ValueError("the finance rows do not add up")
    with Started([_writes(tmp_path / "a.txt", "A"), WriterJob("broken", broken)], 2) as started:
        with pytest.raises(ValueError, match="do not add up"):
            started.finish()
    assert (tmp_path / "a.txt").read_text(encoding="utf-8").startswith("A ")


def test_warning_in_the_child__raised_again_here():
    def noisy() -> list[Path]:
        warnings.warn("Title is more than 31 characters", UserWarning, stacklevel=1)
        return []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Started([WriterJob("noisy", noisy)], 2) as started:
            started.finish()
    assert [str(w.message) for w in caught] == ["Title is more than 31 characters"]


def test_caller_stops_without_finishing__the_child_is_stopped(tmp_path):
    def slow() -> list[Path]:
        time.sleep(60)
        (tmp_path / "late.txt").write_text("late", encoding="utf-8")
        return []
    begun = time.monotonic()
    with pytest.raises(RuntimeError, match="operator"):
        with Started([WriterJob("slow", slow)], 2):
            raise RuntimeError("the operator's mistake stops the run")
    assert time.monotonic() - begun < 30
    assert not (tmp_path / "late.txt").exists()


_HELD: list[bytes] = []  # what a writer's heap keeps after its job (freed memory a process does not give back)


def _resident_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS:"))


def test_writer_jobs__each_in_a_child_of_its_own__none_starts_with_what_an_earlier_job_grew_to(tmp_path):
    from processor.fanout import run_writers

    def big() -> list[Path]:
        _HELD.append(b"x" * (300 << 20))  # a finance workbook's tables, kept by the child's heap
        return []

    def measured(name: str) -> WriterJob:
        def write() -> list[Path]:
            time.sleep(0.3)  # the big job is done before the last of these starts
            path = tmp_path / name
            path.write_text(f"{os.getpid()} {_resident_mb()}", encoding="utf-8")
            return [path]
        return WriterJob(name, write, 1.0)

    jobs = [WriterJob("big", big, 10.0), *(measured(f"{n}.txt") for n in range(4))]
    before = _resident_mb()
    peaks: dict[str, float] = {}
    run_writers(jobs, 2, peaks=peaks)

    started = [tuple(map(int, (tmp_path / f"{n}.txt").read_text(encoding="utf-8").split())) for n in range(4)]
    assert len({pid for pid, _ in started}) == 4 and os.getpid() not in {pid for pid, _ in started}
    assert all(mb < before + 150 for _, mb in started)  # none ran after the 300 MB job in its process
    # Each job's child reports its peak (the benchmark prints them): the big one's shows its 300 MB.
    assert set(peaks) == {"big", "0.txt", "1.txt", "2.txt", "3.txt"}
    assert peaks["big"] > before + 250 and all(peaks[f"{n}.txt"] < before + 150 for n in range(4))


# --- receipts claimed a few at a time (fanout.claimed_jobs) ----------------------------------------

def _receipt_writer(folder: Path, fail_in_child_at: str | None = None):
    caller = os.getpid()

    def write(item: str) -> Path:
        if item == fail_in_child_at and os.getpid() != caller:
            raise OSError("disk full in the child")
        path = folder / f"{item}.txt"
        with path.open("a", encoding="utf-8") as fh:  # one line per time it is written
            fh.write(f"{os.getpid()}\n")
        return path
    return write


def test_claimed_jobs__two_workers__every_item_written_once_by_children_while_a_long_job_runs(tmp_path):
    from processor.fanout import CLAIM, claimed_jobs, run_writers

    items = [f"{n:03d}" for n in range(5 * CLAIM + 3)]  # a run that does not end on a whole claim

    def long() -> list[Path]:
        time.sleep(0.5)  # the finance workbook: the other lane starts the receipts meanwhile
        return []

    jobs = [WriterJob("finance", long, 100.0), *claimed_jobs("receipts", items, _receipt_writer(tmp_path), 2, 1.0)]
    assert [job.name for job in jobs] == ["finance", "receipts 1", "receipts 2"]
    timings: dict[str, float] = {}
    written = run_writers(jobs, 2, timings)

    by_job = written[1:]
    assert sorted(p for paths in by_job for p in paths) == [tmp_path / f"{item}.txt" for item in items]
    assert all(paths == sorted(paths) for paths in by_job)  # each job's in the order of the items
    lines = {item: (tmp_path / f"{item}.txt").read_text(encoding="utf-8").split() for item in items}
    assert all(len(pids) == 1 for pids in lines.values())  # none written twice
    assert str(os.getpid()) not in {pid for pids in lines.values() for pid in pids}
    assert {"write receipts 1", "write receipts 2"} <= set(timings)


def test_claimed_jobs__a_child_fails__every_item_written_here_again(tmp_path):
    from processor.fanout import claimed_jobs, run_writers

    items = [f"{n:02d}" for n in range(30)]
    jobs = claimed_jobs("receipts", items, _receipt_writer(tmp_path, fail_in_child_at="17"), 2, 1.0)
    written = run_writers(jobs, 2)

    here = str(os.getpid())
    assert sorted({p for paths in written for p in paths}) == [tmp_path / f"{item}.txt" for item in items]
    # What the failed child claimed and never wrote is written here, with everything else.
    assert all((tmp_path / f"{item}.txt").read_text(encoding="utf-8").split()[-1] == here for item in items)


def test_claimed_jobs__one_worker__one_job_writes_every_item_here_in_order(tmp_path):
    from processor.fanout import claimed_jobs, run_writers

    items = ["b", "a", "c"]
    jobs = claimed_jobs("receipts", items, _receipt_writer(tmp_path), 1, 1.0)
    assert [job.name for job in jobs] == ["receipts"]
    assert run_writers(jobs, 1) == [[tmp_path / "b.txt", tmp_path / "a.txt", tmp_path / "c.txt"]]
    assert (tmp_path / "a.txt").read_text(encoding="utf-8").split() == [str(os.getpid())]


def test_claimed_jobs__a_few_items__one_job_even_with_two_workers(tmp_path):
    from processor.fanout import CLAIM, claimed_jobs

    few = [f"{n}" for n in range(2 * CLAIM)]
    assert [job.name for job in claimed_jobs("receipts", few, _receipt_writer(tmp_path), 2, 1.0)] == ["receipts"]
    more = [*few, "last"]
    assert [job.name for job in claimed_jobs("receipts", more, _receipt_writer(tmp_path), 2, 1.0)] == \
        ["receipts 1", "receipts 2"]


# --- jobs written together by one child (fanout.together) --------------------------------------------

def test_together__two_workers__its_jobs_written_one_after_another_by_one_child__each_timed(tmp_path):
    from processor.fanout import run_writers, together

    order: list[str] = []

    def part(name: str) -> WriterJob:
        def write() -> list[Path]:
            path = tmp_path / name
            path.write_text(f"{os.getpid()} {time.monotonic()}", encoding="utf-8")
            order.append(name)
            return [path]
        return WriterJob(name, write, 1.0)

    jobs = [together("finance workbook, results.json", [part("finance.xlsx"), part("results.json")]),
            part("reasons.xlsx")]
    timings: dict[str, float] = {}
    peaks: dict[str, float] = {}
    written = run_writers(jobs, 2, timings, peaks)

    assert written == [[tmp_path / "finance.xlsx", tmp_path / "results.json"], [tmp_path / "reasons.xlsx"]]
    (fin_pid, fin_at), (res_pid, res_at) = ((tmp_path / n).read_text(encoding="utf-8").split()
                                            for n in ("finance.xlsx", "results.json"))
    assert fin_pid == res_pid != str(os.getpid()) and float(fin_at) < float(res_at)
    assert order == []  # nothing was written in this process
    assert set(timings) == {"write finance.xlsx", "write results.json", "write reasons.xlsx"}
    assert set(peaks) == {"finance workbook, results.json", "reasons.xlsx"}


def test_together__one_worker__written_here_in_order__each_timed(tmp_path):
    from processor.fanout import run_writers, together

    order: list[str] = []

    def part(name: str) -> WriterJob:
        def write() -> list[Path]:
            order.append(name)
            return [tmp_path / name]
        return WriterJob(name, write, 1.0)

    timings: dict[str, float] = {}
    written = run_writers([together("both", [part("a"), part("b")]), part("c")], 1, timings)
    assert written == [[tmp_path / "a", tmp_path / "b"], [tmp_path / "c"]] and order == ["a", "b", "c"]
    assert set(timings) == {"write a", "write b", "write c"}
