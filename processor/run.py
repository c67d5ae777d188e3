"""The nightly run: inbox in, every input accounted for, the county's outputs published in one commit.

intake → read/validate/score each file (workers) → account → county steps → pay → write into a
staging folder → commit into DIR with the ledger (publish.py). This module only orders the stages;
each lives in its own module. A run holds the kernel lock on DIR (lock.py) for its whole length.
"""
from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache, cached_property, partial
from dataclasses import dataclass, field, replace
from decimal import Decimal
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger

from .accounting import STATES, Accounted, account, files_in_force
from .carry import CarriedRecords, submission_records_json
from .common import (
    CHINA_TZ,
    collector_paused,
    consolidated_workbook_name,
    finance_workbook_name,
    now_utc,
    shown_date,
)
from .consolidate import (
    Consolidated,
    InputRow,
    notice_dates,
    reasons_workbook_name,
    targets_table,
    write_consolidated,
    write_reasons_workbook,
)
from .county import (
    TargetResult,
    derived_seed,
    draw_spot_check,
    evaluate_targets,
    finish_county,
    promotions,
)
from .extras import attach_extras
from .fanout import Lanes, WriterJob, claimed_jobs, together
from .errors import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, RunError
from .finance import write_finance_workbook
from .intake import Input, scan_inbox  # run.scan_inbox: the intake (tests hold it at a gate)
from .isolate import IsolatedFailure, map_isolated
from .ledger import issued_versions, last_rulebook, packed_records, previous_results, previous_townships
from .lock import LOCK_NAME, RunLock
from .mail.nightly import start_mail
from .notice import NoticeContact, write_county_notice, write_township_notices
from .parts import forget_parts, rows_to_part
from .pay import PayResult, compute_payments
from .payers import with_county_payers
from .problems import ERROR, WARNING, Problem, count_by_severity, problem
from .procedure import (
    ACCOUNTABILITY_HEADERS,
    STATUS_HEADERS,
    STATUS_TEXT,
    Inputs,
    Outcome,
    accountability_rows,
    check_against_county,
    finance_version,
    line_key,
    outcome_json,
    review_list,
    review_rows,
    run_procedure,
    settings,
    status_row,
    status_rows,
)
from .publish import (
    JOURNAL,
    RECEIPTS,
    clean_stale_staging,
    commit,
    new_staging,
    recover,
    stage_ledger_record,
    stage_ledger_rows,
    stage_ledger_run,
)
from .receipt import receipt_name, write_receipt
from .records import (
    BranchResult,
    CountyResult,
    Reason,
    Submission,
    UnitResult,
    decimal_by_text,
    packed_inputs,
    reason_across,
    unit_across,
)
from .results import RESULTS_JSON, write_results_json
from .review import (
    REVIEW_KIND,
    adjustments_workbook_name,
    complaints_workbook_name,
    kind_of_template,
    review_workbook_name,
    validate_procedure_file,
    write_adjustments_workbook,
    write_complaints_workbook,
    write_review_workbook,
)
from .rulebook import Rulebook, load_rulebook
from .score import score_submission
from .settings import RunConfig
from .summary import one_screen_summary
from .validate import known_sheet_names, shipped_by_template, validate_file

DEFAULT_RULEBOOK = "huojia-five-star"  # when neither --rulebook, the files nor the ledger name one

__all__ = ["LOCK_NAME", "RunOutcome", "nightly_run", "validate_submission"]


@dataclass
class RunOutcome:
    exit_code: int
    counts: dict[str, int]
    missing: list[str]
    outputs: list[Path]
    seed: int
    summary: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, for the benchmark
    peaks: dict[str, float] = field(default_factory=dict)  # peak RSS (MB) of each writer job's child, for the benchmark
    # The county's scored branches. Their own rows are read from the run's part files (parts.py), which go with its
    # staging folder: after the run, read their ratings, scores and reasons, not their rows.
    branches: list[BranchResult] = field(default_factory=list, repr=False)
    procedure: dict[str, Any] = field(default_factory=dict, repr=False)  # the finance version issued, for the ledger


class Stopwatch:
    """Wall time per pipeline stage (intake, validate, score, pay, consolidate, write)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.peaks: dict[str, float] = {}  # MB: each writer child's peak RSS (fanout)
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self._last
        self._last = now


# --- entry point ---------------------------------------------------------------------------

def nightly_run(config: RunConfig) -> RunOutcome:
    """Run once over the inbox; RunError (exit 2) when it cannot run."""
    config.out.mkdir(parents=True, exist_ok=True)
    with RunLock(config.out / LOCK_NAME), batch_gc():
        sink = _start_logging(config)
        try:
            return _run_locked(config)
        except RunError:
            raise
        except Exception:
            logger.exception("run failed; see the traceback above")
            raise
        finally:
            logger.remove(sink)


# --- GC tuned for a batch job (issue 16) -------------------------------------------------------
# The run keeps every file's result until it is written; the cyclic GC would walk that growing heap again
# at each full collection (measured at 400 townships: 12 full collections, 15 s, the longest 2.1 s).
# What is kept is frozen (moved out of the collector's generations: it is never garbage before the run ends),
# so collections only walk what is new. Unfrozen when the run ends, so a long-lived caller collects it.

@contextmanager
def batch_gc() -> Iterator[None]:
    gc.freeze()  # start-up: modules, rulebooks, the caller's objects
    try:
        yield
    finally:
        gc.unfreeze()


def keep(value: Any) -> Any:
    """value stays until the run ends: take it (and all before it) out of the collector's walks."""
    gc.freeze()
    return value


