"""Publishing a run's outputs into DIR: all of them or none, and the ledger agreeing with DIR.

A run writes everything into DIR/.staging-<pid>/ first. The commit then
1. writes a journal, DIR/.commit.json, naming the staging folder (the point of no return);
2. swaps the receipts folder and replaces each output file (os.replace, one rename each);
3. records the run in the ledger (idempotent: the journal's commit id is recorded with it);
4. removes the journal and the staging folder.
A kill at any instruction leaves either no journal (DIR holds the old outputs, complete) or a journal
whose staging folder still holds whatever was not moved yet: `recover` — called by the next run
under the lock, before anything else — finishes the same steps, so DIR then holds the new outputs,
complete, and the ledger knows that run. Nothing is ever rolled back half way.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from .carry import CarriedRecords, carried_packed
from .common import DirectOutput, atomic_write
from .ledger import keep_good_copy, record_run, stage_rows
from .lock import process_alive

JOURNAL = ".commit.json"
RECEIPTS = "receipts"
LEDGER_PENDING = ".ledger-record.json"
LEDGER_RUN = ".ledger-run.json"
LEDGER_ROWS = ".ledger-rows.sqlite"  # the rows of the record that grow with the branches (ledger.stage_rows)
STAGING_PREFIX = ".staging-"


@dataclass
class Commit:
    """What one run publishes: files from its staging folder, and its ledger record."""
    commit_id: str
    staging: str  # the staging folder's name inside DIR
    files: list[str] = field(default_factory=list)
    ledger: str = ""  # the ledger file, absolute


def new_staging(out: Path) -> Path:
    staging = out / f"{STAGING_PREFIX}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "work").mkdir(parents=True)
    (staging / RECEIPTS).mkdir()
    return staging


def stage_ledger_record(staging: Path, record: dict[str, Any]) -> None:
    """The record as json.dumps writes it, written piece by piece: a province's record is ~200 MB of JSON, and made
    whole in memory (then encoded) it was the run's peak. Carried records the run holds packed (carry.CarriedRecords)
    stay packed (carry.StagedCarried); `staged_ledger_record` reads them back."""
    carried = record.get("carried")
    if isinstance(carried, CarriedRecords):
        record = {**record, "carried": carried.staged()}
    # Past the page cache, as results.json (common.DirectOutput): a province's ~50 MB took 0.70–0.86 s through it
    # with one worker and 1.45–1.48 s beside a lane's child, whose pages the host had to give again. Buffers of 1 MB,
    # not 8: the job runs after the finance workbook, at the run's process's high-water mark.
    with DirectOutput(staging / LEDGER_PENDING, chunk=1 << 20) as direct:
        text = _Utf8(direct)
        _write_json(text, record, depth=2)
        text.flush()


class _Utf8:
    """Text written to a binary output as UTF-8, ~256 thousand characters at a time (`flush` the rest)."""

    def __init__(self, raw: DirectOutput) -> None:
        self._raw = raw
        self._pieces: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._pieces.append(text)
        self._size += len(text)
        if self._size >= 1 << 18:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._pieces:
            self._raw.write("".join(self._pieces).encode("utf-8"))
            self._pieces, self._size = [], 0


def stage_ledger_rows(staging: Path, branches: Iterable[tuple[Any, ...]], statuses: Iterable[tuple[Any, ...]]) -> None:
    """The record's branch results and statuses (ledger.stage_rows), beside the rest of it."""
    stage_rows(staging / LEDGER_ROWS, branches, statuses)


def stage_ledger_run(staging: Path, run: dict[str, Any]) -> None:
    """The record's "run" (its counts, exit code, when it finished), staged by the commit beside the rest of the
    record, which a writer job staged while the outputs were written; read back in its place."""
    atomic_write(staging / LEDGER_RUN, json.dumps(run, ensure_ascii=False).encode("utf-8"))


def staged_ledger_record(staging: Path) -> dict[str, Any]:
    """The record `stage_ledger_record` wrote, with the "run" `stage_ledger_run` staged, if any; its carried records
    are read one at a time when the ledger takes them (`_finish`)."""
    record: dict[str, Any] = json.loads((staging / LEDGER_PENDING).read_text(encoding="utf-8"))
    if (staging / LEDGER_RUN).exists():
        record["run"] = json.loads((staging / LEDGER_RUN).read_text(encoding="utf-8"))
    return record


_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _write_json(fh: Any, value: Any, depth: int) -> None:
    """`value` as json.dumps(value, ensure_ascii=False) writes it; its dicts and lists `depth` levels down one
    member at a time (a sequence that is not a list, such as carry.CarriedRecords, is written as a list)."""
    if depth and isinstance(value, dict) and all(isinstance(key, str) for key in value):  # others: json's key rules
        fh.write("{")
        for n, (key, item) in enumerate(value.items()):
            fh.write(("" if n == 0 else ", ") + _ENCODER.encode(key) + ": ")
            _write_json(fh, item, depth - 1)
        fh.write("}")
    elif depth and isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        fh.write("[")
        for n, item in enumerate(value):
            if n:
                fh.write(", ")
            _write_json(fh, item, depth - 1)
        fh.write("]")
    else:
        fh.write(_ENCODER.encode(value))


