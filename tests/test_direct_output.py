"""common.DirectOutput: results.json written past the page cache, in aligned blocks, the same bytes as a plain file.

A province's results.json is ~570 MB; on this kind of virtual machine writing it through the page cache cost 2–3
processor-seconds of the host giving memory back (README, Benchmark). What a reader of the file sees must not change."""
from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import pytest

from processor.common import DirectOutput

SIZES = [0, 1, 4095, 4096, 4097, DirectOutput.CHUNK - 1, DirectOutput.CHUNK, DirectOutput.CHUNK + 1,
         2 * DirectOutput.CHUNK + 12345]


def _pieces(size: int, seed: int) -> list[bytes]:
    """`size` bytes as records of uneven lengths, as results.json writes them (a line each)."""
    generator = random.Random(seed)
    data = generator.randbytes(size)
    pieces, at = [], 0
    while at < size:
        n = generator.choice([1, 7, 300, 5000, 70_000, 1 << 20])
        pieces.append(data[at:at + n])
        at += n
    return pieces


@pytest.mark.parametrize("size", SIZES)
def test_direct_output__the_bytes_written__whatever_their_length(tmp_path: Path, size: int) -> None:
    pieces = _pieces(size, size)
    assert _written(tmp_path / "results.json", pieces) == b"".join(pieces)


def test_direct_output__over_an_older_file__replaces_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(b"x" * (3 * DirectOutput.CHUNK))  # longer than what is written now
    with DirectOutput(path) as out:
        out.write(b'{"period": 2026}\n')
    assert path.read_bytes() == b'{"period": 2026}\n'


def test_direct_output__a_file_system_that_refuses_o_direct_at_open__a_plain_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tmpfs before Linux 6.6, some network file systems: open(O_DIRECT) fails with EINVAL.
    real_open = os.open
    refused = []

    def open_(path: os.PathLike[str] | str, flags: int, mode: int = 0o777) -> int:
        if flags & os.O_DIRECT:
            refused.append(path)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_)
    pieces = _pieces(DirectOutput.CHUNK + 4097, 3)
    assert _written(tmp_path / "results.json", pieces) == b"".join(pieces)
    assert refused


def test_direct_output__a_file_system_that_opens_direct_but_refuses_the_write__rewritten_plain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Some file systems accept O_DIRECT at open and refuse the first aligned write (EINVAL): the file is then written
    # as any other, from its start.
    real_write = os.write
    refused = []

    def write(fd: int, data: bytes) -> int:
        if os.O_DIRECT & _flags(fd) and not refused:
            refused.append(fd)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    if not _direct_allowed(tmp_path):
        pytest.skip("the test folder's file system refuses O_DIRECT")
    monkeypatch.setattr(os, "write", write)
    pieces = _pieces(DirectOutput.CHUNK + 100, 5)
    assert _written(tmp_path / "results.json", pieces) == b"".join(pieces)
    assert refused


def _written(path: Path, pieces: list[bytes]) -> bytes:
    """The file's bytes once `pieces` were written to it one after another, as results.json writes its records."""
    with DirectOutput(path) as out:
        for piece in pieces:
            out.write(piece)
    return path.read_bytes()


def _flags(fd: int) -> int:
    with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as info:
        return next(int(line.split()[1], 8) for line in info if line.startswith("flags:"))


def _direct_allowed(folder: Path) -> bool:
    try:
        fd = os.open(folder / ".direct-probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    except OSError:
        return False
    os.close(fd)
    (folder / ".direct-probe").unlink()
    return True


def test_direct_output__a_write_that_fails__raised_to_the_writer__not_a_short_file_left_as_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The disk's writes run in a thread while the next chunk fills: a full disk there still stops the writer.
    real_write = os.write
    calls = []

    def write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(OSError) as raised:
        _written(tmp_path / "results.json", _pieces(4 * DirectOutput.CHUNK, 9))
    assert raised.value.errno == errno.ENOSPC
