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


def test_two_workers__heaviest_job_written_here__the_others_one_after_another_by_one_child(tmp_path):
    from processor.fanout import run_writers

    def job(name: str, weight: float) -> WriterJob:
        def write() -> list[Path]:
            path = tmp_path / name
            path.write_text(f"{os.getpid()} {time.monotonic()}", encoding="utf-8")
            time.sleep(0.1)
            return [path]
        return WriterJob(name, write, weight)

    jobs = [job("light", 1.0), job("finance", 10.0), job("middle", 2.0)]
    peaks: dict[str, float] = {}
    written = run_writers(jobs, 2, peaks=peaks)

    assert written == [[tmp_path / "light"], [tmp_path / "finance"], [tmp_path / "middle"]]  # in the jobs' order
    (light_pid, light_at), (finance_pid, _), (middle_pid, middle_at) = (
        (tmp_path / name).read_text(encoding="utf-8").split() for name in ("light", "finance", "middle"))
    # The heaviest here; the others by one child, one after another, heavier first.
    assert int(finance_pid) == os.getpid()
    assert light_pid == middle_pid != finance_pid and float(middle_at) < float(light_at)
    assert set(peaks) == {"light", "middle"}  # a child's jobs report its peak (the benchmark prints them)


def test_two_workers__job_failing_here__its_exception_is_the_callers__the_lanes_child_is_stopped(tmp_path):
    from processor.fanout import run_writers

    started = tmp_path / "child.pid"

    def broken() -> list[Path]:
        for _ in range(100):  # once the other lane's child is under way
            if started.exists():
                break
            time.sleep(0.05)
        raise ValueError("the finance rows do not add up")

    def slow() -> list[Path]:
        started.write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(60)
        return []

    begun = time.monotonic()
    with pytest.raises(ValueError, match="do not add up"):
        run_writers([WriterJob("finance", broken, 10.0), WriterJob("notices", slow, 1.0)], 2)
    assert time.monotonic() - begun < 30  # not waiting for the child's lane
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(int(started.read_text(encoding="utf-8")), 0)


def test_lanes__heaviest_first_each_to_the_lightest_lane__claiming_jobs_one_to_a_lane_last():
    from processor.fanout import lanes

    def job(name: str, weight: float, claims: bool = False) -> WriterJob:
        return WriterJob(name, list, weight, claims=claims)

    jobs = [job("receipts 1", 0.5, claims=True), job("notices", 3.0), job("finance", 30.0),
            job("receipts 2", 0.5, claims=True), job("consolidated", 5.0), job("ledger", 1.0),
            job("receipts 3", 0.5, claims=True)]
    named = [[jobs[i].name for i in lane] for lane in lanes(jobs, 3)]
    assert named == [["finance", "receipts 1"], ["consolidated", "receipts 2"], ["notices", "ledger", "receipts 3"]]
    # With fewer jobs than lanes, a lane is empty: the lanes are fixed before the jobs are known (fanout.Lanes).
    two = jobs[1:3]
    assert [[two[i].name for i in lane] for lane in lanes(two, 3)] == [["finance"], ["notices"], []]


def test_lanes__a_job_only_the_run_holds_the_data_of__first_in_the_runs_own_lane__whatever_its_weight():
    from processor.fanout import lanes

    jobs = [WriterJob("consolidated", list, 5.0), WriterJob("finance", list, 1.0, here=True),
            WriterJob("notices", list, 3.0)]
    assert [[jobs[i].name for i in lane] for lane in lanes(jobs, 2)] == [["finance", "notices"], ["consolidated"]]


def test_lanes__the_first_child_s_early_jobs_weigh_in_its_lane():
    # A county's early jobs (notices, review and reasons workbooks: 0.15 s) kept its child busy while the run's own
    # lane, its finance workbook written, waited for it; the next heaviest job goes to the lane less loaded in all.
    from processor.fanout import lanes

    jobs = [WriterJob("finance", list, 120.0, here=True), WriterJob("consolidated", list, 45.0),
            WriterJob("receipts", list, 35.0)]
    assert [[jobs[i].name for i in lane] for lane in lanes(jobs, 2, [0.0, 160.0])] == [
        ["finance", "consolidated"], ["receipts"]]
    assert [[jobs[i].name for i in lane] for lane in lanes(jobs, 2)] == [["finance"], ["consolidated", "receipts"]]


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


def test_claimed_jobs__two_workers__every_item_written_once__the_child_starts_them_while_a_long_job_runs(tmp_path):
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
    assert lines[items[0]] != [str(os.getpid())]  # the finance workbook is written here meanwhile
    assert {"write receipts 1", "write receipts 2"} <= set(timings)


