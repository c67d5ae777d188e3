"""Operating `starbatch run` night after night: reruns, crashes, two runs at once, the ledger across
years, the spot-check seed and the TOML settings file."""
from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from run_helpers import (
    LISTED,
    PERIOD,
    branch_code,
    build_county_inbox,
    consolidated_path,
    ledger_runs,
    loose_inbox,
    output_files,
    results,
    run_args,
    run_cli,
    sheet_values,
    table,
    workbook_bytes,
    write,
)

from processor.lock import LOCK_NAME
from processor.lock import process_alive as _alive
from processor.paths import ROOT, SAMPLES_DIR

SMALL = {"城关镇": [5, 3, 2], "河口镇": [4, 1, 0], "柳林镇": [2, 2, 1]}
FILE_TIME = dt.datetime(PERIOD, 12, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def small_candidates() -> list[tuple[str, str]]:
    return sorted((t, branch_code(t, n)) for t, ratings in SMALL.items() for n, r in enumerate(ratings, 1) if r in (1, 2))


# --- rerun -------------------------------------------------------------------------------------

def test_rerun__same_inbox_twice__byte_identical_outputs(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    build_county_inbox(inbox)
    args = run_args(inbox, out, "--townships", ",".join(LISTED), "--notice-start", "2026-09-28")
    first_code, *_ = run_cli(*args)
    first = output_files(out)
    second_code, *_ = run_cli(*args)
    assert first_code == second_code == 1
    assert sorted(first) == sorted(output_files(out))
    assert {"results.json", consolidated_path(out).name, f"财务发放表_R1_{PERIOD}.xlsx"} <= set(first)
    assert sum(1 for name in first if name.startswith("receipts/")) == 7
    for name, data in output_files(out).items():
        assert data == first[name], f"{name} differs on the second run"
    assert len(ledger_runs(out)) == 2


def test_rerun__night_after_night__each_townships_records_kept_once__a_new_file_once_more(tmp_path):
    # The file in force is read again every night; its records (branches and cadres: next period's prefill) are kept
    # once, not once a night, and a township's new file adds its own, which is what the prefill then reads.
    from processor.ledger import records_text, submission_records
    inbox, out = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out"

    def kept() -> list[tuple[str, str]]:
        with sqlite3.connect(out / "ledger.sqlite") as db:
            rows = db.execute("SELECT township, records FROM submission_records ORDER BY id").fetchall()
        assert all(isinstance(records, bytes) for _, records in rows)  # stored deflated (ledger.packed_records)
        return [(township, records_text(records)) for township, records in rows]

    run_cli(*run_args(inbox, out))
    first = kept()
    run_cli(*run_args(inbox, out))
    assert sorted(t for t, _ in first) == sorted(SMALL) and kept() == first
    write(inbox / "01-城关镇.xlsx", workbook_bytes("城关镇", [5, 3, 2, 1]), mtime=FILE_TIME)  # a fourth branch
    run_cli(*run_args(inbox, out))
    run_cli(*run_args(inbox, out))
    now = kept()
    assert len(ledger_runs(out)) == 4 and now[:3] == first and [t for t, _ in now[3:]] == ["城关镇"]
    assert now[3][1] != dict(first)["城关镇"]
    assert submission_records(out / "ledger.sqlite", PERIOD) == {**dict(first), "城关镇": now[3][1]}


def test_rerun__into_a_fresh_folder__byte_identical_outputs(tmp_path):
    inbox = loose_inbox(tmp_path / "inbox", SMALL)
    run_cli(*run_args(inbox, tmp_path / "a"))
    run_cli(*run_args(inbox, tmp_path / "b"))
    assert output_files(tmp_path / "a") == output_files(tmp_path / "b")


def test_one_worker_or_three__byte_identical_outputs(tmp_path):
    """The samples (ten townships and every broken file) with the writers in this process, then side by side in
    three children: the same files, the same bytes — receipts, workbooks, notices and results.json."""
    outputs = {}
    for workers in ("1", "3"):
        out = tmp_path / f"out{workers}"
        code, summary, _ = run_cli(*run_args(SAMPLES_DIR, out, "--workers", workers, "--notice-start", "2026-12-07"))
        assert code == 1, summary  # the broken samples are rejected
        outputs[workers] = output_files(out)
    one, three = outputs["1"], outputs["3"]
    assert sorted(one) == sorted(three)
    assert sum(1 for name in one if name.startswith("receipts/")) > 20
    assert any(name.endswith(".docx") for name in one)
    assert [name for name in one if one[name] != three[name]] == []


# --- interruption ------------------------------------------------------------------------------

def test_interrupted_run__outputs_untouched__stale_lock_taken_over(tmp_path):
    inbox, out = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out"
    code, *_ = run_cli(*run_args(inbox, out))
    assert code == 0
    before = output_files(out)
    # The crashing run would write different outputs (one more township, another seed) had it got that far.
    extra = write(inbox / "04-石桥乡.xlsx", workbook_bytes("石桥乡", [1, 2, 3]))
    crashing = subprocess.Popen([sys.executable, "-m", "processor.cli", *run_args(inbox, out, "--seed", "7")],
                                cwd=ROOT, env={**os.environ, "STARBATCH_CRASH_AFTER_FIRST_OUTPUT": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    crashing.communicate(timeout=120)
    assert crashing.returncode == -signal.SIGKILL
    assert output_files(out) == before
    holder = json.loads((out / LOCK_NAME).read_text(encoding="utf-8"))
    assert holder["pid"] == crashing.pid and not _alive(crashing.pid)  # the file stays; the kernel lock went with it
    assert (out / f".staging-{crashing.pid}").is_dir()  # its half-written outputs stayed out of DIR

    extra.unlink()
    code, _, stderr = run_cli(*run_args(inbox, out))
    assert code == 0
    assert "stale lock" in stderr
    assert output_files(out) == before
    assert not (out / LOCK_NAME).exists() and not list(out.glob(".staging-*"))


# --- two runs at once --------------------------------------------------------------------------

HOLDER = """
import fcntl, json, os, socket, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-01-20T01:00:00+00:00"}).encode(), 0)
print("held", flush=True)
time.sleep(60)
"""


def test_concurrent_run__lock_held_by_a_live_process__exit_2_naming_it(tmp_path):
    inbox, out = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out / LOCK_NAME)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, stdout, stderr = run_cli(*run_args(inbox, out))
        assert code == 2 and stdout == ""
        assert f"pid {holder.pid}" in stderr and socket.gethostname() in stderr
        assert output_files(out) == {} and (out / LOCK_NAME).exists()
    finally:
        holder.kill()
        holder.wait()
    # The kernel freed the lock when its holder died: no stale file to guess about.
    code, *_ = run_cli(*run_args(inbox, out))
    assert code == 0 and not (out / LOCK_NAME).exists()


def test_lock_file_with_a_live_pid_but_no_lock__not_a_lock__the_run_proceeds(tmp_path):
    # What a competing run's fresh lock file looks like is decided by the kernel, never by the file's text.
    inbox, out = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}), encoding="utf-8")
    code, *_ = run_cli(*run_args(inbox, out))
    assert code == 0 and not (out / LOCK_NAME).exists()


