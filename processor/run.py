"""The nightly run: inbox in, consolidated workbooks out, every input accounted for.

intake → read/validate → account (accepted / rejected / superseded / duplicate, missing) → score →
pay → consolidate → write (into a staging folder) → move into DIR → ledger. A run holds a lock on
DIR; outputs appear in DIR only once all are complete, so a crash leaves last night's intact.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import signal
import socket
import sys
import time
import types
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from .consolidate import Consolidated, InputRow, notice_dates, targets_table, write_consolidated
from .errors import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, RunError
from .settings import RunConfig
from .finance import write_finance_workbook
from .intake import Input, scan_inbox  # run.scan_inbox: the intake (tests hold it at a gate)
from .mail import start_mail
from .ledger import previous_results, previous_townships, record_run
from .pay import compute_payments
from .problems import ERROR, WARNING, Problem, count_by_severity, problem
from .receipt import write_receipt
from .rulebook import Rulebook, load_rulebook
from .score import BranchResult, finish_county, rating_text, score_submission
from .validate import Submission, validate_file

LOCK_NAME = ".starbatch.lock"
RESULTS_JSON = "results.json"
RECEIPTS = "receipts"
STATES = ("accepted", "rejected", "superseded", "duplicate")


@dataclass
class Accounted:
    input: Input
    sub: Submission
    branches: list = field(default_factory=list)  # scored branches (when the file validated)
    state: str = ""
    note: str = ""
    receipt: str = ""


@dataclass
class RunOutcome:
    exit_code: int
    counts: dict[str, int]
    missing: list[str]
    outputs: list[Path]
    seed: int
    summary: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, for the benchmark
    branches: list = field(default_factory=list, repr=False)  # the county's scored branches (for the ledger)


class Stopwatch:
    """Wall time per pipeline stage (intake, validate, score, pay, consolidate, write)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self._last
        self._last = now


# --- entry point ---------------------------------------------------------------------------

def nightly_run(config: RunConfig) -> RunOutcome:
    """Run once over the inbox; raises RunError when it cannot run (exit 2)."""
    config.out.mkdir(parents=True, exist_ok=True)
    with RunLock(config.out / LOCK_NAME):
        sink = _start_logging(config)
        try:
            return _run_locked(config)
        except RunError:
            raise
        except Exception:
            logger.exception("run failed; the previous outputs in {} are untouched", config.out)
            raise
        finally:
            logger.remove(sink)


def _run_locked(config: RunConfig) -> RunOutcome:
    started = _now()
    if config.inbox is not None and not config.inbox.is_dir():
        raise RunError(f"inbox {config.inbox} is not a folder")
    rulebook = load_rulebook(config.rulebook)
    logger.info("run started: inbox={} rulebook={} period={}", config.inbox, rulebook.template_id, config.period)
    _clean_stale_staging(config.out)
    staging = config.out / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "work").mkdir(parents=True)
    watch = Stopwatch()
    try:
        mail = start_mail(config)  # IMAP → DIR/mail/<period>; RunError (exit 2) before intake when it cannot
        intake = mail.scan(scan_inbox)  # INBOX and DIR/mail/<period>, each with scan_inbox
        logger.info("intake: {} inputs, {} ignored files", len(intake.inputs), len(intake.ignored))
        watch.lap("intake")
        accounted = _validate_all(config, rulebook, intake.inputs, staging / "work")
        watch.lap("read+validate+score branches")
        _account(accounted)
        expected = config.townships or previous_townships(config.ledger_path, rulebook.template_id, config.period)
        current = {a.sub.township: a.state for a in accounted if a.state in ("accepted", "rejected") and a.sub.township}
        missing = sorted(t for t in expected if t not in current)
        outcome = _produce(config, rulebook, accounted, current, missing, expected, intake.ignored, staging, watch)
        _commit(staging, config.out, outcome.outputs)
        outcome.outputs = [config.out / p.relative_to(staging) for p in outcome.outputs]
        _record(config, rulebook, started, accounted, outcome)
        done = mail.finish(accounted)  # after the commit: move the fetched messages, send the replies
        outcome.summary = "\n".join([outcome.summary, *done.notes]) if done.notes else outcome.summary
        outcome.exit_code = EXIT_FAILED if done.failed else outcome.exit_code  # outputs stand; next run completes it
        watch.lap("write")
        outcome.timings = watch.timings
        logger.info("run finished: exit {} counts {}", outcome.exit_code, outcome.counts)
        return outcome
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- validate and account ------------------------------------------------------------------