def _run_locked(config: RunConfig) -> RunOutcome:
    started = now_utc()
    if config.inbox is not None and not config.inbox.is_dir():
        raise RunError(f"inbox {config.inbox} is not a folder")
    given = load_rulebook(config.rulebook) if config.rulebook else None
    logger.info("run started: inbox={} rulebook={} period={}", config.inbox,
                given.template_id if given else "(from the submissions)", config.period)
    recover(config.out)  # a commit a killed run left half done is finished first
    clean_stale_staging(config.out)
    staging = new_staging(config.out)
    watch = Stopwatch()
    # Writers' temporary files live in the staging folder, so a killed run leaves nothing in /tmp.
    system_temp, tempfile.tempdir = tempfile.tempdir, str(staging / "work")
    sweep: threading.Thread | None = None
    try:
        mail = start_mail(config)  # IMAP → DIR/mail/<period>; RunError (exit 2) before intake when it cannot
        intake = mail.scan(scan_inbox)  # INBOX and DIR/mail/<period>, each with scan_inbox
        logger.info("intake: {} inputs, {} ignored files", len(intake.inputs), len(intake.ignored))
        watch.lap("intake")
        accounted = _validate_all(config, given, intake.inputs, staging / "work")
        watch.lap("read+validate+score branches")
        rulebook = operator_choices(config, given, accounted)  # RunError (exit 2) before anything is written
        account(accounted, config.accept_shrink)
        expected = config.townships or previous_townships(config.ledger_path, rulebook.template_id, config.period)
        current = _township_states(accounted)
        missing = sorted(t for t in expected if t not in current)
        with warnings.catch_warnings(record=True) as caught:  # writers' notes go to the log once, not to cron mail
            warnings.simplefilter("always")
            outcome = _produce(config, rulebook, accounted, current, missing, expected, intake.ignored, staging, watch)
        _log_writer_warnings(caught)
        sweep = _swept_meanwhile(staging / "work")
        record = _ledger_record(config, rulebook, started, accounted, outcome)  # the rest staged by a writer job
        stage_ledger_run(staging, record["run"])
        commit(config.out, staging, outcome.outputs, config.ledger_path, record, swept=sweep.join)
        outcome.outputs = [config.out / p.relative_to(staging) for p in outcome.outputs]
        done = mail.finish(accounted)  # after the commit: move the fetched messages, send the replies
        outcome.summary = "\n".join([outcome.summary, *done.notes]) if done.notes else outcome.summary
        outcome.exit_code = EXIT_FAILED if done.failed else outcome.exit_code  # outputs stand; next run completes it
        watch.lap("commit + ledger + mail")
        outcome.timings, outcome.peaks = watch.timings, watch.peaks
        logger.info("run finished: exit {} counts {}", outcome.exit_code, outcome.counts)
        return outcome
    finally:
        tempfile.tempdir = system_temp
        if sweep is not None:
            sweep.join()  # before the staging folder is removed below, never two removals of it at once
        forget_parts()  # the rows read from this run's part files
        if not (config.out / JOURNAL).exists():  # an unfinished commit keeps its staging for recovery
            shutil.rmtree(staging, ignore_errors=True)


def _swept_meanwhile(folder: Path) -> threading.Thread:
    """Remove `folder` (the input copies and part files, ~4,000 files for a province: 0.3 s) in a thread while the
    run stages its ledger record and commits: both wait on the disk, and the commit removes the staging folder only
    once this is done (publish.commit's `swept`)."""
    sweeper = threading.Thread(target=shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True},
                               name="sweep staging", daemon=True)
    sweeper.start()
    return sweeper


def _log_writer_warnings(caught: list[warnings.WarningMessage]) -> None:
    kinds = Counter(f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught)
    for text, n in sorted(kinds.items()):
        logger.info("writer warning ×{}: {}", n, text)


def _township_states(accounted: list[Accounted]) -> dict[str, str]:
    """Each township's standing: accepted when a submission of it is in force, else rejected."""
    states: dict[str, str] = {}
    for a in accounted:
        if a.state in ("accepted", "rejected") and a.sub.township and not _county_workbook(a):
            states[a.sub.township] = "accepted" if "accepted" in (a.state, states.get(a.sub.township)) else a.state
    return states


# --- the operator's choices, checked against what the townships sent -----------------------------

def operator_choices(config: RunConfig, given: Rulebook | None, accounted: list[Accounted]) -> Rulebook:
    """The run's rulebook; RunError when the period or rulebook is the operator's mistake, not the townships'.

    A run whose --period or --rulebook disagrees with most submissions stops here, before any receipt is
    written or sent: otherwise every township would be told to redo a file that was right.
    """
    named = Counter(a.sub.template for a in accounted if a.sub.template and not _county_workbook(a))
    if given is None:
        books = {a.sub.rules.template_id: a.sub.rules for a in accounted
                 if a.sub.rulebook is not None and not _county_workbook(a)}
        if len(books) > 1:
            raise RunError(f"报送使用了不同的评定办法（{_tally(named)}），请用 --rulebook 指定本次汇总的评定办法 "
                           f"/ submissions name different rulebooks; give --rulebook")
        if not books:  # only unreadable files tonight: they still get receipts, under the usual rulebook
            return load_rulebook(last_rulebook(config.ledger_path) or DEFAULT_RULEBOOK)
        rulebook = next(iter(books.values()))
    else:
        rulebook = given
        if named and named[rulebook.template_id] * 2 < sum(named.values()):
            raise RunError(f"{_most(named)}，而本次汇总的评定办法为 {rulebook.template_id}；请检查 --rulebook "
                           f"/ the submissions name another rulebook: check --rulebook")
    stated = Counter(p for a in accounted if a.sub.rulebook is not None and not _county_workbook(a)
                     and isinstance(p := a.sub.meta.get("period"), int))
    if stated and stated[config.period] * 2 < sum(stated.values()):
        raise RunError(f"{_most(stated)}年度，而本次汇总为{config.period}年度；请检查 --period "
                       f"/ the submissions are for another year: check --period")
    return rulebook


def _most(counts: Counter[Any]) -> str:
    top, n = counts.most_common(1)[0]
    total = sum(counts.values())
    return f"所有报送均为{top}" if n == total else f"{total} 份报送中 {n} 份为{top}"


