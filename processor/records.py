"""The records every stage shares: a submission's rows, and a branch's scored result.

They live below every stage so that each stage imports only downward: validate makes Records and
Submissions, score makes BranchResults from them, county and pay read both, the writers show them.

Compiled with mypyc (setup.py): a township's workbook makes ~2,000 of these objects. Record, Reason, UnitResult and
BranchResult write out their own __init__, and they and Change their own __reduce__ (by_position), because mypyc
leaves @dataclass's generated __init__ interpreted and compiles a class with any other decorator as a plain Python
class; written out, a workbook's reading, scoring and payments take 101.0 → 95.7 million instructions (callgrind,
bench/data/400x50). RecordList and SheetRows may be subclassed by interpreted classes (parts.py): mypyc_attr.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any, overload

from mypy_extensions import mypyc_attr

from .problems import Problem, has_errors
from .rulebook import Rulebook
from .sharing import decimal_of, packed_texts, shared_text, unpacked_texts

ZERO = Decimal(0)
HUNDRED = Decimal(100)
HUNDREDTH = Decimal("0.01")  # shares and vote shares are shown to two places


_POSITIONS: dict[type, attrgetter[Any]] = {}


def by_position(obj: Any) -> tuple[type, tuple[Any, ...]]:
    """A dataclass pickled as its class and its field values in order, rebuilt by calling the class (its __reduce__).

    A worker sends every branch's result to the run (a province: 100,000 branches, each with its units,
    reasons and rows); the default pickling of a slotted class writes a {slot name: value} dict for each
    object. By position a township's result is a fifth smaller and a third faster to pickle and unpickle.
    A method of each class rather than a class decorator: mypyc compiles a class with a decorator of its own as
    a plain Python class, whose every attribute the compiled stages then look up by name.
    """
    cls = type(obj)
    values_of = _POSITIONS.get(cls)
    if values_of is None:
        names = tuple(f.name for f in fields(cls))
        if len(names) < 2:
            raise TypeError(f"{cls.__name__}: attrgetter of one field gives its value, not a tuple")
        values_of = _POSITIONS[cls] = attrgetter(*names)  # a tuple of them, gathered in C
    return cls, values_of(obj)


def decimal_by_text(value: Decimal) -> tuple[Any, tuple[str]]:
    """The pickling of a Decimal between processes (multiprocessing's ForkingPickler.register)."""
    return decimal_of, (str(value),)


# The pickling of a reason and a unit between processes (multiprocessing's ForkingPickler.register, as a Decimal's):
# their cited cells cross as one text (sharing.packed_texts), and each arrives as the run's one copy of its cells
# and of a reason's wording, shared as it is unpickled rather than looked over afterwards.

def reason_across(reason: Reason) -> tuple[Any, tuple[str, str, str, str | tuple[str, ...]]]:
    return reason_arrived, (reason.text, reason.rule, reason.source, packed_texts(reason.cells))


def reason_arrived(text: str, rule: str, source: str, cells: str | tuple[str, ...]) -> Reason:
    return Reason(shared_text(text), rule, source, unpacked_texts(cells))


def unit_across(u: UnitResult) -> tuple[Any, tuple[Any, ...]]:
    return unit_arrived, (u.id, u.name, u.base, u.bonus, u.deduction, u.max, u.vote_share, u.earned,
                          packed_texts(u.vetoes), u.used_review, u.used_self, packed_texts(u.cells))


def unit_arrived(id: str, name: str, base: Decimal, bonus: Decimal, deduction: Decimal, max: Decimal,
                 vote_share: Decimal | None, earned: bool | None, vetoes: str | tuple[str, ...], used_review: int,
                 used_self: int, cells: str | tuple[str, ...]) -> UnitResult:
    return UnitResult(id, name, base, bonus, deduction, max, vote_share, earned, unpacked_texts(vetoes), used_review,
                      used_self, unpacked_texts(cells))


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str
    after: str

    def __reduce__(self) -> tuple[type[Change], tuple[Any, ...]]:
        return by_position(self)  # compiled, a frozen class's default unpickling assigns its fields and is refused


@dataclass(slots=True, init=False)
class Record:
    sheet: str
    row: int  # the row number the user sees (1-based)
    values: dict[str, Any]
    columns: dict[str, str]  # field id -> column letters, shared by every record of the sheet
    formulas: frozenset[str] = frozenset()  # fields whose cell held a formula (value not trusted)

    def __init__(self, sheet: str, row: int, values: dict[str, Any], columns: dict[str, str],
                 formulas: frozenset[str] = frozenset()) -> None:
        self.sheet, self.row, self.values, self.columns, self.formulas = sheet, row, values, columns, formulas

    def __reduce__(self) -> tuple[type[Record], tuple[Any, ...]]:
        return by_position(self)

    @property
    def cells(self) -> dict[str, str]:
        return {fid: f"{letters}{self.row}" for fid, letters in self.columns.items()}

    def cell(self, field_id: str) -> str:
        letters = self.columns.get(field_id) or next(iter(self.columns.values()), "A")
        return f"{letters}{self.row}"


# --- A branch's input rows, kept compact in the run -------------------------------------------------------
# The run keeps every branch's own rows (支部信息, 评分, 村干部, 加扣分事项…) for the county panel's rescoring and
# the payments: as Records, a 评分 row is a 2.3 KB dict and a province's rows ~6 KB a branch, 600 MB at 100,000
# branches. Packed, a row is one tuple: a layout — its sheet, field ids and column letters — that the rows with
# the same fields share, its row number, formula flags and values (a wide row with blanks: every column, its
# blanks marked); it is a Record again each time it is read (~1 µs a row).


_BLANK = ...  # a field a sparse row does not have (left blank); no cell's value is ever Ellipsis
_SPARSE_FROM = 16  # columns from which a row that leaves some blank is packed sparse (Packer._sparse)


class _Layout:
    """The field ids a row has, in its order, and its sheet's column letters (Record.columns). A sparse layout has
    every column, and its rows mark the fields they do not have with _BLANK."""
    __slots__ = ("sheet", "keys", "columns", "sparse")

    def __init__(self, sheet: str, keys: tuple[str, ...], columns: dict[str, str], sparse: bool = False) -> None:
        self.sheet, self.keys, self.columns, self.sparse = sheet, keys, columns, sparse

    def __reduce__(self) -> tuple[type[_Layout], tuple[str, tuple[str, ...], dict[str, str], bool]]:
        return _Layout, (self.sheet, self.keys, self.columns, self.sparse)


PackedRow = tuple[Any, ...]  # (layout, row, formulas, *values): one tuple a row


class Packer:
    """Packs the rows of one submission: its rows with the same sheet, columns and fields share one layout."""

    def __init__(self) -> None:
        self._layouts: dict[tuple[str, int, tuple[str, ...]], _Layout] = {}
        self._full: dict[tuple[str, int], tuple[_Layout, dict[str, int]]] = {}
        self._columns: list[dict[str, str]] = []  # kept so that an id above is not reused while packing

    def row(self, record: Record) -> PackedRow:
        values, columns = record.values, record.columns
        keys = tuple(values)
        layout = self._layouts.get((record.sheet, id(columns), keys))
        if layout is None:
            sparse = self._sparse(record, keys)
            if sparse is not None:
                return sparse
            self._columns.append(columns)
            layout = self._layouts[(record.sheet, id(columns), keys)] = _Layout(record.sheet, keys, columns)
        return (layout, record.row, record.formulas, *values.values())

    def _sparse(self, record: Record, keys: tuple[str, ...]) -> PackedRow | None:
        """A wide row with some of its sheet's columns blank, its fields in column order, packed against a layout of
        every column: a 评分 row's blanks differ from branch to branch, and a layout of its own would cost as much
        as its values (~400 bytes)."""
        columns = record.columns
        if len(columns) < _SPARSE_FROM or len(keys) >= len(columns):
            return None
        full = self._full.get((record.sheet, id(columns)))
        if full is None:
            self._columns.append(columns)
            full = self._full[(record.sheet, id(columns))] = (_Layout(record.sheet, tuple(columns), columns, True),
                                                               {k: i for i, k in enumerate(columns)})
        layout, position = full
        places = [position.get(k, -1) for k in keys]
        if -1 in places or places != sorted(places):  # a field of its own, or out of column order: as it is
            return None
        packed: list[Any] = [_BLANK] * len(layout.keys)
        for i, value in zip(places, record.values.values(), strict=True):
            packed[i] = value
        return (layout, record.row, record.formulas, *packed)

    def rows(self, records: Iterable[Record]) -> PackedRecords:
        return _packed_records(tuple([self.row(r) for r in records]))


def _unpacked(packed: PackedRow) -> Record:
    layout = packed[0]
    if layout.sparse:
        values = {k: v for k, v in zip(layout.keys, packed[3:], strict=True) if v is not _BLANK}
    else:
        values = dict(zip(layout.keys, packed[3:], strict=True))
    return Record(layout.sheet, packed[1], values, layout.columns, packed[2])


@mypyc_attr(allow_interpreted_subclasses=True)  # parts.RowsInPart
class RecordList(Sequence["Record"]):
    """Rows that stand for a list of Records (packed, or in a part file): equal to any sequence of the same
    Records, shown as a list, unhashable — as the list they replace."""
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))

    def values_of(self, field_id: str) -> Iterator[Any]:
        """Each row's value of one field (None where it has none), in order."""
        return (r.values.get(field_id) for r in self)


