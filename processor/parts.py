"""A township's branch rows kept in a part file while the run lasts, not in the run's memory.

The run keeps every branch's own rows (支部信息, 评分, 村干部, 加扣分事项…) for the county panel's rescoring, the
receipts' counts and the payments, but reads them a township at a time, a few times a run. Held by the run, packed
(records.PackedRecords), they were its largest part: ~3.5 KB a branch, 350 MB at a province's 100,000 branches, and
every writer forked after the payments started with them in its memory too. So a worker writes a township's packed
rows to a part file in the staging folder (beside the input it read) and sends only where they are; a branch reads
its rows from there when asked, and the run keeps the rows of the last few townships read (`_KEPT`). The files go
with the staging folder when the run ends.
"""
from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

from .records import BranchResult, Record, RecordList, shared_texts, values_of

_KEPT = 8  # townships whose rows stay read: the run reads them township by township (pay sorts by township)
_READ: OrderedDict[str, tuple[str, list[tuple[Any, Any, Any]]]] = OrderedDict()
# A part file holds two pickles: (stamp, each branch's cadres' names), then the rows. The finance 核对 sheet reads a
# province's 500,000 cadres' names (RowsInPart.values_of), and only those: the rows around them are ~10× the bytes.
_NAMES: OrderedDict[str, tuple[str, list[tuple[Any, ...]]]] = OrderedDict()

EVENTS, CADRES, SHEETS = 0, 1, 2  # a branch's entries in its part: (event_rows, cadres, rows by sheet key)


def rows_to_part(branches: list[BranchResult], path: Path) -> bool:
    """The branches' rows written to `path` and each branch left naming them there; False (the rows stay with the
    branches) when the file cannot be written — the run then holds them, as it did before part files."""
    stamp = os.urandom(8).hex()  # a part file written again at the same path (a later run) is never read for this
    parts = [(b.event_rows, b.cadres, dict(b.rows)) for b in branches]
    names = [tuple(values_of(b.cadres, "name")) for b in branches]
    try:
        with path.open("wb") as fh:
            pickle.dump((stamp, names), fh, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(parts, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        path.unlink(missing_ok=True)
        return False
    where = str(path)
    for i, b in enumerate(branches):
        b.event_rows = RowsInPart(where, stamp, i, EVENTS, len(b.event_rows))
        b.cadres = RowsInPart(where, stamp, i, CADRES, len(b.cadres))
        b.rows = SheetsInPart(where, stamp, i, shared_texts(b.rows))
    return True


def forget_parts() -> None:
    """Drop the rows kept read (a run's end: its part files are gone with its staging folder)."""
    _READ.clear()
    _NAMES.clear()


def _branch_rows(where: str, stamp: str, index: int) -> tuple[Any, Any, Any]:
    found = _READ.get(where)
    if found is None or found[0] != stamp:
        with open(where, "rb") as fh:
            _stamped(pickle.load(fh), where, stamp)
            found = (stamp, pickle.load(fh))
        _kept(_READ, where, found)
    else:
        _READ.move_to_end(where)
    return found[1][index]


def _cadre_names(where: str, stamp: str, index: int) -> tuple[Any, ...]:
    """A branch's cadres' names (None for a row without one), read without its rows."""
    found = _NAMES.get(where)
    if found is None or found[0] != stamp:
        with open(where, "rb") as fh:
            found = _stamped(pickle.load(fh), where, stamp)
        _kept(_NAMES, where, found)
    else:
        _NAMES.move_to_end(where)
    return found[1][index]


def _stamped(head: tuple[str, Any], where: str, stamp: str) -> tuple[str, Any]:
    if head[0] != stamp:
        raise RuntimeError(f"{where}: part file rewritten while the run read it")
    return head


def _kept(read: OrderedDict[str, Any], where: str, found: Any) -> None:
    read[where] = found
    if len(read) > _KEPT:
        read.popitem(last=False)


class RowsInPart(RecordList):
    """One of a branch's row lists (its 加扣分事项 or 村干部 rows), read from its township's part file when asked."""
    __slots__ = ("_where", "_stamp", "_index", "_which", "_length")

    def __init__(self, where: str, stamp: str, index: int, which: int, length: int) -> None:
        self._where, self._stamp, self._index, self._which, self._length = where, stamp, index, which, length

    def __reduce__(self) -> tuple[Any, tuple[str, str, int, int, int]]:
        return RowsInPart, (self._where, self._stamp, self._index, self._which, self._length)

    def _rows(self) -> Sequence[Record]:
        rows: Sequence[Record] = _branch_rows(self._where, self._stamp, self._index)[self._which]
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


class SheetsInPart(Mapping[str, Sequence[Record]]):
    """A branch's rows by sheet key (branches, scores, vetoes, votes), read from its township's part file when asked."""
    __slots__ = ("_where", "_stamp", "_index", "_keys")

    def __init__(self, where: str, stamp: str, index: int, keys: tuple[str, ...]) -> None:
        self._where, self._stamp, self._index, self._keys = where, stamp, index, keys  # keys: shared (shared_texts)

    def __reduce__(self) -> tuple[Any, tuple[str, str, int, tuple[str, ...]]]:
        return SheetsInPart, (self._where, self._stamp, self._index, self._keys)

    def __getitem__(self, key: str) -> Sequence[Record]:
        if key not in self._keys:
            raise KeyError(key)
        by_key: dict[str, Sequence[Record]] = _branch_rows(self._where, self._stamp, self._index)[SHEETS]
        return by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return repr(dict(self))