def commit(out: Path, staging: Path, outputs: list[Path], ledger: Path, record: dict[str, Any] | None = None,
           swept: Callable[[], None] | None = None) -> None:
    """Publish the staged outputs and the staged ledger record (see the module's steps). `record`: the staged
    record as the run still holds it, spared reading back (a province's is ~200 MB of JSON). `swept`: waits for
    whatever else is removing part of the staging folder, before the folder itself is removed."""
    files = sorted(p.name for p in outputs if p.parent == staging)
    plan = Commit(commit_id=staging.name + "-" + _token(staging), staging=staging.name, files=files,
                  ledger=str(ledger.resolve()))
    atomic_write(out / JOURNAL, json.dumps(asdict(plan), ensure_ascii=False).encode("utf-8"))
    _fault_point("journal")
    _finish(out, plan, record, swept)


def recover(out: Path) -> bool:
    """Finish a commit that a killed run left half done; True when there was one."""
    path = out / JOURNAL
    if not path.exists():
        return False
    try:
        plan = Commit(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        logger.error("commit journal {} unreadable ({}); removed, outputs left as they are", path, exc)
        path.unlink(missing_ok=True)
        return False
    logger.warning("finishing the commit of an interrupted run ({}): its outputs are complete in {}", plan.commit_id,
                   plan.staging)
    _finish(out, plan)
    return True


def _finish(out: Path, plan: Commit, record: dict[str, Any] | None = None,
            swept: Callable[[], None] | None = None) -> None:
    staging = out / plan.staging
    _swap_receipts(out, staging)
    for name in plan.files:
        if (staging / name).exists():
            os.replace(staging / name, out / name)
            _fault_point(f"file:{name}")
    pending = staging / LEDGER_PENDING
    if pending.exists():
        if record is None:  # recovering a killed run's commit: its record is the staged one
            record = staged_ledger_record(staging)
        record["run"]["commit_id"] = plan.commit_id
        ledger = Path(plan.ledger)
        record_run(ledger, record["run"], record["inputs"], record.get("branches", []),
                   _carried(record.get("carried", [])), record.get("procedure"), _staged_rows(staging, record))
        keep_good_copy(ledger)
        pending.unlink()
        _fault_point("ledger")
    (out / JOURNAL).unlink(missing_ok=True)
    if swept is not None:
        swept()
    shutil.rmtree(staging, ignore_errors=True)


def _staged_rows(staging: Path, record: dict[str, Any]) -> Path | None:
    """The branch results and statuses `stage_rows` staged for the ledger; None for a record that holds them itself
    (one staged by a version before 2026-12-05, or a test's)."""
    rows = staging / LEDGER_ROWS
    if rows.exists():
        return rows
    if "branches" not in record:
        logger.error("the staged ledger rows {} are missing: the run is recorded without its branches' results and "
                     "statuses; its outputs in {} hold them", rows, staging.parent)
    return None


def _carried(carried: Sequence[Any]) -> Iterable[tuple[str, bytes]]:
    """(township, packed records) for the ledger, one at a time, never unpacked: the run's own (CarriedRecords) or a
    staged record's (carried_packed reads either form)."""
    if isinstance(carried, CarriedRecords):
        return carried.packed_items()
    return ((township, carried_packed(value)) for township, value in carried)


def _swap_receipts(out: Path, staging: Path) -> None:
    new, old = staging / RECEIPTS, staging / f"{RECEIPTS}-old"
    if not new.exists():
        return  # moved already by the run that was interrupted
    if (out / RECEIPTS).exists() and not old.exists():
        os.replace(out / RECEIPTS, old)  # old receipts go into staging, removed with it
        _fault_point("receipts-out")
    os.replace(new, out / RECEIPTS)
    _fault_point("receipts-in")


def clean_stale_staging(out: Path) -> None:
    """Staging folders of runs that died before their commit began; DIR's outputs were never touched."""
    for path in out.glob(f"{STAGING_PREFIX}*"):
        pid = path.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
    for path in out.glob(f".{RECEIPTS}-old-*"):  # left by versions before the journal
        shutil.rmtree(path, ignore_errors=True)


def _token(staging: Path) -> str:
    return f"{os.stat(staging).st_ino:x}-{os.stat(staging).st_mtime_ns:x}"


def _fault_point(step: str) -> None:
    """Test hook: STARBATCH_KILL_AT=<step> (journal, receipts-out, receipts-in, file:<name>, ledger) kills the run there."""
    wanted = os.environ.get("STARBATCH_KILL_AT")
    if wanted and (wanted == step or (wanted == "file" and step.startswith("file:"))):
        os.kill(os.getpid(), signal.SIGKILL)
