"""The run's outputs written side by side: with --workers N, in N lanes — the run's own process and N - 1 forked
children — each writing its share of the writer jobs one after another.

Every output of a run is a file of its own (the finance workbook, the consolidated workbook, the reasons,
the notices, results.json, the receipts), computed from data the run already holds. Forked children
inherit that data copy-on-write, so nothing is pickled on the way in; a job sends back only the paths
it wrote. With one worker the jobs run here, one after another, in the order the run's own lane would write
them (`lanes`: the jobs only it can write first, then the heaviest).

Why lanes: a forked child copies each page of the run's data whose reference counts it writes, and so does the
run's process while a child still shares the page. With a child a job, every child copied every page it wrote: at
2,000 townships 1.35 million page faults against 0.88 million in lanes, where a page is copied once, by whichever
of the two processes writes it first (this host hands out memory it has not used lately at up to 45 µs a page).
The heaviest job (the finance workbook and results.json) is the run's own process's: alone, it took 15.8–16.4 s
here against 18.7–19.6 s in a child. Why the lanes start before the payments: `Lanes`.

The bytes are the same either way: a writer's output depends on its inputs only, never on which process
wrote it. A job that fails in its child is run again here, so its exception is the run's, with its
traceback, as it would have been without the children.
"""
from __future__ import annotations

import multiprocessing
import resource
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar


@dataclass(frozen=True)
class WriterJob:
    name: str                          # for the timings and the log
    write: Callable[[], list[Path]]    # writes its files, returns their paths
    weight: float = 1.0                # rough cost, in milliseconds: the heaviest jobs start first
    # What is written here when the job failed in its child; None: `write` again. (A job of `claimed_jobs` wrote
    # only what it claimed, and which of those it finished is not known: here every item is written again.)
    again: Callable[[], list[Path]] | None = None
    parts: tuple[WriterJob, ...] = ()  # a `together` job's jobs, each timed as its own
    claims: bool = False               # takes items off a counter other lanes share (claimed_jobs): one to a lane
    here: bool = False                 # reads what only the run's own process holds: always its lane (`Lanes`)


@dataclass(frozen=True)
class _Done:
    paths: list[Path]
    seconds: dict[str, float]  # by job: a `together` job's for each of its jobs
    warned: list[tuple[type[Warning], str]]
    peak_mb: float  # the child's peak RSS when the job was done (the run's data it inherited included)


def together(name: str, jobs: list[WriterJob], here: bool = False) -> WriterJob:
    """`jobs` written one after another in one lane, each timed as its own, weighing what they weigh together: two
    jobs that read the same data (the finance workbook and results.json, each every payment line) are the heaviest
    job, which the run's own process writes; in a child they would copy each page once, not once each (results.json
    5.1–6.3 → 4.2–4.7 s)."""
    def write() -> list[Path]:
        return [path for job in jobs for path in job.write()]
    return WriterJob(name, write, sum(job.weight for job in jobs), parts=tuple(jobs), here=here)


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
    with Lanes([], min(workers, len(jobs)), lambda _news, _counter: jobs, timings, peaks) as started:
        return started.write()[1]


def lanes(jobs: list[WriterJob], workers: int, before: Sequence[float] = ()) -> list[list[int]]:
    """The jobs' indexes in `workers` lanes (one may be empty), each lane's in the order it writes them: the jobs
    only this process can write (`here`) in the first lane, first; then heaviest first, each to the lane with the
    least weight so far (the first lane, this process's, takes the heaviest); then the jobs that claim items, one to
    a lane, so that every lane ends taking its share of them. BEFORE: the weight each lane has already been given
    (the first child's early jobs, `Lanes`), counted as its own."""
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i].weight, i))
    found: list[list[int]] = [[] for _ in range(workers)]
    weight = [float(w) for w in before[:workers]] + [0.0] * (workers - len(before[:workers]))
    for i in (i for i in order if jobs[i].here):
        found[0].append(i)
        weight[0] += jobs[i].weight
    for i in order:
        if not jobs[i].claims and not jobs[i].here:
            lane = min(range(workers), key=lambda n: (weight[n], n))
            found[lane].append(i)
            weight[lane] += jobs[i].weight
    for n, i in enumerate(i for i in order if jobs[i].claims):
        found[n % workers].append(i)
    return found


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
                 weight: float, counter: Any = None) -> list[WriterJob]:
    """Jobs that together write `write(item)` for every item: one that writes them all with one worker (or for a
    couple of claims' worth: a county's few receipts are not worth a second child), else `workers` of them taking
    CLAIM items at a time off a counter forked children share. Which job writes an item varies from run to run,
    what is written does not. Each job's paths come in the order of its items. COUNTER: the one the lanes' children
    inherited (`Lanes.counter`) when they were forked before these jobs were made; else one is made here."""
    def everything() -> list[Path]:
        return [write(item) for item in items]

    if workers <= 1 or len(items) <= 2 * CLAIM:
        return [WriterJob(name, everything, weight)]
    if counter is None:
        counter = multiprocessing.get_context("fork").Value("q", 0)  # shared memory and a lock, inherited by children

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


