"""The per-workbook cost as instructions, which a shared, noisy machine does not move (valgrind's callgrind).

    python bench/instructions.py [--data bench/data/400x50] [--files 3 8]

bench/run.py times read + validate + score + pay of each workbook against the python-calamine read of the same file;
on this 2-core VM both times move by a third from one minute to the next. This counts the instructions of the same two
loops instead: each runs under callgrind twice, over the first 3 and the first 8 files, and the difference over the
5 files between is one workbook's count, start-up and first-use caches cancelled out. Needs valgrind (Debian
`valgrind`); each run takes about half a minute. The count leaves out what an instruction costs (a cache miss, an
allocation's page), so the time ratio of bench/run.py stays the figure that counts; this one says whether a change
took work away.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The two loops, as bench/run.py's per_workbook has them (collector paused in both, as a worker reads).
FLOOR = """
import gc, sys
from pathlib import Path
import python_calamine
gc.disable()
for path in sorted(Path(sys.argv[1]).glob("*.xlsx"))[:int(sys.argv[2])]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
"""
OURS = """
import gc, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from processor.county import finish_county
from processor.pay import compute_payments
from processor.rulebook import load_rulebook
from processor.run import validate_submission
from processor.score import score_submission
rb = load_rulebook("R1")
gc.disable()
for path in sorted(Path(sys.argv[1]).glob("*.xlsx"))[:int(sys.argv[2])]:
    sub = validate_submission(path, path.name, rb, 2026)
    branches, problems = score_submission(rb, sub, 2026)
    county = finish_county(rb, branches, problems)
    compute_payments(rb, [sub], county.branches)
"""


def instructions(script: str, data: Path, files: int, work: Path) -> int:
    """All instructions of one run of `script` over the first `files` workbooks."""
    out = work / f"callgrind.{files}.{abs(hash(script))}"
    code = work / "loop.py"
    code.write_text(script, encoding="utf-8")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(code),
                    str(data), str(files), str(ROOT)], check=True, capture_output=True)
    summary = subprocess.run(["callgrind_annotate", str(out)], check=True, capture_output=True, text=True).stdout
    match = re.search(r"^\s*([\d,]+) \([^)]*\)\s+PROGRAM TOTALS", summary, re.MULTILINE)
    if match is None:
        raise SystemExit(f"callgrind_annotate gave no total for {out}")
    return int(match.group(1).replace(",", ""))


def per_workbook(script: str, data: Path, few: int, more: int, work: Path) -> float:
    return (instructions(script, data, more, work) - instructions(script, data, few, work)) / (more - few)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data" / "400x50")
    parser.add_argument("--files", type=int, nargs=2, default=(3, 8), metavar=("FEW", "MORE"))
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        raise SystemExit("needs valgrind (Debian: apt-get install valgrind)")
    if not any(args.data.glob("*.xlsx")):
        raise SystemExit(f"no workbooks in {args.data}: python bench/run.py generates them")
    few, more = args.files
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        floor = per_workbook(FLOOR, args.data, few, more, work)
        ours = per_workbook(OURS, args.data, few, more, work)
    print(f"per workbook ({args.data.name}, files {few + 1}–{more}): python-calamine read floor "
          f"{floor / 1e6:.1f} M instructions; read + validate + score + pay {ours / 1e6:.1f} M; ratio {ours / floor:.2f}×")


if __name__ == "__main__":
    main()
