"""The run's workers read with Python's collector off, yet what a file leaves in its worker does not pile up."""
from __future__ import annotations

import gc
import shutil

import processor.run as run
from processor.intake import scan_inbox
from processor.paths import SAMPLES_DIR
from processor.settings import RunConfig

_CYCLE_MB = 16


def _resident_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS:"))


def test_files_leaving_cyclic_garbage__each_worker_s_memory_stays_flat__collector_back_on_in_the_run(tmp_path,
                                                                                                  monkeypatch):
    # A reader that leaves a reference cycle holding 16 MB for every file: with the collector never running in the
    # worker (it is forked with it off), 24 files would grow it by ~380 MB. Each file's worker reports its memory as
    # it starts on the file, in the file's problems' place (the fork inherits this patched reader).
    source = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[0]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(24):
        shutil.copy(source, inbox / f"{n:02d}.xlsx")
    read_and_score = run._read_and_score

    def leaves_a_cycle(job):
        started_at = _resident_mb()
        sub, branches, carried = read_and_score(job)
        cycle: list = [bytearray(_CYCLE_MB << 20)]
        cycle.append(cycle)  # unreachable once this returns; only the collector can free it
        sub.meta["worker_mb"] = started_at
        return sub, branches, carried

    monkeypatch.setattr(run, "_read_and_score", leaves_a_cycle)
    config = RunConfig(inbox=inbox, out=tmp_path / "out", rulebook=None, period=2026, workers=1, progress=False)
    (tmp_path / "work").mkdir()
    assert gc.isenabled()

    accounted = run._validate_all(config, None, scan_inbox(inbox).inputs, tmp_path / "work")

    assert [a.sub.accepted for a in accounted] == [True] * 24
    seen = [a.sub.meta["worker_mb"] for a in accounted]
    assert max(seen) - min(seen) < 4 * _CYCLE_MB  # not 23 × 16 MB: each file's cycle went before the next
    assert gc.isenabled()  # the run's own collector is on again once the files are taken in
