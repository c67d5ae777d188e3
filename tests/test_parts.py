"""A township's branch rows stay in a part file while the run lasts, not in the run's memory (processor/parts.py)."""
from __future__ import annotations

import os
import pickle
import shutil
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import processor.parts as parts
import processor.run as run
from processor.paths import SAMPLES_DIR
from processor.records import PackedRecords, home_place
from tests.run_helpers import unpickled_bytes


def _inputs(tmp_path: Path, count: int) -> list[Path]:
    """Sample townships under the names the run gives its inputs (run._job): input-00001.xlsx, …"""
    folder = tmp_path / "work"
    folder.mkdir(exist_ok=True)
    copies = []
    for n, sample in enumerate(sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[:count], 1):
        copies.append(folder / f"input-{n:05d}.xlsx")
        shutil.copyfile(sample, copies[-1])
    return copies


def _job(path: Path) -> run.Job:
    return (str(path), path.name, "0" * 64, [])


def _rows(branches: list) -> list:
    """Every row of every branch as the rescoring and the payments read it: sheet, row, fields in order, columns."""
    return [[(r.sheet, r.row, list(r.values.items()), r.columns, r.formulas)
             for r in [*b.event_rows, *b.cadres, *(r for rows in b.rows.values() for r in rows)]] for b in branches]


def _scored_then_sent(path: Path, parts_folder: Path) -> tuple[list, list]:
    """The township's rows as scored, and its branches as the run receives them with `parts_folder` for the parts."""
    run._worker_init(None, 2026)
    scored = _rows(run._read_and_score(_job(path))[1])
    run._worker_init(None, 2026, parts_folder)
    return scored, pickle.loads(ForkingPickler.dumps(run._worker_process(_job(path))))[1]


def test_worker_writes_the_township_s_rows_to_its_part_file__the_run_reads_back_the_rows_it_scored(tmp_path):
    (path,) = _inputs(tmp_path, 1)
    scored, branches = _scored_then_sent(path, tmp_path / "work")
    parts.forget_parts()

    # The worker's one part file, under a name the run gives it
    assert sorted(p.name for p in (tmp_path / "work").glob("*.part")) == [f"rows-{os.getpid()}.part"]
    assert all(isinstance(b.cadres, parts.RowsInPart) and isinstance(b.rows, parts.SheetsInPart) for b in branches)
    assert [len(b.cadres) for b in branches] == [sum(r[0] == "村干部" for r in rows) for rows in scored]
    assert not any(parts._READ)  # the receipts' counts of cadres read no part file
    names = [list(b.cadres.values_of("name")) for b in branches]
    # The finance 核对 reads the cadres' names, not their rows; the payments read the cadres, not the other rows.
    assert [bool(read) for read in parts._READ] == [True, False, False]
    cadres = [list(b.cadres) for b in branches]
    assert [bool(read) for read in parts._READ] == [True, True, False]
    assert _rows(branches) == scored
    first = branches[0]
    assert first.cadres[0] == list(first.cadres)[0] and first.rows.get("scores") == list(first.rows["scores"])
    assert names == [[r.values.get("name") for r in rows] for rows in cadres]
    assert [list(b.cadres.values_of("role")) for b in branches] == [
        [r.values.get("role") for r in b.cadres] for b in branches]
    assert any(name for b in branches for name in b.cadres.values_of("name"))
    assert first.rows.get("no such sheet", []) == []


def test_a_worker_adds_each_township_to_its_one_part_file__each_branch_reads_its_own_township_s_rows(tmp_path):
    # A file per township was a new file on the disk each (run._input_copy says what that cost): one per worker.
    paths = _inputs(tmp_path, 3)
    scored = []
    for path in paths:
        run._worker_init(None, 2026)
        scored.append(_rows(run._read_and_score(_job(path))[1]))
    run._worker_init(None, 2026, tmp_path / "work")
    sent = [pickle.loads(ForkingPickler.dumps(run._worker_process(_job(path))))[1] for path in paths]
    parts.forget_parts()

    assert len(list((tmp_path / "work").glob("*.part"))) == 1
    assert [_rows(branches) for branches in reversed(sent)] == list(reversed(scored))  # read in any order
    assert len({b.cadres._where for branches in sent for b in branches}) == 3  # a place in it for each township


def test_where_a_branch_s_own_figures_are__known_without_reading_its_part_file(tmp_path):
    # pay cites the 支部信息 cell of a figure it cannot pay from (PAY_001/PAY_003): the place is kept with the result.
    (path,) = _inputs(tmp_path, 1)
    run._worker_init(None, 2026)
    kept = run._read_and_score(_job(path))[1]
    _, branches = _scored_then_sent(path, tmp_path / "work")
    parts.forget_parts()

    places = [home_place(b.rows) for b in branches]
    assert not any(parts._READ)
    assert places == [home_place(b.rows) for b in kept]  # as the rows themselves say
    assert all(p is not None and p[0] == "支部信息" and "collective_income" in p[2] for p in places)
    assert [p[1] for p in places] == [b.rows["branches"][0].row for b in branches]
    assert len({id(p[2]) for p in places}) == 1  # the township's one column map, not a copy per branch (memory)


def test_rows_in_a_part_file__the_result_sent_to_the_run_takes_a_fraction_of_the_memory(tmp_path):
    (path,) = _inputs(tmp_path, 1)
    run._worker_init(None, 2026)
    rows_sent = ForkingPickler.dumps(run._worker_process(_job(path)))
    run._worker_init(None, 2026, tmp_path / "work")
    rows_in_part = ForkingPickler.dumps(run._worker_process(_job(path)))

    # The rows were a third of a sample township's result (measured 0.68 without them; the benchmark's 0.63).
    assert unpickled_bytes(rows_in_part) < 0.8 * unpickled_bytes(rows_sent)


def test_part_file_cannot_be_written__the_rows_travel_with_the_result_as_before(tmp_path):
    (path,) = _inputs(tmp_path, 1)
    scored, branches = _scored_then_sent(path, tmp_path / "no such folder")

    assert all(isinstance(b.cadres, PackedRecords) for b in branches)
    assert _rows(branches) == scored


def test_part_file_written_again_at_the_same_path__each_branch_reads_its_own_township_s_rows(tmp_path):
    # Runs into the same folder use the same staging folder and input names: rows kept read from an earlier run's
    # part file must never be given to this run's branches.
    first, second = _inputs(tmp_path, 2)
    run._worker_init(None, 2026)
    second_scored = _rows(run._read_and_score(_job(second))[1])
    run._worker_init(None, 2026, tmp_path / "work")
    earlier = run._worker_process(_job(first))[1]
    _rows(earlier)  # read: kept
    [list(b.cadres.values_of("name")) for b in earlier]  # the names too
    shutil.copyfile(second, first)  # the next run's first input is another township

    later = run._worker_process(_job(first))[1]

    assert [list(b.cadres.values_of("name")) for b in later] == [
        [dict(r[2]).get("name") for r in rows if r[0] == "村干部"] for rows in second_scored]
    assert _rows(later) == second_scored
    assert {b.township for b in later} != {b.township for b in earlier}