def _tally(counts: Counter[Any]) -> str:
    return "、".join(f"{k} {n} 份" for k, n in sorted(counts.items()))


# --- read, validate and score each file ------------------------------------------------------

def _validate_all(config: RunConfig, rulebook: Rulebook | None, inputs: list[Input], work: Path) -> list[Accounted]:
    """Validate (and score, branch by branch) every input, each in a child process under a memory and a time
    limit (isolate.py), --workers of them at once: a file that would exhaust either costs only itself."""
    jobs = [_job(item, work, n) for n, item in enumerate(inputs, 1)]
    show = _progress(config, len(jobs))
    _worker_init(rulebook, config.period, work)  # before the fork: the children inherit it
    _WORKER["copies"] = {job[0]: item for item, job in zip(inputs, jobs, strict=True) if job[0]}
    try:
        # Each result taken in is ~5,000 new objects and no cycle among them, all kept (`keep`): the collector's
        # passes over them were ~4 % of the run's processor time while two workers read (perf). The workers are
        # forked meanwhile, so they start with it off too (`_worker_process`).
        with collector_paused():
            return _taken_in(inputs, jobs, _shown(map_isolated(_worker_process, jobs, workers=config.workers), show),
                             rulebook)
    finally:
        _WORKER.pop("copies", None)


def _taken_in(inputs: list[Input], jobs: list[Job], results: Iterable[Any], rulebook: Rulebook | None) -> list[Accounted]:
    accounted = []
    for item, job, result in zip(inputs, jobs, results, strict=True):
        item.data = b""  # its worker is done with it
        if isinstance(result, IsolatedFailure):
            logger.warning("{}: reading stopped in its child process ({}): {}", item.name, result.detail,
                           result.note[-300:])
            result = (Submission(file=item.name, path=Path(item.name), problems=[result.problem(item.name)],
                                 sha256=job[2]), [], b"", "")
        sub, branches, carried = _attached(result, rulebook)
        accounted.append(keep(Accounted(item, sub, branches=branches, carried=carried)))
    return accounted


def _shown(results: Iterable[Any], show: Callable[[int], None]) -> Iterator[Any]:
    for n, result in enumerate(results, 1):
        show(n)
        yield result


Job = tuple[str, str, str, list[Problem]]


def _job(item: Input, work: Path, n: int) -> Job:
    """The input under a generated name (input-00001.xlsx): the run's key for its bytes, which the worker writes to
    its own copy in the same folder with the same extension and reads from there (`_input_copy`); no file is made
    under the generated name itself, and the name from outside is only shown."""
    if item.problems:
        return ("", item.name, item.sha256, list(item.problems))
    return (str(work / f"input-{n:05d}{_safe_extension(item)}"), item.name, item.sha256, [])


_WORKER: dict[str, Any] = {}


def _worker_init(rulebook: Rulebook | None, period: int, parts: Path | None = None) -> None:
    """PARTS: the folder the workers write each township's branch rows to (parts.py); None keeps them in the result."""
    _WORKER["rulebook"], _WORKER["period"], _WORKER["parts"] = rulebook, period, parts
    ForkingPickler.register(Decimal, decimal_by_text)  # results share their Decimals (sharing.decimal_of)
    ForkingPickler.register(Reason, reason_across)  # …and their reasons' wordings and cited cells
    ForkingPickler.register(UnitResult, unit_across)
    known_sheet_names(), shipped_by_template()  # parsed once here; the forked children inherit them


Result = tuple[Submission, list[BranchResult], bytes, str]


def _worker_process(job: Job) -> Result:
    """One file, in a worker: its result without the rulebook it was read by (`_detached`).

    The collector is off meanwhile: a file makes ~100,000 objects and no cycle among them, and its passes over them
    were ~9 % of a township's time (bench.run.per_workbook: 13.96 → 12.63 ms). In the run's workers it stays off
    between files too (`_validate_all` forks them with it off), or its first pass after a file walked that file's
    whole result again while it was sent (~4 % of the workers' time); whatever cycles the last file left are
    collected here instead, before the next (generation 0: only what was made since, little once a result is sent)."""
    gc.collect(0)
    with collector_paused(), _input_copy(job[0]) as reading:
        sub, branches, carried = _read_and_score((reading, *job[1:]))
        parts = _WORKER.get("parts")
        # The worker's own part file (parts.py), named by the run, never after a name from outside.
        part = parts / f"rows-{os.getpid()}.part" if parts is not None and job[0] and branches else None
        return _detached(sub, branches, carried, part)


@contextmanager
def _input_copy(path: str) -> Iterator[str]:
    """Where the worker reads the run's input `path` from: its own copy, written from the bytes it inherited over
    the previous input's, under a name the run gives it (the input's extension kept, for the reader). A path the
    run did not hand out (a test's own file) is read as it is.

    One file a worker rewritten, rather than a file an input made and removed: a new file on the run's disk cost
    0.02 ms, and up to 1 ms once a run had removed thousands (ext4 steps over the inodes freed in the last minutes,
    `recently_deleted`) — a province's 2,000 copies, 2,000 removals and, after them, every other file the run made."""
    item = _WORKER.get("copies", {}).get(path)
    if item is None:
        yield path
        return
    copy = Path(path).with_name(f"reading-{os.getpid()}{Path(path).suffix}")
    copy.write_bytes(item.data)
    yield str(copy)


def _detached(sub: Submission, branches: list[BranchResult], carried: bytes, part: Path | None = None) -> Result:
    """The result crosses to the parent naming its rulebook by template id rather than carrying a copy: the
    parent holds the same rulebook (the worker was forked from it), and a copy per file would cost ~120 KB of
    memory and ~2 ms of unpickling each — at two thousand townships, 240 MB and four seconds of the run.
    The branches' own rows go to the part file `part` when given (parts.py), else with the result."""
    template_id = sub.rulebook.template_id if sub.rulebook is not None else ""
    sub.rulebook = None
    # Rows the run keeps are packed (records.PackedRecords); rows put in a part file are not: packing them first cost
    # more (0.7 ms a township) than it saved pickling them (0.2 ms), and the writers read a township's rows a few at a time.
    if part is None or not rows_to_part(branches, part):
        if part is not None:
            logger.warning("{}: its rows could not be written to {}; they stay in the run's memory", sub.file, part)
        packed_inputs(branches)
    return sub, branches, carried, template_id


