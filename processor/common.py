"""Small facts and helpers every stage shares: China time, atomic writes, zips, output file names."""
from __future__ import annotations

import datetime as dt
import errno
import gc
import mmap
import os
import shutil
import tempfile
import threading
import traceback
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))  # Beijing time, no daylight saving


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def shown_date(date: dt.datetime | None) -> str:
    """A message or file date as a clerk reads it: Beijing time, to the minute."""
    return date.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if date else "无日期"


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> Path:
    """Write beside the target, fsync, then rename over it: a reader sees the old file or the new, whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class DirectOutput:
    """A large output written past the page cache (O_DIRECT) in aligned blocks, where the file system allows it.

    A province's results.json is ~570 MB. Written through the page cache, each of its ~140,000 pages is a page of
    memory the kernel takes for it; on a virtual machine that hands its free memory back to the host, a page not
    used lately costs the host a fault to give again: 2.0–2.9 processor-seconds for 570 MB measured here (0.1–0.5 s
    when the pages were just freed), against 0.01 s of processor and 0.23–0.26 s of the disk's time written direct.
    The disk's time is spent by a thread while the next chunk is filled (two buffers, one write at a time).
    The bytes are the same either way. Where O_DIRECT is refused (at open, or at the first write) the file is
    written as any other. Use as a context manager; `write` takes bytes."""

    BLOCK = 4096  # O_DIRECT's alignment of memory, file offset and length on the file systems it runs on
    CHUNK = 8 << 20

    def __init__(self, path: Path, chunk: int = CHUNK) -> None:
        """CHUNK: the bytes each of the two buffers holds (a multiple of BLOCK); each is memory of the process."""
        self._path = path
        self._chunk = chunk
        self._buffers = [mmap.mmap(-1, chunk), mmap.mmap(-1, chunk)]  # page-aligned, as O_DIRECT asks
        self._current = 0
        self._filled = 0
        self._written = 0
        self._fd = self._open(direct=hasattr(os, "O_DIRECT"))
        self._direct_checked = False
        self._writing: threading.Thread | None = None
        self._failed: BaseException | None = None

    def _open(self, direct: bool) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        if direct:
            try:
                self._direct = True
                return os.open(self._path, flags | os.O_DIRECT, 0o644)
            except OSError:
                pass
        self._direct = False
        return os.open(self._path, flags, 0o644)

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            buffer = self._buffers[self._current]
            piece = view[:self._chunk - self._filled]
            buffer[self._filled:self._filled + len(piece)] = piece
            self._filled += len(piece)
            view = view[len(piece):]
            if self._filled == self._chunk:
                self._hand_over(self._chunk)
        return len(data)

    def _hand_over(self, length: int) -> None:
        """The current buffer's first `length` bytes written by a thread, while the other buffer fills."""
        self._wait()
        self._writing = threading.Thread(target=self._write_out, args=(self._buffers[self._current], length),
                                         name="direct-output", daemon=True)
        self._writing.start()
        self._current ^= 1
        self._filled = 0

    def _wait(self) -> None:
        if self._writing is not None:
            self._writing.join()
            self._writing = None
        if self._failed is not None:
            raise self._failed

    def _write_out(self, buffer: mmap.mmap, length: int) -> None:
        try:
            self._write_all(buffer, length)
        except BaseException as error:  # raised again by the writing thread's next _wait
            traceback.clear_frames(error.__traceback__)  # its frames would hold views of the buffer, kept from closing
            self._failed = error

    def _write_all(self, buffer: mmap.mmap, length: int) -> None:
        chunk = memoryview(buffer)[:length]
        try:
            try:
                self._write_fully(chunk)
            except OSError as error:
                # A file system that opened the file direct and refuses the write: written as any other, from the
                # start (only the first chunk can have been tried: later ones follow one that succeeded).
                if not (self._direct and not self._direct_checked and error.errno == errno.EINVAL):
                    raise
                os.close(self._fd)
                self._fd = self._open(direct=False)
                self._write_fully(chunk)
        finally:
            chunk.release()
        self._direct_checked = True
        self._written += length

    def _write_fully(self, chunk: memoryview) -> None:
        done = 0
        while done < len(chunk):
            done += os.write(self._fd, chunk[done:])

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self._wait()
            size = self._written + self._filled
            if self._filled:
                buffer, length = self._buffers[self._current], self._filled
                if self._direct:
                    length = -(-self._filled // self.BLOCK) * self.BLOCK  # the last block whole, cut back below
                    buffer[self._filled:length] = bytes(length - self._filled)
                self._write_all(buffer, length)
            os.ftruncate(self._fd, size)
        finally:
            os.close(self._fd)
            self._fd = -1
            for buffer in self._buffers:
                buffer.close()

    def __enter__(self) -> DirectOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Every zip starbatch writes (workbooks, notices) is deflated at level 1, not zlib's default 6: three times as
# fast, for files 25–40 % larger (the finance workbook of 100 townships 3.2 MB instead of 2.5, a township's
# notice 54 KB instead of 37), which no reader of a printed or mailed output notices.
ZIP_LEVEL = 1


class FastZip(zipfile.ZipFile):
    """A ZipFile that deflates every entry at ZIP_LEVEL, also those given as a ZipInfo (which zipfile would
    deflate at the default level whatever the archive's own level)."""

    def __init__(self, file: Any, mode: Any = "r", compression: int = zipfile.ZIP_DEFLATED, allowZip64: bool = True,
                 compresslevel: int | None = ZIP_LEVEL, **kwargs: Any) -> None:
        super().__init__(file, mode, compression, allowZip64, compresslevel, **kwargs)

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        super().writestr(zinfo_or_arcname, data, compress_type,
                         self.compresslevel if compresslevel is None else compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        """zipfile's, but for a part whose rows were deflated while they were written (`DeflatedRows.spliced`)."""
        splice = _SPLICES.pop(str(filename), None)
        if splice is None:
            super().write(filename, arcname, compress_type, compresslevel)
        else:
            self._write_spliced(Path(filename), arcname, *splice)

    def _write_spliced(self, path: Path, arcname: Any, at: int, rows: DeflatedRows) -> None:
        """The part at `path` with `rows` put in at byte `at`: its head and its tail each deflated on their own, the
        rows as they were deflated, one after another — three pieces of one deflate stream, each but the last ended
        on a byte with a sync flush (as pigz joins what it deflated in parallel). Its CRC is the head's, the rows'
        and the tail's, combined (`crc32_combine`)."""
        entry = zipfile.ZipInfo.from_file(path, arcname, strict_timestamps=self._strict_timestamps)  # type: ignore[attr-defined]
        part = path.read_bytes()  # the sheet without its rows: its columns, merges, print setup (kilobytes)
        head, tail = part[:at], part[at:]
        head_packer = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
        tail_packer = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
        deflated_head = head_packer.compress(head) + head_packer.flush(zlib.Z_SYNC_FLUSH)
        deflated_tail = tail_packer.compress(tail) + tail_packer.flush()
        entry.compress_type, entry._compresslevel = zipfile.ZIP_DEFLATED, self.compresslevel  # type: ignore[attr-defined]
        entry.file_size = len(head) + rows.size + len(tail)
        entry.compress_size = len(deflated_head) + rows.deflated_size + len(deflated_tail)
        entry.CRC = zlib.crc32(tail, crc32_combine(zlib.crc32(head), rows.crc, rows.size))
        entry.flag_bits = 0

        def body(fp: Any) -> None:
            fp.write(deflated_head)
            rows.copy_to(fp)
            fp.write(deflated_tail)

        self._append(entry, entry.file_size > zipfile.ZIP64_LIMIT or entry.compress_size > zipfile.ZIP64_LIMIT, body)

    def write_deflated(self, entry: zipfile.ZipInfo, part: DeflatedPart) -> None:
        """writestr(entry, part.blob) with the deflating done once before (a part many archives share): the
        same bytes in the archive. zipfile (Python 3.11) writes a header, the data, then the header again with
        the CRC and sizes; this writes that final header and the data."""
        if part.size * 1.05 > zipfile.ZIP64_LIMIT or self._writing or not self._seekable:  # type: ignore[attr-defined]
            self.writestr(entry, part.blob)
            return
        entry.compress_type, entry._compresslevel = zipfile.ZIP_DEFLATED, self.compresslevel  # type: ignore[attr-defined]
        entry.file_size, entry.compress_size, entry.CRC, entry.flag_bits = part.size, len(part.deflated), part.crc, 0
        if not entry.external_attr:
            entry.external_attr = 0o600 << 16
        self._append(entry, False, lambda fp: fp.write(part.deflated))

    def _append(self, entry: zipfile.ZipInfo, zip64: bool, body: Callable[[Any], object]) -> None:
        """`entry`, its CRC and sizes already known, written at the end of the archive: its header, then `body(fp)`
        writes its deflated data."""
        self.fp.seek(self.start_dir)  # type: ignore[union-attr]
        entry.header_offset = self.fp.tell()  # type: ignore[union-attr]
        self._writecheck(entry)  # type: ignore[attr-defined]
        self._didModify = True
        self.fp.write(entry.FileHeader(zip64))  # type: ignore[union-attr]
        body(self.fp)
        self.start_dir = self.fp.tell()  # type: ignore[union-attr]
        self.filelist.append(entry)
        self.NameToInfo[entry.filename] = entry


class DeflatedPart:
    """A part's bytes, deflated once as FastZip deflates them (raw deflate at ZIP_LEVEL, one call and a flush)."""

    __slots__ = ("blob", "size", "crc", "deflated")

    def __init__(self, blob: bytes) -> None:
        packer = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
        self.blob, self.size, self.crc = blob, len(blob), zlib.crc32(blob)
        self.deflated = packer.compress(blob) + packer.flush()


class DeflatedRows:
    """A big sheet's rows as XlsxWriter streams them (its constant_memory mode), deflated as they come rather than
    kept as text in a temporary file: XlsxWriter then copied that file into the sheet's part, another temporary
    file, which the zip read back and deflated — each byte of a province's ~1 GB of rows written twice and read
    twice, at this host's ~1 µs a page for the kernel's copies. Deflated, a tenth of it is written and read once.

    `write` takes the text XlsxWriter writes; `spliced(part, at)` ends the stream on a byte (a sync flush) and names
    the sheet's part file and the byte at which the rows belong in it, for FastZip to put them there. Text mode's
    reading back would have turned a raw carriage return into a line feed; none reaches here (XlsxWriter and
    write_rows write it as _x000D_), and the bytes are the text as UTF-8, exactly."""

    CHUNK = 1 << 20  # characters gathered before they are encoded and deflated: few calls, little memory

    def __init__(self, directory: str | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 — read back when the zip is written
        self._packer = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
        self._texts: list[str] = []
        self._gathered = 0
        self.size = 0  # bytes of text so far
        self.crc = 0
        self.deflated_size = 0

    def write(self, text: str) -> int:
        self._texts.append(text)
        self._gathered += len(text)
        if self._gathered >= self.CHUNK:
            self._deflate()
        return len(text)

    def _deflate(self) -> None:
        data = "".join(self._texts).encode("utf-8")
        self._texts.clear()
        self._gathered = 0
        self.size += len(data)
        self.crc = zlib.crc32(data, self.crc)
        self._out(self._packer.compress(data))

    def _out(self, deflated: bytes) -> None:
        self._file.write(deflated)
        self.deflated_size += len(deflated)

    def spliced(self, part: str, at: int) -> None:
        self._deflate()
        self._out(self._packer.flush(zlib.Z_SYNC_FLUSH))
        _SPLICES[part] = (at, self)

    def copy_to(self, out: Any) -> None:
        self._file.seek(0)
        shutil.copyfileobj(self._file, out, 1 << 20)
        self._file.close()

    def discard(self) -> None:
        self._file.close()


_SPLICES: dict[str, tuple[int, DeflatedRows]] = {}  # a sheet's part file → where its deflated rows go in it


def forget_splices(parts: Sequence[str]) -> None:
    """The rows of parts a workbook named and never zipped (it failed on the way): their files closed."""
    for part in parts:
        splice = _SPLICES.pop(part, None)
        if splice is not None:
            splice[1].discard()


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from crc32(A), crc32(B) and len(B), as zlib's crc32_combine works it out (Python's zlib
    does not offer it): crc1 is advanced over len(B) zero bytes by squaring the one-zero-bit operator in GF(2)."""
    if length2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # eight zero bits (one byte), then 2, 4 … bytes
        if length2 & 1:
            crc1 = _gf2_times(even, crc1)
        length2 >>= 1
        if not length2:
            break
        odd = _gf2_square(even)
        if length2 & 1:
            crc1 = _gf2_times(odd, crc1)
        length2 >>= 1
        if not length2:
            break
    return crc1 ^ crc2


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a stage makes millions of objects and no reference cycle
    (a big workbook's rows, a province's payment lines): each of the collector's passes would walk everything
    made since the run last froze what it keeps (run.keep), again and again (a third of the time of a
    province's finance workbook; a quarter of working out its payments). Whatever cycles there are are
    collected after, as usual."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def finance_workbook_name(rulebook_id: str, period: int) -> str:
    return f"财务发放表_{rulebook_id}_{period}.xlsx"


def consolidated_workbook_name(rulebook_id: str, period: int) -> str:
    return f"评定结果汇总_{rulebook_id}_{period}.xlsx"


Item = TypeVar("Item")
Made = TypeVar("Made")


class MadeWhenRead(Sequence[Made], Generic[Item, Made]):
    """`make(item)` for each of `items`, made when it is read and not kept: a long list of records written one at a
    time (the staged ledger record's branch rows, the carried records) is never all in memory."""

    def __init__(self, items: Sequence[Item], make: Callable[[Item], Made]) -> None:
        self._items, self._make = items, make

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Made: ...

    @overload
    def __getitem__(self, index: slice) -> list[Made]: ...

    def __getitem__(self, index: int | slice) -> Made | list[Made]:
        if isinstance(index, slice):
            return [self._make(item) for item in self._items[index]]
        return self._make(self._items[index])

    def __iter__(self) -> Iterator[Made]:
        return map(self._make, self._items)
