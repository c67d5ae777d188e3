"""The benchmark: a generated province through the nightly run, as one run and as county runs + rollup.

    python bench/run.py [--counties 8] [--per-county 50] [--branches 50] [--workers 2] [--sample 100] [--repeat 1]

Prints, from one invocation over the same files: the machine's state before and after (machine_state); the province
(counties × per-county townships) as one `nightly_run` with 1 and with --workers workers, each in a fresh process
(wall time per stage, files/s, branches/s, the process's peak RSS, GC time; with --repeat N, N runs of each taken in
turn and the fastest of each shown); the same province as county runs (`starbatch run`, --workers
of them at a time, one worker each) plus `starbatch rollup` over their results.json; the per-workbook cost
of read + validate + score + pay against the python-calamine read floor of the same files; the plain
openpyxl floor; `frictionless validate` of the same files (when installed: pip install '.[bench]'); a
300-branch county end to end as a fresh process (start-up included); and the per-township work alone (400 files read,
validated and scored, nothing sent back) in one process and in two at once (township_work).
Workbooks are generated once into bench/data/ and reused.

The issue's scale is 40 counties × 50 townships × 50 branches (100,000 branches); the default is 8 counties ×
50 townships (20,000 branches), which runs in a few minutes on two cores; pass --counties 40 for the full size.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import mmap
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import generate  # noqa: E402


def _spread(files: list[Path], count: int) -> list[Path]:
    """`count` of the files, taken evenly across them."""
    return files[:: max(1, len(files) // count)][:count]


def ensure_data(townships: int, branches: int) -> Path:
    folder = ROOT / "bench" / "data" / f"{townships}x{branches}"
    if len(list(folder.glob("*.xlsx"))) != townships:
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        generate(townships, branches, folder)
        print(f"generated {townships} workbooks in {time.perf_counter() - started:.1f} s → {folder}")
    return folder


def full_run(inbox: Path, workers: int) -> dict:
    """One province run in a fresh process (its own peak RSS); what `--one-run` prints."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one-run", str(inbox),
                           "--workers", str(workers)], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def fastest_runs(inbox: Path, worker_counts: list[int], repeat: int) -> tuple[dict[int, dict], dict[int, list[float]]]:
    """Each worker count's fastest of `repeat` runs, the counts taken in turn (2, 1, 2, 1…) so that a busy minute on
    the host falls on both alike; and every run's wall time, by worker count."""
    fastest: dict[int, dict] = {}
    walls: dict[int, list[float]] = {n: [] for n in worker_counts}
    for _ in range(repeat):
        for workers in worker_counts:
            run = full_run(inbox, workers)
            walls[workers].append(run["total"])
            if workers not in fastest or run["total"] < fastest[workers]["total"]:
                fastest[workers] = run
    return fastest, walls


def one_run(inbox: Path, workers: int) -> None:
    """Child side of full_run: the run, its stage times, GC time and peak RSS (this process, its workers)."""
    import gc

    from loguru import logger

    from processor.run import nightly_run
    from processor.settings import RunConfig

    gc_seconds = [0.0, 0.0]

    def on_gc(phase: str, _info: dict) -> None:
        now = time.perf_counter()
        if phase == "start":
            gc_seconds[1] = now
        else:
            gc_seconds[0] += now - gc_seconds[1]

    gc.callbacks.append(on_gc)
    logger.remove()
    with tempfile.TemporaryDirectory() as out:
        before = _processor_seconds()
        started = time.perf_counter()
        outcome = nightly_run(RunConfig(inbox=inbox, out=Path(out), rulebook="R1", period=2026,
                                        progress=False, workers=workers, townships=[]))
        total = time.perf_counter() - started
        main_cpu, children_cpu = (after - then for after, then in zip(_processor_seconds(), before, strict=True))
        amount = _results_total(Path(out) / "results.json")
    print(json.dumps({"timings": outcome.timings, "total": total, "inputs": outcome.counts["inputs"], "amount": amount,
                      "branches": outcome.counts["branches"], "gc": gc_seconds[0],
                      "rss_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rss_workers": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "rss_writers": outcome.peaks, "cpu_main": main_cpu, "cpu_children": children_cpu}))