def test_claimed_jobs__a_child_fails__every_item_written_here_again(tmp_path):
    from processor.fanout import claimed_jobs, run_writers

    items = [f"{n:02d}" for n in range(30)]

    def long() -> list[Path]:
        time.sleep(0.3)  # here: the child claims the first items meanwhile, and fails on the first
        return []

    jobs = [WriterJob("finance", long, 100.0),
            *claimed_jobs("receipts", items, _receipt_writer(tmp_path, fail_in_child_at="00"), 2, 1.0)]
    written = run_writers(jobs, 2)[1:]

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

def test_together__two_workers__its_jobs_written_one_after_another_by_one_process__each_timed(tmp_path):
    from processor.fanout import run_writers, together

    order: list[str] = []

    def part(name: str) -> WriterJob:
        def write() -> list[Path]:
            path = tmp_path / name
            path.write_text(f"{os.getpid()} {time.monotonic()}", encoding="utf-8")
            order.append(name)
            return [path]
        return WriterJob(name, write, 1.0)

    jobs = [part("reasons.xlsx"),
            together("finance workbook, results.json", [part("finance.xlsx"), part("results.json")])]
    timings: dict[str, float] = {}
    peaks: dict[str, float] = {}
    written = run_writers(jobs, 2, timings, peaks)

    assert written == [[tmp_path / "reasons.xlsx"], [tmp_path / "finance.xlsx", tmp_path / "results.json"]]
    (fin_pid, fin_at), (res_pid, res_at), (reasons_pid, _) = (
        (tmp_path / n).read_text(encoding="utf-8").split() for n in ("finance.xlsx", "results.json", "reasons.xlsx"))
    # The heavier (the pair's weights summed) here, its jobs in order; the other in a child.
    assert fin_pid == res_pid == str(os.getpid()) != reasons_pid and float(fin_at) < float(res_at)
    assert order == ["finance.xlsx", "results.json"]
    assert set(timings) == {"write finance.xlsx", "write results.json", "write reasons.xlsx"}
    assert set(peaks) == {"reasons.xlsx"}


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


# --- lanes forked before every job is known (fanout.Lanes) ----------------------------------------------

def _late(folder: Path, workers: int = 2):
    """The run's late jobs: receipts claimed by both lanes, a notice, and a finance workbook that reads what only the
    run's own process holds (`mine`), each built from what the lanes were told."""
    def build(news: dict, counter) -> list[WriterJob]:
        from processor.fanout import claimed_jobs

        def notice() -> list[Path]:
            path = folder / "notice.txt"
            path.write_text(f"{news['problems']} {os.getpid()}", encoding="utf-8")
            return [path]

        def finance() -> list[Path]:
            path = folder / "finance.txt"
            path.write_text(f"{news['payments']} {os.getpid()}", encoding="utf-8")
            return [path]
        items = [f"{n:02d}" for n in range(40)]
        return [*claimed_jobs("receipts", items, _receipt_writer(folder), workers, 0.5, counter),
                WriterJob("notice", notice, 3.0), WriterJob("finance", finance, 5.0, here=True)]
    return build


def test_lanes__early_jobs_while_the_run_goes_on__late_jobs_built_from_what_the_children_are_told(tmp_path):
    from processor.fanout import Lanes

    timings: dict[str, float] = {}
    here = os.getpid()
    with Lanes([_writes(tmp_path / "review.txt", "R")], 2, _late(tmp_path), timings) as lanes:
        payments = ["line"] * 3  # made after the fork: the children never see it
        jobs = lanes.send({"problems": "P1", "payments": None}, {"problems": "P1", "payments": len(payments)})
        early, late = lanes.write()

    assert [job.name for job in jobs] == ["receipts 1", "receipts 2", "notice", "finance"]
    assert early == [[tmp_path / "review.txt"]]
    assert int((tmp_path / "review.txt").read_text(encoding="utf-8").split()[1]) != here
    assert late[2:] == [[tmp_path / "notice.txt"], [tmp_path / "finance.txt"]]
    # The job only this process holds the data of is written here, from what this process built its jobs from.
    assert (tmp_path / "finance.txt").read_text(encoding="utf-8").split() == ["3", str(here)]
    said, pid = (tmp_path / "notice.txt").read_text(encoding="utf-8").split()
    assert said == "P1" and int(pid) != here  # the child built its notice from the news it was told
    # Every receipt written once, by whichever lane claimed it, off the counter the child inherited.
    receipts = sorted(p for paths in late[:2] for p in paths)
    assert receipts == [tmp_path / f"{n:02d}.txt" for n in range(40)]
    assert all(len((tmp_path / f"{n:02d}.txt").read_text(encoding="utf-8").split()) == 1 for n in range(40))
    assert {"write review.txt", "write notice", "write finance", "write receipts 1", "write receipts 2"} <= set(timings)