# --- lanes started early ------------------------------------------------------------------------
# The lanes' children are forked before the run has worked out the payments. Then the payment lines (and whatever
# else the run makes after the fork) are pages of the run's own process alone, which its finance workbook reads
# without copying them; forked after the payments, a child shared every page of them, and the run's process copied
# each as its writer touched it (240 thousand page faults writing the finance workbook and results.json beside a
# child forked after the payments, 90 thousand beside one forked before). The first child writes the jobs that are
# ready (the review and complaints workbooks) meanwhile, on the processor that would otherwise wait; what the
# other jobs need of the payments (the problems they found, the number of lines) is sent to the children, and each
# process builds the same list of jobs from it and writes its own lane of it.

Late = Callable[[Any, Any], list[WriterJob]]


def _no_jobs(_news: Any, _counter: Any) -> list[WriterJob]:
    return []


class Lanes:
    """The run's writer lanes, forked before the run knows every job.

    EARLY: jobs ready now, which the first child writes at once while the run goes on (with one worker: written
    here, in the constructor). LATE(news, counter): the other jobs, built in every process alike from what `send`
    is given; each writes its own lane of them (`lanes`), the run's own process the first. COUNTER: shared by the
    processes, for `claimed_jobs`. A job that failed in a child (or a child that died, or built other jobs than
    this process) is written again here, so its exception is the run's; leaving the `with` block without `write`
    (the run stopped) stops the children.
    """

    def __init__(self, early: list[WriterJob], workers: int, late: Late | None = None,
                 timings: dict[str, float] | None = None, peaks: dict[str, float] | None = None) -> None:
        self._late, self._workers = late or _no_jobs, max(1, workers)
        self._timings, self._peaks = timings, peaks
        self._children: list[_Child] = []
        self._jobs: list[WriterJob] | None = None
        self._early_written: list[list[Path]] = []
        self._before: list[float] = []
        self.counter: Any = None
        if self._workers == 1:
            self._early_written = [_timed(job, timings) for job in early]
            return
        context = multiprocessing.get_context("fork")  # the children inherit the run's data: nothing is pickled
        self.counter = context.Value("q", 0)
        # The first child's early jobs weigh in its lane when the others are shared out: a county's (its notices,
        # its review and reasons workbooks) took 0.15 s, as long as the run's own lane's finance workbook.
        self._before = [0.0, sum(job.weight for job in early)]
        self._children = [_Child(context, n, early if n == 1 else [], self._late, self._workers, self.counter,
                                 self._before) for n in range(1, self._workers)]

    def send(self, news: Any, mine: Any = None) -> list[WriterJob]:
        """NEWS to every child; this process's jobs, built from MINE (NEWS when None): the same jobs, with what only
        the jobs of its own lane (`WriterJob.here`) need."""
        for child in self._children:
            child.tell(news)
        self._jobs = self._late(news if mine is None else mine, self.counter)
        return self._jobs

    def write(self) -> tuple[list[list[Path]], list[list[Path]]]:
        """(the early jobs' paths, the sent jobs' paths), each in the order of its jobs; nothing sent yet: `send(None)`."""
        jobs = self.send(None) if self._jobs is None else self._jobs
        assigned = lanes(jobs, self._workers, self._before)
        done = {i: _timed(jobs[i], self._timings) for i in assigned[0]}  # a job failing here is the run's exception
        names = [job.name for job in jobs]
        for child, lane in zip(self._children, assigned[1:], strict=True):
            early, built, results = child.collect(len(lane))
            if built != names:  # never expected: the lane is written here rather than trusted
                results = [None] * len(lane)
            if child.early:
                self._early_written = [self._accepted(job, got) for job, got in zip(child.early, early, strict=True)]
            done.update((i, self._accepted(jobs[i], got)) for i, got in zip(lane, results, strict=True))
        return self._early_written, [done[i] for i in range(len(jobs))]

    def _accepted(self, job: WriterJob, done: _Done | None) -> list[Path]:
        if done is None:
            return _timed(job, self._timings, again=True)
        return _accept(job, done, self._timings, self._peaks)

    def __enter__(self) -> Lanes:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for child in self._children:
            child.stop()