def _validate_all(config: RunConfig, rulebook: Rulebook, inputs: list[Input], work: Path) -> list[Accounted]:
    """Validate (and score, branch by branch) every input; in parallel processes with --workers N."""
    jobs = [_job(item, work, n) for n, item in enumerate(inputs, 1)]
    show = _progress(config, len(jobs))
    if config.workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(config.workers, initializer=_worker_init, initargs=(rulebook, config.period)) as pool:
            results = list(_shown(pool.map(_worker_process, jobs, chunksize=4), show))
    else:
        _worker_init(rulebook, config.period)
        results = list(_shown(map(_worker_process, jobs), show))
    return [Accounted(item, sub, branches=branches) for item, (sub, branches) in zip(inputs, results)]


def _shown(results, show):
    for n, result in enumerate(results, 1):
        show(n)
        yield result


def _job(item: Input, work: Path, n: int) -> tuple[str, str, str, list[Problem]]:
    """Write the input's bytes under a generated name and release them; the name from outside is only shown."""
    if item.problems:
        return ("", item.name, item.sha256, list(item.problems))
    path = work / f"input-{n:05d}{_safe_extension(item)}"
    path.write_bytes(item.data)
    item.data = b""
    return (str(path), item.name, item.sha256, [])


_WORKER: dict[str, Any] = {}


def _worker_init(rulebook: Rulebook, period: int) -> None:
    _WORKER["rulebook"], _WORKER["period"] = rulebook, period


def _worker_process(job: tuple[str, str, str, list[Problem]]):
    """One file: validate, then score its branches. Returns only what the county needs, not its cells."""
    path, name, digest, known = job
    rulebook, period = _WORKER["rulebook"], _WORKER["period"]
    if known:
        return Submission(file=name, path=Path(name), problems=known, sha256=digest), []
    sub = validate_submission(Path(path), name, rulebook, period)
    branches: list[BranchResult] = []
    if sub.accepted:
        branches, found = score_submission(rulebook, sub, period)
        sub.problems += found
    sub.records = {}
    return sub, branches


def validate_submission(path: Path, name: str, rulebook: Rulebook, period: int) -> Submission:
    sub = validate_file(path, rulebook, shown_name=name)
    if sub.rulebook is not None and sub.meta.get("period") not in (None, period) and isinstance(sub.meta.get("period"), int):
        sub.problems.append(problem("TPL_011", file=name, sheet="填报说明", field="评定年度",
                                    cell=sub.meta.get("period_cell", ""), value=sub.meta["period"], expected=period))
    return sub


def _safe_extension(item: Input) -> str:
    ext = item.extension
    return ext if ext in (".xlsx", ".xlsm", ".xls", ".ods") else ".bin"


def _account(accounted: list[Accounted]) -> None:
    """Each input ends in exactly one state. Duplicates first (same bytes), then the newest per township wins."""
    first_of_hash: dict[str, Accounted] = {}
    last_of_hash: dict[str, Accounted] = {}  # a workbook sent again is as new as its latest copy
    for a in sorted(accounted, key=_age_key):
        if a.input.size and a.input.sha256 in first_of_hash:
            a.state = "duplicate"
            a.note = first_of_hash[a.input.sha256].input.name
            a.sub.problems.append(problem("RUN_002", file=a.input.name, detail=a.note))
            last_of_hash[a.input.sha256] = a
        else:
            first_of_hash.setdefault(a.input.sha256, a)
    by_township: dict[str, list[Accounted]] = {}
    for a in accounted:
        if not a.state and a.sub.township and a.sub.rulebook is not None:
            by_township.setdefault(a.sub.township, []).append(a)
    for group in by_township.values():
        newest = max(group, key=lambda a: _age_key(last_of_hash.get(a.input.sha256, a)))
        sent = last_of_hash.get(newest.input.sha256, newest).input
        for a in group:
            if a is not newest:
                a.state = "superseded"
                a.note = sent.name
                a.sub.problems.append(problem("RUN_001", file=a.input.name, detail=f"{sent.name}，{_shown_date(sent.date)}"))
    _supersede_unreadable_by_sender(accounted)
    for a in accounted:
        if not a.state:
            a.state = "accepted" if a.sub.accepted else "rejected"


