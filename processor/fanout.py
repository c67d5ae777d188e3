"""The run's outputs written side by side: with --workers N, in N lanes — the run's own process and N - 1 forked
children — each writing its share of the writer jobs one after another.

Every output of a run is a file of its own (the finance workbook, the consolidated workbook, the reasons,
the notices, results.json, the receipts), computed from data the run already holds. Forked children
inherit that data copy-on-write, so nothing is pickled on the way in; a job sends back only the paths
it wrote. With one worker the jobs run here, in order, exactly as before.

Why lanes: a forked child copies each page of the run's data whose reference counts it writes, and so does the
run's process while a child still shares the page. With a child a job, every child copied every page it wrote: at
2,000 townships 1.35 million page faults against 0.88 million in lanes, where a page is copied once, by whichever
of the two processes writes it first (this host hands out memory it has not used lately at up to 45 µs a page).
The heaviest job (the finance workbook and results.json) is the run's own process's: alone, it took 15.8–16.4 s
here against 18.7–19.6 s in a child.

The bytes are the same either way: a writer's output depends on its inputs only, never on which process
wrote it. A job that fails in its child is run again here, so its exception is the run's, with its
traceback, as it would have been without the children.
"""
from __future__ import annotations

import multiprocessing
import resource
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar


@dataclass(frozen=True)
class WriterJob:
    name: str                          # for the timings and the log
    write: Callable[[], list[Path]]    # writes its files, returns their paths
    weight: float = 1.0                # rough cost: the heaviest jobs start first
    # What is written here when the job failed in its child; None: `write` again. (A job of `claimed_jobs` wrote
    # only what it claimed, and which of those it finished is not known: here every item is written again.)
    again: Callable[[], list[Path]] | None = None
    parts: tuple[WriterJob, ...] = ()  # a `together` job's jobs, each timed as its own
    claims: bool = False               # takes items off a counter other lanes share (claimed_jobs): one to a lane


@dataclass(frozen=True)
class _Done:
    paths: list[Path]
    seconds: dict[str, float]  # by job: a `together` job's for each of its jobs
    warned: list[tuple[type[Warning], str]]
    peak_mb: float  # the child's peak RSS when the job was done (the run's data it inherited included)


def together(name: str, jobs: list[WriterJob]) -> WriterJob:
    """`jobs` written one after another in one lane, each timed as its own, weighing what they weigh together: two
    jobs that read the same data (the finance workbook and results.json, each every payment line) are the heaviest
    job, which the run's own process writes; in a child they would copy each page once, not once each (results.json
    5.1–6.3 → 4.2–4.7 s)."""
    def write() -> list[Path]:
        return [path for job in jobs for path in job.write()]
    return WriterJob(name, write, sum(job.weight for job in jobs), parts=tuple(jobs))


def _written(job: WriterJob, again: bool = False) -> tuple[list[Path], dict[str, float]]:
    """The job's paths, and its seconds by the name each is reported under (each part's, for a `together` job)."""
    if job.parts and not again:
        paths: list[Path] = []
        seconds: dict[str, float] = {}
        for part in job.parts:
            more, timed = _written(part)
            paths += more
            seconds.update(timed)
        return paths, seconds
    started = time.perf_counter()
    paths = job.again() if again and job.again is not None else job.write()
    return paths, {job.name: time.perf_counter() - started}


def run_writers(jobs: list[WriterJob], workers: int, timings: dict[str, float] | None = None,
                peaks: dict[str, float] | None = None) -> list[list[Path]]:
    """Each job's paths, in the order of `jobs`. With more than one worker, `lanes` shares them out: the first lane
    is written here, each other by one forked child (started first), its jobs one after another.
    `timings`: seconds per job; `peaks`: the peak RSS (MB) of a child when each of its jobs was done."""
    if workers <= 1 or len(jobs) <= 1:
        return [_timed(job, timings) for job in jobs]
    here, *others = lanes(jobs, workers)
    with ExitStack() as children:
        started = [children.enter_context(Started([jobs[i] for i in lane], workers, timings, peaks))
                   for lane in others]
        done = {i: _timed(jobs[i], timings) for i in here}  # a job failing here is the run's exception
        for lane, child in zip(others, started, strict=True):
            done.update(zip(lane, child.finish(), strict=True))
    return [done[i] for i in range(len(jobs))]


def lanes(jobs: list[WriterJob], workers: int) -> list[list[int]]:
    """The jobs' indexes in `workers` lanes, each lane's in the order it writes them: heaviest first, each to the
    lane with the least weight so far (the first lane, this process's, takes the heaviest), then the jobs that
    claim items, one to a lane, so that every lane ends taking its share of them."""
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i].weight, i))
    found: list[list[int]] = [[] for _ in range(workers)]
    weight = [0.0] * workers
    for i in order:
        if not jobs[i].claims:
            lane = min(range(workers), key=lambda n: (weight[n], n))
            found[lane].append(i)
            weight[lane] += jobs[i].weight
    for n, i in enumerate(i for i in order if jobs[i].claims):
        found[n % workers].append(i)
    return [lane for lane in found if lane]


