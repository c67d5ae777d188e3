"""A township's branch rows kept in a part file while the run lasts, not in the run's memory.

The run keeps every branch's own rows (支部信息, 评分, 村干部, 加扣分事项…) for the county panel's rescoring, the
receipts' counts and the payments, but reads them a township at a time, a few times a run. Held by the run, packed
(records.PackedRecords), they were its largest part: ~3.5 KB a branch, 350 MB at a province's 100,000 branches, and
every writer forked after the payments started with them in its memory too. So a worker writes a township's packed
rows to its part file in the staging folder (every township it reads, one after another) and sends only where they
are; a branch reads its rows from there when asked, and the run keeps the rows of the last few townships read
(`_KEPT`). The files go with the staging folder when the run ends.
"""
from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from .records import BranchResult, Place, Record, RecordList, SheetRows, home_place, values_of
from .sharing import shared_texts

Where = tuple[str, int]  # a township's rows: its part file and where in it they begin (one tuple for its branches)
_KEPT = 8  # townships whose rows stay read: the run reads them township by township (pay sorts by township)

# A township's rows in a part file are three sections, each read alone: its head — (stamp, each branch's cadres'
# names, the length of the next section) — then each branch's cadres, then each branch's (event rows, rows by sheet
# key). The finance 核对 sheet reads a province's 500,000 cadres' names and nothing else; the payments read the
# cadres (a third of the bytes) and, for a rare problem, a 支部信息 cell; the review rows and the county panel's
# rescoring read the rest.
HEAD, CADRE_ROWS, OTHER_ROWS = 0, 1, 2
_READ: tuple[OrderedDict[Where, tuple[str, Any]], ...] = (OrderedDict(), OrderedDict(), OrderedDict())

EVENTS, CADRES, SHEETS = 0, 1, 2  # which of a branch's rows: its event rows, its cadres, its rows by sheet key