def test_lanes__one_worker__early_jobs_written_at_once__late_ones_here_in_order(tmp_path):
    from processor.fanout import Lanes

    here = str(os.getpid())
    with Lanes([_writes(tmp_path / "review.txt", "R")], 1, _late(tmp_path, workers=1)) as lanes:
        assert (tmp_path / "review.txt").exists()  # before the run goes on to the payments
        lanes.send({"problems": "P1", "payments": None}, {"problems": "P1", "payments": 3})
        early, late = lanes.write()
    assert late == [[tmp_path / f"{n:02d}.txt" for n in range(40)], [tmp_path / "notice.txt"],
                    [tmp_path / "finance.txt"]]
    assert (tmp_path / "notice.txt").read_text(encoding="utf-8").split() == ["P1", here]


def test_lanes__one_worker__the_run_s_own_jobs_first_then_the_heaviest__paths_in_the_order_of_the_jobs(tmp_path):
    # As the run's own lane with more workers: the jobs that read what only it holds (the finance workbook) first,
    # while its memory is lowest (a one-worker run peaked 1,000 MB writing it last, 911 MB first), then the heaviest.
    from processor.fanout import Lanes

    order: list[str] = []

    def job(name: str, weight: float, here: bool = False) -> WriterJob:
        def write() -> list[Path]:
            order.append(name)
            return [tmp_path / name]
        return WriterJob(name, write, weight, here=here)

    def build(_news: dict, _counter) -> list[WriterJob]:
        return [job("light", 1.0), job("heavy", 5.0), job("finance", 2.0, here=True), job("middle", 3.0)]

    with Lanes([], 1, build) as lanes:
        lanes.send({})
        _, late = lanes.write()
    assert order == ["finance", "heavy", "middle", "light"]
    assert late == [[tmp_path / "light"], [tmp_path / "heavy"], [tmp_path / "finance"], [tmp_path / "middle"]]


def test_lanes__the_child_cannot_build_its_jobs__its_lane_written_here(tmp_path):
    from processor.fanout import Lanes

    here = os.getpid()
    build = _late(tmp_path)

    def fragile(news: dict, counter) -> list[WriterJob]:
        if os.getpid() != here:
            raise KeyError("a field the child was not told")
        return build(news, counter)

    with Lanes([], 2, fragile) as lanes:
        lanes.send({"problems": "P1", "payments": 3})
        _, late = lanes.write()
    assert late[2] == [tmp_path / "notice.txt"]
    assert (tmp_path / "notice.txt").read_text(encoding="utf-8").split() == ["P1", str(here)]
    # The child's claimed receipts are written again here: every item (which of its claims it finished is not known).
    assert sorted({p for paths in late[:2] for p in paths}) == [tmp_path / f"{n:02d}.txt" for n in range(40)]


def test_lanes__the_run_stops_before_it_tells_the_children__they_are_stopped(tmp_path):
    from processor.fanout import Lanes

    begun = time.monotonic()
    with pytest.raises(RuntimeError, match="payments"):
        with Lanes([_writes(tmp_path / "review.txt", "R")], 2, _late(tmp_path)) as lanes:
            child = lanes._children[0]._process.pid
            raise RuntimeError("the payments could not be worked out")
    assert time.monotonic() - begun < 30
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(child, 0)
    assert not (tmp_path / "notice.txt").exists()


def test_lanes__news_larger_than_the_pipe_told_while_the_child_writes_its_early_jobs__the_run_goes_on(tmp_path):
    """A province's payment problems are told to the child while it still writes the notices: the run goes on to its
    own lane at once, rather than waiting until the child reads them."""
    from processor.fanout import Lanes

    go = tmp_path / "go"

    def waits_for_the_run() -> list[Path]:  # the early job ends once the run has gone on past `send`
        path = tmp_path / "early.txt"
        deadline = time.monotonic() + 20
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        path.write_text("went on" if go.exists() else "waited", encoding="utf-8")
        return [path]

    problems = "问题" * 1_000_000  # ~6 MB pickled: a hundred times what a pipe holds
    with Lanes([WriterJob("early", waits_for_the_run)], 2, _late(tmp_path)) as lanes:
        lanes.send({"problems": problems, "payments": None}, {"problems": "P1", "payments": 3})
        go.touch()
        early, late = lanes.write()

    assert (tmp_path / "early.txt").read_text(encoding="utf-8") == "went on"
    assert early == [[tmp_path / "early.txt"]]
    said, pid = (tmp_path / "notice.txt").read_text(encoding="utf-8").split()
    assert said == problems and int(pid) != os.getpid()  # the child built its jobs from all of the news