def _attached(result: Result, rulebook: Rulebook | None) -> tuple[Submission, list[BranchResult], bytes]:
    sub, branches, carried, template_id = result
    if template_id:
        sub.rulebook = rulebook if rulebook is not None else shipped_by_template()[template_id]
    return sub, branches, carried


def _read_and_score(job: Job) -> tuple[Submission, list[BranchResult], bytes]:
    """One file: validate, then score its branches. Returns only what the county needs, not its cells
    (and, for an accepted file, the records next period's prefilled template carries over)."""
    path, name, digest, known = job
    rulebook, period = _WORKER["rulebook"], _WORKER["period"]
    if known:
        return Submission(file=name, path=Path(name), problems=known, sha256=digest), [], b""
    sub = validate_submission(Path(path), name, rulebook, period)
    if sub.rulebook is None:
        owner, kind = _procedure_owner(rulebook, sub.template)
        if owner is not None and kind is not None:  # the county's own review or complaints workbook (review.py)
            return validate_procedure_file(Path(path), name, owner, kind, period), [], b""
    branches: list[BranchResult] = []
    carried = b""
    if sub.accepted:
        branches, found = score_submission(sub.rules, sub, period)
        found += attach_extras(sub.rules, sub, branches, period)  # members, meetings, secretary type
        sub.problems += found
        # Held packed until the ledger stores it so: a township's records are ~40 KB of JSON, ~80 KB as a str, and a
        # province's 160 MB of the run's memory.
        carried = packed_records(submission_records_json(sub))
    sub.records = {}
    return sub, branches, carried


def _procedure_owner(rulebook: Rulebook | None, template_id: str) -> tuple[Rulebook | None, str | None]:
    """The rulebook whose review or complaints workbook this template id is (the run's, else a shipped one)."""
    for candidate in [rulebook] if rulebook is not None else shipped_by_template().values():
        kind = kind_of_template(candidate, template_id)
        if kind is not None:
            return candidate, kind
    return None, None


def validate_submission(path: Path, name: str, rulebook: Rulebook | None, period: int) -> Submission:
    sub = validate_file(path, rulebook, shown_name=name)
    stated = sub.meta.get("period")
    if sub.rulebook is not None and isinstance(stated, int) and stated != period:
        sub.problems.append(problem("TPL_011", file=name, sheet="填报说明", field="评定年度",
                                    cell=sub.meta.get("period_cell", ""), value=stated, expected=period))
    return sub


def _safe_extension(item: Input) -> str:
    ext = item.extension
    return ext if ext in (".xlsx", ".xlsm", ".xls", ".ods") else ".bin"


# --- produce the outputs -------------------------------------------------------------------

def _produce(config: RunConfig, rulebook: Rulebook, accounted: list[Accounted], current: dict[str, str],
             missing: list[str], expected: list[str], ignored: list[str], staging: Path,
             watch: Stopwatch) -> RunOutcome:
    townships_in = [a for a in accounted if not _county_workbook(a)]
    accepted = [a.sub for a in townships_in if a.state == "accepted"]
    # Each stage's objects kept (frozen) before the collector is on again: else its next pass walked every one of
    # them, as young (0.09 s after the county's steps), and the lanes' children, forked with them, walked them in full
    # passes of their own, writing each one's header (its page copied): 0.55 s of a province's child.
    with collector_paused():  # a reason more for every branch, no cycle among them
        county = keep(finish_county(rulebook, [b for a in accounted if a.state == "accepted" for b in a.branches], []))
    watch.lap("score county")
    seed = config.seed if config.seed is not None else derived_seed(accepted)
    spot = draw_spot_check(rulebook, county.branches, seed)
    with collector_paused():  # the review rows and statuses of every branch, no cycle among them
        procedure, county_jobs = keep(_procedure(config, rulebook, county, spot, accounted, townships_in, staging))
    watch.lap("review procedure")
    paid_by = with_county_payers(rulebook, config.payers)  # the county's payers where the source names none
    made = _Outputs(config, rulebook, paid_by, accounted, townships_in, county, procedure, spot, seed, current, missing,
                    expected, ignored, staging)
    # The lanes' children start now, before the payments (fanout.Lanes); the first writes the review and
    # complaints workbooks meanwhile, stages the ledger's rows for the commit (which copies them into the ledger
    # in one statement each, rather than binding them one by one itself while the other processors wait), and writes
    # the notices and the reasons workbook (`_Outputs.tables_jobs`): none of them needs anything of the payments.
    early = [*county_jobs, WriterJob("ledger rows", partial(_staged_ledger_rows, staging, county.branches, procedure),
                                     _weight("ledger rows", len(county.branches))),
             *(made.tables_jobs() if made.tables_early else [])]
    with Lanes(early, config.workers, made.jobs, watch.timings, watch.peaks) as lanes:
        watch.lap("write outputs")  # with one worker they were written just now; else a child was started
        with collector_paused():  # ~1 KB of new objects per payment line, no cycle among them
            payments = keep(compute_payments(paid_by, accepted, county.branches))
        watch.lap("pay")
        adjustments: list[Path] = []
        finance = _finance_version(config, paid_by, procedure, payments, county.branches, staging, adjustments)
        lanes.send(_Paid(payments.problems, len(payments.lines)),
                   _Paid(payments.problems, len(payments.lines), payments, finance))
        watch.lap("consolidate")
        early, late = lanes.write()
        outputs = _in_receipt_order([p for paths in late + early for p in paths], made.receipted,
                                    staging / RECEIPTS) + adjustments
    watch.lap("write outputs")
    counts = made.counts
    exit_code = EXIT_OK if counts["rejected"] == 0 and counts["held"] == 0 and not missing else EXIT_PROBLEMS
    summary = one_screen_summary(config.out, config.period, rulebook, counts, missing, accounted, payments.total(),
                                 seed, ignored)
    notice = procedure.notice
    if notice.get("error") and not notice.get("pending"):
        summary += f"\nWARNING public notice dates not set: {notice['error']}"
    summary += "\n" + _procedure_summary(procedure, finance["shown"])
    return RunOutcome(exit_code, counts, missing, outputs, seed, summary, branches=county.branches,
                      procedure=_procedure_record(finance))


