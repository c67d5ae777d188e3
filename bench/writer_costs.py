"""What the writer jobs cost where they run: in the run's own process, in forked children one at a time, and in the
two lanes a two-worker run writes them in (the run's own process and one forked child, side by side).

    python bench/writer_costs.py [--counties 40] [--per-county 50] [--branches 50] [--repeat 2]

Each way is a `nightly_run` over bench/data's generated province in a fresh process, --repeat times, the ways taken
in turn, and each job's fastest kept (this host's minutes differ by a fifth). For every writer job it prints
the seconds, the page faults it took (`ru_minflt`: a forked child's copies of the run's pages it writes, and the
pages its own tables take) and the private memory its process grew by (copied and new pages). One at a time against
the run's own process is what a child's pages cost; the two lanes against both is what two processes at once cost
each other on this host, and what the lane written here saves.

It wraps two private functions of processor.fanout (`_run`, a job in its child; `_timed`, a job in the run's own
process) and, for one at a time, the run's `Lanes`: a diagnostic of this layout, not an interface.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import ensure_data  # noqa: E402

WAYS = {"here": ("the run's process", 1, False), "one": ("children one at a time", 2, True),
        "two": ("two lanes, as the run", 2, False)}


def _private_mb() -> float:
    with open("/proc/self/smaps_rollup", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("Private_Dirty:")) / 1024


def measure(inbox: Path, way: str) -> None:
    """Child side: one run the given way, printing {job: [seconds, faults, private MB]} as JSON."""
    from loguru import logger

    import processor.fanout as fanout
    import processor.run as run
    from processor.run import nightly_run
    from processor.settings import RunConfig

    _, workers, one_at_a_time = WAYS[way]
    with tempfile.TemporaryDirectory() as work:
        found = Path(work) / "jobs.jsonl"  # each process appends its jobs' lines (a child's stderr is not ours)

        def counted(run_job: Any, job: Any, *args: Any) -> Any:
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            private, started = _private_mb(), time.perf_counter()
            done = run_job(job, *args)
            line = {job.name: [time.perf_counter() - started,
                               resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults, _private_mb() - private]}
            with found.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
            return done

        class OneAtATime(fanout.Lanes):
            """Every job in a child of its own, one after another, the jobs built here as with one worker."""

            def __init__(self, early: list[Any], _workers: int, late: Any = None, timings: Any = None,
                         peaks: Any = None) -> None:
                super().__init__([], 1, late, timings, peaks)
                self.first = [fanout.Started([job], 2, timings, peaks).finish()[0] for job in early]

            def write(self) -> Any:
                jobs = self.send(None) if self._jobs is None else self._jobs
                return self.first, [fanout.Started([job], 2, self._timings, self._peaks).finish()[0] for job in jobs]

        original_run, original_timed = fanout._run, fanout._timed
        fanout._run = lambda job: counted(original_run, job)  # type: ignore[assignment]
        fanout._timed = lambda job, timings: counted(original_timed, job, timings)  # type: ignore[assignment]
        if one_at_a_time:  # each job in a child of its own, one after another, whatever was asked
            run.Lanes = OneAtATime  # type: ignore[misc, assignment]
        logger.remove()
        (Path(work) / "out").mkdir()
        nightly_run(RunConfig(inbox=inbox, out=Path(work) / "out", rulebook="R1", period=2026, progress=False,
                              workers=workers, townships=[]))
        jobs: dict[str, list[float]] = {}
        for line in found.read_text(encoding="utf-8").splitlines():
            jobs.update(json.loads(line))
    print(json.dumps(jobs))


def _one_way(inbox: Path, way: str) -> dict[str, list[float]]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--way", way, str(inbox)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    jobs: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=40)
    parser.add_argument("--per-county", type=int, default=50)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--way", choices=sorted(WAYS), help=argparse.SUPPRESS)  # internal: one run
    parser.add_argument("inbox", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.way:
        measure(args.inbox, args.way)
        return
    inbox = ensure_data(args.counties * args.per_county, args.branches)
    fastest: dict[str, dict[str, list[float]]] = {way: {} for way in WAYS}
    for _ in range(max(1, args.repeat)):
        for way in WAYS:
            for name, measured in _one_way(inbox, way).items():
                if name not in fastest[way] or measured[0] < fastest[way][name][0]:
                    fastest[way][name] = measured
    names = sorted(set().union(*fastest.values()), key=lambda name: (-max(w.get(name, [0])[0] for w in fastest.values()),
                                                                        name))
    print(f"writer jobs of {args.counties * args.per_county} townships × {args.branches} branches, fastest of "
          f"{max(1, args.repeat)}: seconds (page faults; private MB at the end, in a child)")
    print(f"{'job':24s}" + "".join(f"{WAYS[way][0]:>34s}" for way in WAYS))
    for name in names:
        print(f"{name:24s}" + "".join(f"{_cell(way, fastest[way].get(name)):>34s}" for way in WAYS))
    totals = {way: (sum(m[0] for m in jobs.values()), sum(m[1] for m in jobs.values())) for way, jobs in fastest.items()}
    print(f"{'all':24s}" + "".join(f"{f'{s:.2f} s ({n / 1000:.0f} k)':>34s}" for s, n in totals.values()))


def _cell(way: str, measured: list[float] | None) -> str:
    if measured is None:
        return "—"
    seconds, faults, private = measured
    return f"{seconds:.2f} s ({faults / 1000:.0f} k" + ("" if way == "here" else f"; {private:.0f} MB") + ")"


if __name__ == "__main__":
    main()
