"""Small facts and helpers every stage shares: China time, atomic writes, zips, output file names."""
from __future__ import annotations

import datetime as dt
import gc
import os
import tempfile
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
        self.fp.seek(self.start_dir)  # type: ignore[union-attr]
        entry.header_offset = self.fp.tell()  # type: ignore[union-attr]
        self._writecheck(entry)  # type: ignore[attr-defined]
        self._didModify = True
        self.fp.write(entry.FileHeader(False) + part.deflated)  # type: ignore[union-attr]
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