Place = tuple[str, int, dict[str, str]]  # a row's sheet, row number and column letters (Record.sheet, .row, .columns)


@mypyc_attr(allow_interpreted_subclasses=True)  # parts.SheetsInPart
class SheetRows(Mapping[str, Sequence[Record]]):
    """A branch's rows by sheet key that know where its 支部信息 row is without being read (parts.SheetsInPart)."""
    __slots__ = ()

    def home(self) -> Place | None:
        raise NotImplementedError


def home_place(rows: Mapping[str, Sequence[Record]]) -> Place | None:
    """Where the branch's 支部信息 row is (None when it has none): a problem about one of its figures cites the cell.
    Rows kept in a part file answer from what they kept; reading them loaded the township's rows for one row's place
    (the payments at 400 townships: 1.44–1.76 s with it, 1.08–1.22 s without)."""
    if isinstance(rows, SheetRows):
        return rows.home()
    first = next(iter(rows.get("branches", [])), None)
    return None if first is None else (first.sheet, first.row, first.columns)


class PackedRecords(RecordList):
    """A branch's rows of one sheet, packed (see above); reading one gives a new Record equal to the one packed."""
    __slots__ = ("_rows",)

    def __init__(self, records: Iterable[Record] = (), packed: tuple[PackedRow, ...] | None = None) -> None:
        self._rows: tuple[PackedRow, ...] = Packer().rows(records)._rows if packed is None else packed

    def __reduce__(self) -> tuple[Any, tuple[tuple[PackedRow, ...]]]:
        return _packed_records, (self._rows,)  # a function, pickled by name once (a bound method is pickled each time)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [_unpacked(p) for p in self._rows[index]]
        return _unpacked(self._rows[index])

    def __iter__(self) -> Iterator[Record]:
        return map(_unpacked, self._rows)

    def values_of(self, field_id: str) -> Iterator[Any]:
        """RecordList.values_of read from the packed rows, without making a Record of each (the finance 核对 sheet
        reads a province's 500,000 cadres' names)."""
        for packed in self._rows:
            keys = packed[0].keys
            value = packed[3 + keys.index(field_id)] if field_id in keys else None
            yield None if value is _BLANK else value