_T = TypeVar("_T")


class _NotYet(list[Any]):
    """A table of the consolidated workbook not known before the payments: a job written before them that read it
    would write it empty, so reading it raises (`_Outputs.results_tables`)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def _refused(self, *_: Any) -> Any:
        raise RuntimeError(f"the consolidated workbook's {self.name} are not known before the payments")

    __iter__ = __len__ = __getitem__ = __bool__ = _refused


@dataclass(frozen=True)
class _Paid:
    """What the writer jobs need of the payments. The lanes' children are told the problems the payments found and
    the number of lines; the run's own process builds its jobs with the payments and the finance version too, which
    only the jobs of its lane (`WriterJob.here`) read."""
    problems: list[Problem]
    lines: int
    payments: PayResult | None = None
    finance: dict[str, Any] | None = None


# A writer job's weight (fanout.WriterJob): its rough milliseconds on the benchmark's machine — a cost for its file (a
# workbook's parts, a document's) and one for each of its rows — read off bench/run.py's 300-branch county and its
# province (2,000 townships). Only their proportions matter: they decide which lane writes what. Weighed by rows
# alone, a county's files looked ten times lighter than they are, and its lanes ended 0.1 s apart.
_COSTS: dict[str, tuple[float, float]] = {  # job: (milliseconds for its file, milliseconds a row)
    "finance workbook": (25, 0.027),      # a payment line
    "results.json": (5, 0.067),           # a branch
    "ledger record": (1, 0.07),           # an input
    "ledger rows": (1, 0.007),            # a branch
    "consolidated workbook": (34, 0.049),  # a branch
    "reasons workbook": (14, 0.046),      # a branch
    "county notice": (33 + 55, 0.0175),   # a branch; the first notice its process builds loads python-docx (55 ms)
    "township notices": (30, 0.061),      # a branch
    "review workbook": (15, 0.16),        # a branch under review
    "complaints workbook": (4, 0),
    "receipts": (0, 5.7),                 # a receipt
}


def _weight(job: str, rows: int) -> float:
    fixed, each = _COSTS[job]
    return fixed + each * rows


@dataclass
class _Outputs:
    """The run's writer jobs, built alike in every lane's process from what the run held when the lanes started
    and what it tells them of the payments (`jobs`, fanout.Lanes)."""
    config: RunConfig
    rulebook: Rulebook
    paid_by: Rulebook  # the rulebook with the county's payers (payers.with_county_payers)
    accounted: list[Accounted]
    townships_in: list[Accounted]
    county: CountyResult
    procedure: Outcome
    spot: dict[str, Any]
    seed: int
    current: dict[str, str]
    missing: list[str]
    expected: list[str]
    ignored: list[str]
    staging: Path
    receipted: list[Accounted] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @cached_property
    def townships(self) -> list[str]:
        """The county's own order of townships when it gave one (config or last period), then any others."""
        seen = {a.sub.township for a in self.townships_in if a.sub.township and a.state in ("accepted", "rejected")}
        return list(dict.fromkeys(self.expected)) + sorted(seen - set(self.expected))

    @cached_property
    def targets(self) -> list[TargetResult]:
        """Made by the first job that reads them, in whichever lane writes it: not in the run's own process before
        its lane starts, when its jobs are results.json's targets only (0.2 s of a province's one-process time)."""
        return evaluate_targets(self.rulebook, self.county.branches)

    @cached_property
    def results_tables(self) -> Consolidated:
        """What the consolidated workbook shows but its problems and inputs, which wait for the payments' problems
        (`jobs`): all the notices and the reasons workbook read (`tables_jobs`)."""
        config, rulebook, county, procedure = self.config, self.rulebook, self.county, self.procedure
        changes = promotions(rulebook, county.branches,
                             previous_results(config.ledger_path, rulebook.template_id, config.period))
        return Consolidated(rulebook, config.period, county, _NotYet("inputs"), _NotYet("problems"), self.townships,
                            self.current, procedure.notice, self.spot, changes, targets_table(self.targets),
                            [("评定程序", STATUS_HEADERS, partial(status_rows, rulebook, county, procedure)),
                             ("乡镇评审问责", ACCOUNTABILITY_HEADERS, partial(accountability_rows, county, procedure))],
                            county_name=config.county)

    @property
    def tables_early(self) -> bool:
        """Whether `tables_jobs` are early jobs: the first lane's child writes them while the run works out the
        payments, where it waited 0.3–0.5 s. With one worker they are late jobs (`jobs`), written after the finance
        workbook: written before the payments, what they left in the run's memory raised its peak from 911 to 978 MB."""
        return self.config.workers > 1

    def tables_jobs(self) -> list[WriterJob]:
        """The jobs that need nothing of the payments: the notices and the reasons workbook (`tables_early`)."""
        config, rulebook, staging, n = self.config, self.rulebook, self.staging, len(self.county.branches)
        contact = NoticeContact(config.county, config.issuer, config.notice_phone, config.notice_address,
                                config.notice_mailbox)
        return [
            WriterJob("reasons workbook", lambda: [write_reasons_workbook(
                staging / reasons_workbook_name(rulebook.id, config.period), self.results_tables)], _weight("reasons workbook", n)),
            # The county's notice and the townships' are two jobs: at a province's size each is a long one.
            WriterJob("county notice", lambda: [write_county_notice(staging, self.results_tables, contact)],
                      _weight("county notice", n)),
            WriterJob("township notices", lambda: write_township_notices(staging, self.results_tables, contact),
                      _weight("township notices", n)),
        ]

    def jobs(self, paid: _Paid, counter: Any) -> list[WriterJob]:
        config, rulebook, accounted, county, staging = self.config, self.rulebook, self.accounted, self.county, \
            self.staging
        procedure, notice, spot = self.procedure, self.procedure.notice, self.spot
        county_wide = _onto_their_files(accounted, county.branches, county.problems + paid.problems)
        receipted = self.receipted = [a for a in accounted if a.state != "duplicate"]
        _name_receipts(receipted)
        counts = {state: sum(1 for a in accounted if a.state == state) for state in STATES}
        counts["inputs"] = len(accounted)
        counts["missing"] = len(self.missing)
        counts["branches"] = len(county.branches)
        self.counts = counts
        problems = _all_problems(accounted, county_wide, self.missing, {} if notice.get("pending") else notice)
        townships = self.townships

        @cache
        def consolidated() -> Consolidated:
            return replace(self.results_tables, inputs=[_input_row(a) for a in accounted], problems=problems)
        statuses = _Statuses(rulebook, county, procedure)
        jobs = claimed_jobs("receipts", receipted, partial(_write_receipt, folder=staging / RECEIPTS,
                                                           statuses=statuses), config.workers, _weight("receipts", len(receipted)), counter)
        jobs.append(WriterJob("consolidated workbook", lambda: [write_consolidated(
            staging / consolidated_workbook_name(rulebook.id, config.period), consolidated())],
                              _weight("consolidated workbook", len(county.branches))))
        if not self.tables_early:
            jobs += self.tables_jobs()
        payments, finance = paid.payments, paid.finance
        # They read the payments and the finance version, which only the run's own process holds (`_Paid`): one
        # job, the heaviest, which it writes (fanout.lanes).
        jobs.append(together("ledger record, finance workbook, results.json", [
            # Staged now, beside the outputs, rather than in the commit; its "run" (when the run finished) is staged
            # by the commit (publish.stage_ledger_run), its rows apart ("ledger rows"). First: after the finance
            # workbook, at the process's high-water mark, it raised a one-worker run's peak by ~16 MB.
            WriterJob("ledger record", lambda: _staged_ledger_rest(staging, _ledger_rest(
                accounted, _procedure_record(_held(finance)))), _weight("ledger record", len(accounted))),
            WriterJob("finance workbook", lambda: [write_finance_workbook(
                staging / finance_workbook_name(rulebook.id, config.period), self.paid_by, config.period, _held(payments),
                county.branches, config.county, draft=procedure.draft, townships=townships)], _weight("finance workbook", paid.lines)),
            WriterJob("results.json", lambda: [write_results_json(
                staging / RESULTS_JSON, config.period, rulebook, accounted, county, _held(payments), problems,
                self.missing, counts, self.seed, spot, notice, self.ignored,
                {k: s.to_dict() for k, s in procedure.statuses.items()},
                {**outcome_json(procedure), "finance": _held(finance)["shown"]}, self.targets, config.county)],
                _weight("results.json", len(county.branches))),
        ], here=True))
        return jobs