def _processor_seconds() -> tuple[float, float]:
    """(user + system seconds of this process, of its children reaped so far): the work itself, which a busy host
    does not add to the way it adds to wall time; on two processors the run takes at least half their sum."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _results_total(path: Path) -> str:
    """totals.amount from the last line of results.json (parsing the whole file would cost this process's RSS)."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 65536))
        last = fh.read().decode("utf-8", "replace").rstrip("\n").rsplit("\n", 2)[-2]
    return json.loads(last.split(": ", 1)[1])["amount"]


def county_runs(files: list[Path], counties: int, per_county: int, parallel: int, work: Path) -> dict:
    """The province as county runs (`starbatch run`, `parallel` at a time, one worker each) plus the rollup."""
    jobs = []
    for n in range(counties):
        inbox = work / "inbox" / f"县{n + 1:02d}"
        inbox.mkdir(parents=True)
        for path in files[n * per_county:(n + 1) * per_county]:
            os.link(path, inbox / path.name)  # same bytes, no copy; intake reads regular files
        jobs.append((inbox, work / "out" / f"县{n + 1:02d}"))
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        times = list(pool.map(lambda job: _cli_timed(["run", str(job[0]), "--out", str(job[1]), "--period", "2026",
                                                      "--rulebook", "R1", "--workers", "1"]), jobs))
    counties_wall = time.perf_counter() - started
    results = [str(out / "results.json") for _, out in jobs]
    rollup = _cli_timed(["rollup", *results, "--out", str(work / "rollup")])
    rolled = json.loads((work / "rollup" / "rollup.json").read_text(encoding="utf-8"))
    return {"counties_wall": counties_wall, "county_median": statistics.median(t for t, _ in times),
            "county_rss": max(r for _, r in times), "rollup": rollup[0], "rollup_rss": rollup[1],
            "rollup_total": rolled["totals"]["amount"]}


# `starbatch` as `python -m processor.cli` does, writing at its exit the peak RSS of its own program (VmHWM, from
# its exec on) and of its workers. The kernel's count for the whole child (wait4's ru_maxrss) starts at the fork,
# before the exec, so it is at least this benchmark's own RSS (~160 MB after the per-workbook measures): the county
# runs' and the rollup's peaks were printed so until the fourteenth round.
_PEAK_REPORTING_CLI = """
import atexit, resource, sys
report = sys.argv.pop(1)  # the file for the peak; the rest are starbatch's arguments
def _peak():
    with open("/proc/self/status", encoding="ascii") as fh:
        own = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(report, "w", encoding="ascii") as out:
        out.write(f"{max(own, workers):.1f}")
atexit.register(_peak)
from processor.cli import console
console()
"""


def _cli_timed(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB of the process and its workers) of one `starbatch` process."""
    with tempfile.TemporaryDirectory() as work:
        peak = Path(work) / "peak"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PEAK_REPORTING_CLI, str(peak), *argv], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise RuntimeError(f"starbatch {argv[0]} exited {done.returncode}")
        return seconds, float(peak.read_text(encoding="ascii"))


def machine_state() -> dict[str, float]:
    """What this machine costs right now, for reading the figures: an interpreter loop (s; ~0.37–0.40 on the quiet
    host), and µs per 4 KB page for a page's first touch and for a forked child's first write to a page it shares.

    On this virtual machine a page fault costs ~2 µs when the host already backs the page and 10–20 µs when it
    must find memory for it, and the run takes ~1.5 million faults (its heap, the writers' children copying the
    pages they touch): the same run's processor time moved by ~15 % between minutes (README, Benchmark).
    """
    started = time.perf_counter()
    sum(range(30_000_000))
    loop = time.perf_counter() - started
    block = mmap.mmap(-1, 32_768 * 4096, flags=mmap.MAP_PRIVATE)  # 128 MB, anonymous: untouched until written
    first = _write_each_page(block, 1)
    copied = _in_children(1, lambda: _write_each_page(block, 2))[0]  # a child writes each page it shares once
    block.close()
    # In a fresh process: the walk's heap (~200 MB) would otherwise stay in this one's RSS, which the county runs'
    # processes, forked from it, count as their own peak.
    walks = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--heap-walks"], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    return {"loop": loop, "first_touch_us": first, "copy_on_write_us": copied, **json.loads(walks.stdout)}


def heap_walks(objects: int = 1_000_000) -> dict[str, float]:
    """Seconds to visit a heap of `objects` small objects in a random order, as the stages and writers visit a run's
    results: by this process; by one forked child alone (which first copies each page whose reference counts it
    writes); and by each of two forked children at once (which also share the processors' caches and the memory).

    The last against the first bounds what two processes can do with such work on this machine, whatever starbatch
    does: two children at once, each taking 1.4× as long as this process alone, do 2 / 1.4 = 1.43× its work."""
    gc.disable()
    try:
        heap = [(str(i), i * 1.5, [i]) for i in range(objects)]
        order = list(range(objects))
        random.Random(7).shuffle(order)
        _walk(heap, order)  # the first visit after building touches pages for the first time
        here = _walk(heap, order)
        alone = _in_children(1, lambda: _walk(heap, order))
        together = _in_children(2, lambda: _walk(heap, order))
    finally:
        gc.enable()
    return {"walk_here_s": here, "walk_child_s": alone[0], "walk_two_s": max(together)}


TOWNSHIP_WORK_FILES = 400  # files for township_work: ~3 s in one process


def township_work(files: list[Path], rounds: int = 3) -> dict[str, float]:
    """Seconds for the run's per-township work alone — each file read, validated and scored, its result dropped where
    it was made — by one forked process, and by two at once, each taking every other file; the fastest of `rounds`,
    taken in turn. Two against one is what this machine gives work on a township's small heap, nothing sent back:
    the most the run's reading could do, and what the writers would do if they too worked a township at a time.

    It calls the run's private `_worker_init` and `_read_and_score`, as its workers do: a diagnostic, not an
    interface."""
    from processor import run as nightly
    from processor.common import collector_paused

    nightly._worker_init(None, 2026, None)

    def work(part: list[Path]) -> float:
        started = time.perf_counter()
        for path in part:
            with collector_paused():
                nightly._read_and_score((str(path), path.name, "", []))
        return time.perf_counter() - started

    work(files[:10])  # modules and memos warmed before the forks
    one, two = math.inf, math.inf
    for _ in range(rounds):
        one = min(one, _in_children(1, lambda: work(files))[0])
        two = min(two, max(_each_in_a_child([lambda: work(files[0::2]), lambda: work(files[1::2])])))
    return {"files": len(files), "rounds": rounds, "one_s": one, "two_s": two}


def _walk(heap: list[tuple[str, float, list[int]]], order: list[int]) -> float:
    started = time.perf_counter()
    total = 0
    for i in order:
        text, _number, box = heap[i]
        total += len(text) + box[0]
    return time.perf_counter() - started


def _in_children(count: int, measure: Callable[[], float]) -> list[float]:
    """What `measure` gives in each of `count` forked children, all at once (each with this process's memory, shared
    until written)."""
    return _each_in_a_child([measure] * count)


def _each_in_a_child(measures: list[Callable[[], float]]) -> list[float]:
    """What each measure gives in a forked child of its own, all at once."""
    children = []
    for measure in measures:
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:  # a measure that fails must not go on to run this benchmark a second time, in the child
                os.write(writer, f"{measure():.4f}".encode())
            finally:
                os._exit(0)
        os.close(writer)
        children.append((pid, reader))
    measured = []
    for pid, reader in children:
        measured.append(float(os.read(reader, 64) or b"nan"))
        os.close(reader)
        os.waitpid(pid, 0)
    return measured


def _write_each_page(block: mmap.mmap, value: int) -> float:
    """µs per 4 KB page to write one byte of each page of `block`."""
    started = time.perf_counter()
    for offset in range(0, len(block), 4096):
        block[offset] = value
    return (time.perf_counter() - started) / (len(block) // 4096) * 1e6


def _processor_text(run: dict) -> str:
    """The run's processor time: with one worker the run's own process takes in results beside it, so more than
    its wall time; the difference from the other run's is what working side by side costs."""
    return f"; processor time {run['cpu_main'] + run['cpu_children']:.1f} s" if "cpu_main" in run else ""


# The stages --workers share (reading; writing, of which each "write <job>" is a part); every other stage the run's
# own process does alone. The writer jobs started early, which a second processor writes while the first works out
# the payments (fanout.Lanes: the first lane's child).
SHARED_STAGE = "read+validate+score branches"
EARLY_JOBS = ("write review workbook", "write complaints workbook")


def one_process_stages(timings: dict[str, float]) -> list[str]:
    return [stage for stage in timings if stage != SHARED_STAGE and not stage.startswith("write ")]


def _stages(one_worker: dict) -> tuple[float, float, float]:
    """(one-process stages, early jobs a second processor writes beside the payments, the rest) of a one-worker run."""
    timings = one_worker["timings"]
    alone = sum(timings[stage] for stage in one_process_stages(timings))
    hidden = min(timings.get("pay", 0.0), sum(timings.get(job, 0.0) for job in EARLY_JOBS))
    return alone, hidden, one_worker["total"] - alone - hidden


def least_wall(one_worker: dict, factor: float) -> float:
    """The wall time of the one-worker run's work on two processors, the stages as they are: its one-process stages
    as they took, the early jobs hidden behind the payments, and the rest done `factor` times as fast as one
    processor does it (2: twice the work, the least there can be; the heap walk's factor: work as memory-bound)."""
    alone, _, rest = _stages(one_worker)
    return alone + rest / factor


def needed_factor(one_worker: dict, speed_up: float) -> float:
    """How many times as fast as one processor two must do the rest for the run to take 1/speed_up of its time."""
    alone, _, rest = _stages(one_worker)
    room = one_worker["total"] / speed_up - alone
    return rest / room if room > 0 else float("inf")


def achieved_factor(one_worker: dict, more_workers: dict) -> float:
    """How many times as fast as the one-worker run the other run did the rest (its wall time less its own
    one-process stages, with the early jobs beside its payments)."""
    alone, _, _ = _stages(more_workers)
    _, _, rest = _stages(one_worker)
    return rest / (more_workers["total"] - alone)


def _bound_text(one_worker: dict, more_workers: dict, workers: int, state: dict[str, float]) -> str:
    one = one_worker["total"]
    alone, hidden, rest = _stages(one_worker)
    walk = _two_processes(state)
    perfect, memory = least_wall(one_worker, 2.0), least_wall(one_worker, walk)
    return (f"the one-worker run's one-process stages ({', '.join(one_process_stages(one_worker['timings']))}) took "
            f"{alone:.1f} s of "
            f"{one:.1f}: 1.8× (≤ {one / 1.8:.1f} s) asks two processors to do the rest ({rest:.1f} s; the early "
            f"jobs' {hidden:.1f} s beside the payments left out) {needed_factor(one_worker, 1.8):.2f}× as fast as one; "
            f"twice as fast would take {perfect:.1f} s ({one / perfect:.2f}×), as fast as the heap walk's two "
            f"processes after the runs ({walk:.2f}×) {memory:.1f} s ({one / memory:.2f}×); the {workers}-worker run "
            f"did it {achieved_factor(one_worker, more_workers):.2f}× as fast")


def _tried(walls: list[float]) -> str:
    """' (fastest of N: a, b s)' after a fastest wall time when there were several runs, else nothing."""
    return f" (fastest of {len(walls)}: {', '.join(f'{w:.1f}' for w in walls)} s)" if len(walls) > 1 else ""


def _two_processes(state: dict[str, float]) -> float:
    """How many times one process's heap walk two processes did at once (heap_walks)."""
    return 2 * state["walk_here_s"] / state["walk_two_s"]


def _machine_text(state: dict[str, float]) -> str:
    return (f"interpreter loop {state['loop']:.2f} s, a page's first touch {state['first_touch_us']:.1f} µs, "
            f"a forked child's copy of a page {state['copy_on_write_us']:.1f} µs, a heap walk here "
            f"{state['walk_here_s']:.2f} s, in a child {state['walk_child_s']:.2f} s, in each of two children at once "
            f"{state['walk_two_s']:.2f} s (two processes: {_two_processes(state):.2f}× one, "
            f"heap_walks)")


PASSES = 5  # per_workbook's passes over the sample


def per_workbook(files: list[Path], passes: int = PASSES) -> tuple[list[float], list[float], float]:
    """Per file: (calamine read floor, read + validate + score + pay), in ms, same files, same process, each the
    fastest of `passes`; and the median ratio of the first pass alone.

    The host is shared: a measure can only be slowed by it, never sped up, and one pass's ratios moved between
    2.8× and 3.2× from one run to the next with nothing changed. So each file is measured `passes` times, the floor
    and ours one after the other, and each keeps its fastest. The passes go over the whole sample in turn, not one
    file again and again, so no cache holds a file's own values from one measure to its next (as in a run, where a
    worker reads each file once)."""
    import python_calamine

    from processor.common import collector_paused
    from processor.pay import compute_payments
    from processor.rulebook import load_rulebook
    from processor.run import validate_submission
    from processor.county import finish_county
    from processor.score import score_submission

    rb = load_rulebook("R1")

    def floor(path: Path) -> float:
        started = time.perf_counter()
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
        return (time.perf_counter() - started) * 1000

    def ours(path: Path) -> float:
        started = time.perf_counter()
        with collector_paused():  # as each worker reads its files (run._worker_process)
            sub = validate_submission(path, path.name, rb, 2026)
            branches, problems = score_submission(rb, sub, 2026)
            county = finish_county(rb, branches, problems)
            compute_payments(rb, [sub], county.branches)
        return (time.perf_counter() - started) * 1000

    for path in files[:3]:  # warm-up: imports and first-use caches are not a workbook's cost
        validate_submission(path, path.name, rb, 2026)
    floors, mine = [math.inf] * len(files), [math.inf] * len(files)
    first: list[float] = []
    for n in range(passes):
        for i, path in enumerate(files):
            f, o = floor(path), ours(path)
            floors[i], mine[i] = min(floors[i], f), min(mine[i], o)
            if n == 0:
                first.append(o / f)
    return floors, mine, statistics.median(first)


def openpyxl_floor(files: list[Path]) -> list[float]:
    import openpyxl

    times = []
    for path in files:
        started = time.perf_counter()
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for ws in book.worksheets:
            for _ in ws.iter_rows(values_only=True):
                pass
        book.close()
        times.append((time.perf_counter() - started) * 1000)
    return times


_FRICTIONLESS_UNREAD = {"resource-error", "source-error", "scheme-error", "format-error", "encoding-error"}


def frictionless_validate(files: list[Path]) -> list[float] | None:
    """Per file, in ms: `frictionless validate` of each of its sheets, types inferred (the generic tabular
    validator on the same files, for reference); None when frictionless is not installed (`.[bench]`)."""
    try:
        import frictionless
        from frictionless.formats import ExcelControl
        import python_calamine
    except ImportError:
        return None
    times = []
    for path in files:
        names = python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names
        started = time.perf_counter()
        for name in names:
            # A relative path under basepath: frictionless refuses an absolute one as "not safe".
            report = frictionless.validate(path.name, basepath=str(path.parent), control=ExcelControl(sheet=name))
            unread = [e for e in report.flatten(["type", "message"]) if e[0] in _FRICTIONLESS_UNREAD]
            if unread:  # it did not read the sheet: its time would mean nothing
                raise RuntimeError(f"frictionless could not read {path} {name}: {unread[0][1]}")
        times.append((time.perf_counter() - started) * 1000)
    return times


def county_end_to_end(branches_per_township: int, repeats: int = 5) -> list[float]:
    """A county of 300 branches as a fresh `starbatch run` process (its default --workers: the machine's
    processors, at most 4): start-up, imports and writing included; each repeat into a fresh folder."""
    townships = max(1, 300 // branches_per_township)
    data = ensure_data(townships, branches_per_township)
    # As installed: Python's compiled bytecode kept (pip writes it at install; PYTHONDONTWRITEBYTECODE, which
    # some shells set, would make every run compile ~80 modules again), after one run that is not counted.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for n in range(repeats + 1):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "processor.cli", "run", str(data), "--out", out, "--period", "2026"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if n:
                times.append(time.perf_counter() - started)
    return times


def _stage_order(timings: dict[str, float]) -> list[str]:
    """The run's stages in order, then the writing (its wall time, then each job), then the commit: some jobs
    start before payments are worked out, so the run records them in between."""
    jobs = [s for s in timings if s.startswith("write ") and s != "write outputs"]
    stages = [s for s in timings if s not in jobs and s not in ("write outputs", "commit + ledger + mail")]
    return stages + ["write outputs"] + jobs + ["commit + ledger + mail"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=8)
    parser.add_argument("--per-county", type=int, default=50, help="townships per county")
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=100, help="files for the per-workbook and floor measures")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of the province with each worker count, taken in turn; the fastest of each is shown")
    parser.add_argument("--one-run", type=Path, help=argparse.SUPPRESS)  # internal: one run in this process
    parser.add_argument("--heap-walks", action="store_true", help=argparse.SUPPRESS)  # internal: machine_state's
    parser.add_argument("--township-work", type=Path, help=argparse.SUPPRESS)  # internal: township_work's process
    args = parser.parse_args()
    if args.heap_walks:
        print(json.dumps(heap_walks()))
        return
    if args.township_work:
        print(json.dumps(township_work(_spread(sorted(args.township_work.glob("*.xlsx")), TOWNSHIP_WORK_FILES))))
        return
    if args.one_run:
        one_run(args.one_run, args.workers)
        return

    townships = args.counties * args.per_county
    inbox = ensure_data(townships, args.branches)
    files = sorted(inbox.glob("*.xlsx"))
    sample = _spread(files, args.sample)
    load = os.getloadavg()
    machine_before = machine_state()

    floors, ours, one_pass_ratio = per_workbook(sample)
    openpyxl_ms = openpyxl_floor(sample[: min(len(sample), 30)])
    frictionless_ms = frictionless_validate(sample[: min(len(sample), 10)])
    e2e = county_end_to_end(args.branches)
    # In a fresh process, as the heap walks: its reading would otherwise stay in this one's memory.
    alone = json.loads(subprocess.run([sys.executable, str(Path(__file__).resolve()), "--township-work", str(inbox)],
                                      cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    runs, walls = fastest_runs(inbox, sorted({1, args.workers}, reverse=True), max(1, args.repeat))
    with tempfile.TemporaryDirectory() as work:
        split = county_runs(files, args.counties, args.per_county, args.workers, Path(work))
    machine_after = machine_state()

    print(f"\nstarbatch benchmark: {townships} townships × {args.branches} branches "
          f"({townships * args.branches} branches), R1; load average before: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"machine before: {_machine_text(machine_before)}; after: {_machine_text(machine_after)}")
    main_run = runs[args.workers]
    total = main_run["total"]
    print(f"\nprovince as one run, --workers {args.workers}: {total:.1f} s{_tried(walls[args.workers])}, {main_run['inputs'] / total:.1f} files/s, "
          f"{main_run['branches'] / total:.0f} branches/s; GC {main_run['gc']:.1f} s; peak RSS main "
          f"{main_run['rss_main']:.0f} MB, largest worker {main_run['rss_workers']:.0f} MB")
    if "cpu_main" in main_run:
        cpu = main_run["cpu_main"] + main_run["cpu_children"]
        cores = len(os.sched_getaffinity(0))
        print(f"processor time {cpu:.1f} s (main process {main_run['cpu_main']:.1f} s, its children "
              f"{main_run['cpu_children']:.1f} s): on this machine's {cores} processors the run needs at least "
              f"{cpu / cores:.1f} s however idle the machine")
    if main_run.get("rss_writers"):
        # A forked writer's RSS counts the run's pages it inherited (shared, not copied) as well as its own.
        print("peak RSS of each writer's child (MB, inherited pages included): " + ", ".join(
            f"{name} {mb:.0f}" for name, mb in sorted(main_run["rss_writers"].items(), key=lambda kv: -kv[1])))
    print(f"{'stage':36s} {'seconds':>8s}" + (f" {'1 worker':>9s}" if len(runs) > 1 else ""))
    for stage in _stage_order(main_run["timings"]):
        seconds = main_run["timings"][stage]
        one = f" {runs[1]['timings'].get(stage, 0):9.2f}" if len(runs) > 1 else ""
        # The writer jobs run side by side: "write outputs" is their wall time, each job its own time.
        shown = f"  {stage}" if stage.startswith("write ") and stage != "write outputs" else stage
        print(f"{shown:36s} {seconds:8.2f}{one}")
    if len(runs) > 1:
        one = runs[1]["total"]
        print(f"1 worker: {one:.1f} s{_tried(walls[1])} (peak RSS {runs[1]['rss_main']:.0f} MB{_processor_text(runs[1])}); "
              f"{args.workers} workers: {total:.1f} s; speed-up {one / total:.2f}× (target ≥ 1.8×: ≤ {one / 1.8:.1f} s)")
        print(_bound_text(runs[1], main_run, args.workers, machine_after))
    print(f"the per-township work alone ({alone['files']} files read, validated and scored, each result dropped where "
          f"it was made; fastest of {alone['rounds']} in turn): one process {alone['one_s']:.2f} s, two at once "
          f"{alone['two_s']:.2f} s: {alone['one_s'] / alone['two_s']:.2f}× (township_work)")
    print(f"\nprovince as {args.counties} county runs ({args.per_county} townships each, {args.workers} at a time, "
          f"1 worker each) + rollup: {split['counties_wall'] + split['rollup']:.1f} s "
          f"(counties {split['counties_wall']:.1f} s, median county {split['county_median']:.1f} s, "
          f"rollup {split['rollup']:.2f} s); peak RSS largest county {split['county_rss']:.0f} MB, "
          f"rollup {split['rollup_rss']:.0f} MB; rollup total {split['rollup_total']} 元 "
          f"(one run: {main_run['amount']} 元)")
    median_floor, median_ours = statistics.median(floors), statistics.median(ours)
    ratios = [o / f for o, f in zip(ours, floors, strict=True)]
    print(f"\nper workbook (median of {len(sample)} files, each the fastest of {PASSES} passes, the floor and ours in "
          f"turn): read+validate+score+pay {median_ours:.1f} ms; python-calamine read floor {median_floor:.1f} ms; "
          f"ratio {statistics.median(ratios):.2f}× (target ≤ 3×); the first pass alone {one_pass_ratio:.2f}×")
    print(f"plain openpyxl read-only floor (median of {len(openpyxl_ms)}): {statistics.median(openpyxl_ms):.1f} ms")
    if frictionless_ms is None:
        print("frictionless validate: not installed (pip install '.[bench]')")
    else:
        print(f"frictionless validate, each sheet, types inferred (median of {len(frictionless_ms)}): "
              f"{statistics.median(frictionless_ms):.1f} ms ({statistics.median(frictionless_ms) / median_ours:.1f}× "
              f"read + validate + score + pay)")
    print(f"300-branch county end to end, fresh process, default workers: min {min(e2e):.2f} s, median "
          f"{statistics.median(e2e):.2f} s of {len(e2e)} (target ≤ 1 s)")


if __name__ == "__main__":
    main()