def values_of(rows: Sequence[Record], field_id: str) -> Iterator[Any]:
    """Each row's value of one field (None where it has none), in order: RecordList.values_of, which packed rows
    answer without making a Record of each, or read from each Record of a plain list."""
    if isinstance(rows, RecordList):
        return rows.values_of(field_id)
    return (r.values.get(field_id) for r in rows)


def _packed_records(rows: tuple[PackedRow, ...]) -> PackedRecords:
    return PackedRecords(packed=rows)


def packed_inputs(branches: Iterable[BranchResult]) -> None:
    """Each branch's rows packed, its layouts shared within the submission (a worker does this before sending)."""
    packer = Packer()
    for b in branches:
        b.event_rows, b.cadres = packer.rows(b.event_rows), packer.rows(b.cadres)
        b.rows = {key: packer.rows(records) for key, records in b.rows.items()}


@dataclass
class Submission:
    file: str
    path: Path
    rulebook: Rulebook | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    records: dict[str, list[Record]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    changes: list[tuple[str, str, Change]] = field(default_factory=list)  # (sheet, cell, change)
    sha256: str = ""
    unread_sheets: set[str] = field(default_factory=set)  # sheet keys missing or without a header row

    @property
    def accepted(self) -> bool:
        return self.rulebook is not None and not has_errors(self.problems)

    @property
    def rules(self) -> Rulebook:
        """The rulebook of a recognised submission (only asked for after the template id was read)."""
        if self.rulebook is None:
            raise ValueError(f"{self.file}: no rulebook was recognised")
        return self.rulebook

    @property
    def township(self) -> str:
        return str(self.meta.get("township") or "")

    @property
    def template(self) -> str:
        return str(self.meta.get("template_id") or "")


@dataclass(slots=True, init=False)
class Reason:
    text: str
    rule: str
    source: str
    cells: Sequence[str] = ()  # in the run: a tuple shared by equal ones (shared_texts)

    def __init__(self, text: str, rule: str, source: str, cells: Sequence[str] = ()) -> None:
        # The rule and seed line are the same few hundred texts for a province's millions of reasons: one copy
        # each (also for a reason rebuilt from a worker's result).
        self.text, self.rule, self.source, self.cells = text, sys.intern(rule), sys.intern(source), cells

    def __reduce__(self) -> tuple[type[Reason], tuple[Any, ...]]:
        return by_position(self)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "rule": self.rule, "source": self.source, "cells": list(self.cells)}

    def sentence(self) -> str:
        where = f"；数据：{'、'.join(self.cells)}" if self.cells else ""
        return f"{self.text}［{self.rule}；{self.source}{where}］"


