"""The benchmark: a generated province through the whole nightly run, stage by stage, with floors.

    python bench/run.py [--townships 2000] [--branches 50] [--workers 2] [--sample 200]

Prints a table: wall time per stage, files/s, branches/s and peak RSS; the per-workbook cost of
read + validate + score + pay against the python-calamine read floor of the same files; the read
floors of python-calamine and plain openpyxl; and a 300-branch county run end to end as a fresh
process (start-up included). Workbooks are generated once into bench/data/ and reused.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import generate  # noqa: E402


def ensure_data(townships: int, branches: int) -> Path:
    folder = ROOT / "bench" / "data" / f"{townships}x{branches}"
    if len(list(folder.glob("*.xlsx"))) != townships:
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        generate(townships, branches, folder)
        print(f"generated {townships} workbooks in {time.perf_counter() - started:.1f} s → {folder}")
    return folder


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def full_run(inbox: Path, workers: int) -> tuple[dict[str, float], float, int, int]:
    from loguru import logger

    from processor.run import nightly_run
    from processor.settings import RunConfig

    logger.remove()
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        outcome = nightly_run(RunConfig(inbox=inbox, out=Path(out), rulebook="R1", period=2026,
                                        progress=False, workers=workers, townships=[]))
        total = time.perf_counter() - started
    return outcome.timings, total, outcome.counts["inputs"], outcome.counts["branches"]


def per_workbook(files: list[Path]) -> tuple[list[float], list[float]]:
    """Per file: (calamine read floor, read + validate + score + pay), in ms, same files, same process."""
    import python_calamine

    from processor.pay import compute_payments
    from processor.rulebook import load_rulebook
    from processor.run import validate_submission
    from processor.county import finish_county
    from processor.score import score_submission

    rb = load_rulebook("R1")
    floors, ours = [], []
    for path in files:
        started = time.perf_counter()
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
        floors.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        sub = validate_submission(path, path.name, rb, 2026)
        branches, problems = score_submission(rb, sub, 2026)
        county = finish_county(rb, branches, problems)
        compute_payments(rb, [sub], county.branches)
        ours.append((time.perf_counter() - started) * 1000)
    return floors, ours


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


def county_end_to_end(branches_per_township: int) -> float:
    """A county of 300 branches as a fresh `starbatch run` process: start-up, imports and writing included."""
    townships = max(1, 300 // branches_per_township)
    data = ensure_data(townships, branches_per_township)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "processor.cli", "run", str(data), "--out", out, "--period", "2026"],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=2000)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=200, help="files for the per-workbook and floor measures")
    args = parser.parse_args()

    inbox = ensure_data(args.townships, args.branches)
    files = sorted(inbox.glob("*.xlsx"))
    sample = files[:: max(1, len(files) // args.sample)][: args.sample]

    floors, ours = per_workbook(sample)
    openpyxl_ms = openpyxl_floor(sample[: min(len(sample), 50)])
    e2e = county_end_to_end(args.branches)
    runs = {}
    for workers in sorted({1, args.workers}):
        runs[workers] = full_run(inbox, workers)
    own, children = peak_rss_mb()

    print(f"\nstarbatch benchmark: {args.townships} townships × {args.branches} branches "
          f"({args.townships * args.branches} branches), R1")
    timings, total, n_files, n_branches = runs[args.workers]
    print(f"\nwhole run with --workers {args.workers}: {total:.1f} s, {n_files / total:.1f} files/s, "
          f"{n_branches / total:.0f} branches/s")
    print(f"{'stage':36s} {'seconds':>8s}")
    for stage, seconds in timings.items():
        print(f"{stage:36s} {seconds:8.2f}")
    if len(runs) > 1:
        one = runs[1][1]
        print(f"\n1 worker: {one:.1f} s; {args.workers} workers: {total:.1f} s; speed-up {one / total:.2f}×")
    median_floor, median_ours = statistics.median(floors), statistics.median(ours)
    print(f"\nper workbook (median of {len(sample)}): read+validate+score+pay {median_ours:.1f} ms; "
          f"python-calamine read floor {median_floor:.1f} ms; ratio {median_ours / median_floor:.1f}× (target ≤ 2×)")
    print(f"plain openpyxl read-only floor (median of {len(openpyxl_ms)}): {statistics.median(openpyxl_ms):.1f} ms")
    print(f"300-branch county end to end, fresh process: {e2e:.2f} s (target < 3 s)")
    print(f"peak RSS: main process {own:.0f} MB, largest worker {children:.0f} MB (target < 1024 MB)")


if __name__ == "__main__":
    main()