def _supersede_unreadable_by_sender(accounted: list[Accounted]) -> None:
    """A submission whose township could not be read is replaced by a newer one from the same sender,
    so a broken first send does not stay rejected every night after the township resent it."""
    for a in accounted:
        if a.state or a.sub.township or not a.input.sender:
            continue
        newer = [b for b in accounted if b is not a and b.input.sender == a.input.sender
                 and b.state != "duplicate" and _age_key(b) > _age_key(a)]
        if newer:
            latest = max(newer, key=_age_key)
            a.state, a.note = "superseded", latest.input.name
            a.sub.problems.append(problem("RUN_001", file=a.input.name,
                                          detail=f"{latest.input.name}，{_shown_date(latest.input.date)}，同一发件人"))


def _age_key(a: Accounted) -> tuple:
    """Older first: message date, else file time; then where it came from, so ties are stable."""
    date = a.input.date or dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return (date, a.input.origin, a.input.name)


def _shown_date(date: dt.datetime | None) -> str:
    return date.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M") if date else "无日期"


# --- produce the outputs -------------------------------------------------------------------

def _produce(config: RunConfig, rulebook: Rulebook, accounted: list[Accounted], current: dict[str, str],
             missing: list[str], expected: list[str], ignored: list[str], staging: Path,
             watch: Stopwatch) -> RunOutcome:
    accepted = [a.sub for a in accounted if a.state == "accepted"]
    county = finish_county(rulebook, [b for a in accounted if a.state == "accepted" for b in a.branches], [])
    watch.lap("score county")
    payments = compute_payments(rulebook, accepted, county.branches)
    watch.lap("pay")
    seed = config.seed if config.seed is not None else derived_seed(accepted)
    spot = draw_spot_check(rulebook, county.branches, seed)
    notice = notice_dates(config.notice_start or default_notice_start(accounted),
                          rulebook.settings.get("notice_working_days", 5))
    counts = {state: sum(1 for a in accounted if a.state == state) for state in STATES}
    counts["inputs"] = len(accounted)
    counts["missing"] = len(missing)
    counts["branches"] = len(county.branches)
    outputs: list[Path] = []
    watch.lap("consolidate")
    receipts = staging / RECEIPTS
    outputs += _write_receipts([a for a in accounted if a.state != "duplicate"], receipts, config.workers)
    watch.lap("write receipts")
    changes = promotions(rulebook, county.branches, previous_results(config.ledger_path, rulebook.template_id, config.period))
    problems = _all_problems(accounted, county.problems + payments.problems, missing, notice)
    # The county's own order of townships when it gave one (config or last period), then any others.
    seen = {a.sub.township for a in accounted if a.sub.township and a.state in ("accepted", "rejected")}
    townships = list(dict.fromkeys(expected)) + sorted(seen - set(expected))
    consolidated = Consolidated(rulebook, config.period, county, [_input_row(a) for a in accounted], problems,
                                townships, current, notice, spot, changes, targets_table(rulebook, county.branches))
    watch.lap("consolidate")
    result_name = f"评定结果汇总_{rulebook.id}_{config.period}.xlsx"
    outputs.append(write_consolidated(staging / result_name, consolidated))
    watch.lap("write consolidated workbook")
    finance_name = f"财务发放表_{rulebook.id}_{config.period}.xlsx"
    outputs.append(write_finance_workbook(staging / finance_name, rulebook, config.period, payments,
                                          county.branches, config.county))
    watch.lap("write finance workbook")
    outputs.append(_write_results_json(staging / RESULTS_JSON, config, rulebook, accounted, county, payments,
                                       problems, missing, counts, seed, spot, notice, ignored))
    watch.lap("write results.json")
    exit_code = EXIT_OK if counts["rejected"] == 0 and not missing and not any(
        a.state == "rejected" for a in accounted) else EXIT_PROBLEMS
    summary = one_screen_summary(config, rulebook, counts, missing, accounted, payments.total(), seed, ignored)
    if notice.get("error"):
        summary += f"\nWARNING public notice dates not set: {notice['error']}"
    return RunOutcome(exit_code, counts, missing, outputs, seed, summary, branches=county.branches)


def _write_receipts(accounted: list[Accounted], folder: Path, workers: int) -> list[Path]:
    """One receipt per input (duplicates excepted), in parallel processes with --workers > 1."""
    if workers > 1 and len(accounted) > 1:
        folder.mkdir(parents=True, exist_ok=True)
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            names = list(pool.map(_receipt_job, [(a.sub, folder) for a in accounted], chunksize=8))
    else:
        names = []
        for a in accounted:
            names.append(write_receipt(a.sub, folder).name)
            _fault_point(first_output=True)
    for a, name in zip(accounted, names):
        a.receipt = name
    return [folder / name for name in names]


def _receipt_job(job: tuple[Submission, Path]) -> str:
    return write_receipt(*job).name