@dataclass(slots=True, init=False)
class UnitResult:
    id: str
    name: str
    base: Decimal
    bonus: Decimal
    deduction: Decimal
    max: Decimal
    vote_share: Decimal | None
    earned: bool | None  # None: the unit is scored but not earned (bands, grades)
    vetoes: Sequence[str]  # in the run, like cells: a tuple shared by equal ones (shared_texts)
    used_review: int
    used_self: int
    cells: Sequence[str]

    def __init__(self, id: str, name: str, base: Decimal, bonus: Decimal, deduction: Decimal, max: Decimal,
                 vote_share: Decimal | None, earned: bool | None, vetoes: Sequence[str], used_review: int,
                 used_self: int, cells: Sequence[str]) -> None:
        self.id, self.name, self.base, self.bonus, self.deduction, self.max = id, name, base, bonus, deduction, max
        self.vote_share, self.earned, self.vetoes = vote_share, earned, vetoes
        self.used_review, self.used_self, self.cells = used_review, used_self, cells

    def __reduce__(self) -> tuple[type[UnitResult], tuple[Any, ...]]:
        return by_position(self)

    @property
    def total(self) -> Decimal:
        return self.base + self.bonus - self.deduction

    @property
    def share(self) -> Decimal:
        return self.total * HUNDRED / self.max if self.max else ZERO

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.id, "name": self.name, "base": str(self.base), "bonus": str(self.bonus),
                "deduction": str(self.deduction), "total": str(self.total), "max": str(self.max),
                "share": str(self.share.quantize(HUNDREDTH, ROUND_HALF_UP)),
                "vote_share": None if self.vote_share is None else str(self.vote_share.quantize(HUNDREDTH, ROUND_HALF_UP)),
                "earned": self.earned, "vetoes": list(self.vetoes),
                "score_source": {"乡镇评审": self.used_review, "自评": self.used_self}}