def _held(value: _T | None) -> _T:
    """What only the run's own process holds, read by a job of its lane (`_Paid`)."""
    if value is None:
        raise RuntimeError("a job of the run's own lane was written in a lane's child")
    return value


def _procedure_record(finance: dict[str, Any]) -> dict[str, Any]:
    """The finance version issued, as the ledger records it; every branch's status is staged with the branches'
    results (`_staged_ledger_rows`)."""
    return {"issue": finance["issue"]}


# --- the rating procedure: the county's review, confirmation, notice and complaints (procedure.py) ---------

def _county_workbook(a: Accounted) -> bool:
    """A review or complaints workbook of the county's own (recognised by its template id), not a township's."""
    return bool(a.sub.meta.get("kind"))


def _procedure(config: RunConfig, rb: Rulebook, county: CountyResult, spot: dict[str, Any],
               accounted: list[Accounted], townships_in: list[Accounted], staging: Path) -> tuple[Outcome, list[WriterJob]]:
    """The review list and its workbook (township figures), then the county's findings applied in order."""
    listed = review_list(rb, county.branches, spot["drawn"])
    mine = [a for a in accounted if _county_workbook(a) and a.state == "accepted"]
    for a in mine:
        check_against_county(a.sub, listed, county.branches)
        if not a.sub.accepted:
            a.state = "rejected"  # refused at the cell: nothing of it is applied
    ready = sorted((a for a in mine if a.state == "accepted"), key=lambda a: (a.input.date or _EPOCH, a.input.name))
    reviews = [a.sub for a in ready if a.sub.meta["kind"] == REVIEW_KIND]
    given = Inputs(reviews[-1] if reviews else None, [a.sub for a in ready if a.sub.meta["kind"] != REVIEW_KIND],
                   config.as_of or dt.datetime.now(CHINA_TZ).date(), config.notice_start,
                   default_notice_start(townships_in),
                   {a.sub.file: shown_date(a.input.date) for a in townships_in if a.state == "accepted"})
    outcome = run_procedure(rb, config.period, county, listed, given, notice_dates)
    proc = settings(rb)
    jobs = [WriterJob("complaints workbook", lambda: [write_complaints_workbook(
        staging / complaints_workbook_name(rb, config.period), rb, config.period, "县委组织部")], _weight("complaints workbook", 0))]
    if outcome.review_stage:
        # Its rows (each listed branch's item scores, read from the part files) are made in the writer's child:
        # the run goes on to the payments without them.
        jobs.insert(0, WriterJob("review workbook", lambda: [write_review_workbook(
            staging / review_workbook_name(rb, config.period), rb, config.period,
            *review_rows(rb, county.branches, listed, previous_results(config.ledger_path, rb.template_id, config.period)),
            proc.get("reviewing_body", "县级评审组"))],
            _weight("review workbook", len(listed))))
    return outcome, jobs


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


