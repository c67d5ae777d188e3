"""The run's outputs written side by side: each writer job in a forked child, --workers of them at once.

Every output of a run is a file of its own (the finance workbook, the consolidated workbook, the reasons,
the notices, results.json, the receipts), computed from data the run already holds. Forked children
inherit that data copy-on-write, so nothing is pickled on the way in; a job sends back only the paths
it wrote. With one worker the jobs run here, in order, exactly as before.

The bytes are the same either way: a writer's output depends on its inputs only, never on which process
wrote it. A job that fails in its child is run again here, so its exception is the run's, with its
traceback, as it would have been without the children.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .isolate import IsolatedFailure, map_isolated

# A writer is not untrusted input: its limits only stop a runaway, they do not ration memory.
WRITER_MEMORY_BYTES = 16 << 30
WRITER_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class WriterJob:
    name: str                          # for the timings and the log
    write: Callable[[], list[Path]]    # writes its files, returns their paths
    weight: float = 1.0                # rough cost: the heaviest jobs start first


@dataclass(frozen=True)
class _Done:
    paths: list[Path]
    seconds: float
    warned: list[tuple[type[Warning], str]]


_JOBS: list[WriterJob] = []  # set before the children are forked; they read their job from here


def run_writers(jobs: list[WriterJob], workers: int, timings: dict[str, float] | None = None) -> list[list[Path]]:
    """Each job's paths, in the order of `jobs`; heavier jobs are started first when there are children."""
    if workers <= 1 or len(jobs) <= 1:
        return [_timed(job, timings) for job in jobs]
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i].weight, i))
    _JOBS[:] = jobs
    try:
        results = list(map_isolated(_run_job, order, workers=min(workers, len(jobs)),
                                    memory_bytes=WRITER_MEMORY_BYTES, seconds=WRITER_SECONDS))
    finally:
        _JOBS.clear()
    done: dict[int, list[Path]] = {}
    for index, result in zip(order, results, strict=True):
        if isinstance(result, IsolatedFailure):
            done[index] = _timed(jobs[index], timings)  # again here: its exception, if any, is the run's
            continue
        for category, message in result.warned:  # into the caller's catch_warnings, as if written here
            warnings.warn(message, category, stacklevel=2)
        if timings is not None:
            timings[f"write {jobs[index].name}"] = result.seconds
        done[index] = result.paths
    return [done[i] for i in range(len(jobs))]


def _timed(job: WriterJob, timings: dict[str, float] | None) -> list[Path]:
    started = time.perf_counter()
    paths = job.write()
    if timings is not None:
        timings[f"write {job.name}"] = time.perf_counter() - started
    return paths


def _run_job(index: int) -> _Done:
    """In the child: the job, with the warnings it raised collected to be raised again in the parent."""
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = _JOBS[index].write()
    return _Done(paths, time.perf_counter() - started, [(w.category, str(w.message)) for w in caught])