@dataclass(slots=True, init=False)
class BranchResult:
    file: str
    township: str
    branch_code: str
    name: str
    village: str
    branch_type: str
    units: list[UnitResult]
    score: Decimal
    rating: int
    rating_max: int
    grade: str | None = None
    qualified: bool | None = None
    lists: list[str] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    figures_cache: dict[str, Decimal | None] = field(default_factory=dict, repr=False)
    # These three are lists where a branch is scored, PackedRecords in the run (a worker packs them to send).
    event_rows: Sequence[Record] = field(default_factory=list, repr=False)
    cadres: Sequence[Record] = field(default_factory=list, repr=False)  # for pay: the branch's 村干部 rows
    # The branch's own rows by sheet key (branches, scores, vetoes, votes): the county panel's figures
    # rescore the branch from them (processor/procedure.py), and the review workbook shows them.
    rows: Mapping[str, Sequence[Record]] = field(default_factory=dict, repr=False)
    committee: str = ""  # the 基层党委 the branch belongs to, where grades are given within each (R5)
    extras: dict[str, Any] = field(default_factory=dict)  # members, meetings, secretary type (extras.py)

    def __init__(self, file: str, township: str, branch_code: str, name: str, village: str, branch_type: str,
                 units: list[UnitResult], score: Decimal, rating: int, rating_max: int, grade: str | None = None,
                 qualified: bool | None = None, lists: list[str] | None = None, reasons: list[Reason] | None = None,
                 facts: dict[str, Any] | None = None, figures_cache: dict[str, Decimal | None] | None = None,
                 event_rows: Sequence[Record] | None = None, cadres: Sequence[Record] | None = None,
                 rows: Mapping[str, Sequence[Record]] | None = None, committee: str = "",
                 extras: dict[str, Any] | None = None) -> None:
        self.file, self.township, self.branch_code, self.name, self.village = file, township, branch_code, name, village
        self.branch_type, self.units, self.score, self.rating, self.rating_max = branch_type, units, score, rating, rating_max
        self.grade, self.qualified, self.committee = grade, qualified, committee
        self.lists = [] if lists is None else lists
        self.reasons = [] if reasons is None else reasons
        self.facts = {} if facts is None else facts
        self.figures_cache = {} if figures_cache is None else figures_cache
        self.event_rows = [] if event_rows is None else event_rows
        self.cadres = [] if cadres is None else cadres
        self.rows = {} if rows is None else rows
        self.extras = {} if extras is None else extras

    def __reduce__(self) -> tuple[type[BranchResult], tuple[Any, ...]]:
        return by_position(self)

    @property
    def key(self) -> tuple[str, str]:
        return (self.township, self.branch_code)

    @property
    def score_source(self) -> str:
        review = sum(u.used_review for u in self.units)
        own = sum(u.used_self for u in self.units)
        if review and own:
            return f"乡镇评审分 {review} 项、自评分 {own} 项（无评审分时用自评分）"
        return "乡镇评审分" if review else "自评分"

    def to_dict(self, reasons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """`reasons`: the reasons as the caller writes them (results.json's, without repeated seed lines)."""
        return {"file": self.file, "township": self.township, "branch_code": self.branch_code, "name": self.name,
                "village": self.village, "branch_type": self.branch_type, "rating": self.rating,
                "rating_max": self.rating_max, "grade": self.grade, "qualified": self.qualified,
                "score": str(self.score), "score_source": self.score_source, "lists": self.lists,
                "reasons": [r.to_dict() for r in self.reasons] if reasons is None else reasons,
                "units": [u.to_dict() for u in self.units], **self.extras}


@dataclass
class CountyResult:
    branches: list[BranchResult]
    problems: list[Problem]
    notes: list[Reason]
    townships: dict[str, dict[str, Any]]