def _timed(job: WriterJob, timings: dict[str, float] | None, again: bool = False) -> list[Path]:
    paths, seconds = _written(job, again)
    if timings is not None:
        timings.update({f"write {name}": s for name, s in seconds.items()})
    return paths


def _run(job: WriterJob) -> _Done:
    """In the child: the job, with the warnings it raised collected to be raised again in the parent."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths, seconds = _written(job)
    return _Done(paths, seconds, [(w.category, str(w.message)) for w in caught],
                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _accept(job: WriterJob, done: _Done, timings: dict[str, float] | None,
            peaks: dict[str, float] | None = None) -> list[Path]:
    """A child's job as if it had been written here: its warnings raised again, its time (and peak RSS) kept."""
    for category, message in done.warned:  # into the caller's catch_warnings
        warnings.warn(message, category, stacklevel=3)
    if timings is not None:
        timings.update({f"write {name}": s for name, s in done.seconds.items()})
    if peaks is not None:
        peaks[job.name] = done.peak_mb
    return done.paths


# --- items claimed a few at a time ----------------------------------------------------------------
# Many small files (the receipts) are the run's last jobs. Cut into fixed runs, the lane that finished first
# waited for the other's last run (1.6 s of a province's 2-worker run); here each job takes the next few items
# off a counter the children share, so both lanes end within a few items of each other.

CLAIM = 8  # items taken at a time: a receipt is ~3.5 ms, the counter's lock a few µs
T = TypeVar("T")


def claimed_jobs(name: str, items: Sequence[T], write: Callable[[T], Path], workers: int,
                 weight: float) -> list[WriterJob]:
    """Jobs that together write `write(item)` for every item: one that writes them all with one worker (or for a
    couple of claims' worth: a county's few receipts are not worth a second child), else `workers` of them taking
    CLAIM items at a time off a counter forked children share. Which job writes an item varies from run to run,
    what is written does not. Each job's paths come in the order of its items."""
    def everything() -> list[Path]:
        return [write(item) for item in items]

    if workers <= 1 or len(items) <= 2 * CLAIM:
        return [WriterJob(name, everything, weight)]
    counter = multiprocessing.get_context("fork").Value("q", 0)  # shared memory and a lock, inherited by the children

    def claimed() -> list[Path]:
        paths: list[Path] = []
        while True:
            with counter.get_lock():
                start = counter.value
                counter.value = start + CLAIM
            if start >= len(items):
                return paths
            paths += [write(item) for item in items[start:start + CLAIM]]

    return [WriterJob(f"{name} {n + 1}", claimed, weight / workers, again=everything, claims=True)
            for n in range(workers)]


# --- jobs started early -------------------------------------------------------------------------
# Some outputs (the review and complaints workbooks) are ready to write while the run still works out what the
# others need (payments, the consolidated tables) in one process: one child writes them meanwhile, on the
# processor that would otherwise wait.

class Started:
    """Writer jobs under way in one forked child; `finish()` gives their paths, in the order of the jobs.

    With one worker they were written in the constructor, here. A job that failed in the child (or a child
    that died) is written again in `finish()`, so its exception is the run's. Leaving the `with` block
    without finishing (the run stopped) stops the child.
    """

    def __init__(self, jobs: list[WriterJob], workers: int, timings: dict[str, float] | None = None,
                 peaks: dict[str, float] | None = None) -> None:
        self._jobs, self._timings, self._peaks = jobs, timings, peaks
        self._written: list[list[Path]] | None = None
        self._process: Any = None
        if workers <= 1 or not jobs:
            self._written = [_timed(job, timings) for job in jobs]
            return
        context = multiprocessing.get_context("fork")  # the child inherits the run's data: nothing is pickled
        self._conn, child = context.Pipe(duplex=False)
        self._process = context.Process(target=_write_in_child, args=(child, jobs), daemon=True)
        self._process.start()
        child.close()

    def finish(self) -> list[list[Path]]:
        if self._written is None:
            try:
                results: list[_Done | None] = self._conn.recv()
            except (EOFError, OSError):  # the child died: every job is written here
                results = [None] * len(self._jobs)
            self._stop(kill=False)
            self._written = [_timed(job, self._timings, again=True) if done is None
                             else _accept(job, done, self._timings, self._peaks)
                             for job, done in zip(self._jobs, results, strict=True)]
        return self._written

    def __enter__(self) -> Started:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._process is not None:
            self._stop(kill=True)

    def _stop(self, kill: bool) -> None:
        if kill and self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._conn.close()
        self._process = None


def _write_in_child(conn: Connection, jobs: list[WriterJob]) -> None:
    results: list[_Done | None] = []
    for job in jobs:
        try:
            results.append(_run(job))
        except Exception:  # written again in the parent, where its exception is the run's
            results.append(None)
    conn.send(results)
    conn.close()