def derived_seed(accepted: list[Submission]) -> int:
    """Reproducible from the inputs themselves: the same accepted files always draw the same sample."""
    digest = hashlib.sha256("".join(sorted(s.sha256 for s in accepted)).encode()).hexdigest()
    return int(digest[:12], 16)


def draw_spot_check(rb: Rulebook, branches, seed: int) -> dict[str, Any]:
    step = next((s for s in rb.data.get("county", []) if s["type"] == "spot_check"), None)
    candidates = sorted(b.key for b in branches if "spot_check" in b.lists)
    share = step["share"] if step else 0
    count = math.ceil(len(candidates) * share / 100) if step else 0
    drawn = sorted(random.Random(seed).sample(candidates, count)) if count else []
    return {"seed": seed, "share": share, "candidates": len(candidates), "drawn": drawn}


def default_notice_start(accounted: list[Accounted]) -> dt.date | None:
    """The day after the newest accepted submission arrived (message date, else file time)."""
    dates = [a.input.date for a in accounted if a.state == "accepted" and a.input.date]
    if not dates:
        return None
    newest = max(dates).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    return newest + dt.timedelta(days=1)


def promotions(rb: Rulebook, branches, previous: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    changes = []
    for b in branches:
        before = previous.get(b.key)
        if before is None or before["rating"] == b.rating:
            continue
        changes.append({"township": b.township, "branch_code": b.branch_code, "name": b.name,
                        "before": rating_text(rb, before["rating"], before.get("grade")),
                        "after": rating_text(rb, b.rating, b.grade),
                        "change": "晋星" if b.rating > before["rating"] else "减星"})
    return changes


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
    return InputRow(a.input.name, a.input.origin, a.input.sender, a.input.subject, _shown_date(a.input.date),
                    a.sub.township, a.state, counts[ERROR], counts[WARNING], a.receipt, a.input.sha256)


def _write_results_json(path: Path, config: RunConfig, rb: Rulebook, accounted, county, payments, problems,
                        missing, counts, seed, spot, notice, ignored) -> Path:
    """Streamed: a province's branches and payments are written one record at a time, never held as text."""
    sections = {
        "rulebook": rb.template_id, "period": config.period, "seed": seed,
        "inputs": ({"file": a.input.name, "origin": a.input.origin, "sha256": a.input.sha256,
                    "township": a.sub.township, "state": a.state, "sender": a.input.sender,
                    "subject": a.input.subject, "date": _shown_date(a.input.date), "receipt": a.receipt,
                    **{k: v for k, v in count_by_severity(a.sub.problems).items() if k != "info"}} for a in accounted),
        "missing": missing,
        "ignored": ignored,
        "branches": (b.to_dict() for b in county.branches),
        "payments": (l.to_dict() for l in payments.lines),
        "problems": ({"township": t, "state": s, **p.to_dict()} for t, s, p in problems),
        "spot_check": {"seed": seed, "share": str(spot["share"]), "candidates": spot["candidates"],
                       "drawn": [{"township": t, "branch_code": c} for t, c in spot["drawn"]]},
        "notice": notice,
        "totals": {"inputs": counts, "amount": f"{payments.total():.2f}",
                   "by_payer": {p: f"{payments.total(p):.2f}" for p in sorted({l.payer for l in payments.lines})}},
    }
    with path.open("w", encoding="utf-8") as fh:
        fh.write("{")
        for n, (key, value) in enumerate(sections.items()):
            fh.write(("\n" if n == 0 else ",\n") + json.dumps(key) + ": ")
            if isinstance(value, types.GeneratorType):
                # One record per line; compact JSON inside uses the C encoder (indent is ~10× slower).
                fh.write("[")
                for i, record in enumerate(value):
                    fh.write(("\n" if i == 0 else ",\n") + _compact(record))
                fh.write("]")
            else:
                fh.write(_compact(value))
        fh.write("\n}\n")
    return path


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def one_screen_summary(config: RunConfig, rb: Rulebook, counts: dict[str, int], missing: list[str],
                       accounted: list[Accounted], total, seed: int, ignored: list[str]) -> str:
    lines = [
        f"starbatch run — {rb.name}（{rb.template_id}）{config.period}年度",
        f"inputs {counts['inputs']} = accepted {counts['accepted']} + rejected {counts['rejected']} + "
        f"superseded {counts['superseded']} + duplicate {counts['duplicate']}",
        f"branches scored {counts['branches']}; payments total {total:.2f} yuan; spot-check seed {seed}",
    ]
    if missing:
        lines.append(f"missing townships ({len(missing)}): {'、'.join(missing)}")
    for a in accounted:
        if a.state == "rejected":
            lines.append(f"  rejected: {a.input.name} ({count_by_severity(a.sub.problems)[ERROR]} errors) → {RECEIPTS}/{a.receipt}")
    if ignored:
        lines.append(f"ignored (not submissions): {len(ignored)} file(s), e.g. {ignored[0]}")
    lines.append(f"outputs in {config.out}: 评定结果汇总 / 财务发放表 workbooks, {RESULTS_JSON}, {RECEIPTS}/, logs/")
    return "\n".join(lines)


# --- commit and ledger ---------------------------------------------------------------------

def _commit(staging: Path, out: Path, outputs: list[Path]) -> None:
    """Move the complete set into DIR: receipts folder swapped whole, then each file replaced atomically."""
    new_receipts, old_receipts = staging / RECEIPTS, out / f".{RECEIPTS}-old-{os.getpid()}"
    new_receipts.mkdir(exist_ok=True)
    if (out / RECEIPTS).exists():
        os.replace(out / RECEIPTS, old_receipts)
    os.replace(new_receipts, out / RECEIPTS)
    shutil.rmtree(old_receipts, ignore_errors=True)
    for path in outputs:
        if path.parent == staging:
            os.replace(path, out / path.name)


def _record(config: RunConfig, rb: Rulebook, started: str, accounted: list[Accounted], outcome: RunOutcome) -> None:
    source = config.inbox or (config.mail.imap.shown if config.mail and config.mail.imap else "")
    run = {"started": started, "finished": _now(), "inbox": str(source), "rulebook": rb.template_id,
           "period": config.period, "seed": outcome.seed, "exit_code": outcome.exit_code, "counts": outcome.counts}
    inputs = [{"sha256": a.input.sha256, "file": a.input.name, "origin": a.input.origin, "sender": a.input.sender,
               "subject": a.input.subject, "message_id": a.input.message_id, "date": _shown_date(a.input.date),
               "township": a.sub.township, "period": a.sub.meta.get("period") if isinstance(a.sub.meta.get("period"), int) else None,
               "state": a.state, "errors": count_by_severity(a.sub.problems)[ERROR],
               "warnings": count_by_severity(a.sub.problems)[WARNING], "receipt": a.receipt} for a in accounted]
    results = [{"township": b.township, "branch_code": b.branch_code, "name": b.name, "rating": b.rating,
                "grade": b.grade, "qualified": b.qualified, "score": str(b.score)} for b in outcome.branches]
    record_run(config.ledger_path, run, inputs, results)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# --- operations: lock, staging, logs, progress ---------------------------------------------

class RunLock:
    """One run per DIR. A lock left by a dead process is taken over."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> "RunLock":
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder.get("host") not in (None, socket.gethostname()):
                    raise RunError(f"{self.path} is held by pid {holder.get('pid')} on another host, {holder.get('host')} "
                                   f"(started {holder.get('started')}); if that run is dead, delete the lock file")
                if holder and _alive(holder.get("pid", -1)):
                    raise RunError(f"another run holds {self.path}: pid {holder.get('pid')} on {holder.get('host')}, "
                                   f"started {holder.get('started')}") from None
                logger.warning("taking over a stale lock {}", holder)
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(), "started": _now()}, fh)
            return self
        raise RunError(f"could not take the lock {self.path}")

    def _holder(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def __exit__(self, *exc: Any) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale_staging(out: Path) -> None:
    """Staging folders of runs that died are removed; their DIR outputs were never touched."""
    for path in out.glob(".staging-*"):
        pid = path.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _fault_point(first_output: bool = False) -> None:
    """Test hook: STARBATCH_CRASH_AFTER_FIRST_OUTPUT=1 kills the run right after its first output is written."""
    if first_output and os.environ.get("STARBATCH_CRASH_AFTER_FIRST_OUTPUT") == "1":
        os.kill(os.getpid(), signal.SIGKILL)


def _start_logging(config: RunConfig) -> int:
    logs = config.out / "logs"
    logs.mkdir(exist_ok=True)
    return logger.add(logs / ("starbatch.jsonl" if config.log_json else "starbatch.log"), rotation="5 MB",
                      retention=10, serialize=config.log_json, level="INFO", enqueue=False)


def _progress(config: RunConfig, total: int):
    on = config.progress if config.progress is not None else sys.stderr.isatty()
    if not on or total == 0:
        return lambda n: None
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