def rows_to_part(branches: list[BranchResult], path: Path) -> bool:
    """The branches' rows added at the end of the part file `path` and each branch left naming them there; False
    (the rows stay with the branches) when they cannot be written — the run then holds them, as it did before part
    files. A worker adds every township it reads to its one part file (run._worker_process): a file per township
    was a new file on the disk each, which costs more than its bytes (run._input_copy)."""
    stamp = os.urandom(8).hex()  # a part file written again at the same path (a later run) is never read for this
    names = [tuple(values_of(b.cadres, "name")) for b in branches]
    cadres = pickle.dumps([b.cadres for b in branches], protocol=pickle.HIGHEST_PROTOCOL)
    others = pickle.dumps([(b.event_rows, dict(b.rows)) for b in branches], protocol=pickle.HIGHEST_PROTOCOL)
    head = pickle.dumps((stamp, names, len(cadres)), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        with path.open("ab") as fh:
            at = fh.seek(0, os.SEEK_END)
            try:
                fh.write(head + cadres + others)
                fh.flush()
            except OSError:
                fh.truncate(at)  # what it wrote of this township is not left for the next one's to follow
                raise
    except OSError:
        return False
    where = (str(path), at)
    homes: dict[tuple[int, int], tuple[str, dict[str, str]]] = {}  # one (sheet, columns) for the township's rows
    for i, b in enumerate(branches):
        place = home_place(b.rows)
        home = None if place is None else homes.setdefault((id(place[0]), id(place[2])), (place[0], place[2]))
        b.event_rows = RowsInPart(where, stamp, i, EVENTS, len(b.event_rows))
        b.cadres = RowsInPart(where, stamp, i, CADRES, len(b.cadres))
        b.rows = SheetsInPart(where, stamp, i, shared_texts(b.rows), home, place[1] if place is not None else 0)
    return True


def forget_parts() -> None:
    """Drop the rows kept read (a run's end: its part files are gone with its staging folder)."""
    for read in _READ:
        read.clear()


def _branch_rows(where: Where, stamp: str, index: int, which: int) -> Any:
    """One of a branch's row lists (EVENTS, CADRES) or its rows by sheet key (SHEETS)."""
    if which == CADRES:
        return _section(where, stamp, CADRE_ROWS)[index]
    events, sheets = _section(where, stamp, OTHER_ROWS)[index]
    return events if which == EVENTS else sheets


def _cadre_names(where: Where, stamp: str, index: int) -> tuple[Any, ...]:
    """A branch's cadres' names (None for a row without one), read without its rows."""
    names: tuple[Any, ...] = _section(where, stamp, HEAD)[index]
    return names


def _section(where: Where, stamp: str, section: int) -> Any:
    """A section of the part file (HEAD: each branch's cadres' names), read once while the last few are kept."""
    read = _READ[section]
    found = read.get(where)
    if found is not None and found[0] == stamp:
        read.move_to_end(where)
        return found[1]
    path, at = where
    with open(path, "rb") as fh:
        fh.seek(at)
        head = pickle.load(fh)
        if head[0] != stamp:
            raise RuntimeError(f"{path} at {at}: part file rewritten while the run read it")
        if section == HEAD:
            value: Any = head[1]
        else:
            if section == OTHER_ROWS:
                fh.seek(head[2], os.SEEK_CUR)
            value = pickle.load(fh)
    read[where] = (stamp, value)
    if len(read) > _KEPT:
        read.popitem(last=False)
    return value


class RowsInPart(RecordList):
    """One of a branch's row lists (its 加扣分事项 or 村干部 rows), read from its township's part file when asked."""
    __slots__ = ("_where", "_stamp", "_index", "_which", "_length")

    def __init__(self, where: Where, stamp: str, index: int, which: int, length: int) -> None:
        self._where, self._stamp, self._index, self._which, self._length = where, stamp, index, which, length

    def __reduce__(self) -> tuple[Any, tuple[Where, str, int, int, int]]:
        return RowsInPart, (self._where, self._stamp, self._index, self._which, self._length)

    def _rows(self) -> Sequence[Record]:
        rows: Sequence[Record] = _branch_rows(self._where, self._stamp, self._index, self._which)
        return rows

    def __len__(self) -> int:
        return self._length  # the receipts count a township's cadres without reading them

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | Sequence[Record]:
        return self._rows()[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self._rows()) if self._length else iter(())

    def values_of(self, field_id: str) -> Iterator[Any]:
        if not self._length:
            return iter(())
        if self._which == CADRES and field_id == "name":
            return iter(_cadre_names(self._where, self._stamp, self._index))
        return values_of(self._rows(), field_id)


class SheetsInPart(SheetRows):
    """A branch's rows by sheet key (branches, scores, vetoes, votes), read from its township's part file when asked;
    where its 支部信息 row is (`home`) is kept without them: the township's one (sheet, columns) and its row number."""
    __slots__ = ("_where", "_stamp", "_index", "_keys", "_sheet_columns", "_row")

    def __init__(self, where: Where, stamp: str, index: int, keys: tuple[str, ...],
                 sheet_columns: tuple[str, dict[str, str]] | None = None, row: int = 0) -> None:
        self._where, self._stamp, self._index, self._keys = where, stamp, index, keys  # keys: shared (shared_texts)
        self._sheet_columns, self._row = sheet_columns, row

    def __reduce__(self) -> tuple[Any, tuple[Where, str, int, tuple[str, ...], tuple[str, dict[str, str]] | None, int]]:
        return SheetsInPart, (self._where, self._stamp, self._index, self._keys, self._sheet_columns, self._row)

    def home(self) -> Place | None:
        if self._sheet_columns is None:
            return None
        sheet, columns = self._sheet_columns
        return sheet, self._row, columns

    def __getitem__(self, key: str) -> Sequence[Record]:
        if key not in self._keys:
            raise KeyError(key)
        by_key: dict[str, Sequence[Record]] = _branch_rows(self._where, self._stamp, self._index, SHEETS)
        return by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return repr(dict(self))