class _Statuses:
    """Each receipt shows the status of what its file decided: a township's branches, a county workbook's findings.
    Made as the receipt is written, in whichever lane writes it, rather than for every file before the lanes start
    (a province's 100,000 rows were 0.25 s of the run's one-process time)."""

    def __init__(self, rb: Rulebook, county: CountyResult, outcome: Outcome) -> None:
        self._rb, self._county, self._outcome = rb, county, outcome

    def on_receipt(self, a: Accounted) -> None:
        rows = self._rows(a.sub.file) if a.state == "accepted" else []
        if rows:
            a.sub.meta["status_rows"] = rows

    def _rows(self, file: str) -> list[list[str]]:
        return [[str(v) for v in status_row(self._rb, b, self._outcome)] for b in self._by_file.get(file, [])]

    @cached_property
    def _by_file(self) -> dict[str, list[BranchResult]]:
        by_key = {b.key: b for b in self._county.branches}
        by_file: dict[str, list[BranchResult]] = {}
        for b in self._county.branches:
            by_file.setdefault(b.file, []).append(b)
        for f in self._outcome.findings:
            by_file.setdefault(f.file, []).append(by_key[f.key])
        return by_file


def _finance_version(config: RunConfig, rb: Rulebook, outcome: Outcome, payments: PayResult,
                     branches: list[BranchResult], staging: Path, outputs: list[Path]) -> dict[str, Any]:
    """Which payable version this is (the ledger keeps the issued ones); changes since one issued are adjustments."""
    issued = issued_versions(config.ledger_path, rb.template_id, config.period)
    # The lines by key are only compared with an issued version or recorded as one: a draft before any issue (most
    # nights) needs none of a province's ~700,000 keys (~200 MB).
    lines = _lines_by_key(payments) if issued or outcome.payable else {}
    as_of = config.as_of or dt.datetime.now(CHINA_TZ).date()
    version, previous, issue = finance_version(issued, lines, outcome.payable, as_of, f"{payments.total():.2f}")
    shown = {"payable": outcome.payable, "version": version, "adjusts_version": previous["version"] if previous else None,
             "total": f"{payments.total():.2f}"}
    if previous is not None:
        heading = (f"第{version}版相对已发放的第{previous['version']}版（{previous['issued_on']}）的调整" if version
                   else f"本草案相对已发放的第{previous['version']}版（{previous['issued_on']}）的调整，尚不能发放")
        outputs.append(write_adjustments_workbook(staging / adjustments_workbook_name(rb, config.period), rb,
                                                  config.period, heading, _adjustment_rows(previous["lines"], lines, branches),
                                                  outcome.draft))
    return {"shown": shown, "issue": issue}


def _lines_by_key(payments: PayResult) -> dict[str, str]:
    lines: dict[str, str] = {}
    for l in payments.lines:
        key = line_key(l.township, l.branch_code, l.rule_id, l.payee, l.role, l.cells[-1] if l.cells else "")
        lines[key] = f"{Decimal(lines.get(key, '0')) + l.amount:.2f}"
    return lines


def _adjustment_rows(issued: dict[str, str], now: dict[str, str], branches: list[BranchResult]) -> list[list[Any]]:
    why = {b.key: next((r.text for r in reversed(b.reasons) if ".procedure." in r.rule), "星级变化") for b in branches}
    rows = []
    for key in sorted(set(issued) | set(now)):
        before, after = Decimal(issued.get(key, "0")), Decimal(now.get(key, "0"))
        if before != after:
            township, code, rule, payee, role, _ = key.split("|")
            rows.append([township, code, payee, role, rule, before, after, after - before, why.get((township, code), "")])
    return rows


