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