class _Child:
    """One lane's forked child: EARLY jobs at once, then its lane of what LATE builds from the news it is told."""

    def __init__(self, context: Any, n: int, early: list[WriterJob], late: Late, workers: int, counter: Any,
                 before: list[float]) -> None:
        self.early = early
        self._telling: threading.Thread | None = None
        self._conn, theirs = context.Pipe()
        self._process: Any = context.Process(target=_lane_in_child,
                                             args=(theirs, n, early, late, workers, counter, before), daemon=True)
        self._process.start()
        theirs.close()

    def tell(self, news: Any) -> None:
        """NEWS sent from a thread of this process: the child reads it only once its early jobs are written, and news
        larger than the pipe holds (a province's payment problems) would hold the run there until then."""
        self._telling = threading.Thread(target=self._send, args=(news,), name="tell a lane", daemon=True)
        self._telling.start()

    def _send(self, news: Any) -> None:
        try:
            self._conn.send(news)
        except OSError:  # it died: `collect` finds out, and its jobs are written here
            pass

    def collect(self, late: int) -> tuple[list[_Done | None], list[str] | None, list[_Done | None]]:
        """(its early jobs' results, the names of the jobs it built, its lane's results); None for each job it did
        not finish."""
        if self._telling is not None:
            self._telling.join()
        try:
            got: tuple[list[_Done | None], list[str] | None, list[_Done | None]] = self._conn.recv()
        except (EOFError, OSError):
            got = ([None] * len(self.early), None, [None] * late)
        self.stop(kill=False)
        return got

    def stop(self, kill: bool = True) -> None:
        if self._process is None:
            return
        if kill and self._process.is_alive():
            self._process.kill()
        self._process.join()
        if self._telling is not None:
            self._telling.join()  # its child gone, a send still under way fails at once
        self._conn.close()
        self._process = None


def _lane_in_child(conn: Connection, n: int, early: list[WriterJob], late: Late, workers: int, counter: Any,
                   before: list[float]) -> None:
    written = [_attempt(job) for job in early]
    try:
        news = conn.recv()
    except (EOFError, OSError):  # the run stopped before it sent the rest
        return
    try:
        jobs = late(news, counter)
        mine = lanes(jobs, workers, before)[n]
    except Exception:  # its lane is written in the parent, where the exception is the run's
        conn.send((written, None, []))
        return
    conn.send((written, [job.name for job in jobs], [_attempt(jobs[i]) for i in mine]))
    conn.close()


def _attempt(job: WriterJob) -> _Done | None:
    try:
        return _run(job)
    except Exception:  # written again in the parent, where its exception is the run's
        return None


class Started(Lanes):
    """Writer jobs under way in one forked child while the caller goes on; `finish()` gives their paths, in the order
    of the jobs (with one worker they were written in the constructor, here)."""

    def __init__(self, jobs: list[WriterJob], workers: int, timings: dict[str, float] | None = None,
                 peaks: dict[str, float] | None = None) -> None:
        super().__init__(jobs, min(workers, 2) if jobs else 1, None, timings, peaks)

    def finish(self) -> list[list[Path]]:
        return self.write()[0]