def _procedure_summary(outcome: Outcome, finance: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for s in outcome.statuses.values():
        counts[s.code] = counts.get(s.code, 0) + 1
    shown = ", ".join(f"{STATUS_TEXT[c]} {n}" for c, n in sorted(counts.items()))
    pay = (f"finance workbook PAYABLE, version {finance['version']}" if outcome.payable
           else f"finance workbook is a DRAFT ({outcome.why_not_payable})")
    return f"procedure: {shown}; {pay}"


def _tell_receipts(accounted: list[Accounted]) -> None:
    """What the accounting decided travels to each receipt: a clerk reads whether the file was used, replaced,
    held back, and how many branches and cadres were read."""
    in_force = files_in_force(accounted)
    for a in accounted:
        a.sub.meta["state"] = a.state
        a.sub.meta["state_note"] = a.note
        a.sub.meta["held_lost"] = a.lost
        a.sub.meta["in_force"] = in_force.get(a.sub.township, "") if a.state != "accepted" else ""
        if a.state == "accepted":
            a.sub.meta["read"] = (len(a.branches), sum(len(b.cadres) for b in a.branches))


def _name_receipts(accounted: list[Accounted]) -> None:
    """Each input's receipt name (from its file's name and content), known before any receipt is written:
    the consolidated workbook and results.json list it."""
    _tell_receipts(accounted)
    for a in accounted:
        a.receipt = receipt_name(a.sub, a.sub.sha256)


def _write_receipt(a: Accounted, folder: Path, statuses: _Statuses) -> Path:
    statuses.on_receipt(a)
    path = write_receipt(a.sub, folder)
    _crash_after_first_output()
    return path


def _in_receipt_order(paths: list[Path], receipted: list[Accounted], folder: Path) -> list[Path]:
    """The run's outputs with its receipts in the order of the inputs, whichever job wrote which (claimed_jobs), each
    once: a claimed job that failed in its child is written again here as every receipt (WriterJob.again)."""
    place = {folder / a.receipt: n for n, a in enumerate(receipted)}
    receipts = sorted(dict.fromkeys(p for p in paths if p in place), key=place.__getitem__)
    return receipts + [p for p in paths if p not in place]


def default_notice_start(accounted: list[Accounted]) -> dt.date | None:
    """The day after the newest accepted submission arrived (message date, else file time)."""
    dates = [a.input.date for a in accounted if a.state == "accepted" and a.input.date]
    if not dates:
        return None
    return max(dates).astimezone(CHINA_TZ).date() + dt.timedelta(days=1)


def _onto_their_files(accounted: list[Accounted], branches: list[BranchResult], found: list[Problem]) -> list[Problem]:
    """The county steps' and the payments' warnings about a township's branch (a count left blank, a ranking figure
    missing, a collective income short) join the problems of the file in force for that township, so its receipt
    lists them at their cells with what to do, and they count as its warnings. The rest — county-wide shares and
    quotas — are returned: they are the county's. An error would un-accept a file already used, so none is moved
    (the county steps and payments raise warnings only)."""
    named = {p.file for p in found}  # the township of only the branches a problem names: a province has 100,000
    township_of = {(b.file, b.branch_code): b.township for b in branches if b.file in named}
    in_force = {a.sub.township: a.sub for a in accounted if a.state == "accepted" and not _county_workbook(a)}
    county_wide = []
    for p in found:
        sub = in_force.get(township_of.get((p.file, p.branch), ""))
        if sub is not None and sub.file == p.file and p.severity != ERROR:
            sub.problems.append(p)
        else:
            county_wide.append(p)
    return county_wide


def _all_problems(accounted: list[Accounted], county_problems: list[Problem], missing: list[str],
                  notice: dict[str, Any]) -> list[tuple[str, str, Problem]]:
    found = [(a.sub.township, a.state, p) for a in accounted for p in a.sub.problems]
    found += [("", "accepted", p) for p in county_problems]
    found += [(t, "missing", problem("RUN_003", value=t)) for t in missing]
    if notice.get("error"):
        found.append(("", "", problem("RUN_004", detail=notice["error"])))
    return found


def _input_row(a: Accounted) -> InputRow:
    counts = count_by_severity(a.sub.problems)
    return InputRow(a.input.name, a.input.origin, a.input.sender, a.input.subject, shown_date(a.input.date),
                    a.sub.township, a.state, counts[ERROR], counts[WARNING], a.receipt, a.input.sha256)


def _ledger_record(config: RunConfig, rb: Rulebook, started: str, accounted: list[Accounted],
                   outcome: RunOutcome) -> dict[str, Any]:
    return {"run": _ledger_run(config, rb, started, outcome), **_ledger_rest(accounted, outcome.procedure)}


def _ledger_run(config: RunConfig, rb: Rulebook, started: str, outcome: RunOutcome) -> dict[str, Any]:
    source = config.inbox or (config.mail.imap.shown if config.mail and config.mail.imap else "")
    return {"started": started, "finished": now_utc(), "inbox": str(source), "rulebook": rb.template_id,
            "period": config.period, "seed": outcome.seed, "exit_code": outcome.exit_code, "counts": outcome.counts}


def _ledger_rest(accounted: list[Accounted], procedure: dict[str, Any]) -> dict[str, Any]:
    """The ledger record but its "run" and the rows staged apart (`_staged_ledger_rows`): every input, the records
    carried to next period, the finance version issued."""
    inputs = [{"sha256": a.input.sha256, "file": a.input.name, "origin": a.input.origin, "sender": a.input.sender,
               "subject": a.input.subject, "message_id": a.input.message_id, "date": shown_date(a.input.date),
               "township": a.sub.township, "period": _stated_period(a.sub),
               "state": a.state, "errors": count_by_severity(a.sub.problems)[ERROR],
               "warnings": count_by_severity(a.sub.problems)[WARNING], "receipt": a.receipt} for a in accounted]
    carried = CarriedRecords([(a.sub.township, a.carried) for a in accounted if a.state == "accepted" and a.carried])
    return {"inputs": inputs, "carried": carried, "procedure": procedure}


def _staged_ledger_rows(staging: Path, branches: list[BranchResult], procedure: Outcome) -> list[Path]:
    """Every branch's result and status, as the ledger's rows (publish.stage_ledger_rows)."""
    stage_ledger_rows(staging, map(_branch_row, branches),
                      ((k[0], k[1], s.code, s.set_by, s.set_on, s.file) for k, s in procedure.statuses.items()))
    return []  # staged for the commit, not an output of the run


def _branch_row(b: BranchResult) -> tuple[Any, ...]:
    return (b.township, b.branch_code, b.name, b.rating, b.grade, None if b.qualified is None else int(b.qualified),
            str(b.score))


def _staged_ledger_rest(staging: Path, rest: dict[str, Any]) -> list[Path]:
    stage_ledger_record(staging, rest)
    return []  # staged for the commit, not an output of the run


def _stated_period(sub: Submission) -> int | None:
    stated = sub.meta.get("period")
    return stated if isinstance(stated, int) else None


# --- operations: logs, progress, test hook -------------------------------------------------

def _crash_after_first_output() -> None:
    """Test hook: STARBATCH_CRASH_AFTER_FIRST_OUTPUT=1 kills the run right after its first output is written."""
    if os.environ.get("STARBATCH_CRASH_AFTER_FIRST_OUTPUT") == "1":
        os.kill(os.getpid(), signal.SIGKILL)


def _start_logging(config: RunConfig) -> int:
    logs = config.out / "logs"
    logs.mkdir(exist_ok=True)
    return logger.add(logs / ("starbatch.jsonl" if config.log_json else "starbatch.log"), rotation="5 MB",
                      retention=10, serialize=config.log_json, level="INFO", enqueue=False)


def _progress(config: RunConfig, total: int) -> Callable[[int], None]:
    on = config.progress if config.progress is not None else sys.stderr.isatty()
    if not on or total == 0:
        return lambda _: None
    started = time.monotonic()

    def show(n: int) -> None:
        width = 30
        done = int(width * n / total)
        rate = n / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {n}/{total} 文件  {rate:.1f}/s")
        if n == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