RACE_RUN = """
import pathlib, sys, time
import processor.run as run
start, gate, argv = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
scan = run.scan_inbox
def held_at_the_gate(inbox):
    while not gate.exists():
        time.sleep(0.01)
    return scan(inbox)
run.scan_inbox = held_at_the_gate
from processor.cli import main
while not start.exists():
    pass
sys.exit(main(argv))
"""


def test_two_runs_started_at_the_same_instant__exactly_one_proceeds__every_time(tmp_path):
    inbox, out = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out"
    for round_ in range(8):
        start, gate = tmp_path / f"start-{round_}", tmp_path / f"gate-{round_}"
        runs = [subprocess.Popen([sys.executable, "-c", RACE_RUN, str(start), str(gate), *run_args(inbox, out)],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            time.sleep(1.0)  # both interpreters started and spinning on the start file
            start.touch()
            deadline = time.monotonic() + 60
            while all(r.poll() is None for r in runs) and time.monotonic() < deadline:
                time.sleep(0.01)
            gate.touch()
            codes = sorted(r.wait(timeout=120) for r in runs)
        finally:
            for r in runs:
                if r.poll() is None:
                    r.kill()
                    r.wait()
        assert codes == [0, 2], f"round {round_}: exit codes {codes}"
    assert len(ledger_runs(out)) == 8


SLOW_RUN = """
import pathlib, sys, time
import processor.run as run
gate, argv = pathlib.Path(sys.argv[1]), sys.argv[2:]
scan = run.scan_inbox
def held_at_the_gate(inbox):
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return scan(inbox)
run.scan_inbox = held_at_the_gate
from processor.cli import main
sys.exit(main(argv))
"""


def lock_holder(out: Path) -> dict:
    try:
        return json.loads((out / LOCK_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def test_concurrent_run__second_run_while_first_is_running__exit_2(tmp_path):
    inbox, out, gate = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out", tmp_path / "go"
    first = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(gate), *run_args(inbox, out)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not lock_holder(out) and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
        assert lock_holder(out).get("pid") == first.pid, "the first run never took the lock"
        code, _, stderr = run_cli(*run_args(inbox, out))
        assert code == 2
        assert "another run holds" in stderr and f"pid {first.pid}" in stderr
        gate.touch()
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr
    assert "inputs 3 = accepted 3" in stdout
    assert not (out / LOCK_NAME).exists() and (out / "results.json").is_file()
    assert len(ledger_runs(out)) == 1


# --- ledger: promotions and demotions ----------------------------------------------------------

def test_ledger__2025_then_2026_with_changed_ratings__晋星_and_减星(tmp_path):
    out = tmp_path / "out"
    inbox_2025 = loose_inbox(tmp_path / "2025", {"城关镇": [3, 3, 2], "河口镇": [4, 1, 0]}, period=2025)
    code, *_ = run_cli("run", str(inbox_2025), "--out", str(out), "--period", "2025")
    assert code == 0
    inbox_2026 = loose_inbox(tmp_path / "2026", {"城关镇": [5, 3, 1], "河口镇": [4, 2, 0]})
    code, *_ = run_cli(*run_args(inbox_2026, out))
    assert code == 0
    changes = {(r["乡镇"], r["支部编码"]): r for r in table(consolidated_path(out), "升降星", "乡镇")}
    assert {k: r["变化"] for k, r in changes.items()} == {
        ("城关镇", "CG-001"): "晋星", ("城关镇", "CG-003"): "减星", ("河口镇", "HK-002"): "晋星"}
    assert (changes[("城关镇", "CG-001")]["上期"], changes[("城关镇", "CG-001")]["本期"]) != (None, None)
    assert [r["period"] for r in ledger_runs(out)] == [2025, 2026]


def test_ledger__no_townships_given__last_periods_townships_are_expected(tmp_path):
    out = tmp_path / "out"
    run_cli("run", str(loose_inbox(tmp_path / "2025", {"城关镇": [3, 3, 2], "河口镇": [4, 1, 0]}, period=2025)),
            "--out", str(out), "--period", "2025")
    code, stdout, _ = run_cli(*run_args(loose_inbox(tmp_path / "2026", {"城关镇": [5, 3, 1]}), out))
    assert code == 1
    assert results(out)["missing"] == ["河口镇"] and "河口镇" in stdout


def test_ledger__first_period__升降星_says_there_is_nothing_to_compare(tmp_path):
    out = tmp_path / "out"
    run_cli(*run_args(loose_inbox(tmp_path / "inbox", SMALL), out))
    assert table(consolidated_path(out), "升降星", "乡镇") == []
    assert sheet_values(consolidated_path(out), "升降星")[2][0] == "无上期结果可比较，或星级无变化。"  # under the title


# --- spot check seed ---------------------------------------------------------------------------

def drawn(out: Path) -> list[tuple[str, str]]:
    return [(d["township"], d["branch_code"]) for d in results(out)["spot_check"]["drawn"]]


def test_spot_check__derived_seed__same_inputs_same_sample(tmp_path):
    inbox = loose_inbox(tmp_path / "inbox", SMALL)
    _, stdout, _ = run_cli(*run_args(inbox, tmp_path / "a"))
    run_cli(*run_args(inbox, tmp_path / "b"))
    seed = results(tmp_path / "a")["seed"]
    assert f"spot-check seed {seed}" in stdout
    assert results(tmp_path / "b")["seed"] == seed and drawn(tmp_path / "a") == drawn(tmp_path / "b")
    candidates = small_candidates()
    count = math.ceil(len(candidates) * 20 / 100)
    assert (len(candidates), count) == (5, 1)
    assert drawn(tmp_path / "a") == sorted(random.Random(seed).sample(candidates, count))


@pytest.mark.parametrize("seed", [0, 12345])
def test_spot_check__seed_option__overrides_and_reproduces(tmp_path, seed):
    inbox = loose_inbox(tmp_path / "inbox", SMALL)
    _, stdout, _ = run_cli(*run_args(inbox, tmp_path / "a", "--seed", str(seed)))
    run_cli(*run_args(inbox, tmp_path / "b", "--seed", str(seed)))
    assert results(tmp_path / "a")["seed"] == results(tmp_path / "a")["spot_check"]["seed"] == seed
    assert f"spot-check seed {seed}" in stdout
    assert drawn(tmp_path / "a") == drawn(tmp_path / "b") == sorted(random.Random(seed).sample(small_candidates(), 1))
    assert ledger_runs(tmp_path / "a")[0]["seed"] == str(seed)


def test_spot_check__another_seed__another_sample(tmp_path):
    inbox = loose_inbox(tmp_path / "inbox", SMALL)
    run_cli(*run_args(inbox, tmp_path / "derived"))
    derived = drawn(tmp_path / "derived")
    other = next(s for s in range(1, 100) if sorted(random.Random(s).sample(small_candidates(), 1)) != derived)
    run_cli(*run_args(inbox, tmp_path / "other", "--seed", str(other)))
    assert drawn(tmp_path / "other") != derived


# --- settings file -----------------------------------------------------------------------------

def test_config_toml__inbox_out_period_townships(tmp_path):
    loose_inbox(tmp_path / "inbox", SMALL)
    config = tmp_path / "starbatch.toml"
    config.write_text('inbox = "inbox"\nout = "out"\nperiod = 2026\n'
                      'townships = ["城关镇", "河口镇", "柳林镇", "杨庄镇"]\n', encoding="utf-8")
    code, stdout, stderr = run_cli("run", "--config", str(config))
    assert code == 1, stderr
    assert results(tmp_path / "out")["missing"] == ["杨庄镇"]
    assert results(tmp_path / "out")["period"] == 2026
    assert "inputs 3 = accepted 3" in stdout


def test_config_toml__command_line_wins(tmp_path):
    loose_inbox(tmp_path / "inbox", SMALL)
    config = tmp_path / "starbatch.toml"
    config.write_text('inbox = "inbox"\nout = "out"\nperiod = 2026\ntownships = ["杨庄镇"]\nseed = 5\n',
                      encoding="utf-8")
    code, *_ = run_cli("run", "--config", str(config), "--townships", "城关镇,河口镇,柳林镇", "--seed", "9")
    assert code == 0
    assert results(tmp_path / "out")["seed"] == 9


def test_config_toml__unknown_key__exit_2_with_the_allowed_keys(tmp_path):
    config = tmp_path / "starbatch.toml"
    config.write_text('inbox = "inbox"\nout = "out"\nperoid = 2026\n', encoding="utf-8")
    code, stdout, stderr = run_cli("run", "--config", str(config))
    assert code == 2 and stdout == ""
    assert "peroid" in stderr
    for key in ("inbox", "out", "period", "townships", "rulebook", "seed", "notice_start"):
        assert key in stderr.split("allowed:")[1]
    assert not (tmp_path / "out").exists()


def test_run__no_inbox_given__exit_2(tmp_path):
    code, _, stderr = run_cli("run", "--out", str(tmp_path / "out"))
    assert code == 2 and "INBOX" in stderr


# --- the commit: kill -9 at every step, then the next start finishes it -----------------------

@pytest.mark.parametrize("step", ["journal", "receipts-out", "receipts-in", "file", "file:results.json", "ledger"])
def test_kill_at_each_commit_step__next_start_has_the_new_outputs_complete_and_the_ledger_agrees(tmp_path, step):
    from processor.publish import JOURNAL, recover

    inbox, out, fresh = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out", tmp_path / "fresh"
    assert run_cli(*run_args(inbox, out))[0] == 0
    old = output_files(out)
    write(inbox / "04-石桥乡.xlsx", workbook_bytes("石桥乡", [1, 2, 3]), FILE_TIME)
    assert run_cli(*run_args(inbox, fresh))[0] == 0
    new = output_files(fresh)
    assert new != old
    killed = subprocess.run([sys.executable, "-m", "processor.cli", *run_args(inbox, out)], cwd=ROOT,
                            env={**os.environ, "STARBATCH_KILL_AT": step}, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / JOURNAL).exists()
    recover(out)  # what the next run does first, under the lock
    assert output_files(out) == new
    assert not (out / JOURNAL).exists() and not list(out.glob(".staging-*"))
    runs = ledger_runs(out)
    assert len(runs) == 2 and runs[-1]["counts"]["accepted"] == 4
    # Every branch's result and status, staged apart from the rest of the record, recorded as the same run's were.
    assert _last_run_rows(out) == _last_run_rows(fresh) and len(_last_run_rows(out)[0]) == 4 * 3
    # And the next night runs normally, recording itself once more.
    assert run_cli(*run_args(inbox, out))[0] == 0 and output_files(out) == new and len(ledger_runs(out)) == 3


def _last_run_rows(out: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The last run's branch results and statuses in the ledger, in the order recorded, without the run's id."""
    with closing(sqlite3.connect(out / "ledger.sqlite")) as db:
        last = db.execute("SELECT max(id) FROM runs").fetchone()[0]
        results = db.execute("SELECT period, rulebook, township, branch_code, name, rating, grade, qualified, score "
                             "FROM branch_results WHERE run_id = ? ORDER BY rowid", (last,)).fetchall()
        statuses = db.execute("SELECT period, rulebook, township, branch_code, status, set_by, set_on, file "
                              "FROM branch_status WHERE run_id = ? ORDER BY rowid", (last,)).fetchall()
    return results, statuses


def test_kill_before_the_commit_began__old_outputs_complete__ledger_unchanged(tmp_path):
    inbox, out = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out"
    assert run_cli(*run_args(inbox, out))[0] == 0
    old = output_files(out)
    write(inbox / "04-石桥乡.xlsx", workbook_bytes("石桥乡", [1, 2, 3]), FILE_TIME)
    killed = subprocess.run([sys.executable, "-m", "processor.cli", *run_args(inbox, out)], cwd=ROOT,
                            env={**os.environ, "STARBATCH_CRASH_AFTER_FIRST_OUTPUT": "1"}, capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert output_files(out) == old and len(ledger_runs(out)) == 1


def test_corrupt_ledger__exit_2_one_line_naming_the_file_and_the_good_copy(tmp_path):
    inbox, out = loose_inbox(tmp_path / "inbox", SMALL), tmp_path / "out"
    assert run_cli(*run_args(inbox, out))[0] == 0
    assert (out / "ledger.sqlite.bak").is_file()
    (out / "ledger.sqlite").write_bytes(b"this is not a database" * 100)
    code, stdout, stderr = run_cli(*run_args(inbox, out))
    assert code == 2 and "ledger.sqlite" in stderr and "ledger.sqlite.bak" in stderr
    assert "internal error" not in stderr and len(stderr.strip().splitlines()) == 1


def test_staged_ledger_record__written_piece_by_piece__the_bytes_json_dumps_writes(tmp_path):
    # A killed run's commit is finished from this file (publish.recover): it must read back as the record.
    from processor.carry import carried_text
    from processor.publish import LEDGER_PENDING, stage_ledger_record, staged_ledger_record
    record = {"run": {"period": 2026, "seed": 2 ** 70, "counts": {"accepted": 3}, "inbox": "收件箱\n"},
              "inputs": [{"file": "01-城关镇.xlsx", "date": None, "warnings": 1}],
              "branches": [{"township": "城关镇", "qualified": True, "score": "85.5"}] * 3,
              "carried": [("城关镇", json.dumps({"records": {"cadres": [{"name": "王一"}]}}, ensure_ascii=False))],
              "procedure": {"statuses": [{"code": "confirmed"}], "issue": {"lines": {"城关镇|CG-001|r|王一|书记|E2": "1.00"}},
                            "by_number": {1: "一"}}}
    stage_ledger_record(tmp_path, record)
    written = (tmp_path / LEDGER_PENDING).read_text(encoding="utf-8")
    assert written == json.dumps(record, ensure_ascii=False)
    assert json.loads(written)["carried"] == [["城关镇", record["carried"][0][1]]]
    # A record staged with its carried records as text (as earlier versions staged them all) still recovers.
    assert [(t, carried_text(r)) for t, r in staged_ledger_record(tmp_path)["carried"]] == record["carried"]


def test_staged_ledger_record__larger_than_a_chunk_written_past_the_page_cache__the_bytes_json_dumps_writes(tmp_path):
    # A province's record is ~50 MB: written in pieces of a megabyte or so, through DirectOutput's 8 MB chunks.
    from processor.publish import LEDGER_PENDING, stage_ledger_record
    record = {"inputs": [], "branches": [{"township": f"第{n:04d}镇", "name": "党支部" * (n % 7), "score": f"{n}.5"}
                                         for n in range(150_000)], "procedure": {}}
    stage_ledger_record(tmp_path, record)
    written = (tmp_path / LEDGER_PENDING).read_bytes()
    assert len(written) > 9 << 20
    assert written == json.dumps(record, ensure_ascii=False).encode("utf-8")


def test_staged_ledger_record__carried_records_stay_packed__read_back_as_the_records(tmp_path):
    # The run keeps each township's carried records compressed and hands the record a CarriedRecords: the staged
    # file keeps them packed (a province's ~160 MB of records JSON, quoted again inside the record, was ~1 s of the
    # commit) and reads back as the records; the ledger gets what a plain list of (township, records JSON) gives.
    from processor.carry import CarriedRecords, carried_text
    from processor.ledger import packed_records
    from processor.ledger import record_run
    from processor.publish import LEDGER_PENDING, stage_ledger_record, staged_ledger_record
    plain = [("城关镇", json.dumps({"records": {"cadres": [{"name": "王一"}] * 50}}, ensure_ascii=False)),
             ("南关镇", json.dumps({"records": {"branches": [{"branch_code": "NG-001"}]}}, ensure_ascii=False))]
    run = {"started": "s", "finished": "f", "inbox": "i", "rulebook": "R1", "period": 2026, "seed": 1,
           "exit_code": 0, "counts": {}, "commit_id": "c1"}
    record = {"run": run, "inputs": [], "branches": [], "procedure": {},
              "carried": CarriedRecords([(t, packed_records(text)) for t, text in plain])}
    stage_ledger_record(tmp_path, record)
    staged = staged_ledger_record(tmp_path)
    assert [(t, carried_text(r)) for t, r in staged["carried"]] == plain
    assert {**staged, "carried": None} == {**record, "carried": None}
    assert (tmp_path / LEDGER_PENDING).stat().st_size < len(json.dumps({**record, "carried": plain}, ensure_ascii=False))
    record_run(tmp_path / "ledger.sqlite", run, [], [], record["carried"])
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        stored = db.execute("SELECT township, records FROM submission_records ORDER BY rowid").fetchall()
    assert [(t, zlib.decompress(r).decode("utf-8")) for t, r in stored] == plain


def test_ledger_records__stored_deflated__an_older_ledgers_text_rows_read_and_not_stored_again(tmp_path):
    # A province's carried records were ~160 MB of text a period in the ledger (and again in its good copy); they are
    # stored deflated. A ledger written before holds them as text: read as they are, and the same records arriving
    # again (the file in force, read every night) are recognised, not stored a second time in the other form.
    from processor.ledger import PREFILL_SCHEMA, connect, record_run, record_submission_records, submission_records
    from processor.publish import _carried
    ledger = tmp_path / "ledger.sqlite"
    old = json.dumps({"records": {"cadres": [{"name": "王一"}] * 40}}, ensure_ascii=False)
    with connect(ledger) as db:
        db.executescript(PREFILL_SCHEMA)
        db.execute("INSERT INTO submission_records (period, township, records) VALUES (?,?,?)", (PERIOD, "城关镇", old))
    run = {"started": "s", "finished": "f", "inbox": "i", "rulebook": "R1", "period": PERIOD, "seed": 1,
           "exit_code": 0, "counts": {}, "commit_id": "c1"}
    new = json.dumps({"records": {"cadres": [{"name": "李二", "role": "委员"}] * 30}}, ensure_ascii=False)
    staged = [["城关镇", old], ["南关镇", {"zlib": base64.b64encode(zlib.compress(new.encode("utf-8"), 1)).decode()}]]
    record_run(ledger, run, [], [], _carried(staged))
    record_submission_records(ledger, PERIOD, "南关镇", new)  # the same again: not stored twice
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT township, typeof(records), length(records) FROM submission_records ORDER BY id").fetchall()
    assert [(t, kind) for t, kind, _ in rows] == [("城关镇", "text"), ("南关镇", "blob")]
    assert rows[1][2] < len(new.encode("utf-8"))
    assert submission_records(ledger, PERIOD) == {"城关镇": old, "南关镇": new}


def test_ledger_rows_staged_apart__recorded_as_the_same_rows_given_one_by_one(tmp_path):
    # The run stages its branches' results and statuses in an SQLite file of their own (ledger.stage_rows), which the
    # commit copies into the ledger: the ledger then holds what it held when they were given to record_run one by one.
    from processor.ledger import record_run, stage_rows

    branches = [{"township": "城关镇", "branch_code": f"CG-{n:03d}", "name": f"第{n}村党支部", "rating": n % 6,
                 "grade": None if n % 3 else "好", "qualified": [None, True, False][n % 3], "score": f"{70 + n}.5"}
                for n in range(7)]
    statuses = [{"township": "城关镇", "branch_code": f"CG-{n:03d}", "status": "confirmed", "set_by": "县委常委会",
                 "set_on": "2026-12-01", "file": "评审.xlsx"} for n in range(7)]
    run = {"started": "2026-12-02T01:00:00Z", "finished": "2026-12-02T01:01:00Z", "inbox": "inbox", "rulebook": "R1",
           "period": 2026, "seed": 7, "exit_code": 0, "counts": {"accepted": 1}}
    issue = {"version": 1, "issued_on": "2026-12-02", "total": "10.00", "lines": {"CG-000": "10.00"}}
    record_run(tmp_path / "given.sqlite", run, [], branches, [], {"statuses": statuses, "issue": issue})
    stage_rows(tmp_path / "rows.sqlite",
               [(b["township"], b["branch_code"], b["name"], b["rating"], b["grade"],
                 None if b["qualified"] is None else int(b["qualified"]), b["score"]) for b in branches],
               [(s["township"], s["branch_code"], s["status"], s["set_by"], s["set_on"], s["file"]) for s in statuses])
    assert not (tmp_path / "rows.sqlite.tmp").exists()
    record_run(tmp_path / "staged.sqlite", run, [], [], [], {"issue": issue}, tmp_path / "rows.sqlite")

    def everything(path: Path) -> dict[str, list[tuple[Any, ...]]]:
        with closing(sqlite3.connect(path)) as db:
            return {table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
                    for table in ("runs", "branch_results", "branch_status", "finance_versions")}
    given, staged = everything(tmp_path / "given.sqlite"), everything(tmp_path / "staged.sqlite")
    assert staged == given
    assert [r[3:] for r in given["branch_results"]][:2] == [("城关镇", "CG-000", "第0村党支部", 0, "好", None, "70.5"),
                                                            ("城关镇", "CG-001", "第1村党支部", 1, None, 1, "71.5")]
    assert len(given["branch_status"]) == 7 and len(given["finance_versions"]) == 1


def test_staged_ledger_record__a_sequence_made_as_it_is_read__the_same_file_as_a_list(tmp_path):
    # The run hands the staged record its carried records as views made one at a time (carry.CarriedRecords, a
    # common.MadeWhenRead), not a province's 2,000 texts first: the file is what a plain list gives.
    from processor.common import MadeWhenRead
    from processor.publish import LEDGER_PENDING, stage_ledger_record

    carried = [["城关镇", f'{{"code": "CG-{n:03d}", "score": "{80 + n}.5"}}'] for n in range(5)]
    made = MadeWhenRead(list(range(5)), lambda n: carried[n])
    assert len(made) == 5 and list(made) == carried and made[1:3] == carried[1:3] and made[4] == carried[4]
    (tmp_path / "plain").mkdir()
    (tmp_path / "made").mkdir()
    stage_ledger_record(tmp_path / "plain", {"inputs": [], "carried": carried, "procedure": {}})
    stage_ledger_record(tmp_path / "made", {"inputs": [], "carried": made, "procedure": {}})
    assert (tmp_path / "made" / LEDGER_PENDING).read_bytes() == (tmp_path / "plain" / LEDGER_PENDING).read_bytes()
