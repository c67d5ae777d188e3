"""Validate one township workbook: clean records, or every problem at its cell, in one pass.

read (values) → find the template id → for each sheet of the rulebook: find it, find its header
row, map columns by header text, normalise every cell, check each row against the sheet's JSON
Schema → cross-sheet checks. Nothing here raises on bad data; all of it becomes Problems.
"""
from __future__ import annotations

import difflib
import hashlib
import unicodedata
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Final, Iterable

from .cells import a1, column_letters
from .crosscheck import cross_sheet_problems
from .limits import LIMITS
from .fastcheck import RowCheck
from .normalise import clean_text
from .problems import Problem, cap_problems, problem, sort_key
from .read import RawSheet, RawWorkbook, UnreadableSheet, open_workbook, shown_file_name
from .periods import parse_period
from .records import Change, Record, Submission
from .rulebook import Rulebook, shipped_rulebooks
from .sheets import INSTRUCTIONS_SHEET, Field, Sheet, sheets_for

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

META_LABELS = {"template_id": "模板编号", "template_version": "模板版本", "township": "填报乡镇", "period": "评定年度"}
HEADER_SEARCH_ROWS = 15


def validate_files(paths: Iterable[Path], rulebook: Rulebook | None = None) -> list[Submission]:
    return [validate_file(p, rulebook) for p in paths]


def validate_file(path: Path, rulebook: Rulebook | None = None, shown_name: str | None = None) -> Submission:
    """Everything wrong with one submission; its records when it can be used."""
    data = file_bytes(path)  # read once: its digest, the guard and the reader all use these bytes
    sub = Submission(file=shown_name or shown_file_name(path.name), path=path, sha256=content_digest(path, data))
    book, opened = open_workbook(path, sub.file, data)
    sub.problems += opened
    if book is None:
        return sub
    try:
        _validate_book(sub, book, rulebook)
    except UnreadableSheet as exc:
        sub.problems.append(problem("FILE_002", file=sub.file, sheet=exc.sheet, detail=exc.detail))
    finally:
        book.close()
    sub.problems.sort(key=sort_key)
    sub.problems = cap_problems(sub.problems, LIMITS.max_problems_per_code, LIMITS.max_problems_per_file)
    return sub


def file_bytes(path: Path) -> bytes | None:
    """The file's bytes; None when it is too large to read whole or cannot be read (the reader says which)."""
    try:
        return None if path.stat().st_size > LIMITS.max_file_bytes else path.read_bytes()
    except OSError:
        return None


def content_digest(path: Path, data: bytes | None) -> str:
    """sha256 of the file's bytes `data` (file_bytes); when there are none, of its name and size (too large: refused
    unread, FILE_007, a 4 GB file is never read whole) or of its name (unreadable): it is still accounted for."""
    if data is not None:
        return hashlib.sha256(data).hexdigest()
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    named = f"{path}\0{size}" if size > LIMITS.max_file_bytes else str(path)
    return hashlib.sha256(named.encode("utf-8", "replace")).hexdigest()


def _validate_book(sub: Submission, book: RawWorkbook, forced: Rulebook | None) -> None:
    if not _looks_like_a_template(book):
        sub.problems.append(problem("TPL_013", file=sub.file, value="、".join(book.sheet_names[:5])))
        return
    meta_sheet = _find_sheet(sub, book, INSTRUCTIONS_SHEET)
    if meta_sheet is None:
        return
    sub.meta = read_meta(book.sheet(meta_sheet))
    sub.rulebook = _choose_rulebook(sub, forced)
    if sub.rulebook is None:
        return
    _check_meta(sub)
    for sheet in sheets_for(sub.rulebook):
        name = _find_sheet(sub, book, sheet.name)
        records = _read_records(sub, book.sheet(name), sheet) if name is not None else None
        sub.records[sheet.key] = records or []
        if records is None:
            sub.unread_sheets.add(sheet.key)
    cross_check(sub)


def _looks_like_a_template(book: RawWorkbook) -> bool:
    """Some sheet of some template is here (renamed sheets get their own hints); a workbook with none of them is
    another document altogether: one message saying so, not a hint per missing sheet."""
    known = known_sheet_names()
    return any(_fold(name) in known for name in book.sheet_names)


@lru_cache(maxsize=1)
def known_sheet_names() -> frozenset[str]:
    """Every sheet name of every shipped template, folded (loaded once: a rulebook is parsed from YAML)."""
    return frozenset({_fold(s.name) for rb in shipped_rulebooks() for s in sheets_for(rb)} | {_fold(INSTRUCTIONS_SHEET)})



# --- template id and meta ------------------------------------------------------------------

def read_meta(raw: RawSheet, labels: dict[str, str] = META_LABELS) -> dict[str, Any]:
    """Values written right of the labels (模板编号 / 模板版本 / 填报乡镇 / 评定年度 unless told others)."""
    wanted = {label: key for key, label in labels.items()}
    meta: dict[str, Any] = {}
    for i, row in enumerate(raw.rows[:60]):
        for j, value in enumerate(row):
            label = clean_text(str(value)).rstrip(":：") if isinstance(value, str) else ""
            if label in wanted:
                found = next(((v, raw.address(i, k)) for k, v in enumerate(row[j + 1:], j + 1) if v not in ("", None)),
                             (None, raw.address(i, j + 1)))
                meta[wanted[label]] = _meta_value(found[0])
                meta[wanted[label] + "_cell"] = found[1]
    return meta


def _meta_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def shipped_by_template() -> dict[str, Rulebook]:
    return {rb.template_id: rb for rb in shipped_rulebooks()}


def _choose_rulebook(sub: Submission, forced: Rulebook | None) -> Rulebook | None:
    template_id = sub.meta.get("template_id")
    where = {"file": sub.file, "sheet": INSTRUCTIONS_SHEET, "cell": sub.meta.get("template_id_cell", "")}
    if not template_id:
        sub.problems.append(problem("TPL_001", **where))
        return None
    known = {forced.template_id: forced} if forced else shipped_by_template()
    rulebook = known.get(str(template_id))
    if rulebook is None:
        sub.problems.append(problem("TPL_002", value=template_id, field="模板编号", **where))
        return None
    version = str(sub.meta.get("template_version") or "")
    if version != rulebook.version:
        sub.problems.append(problem("TPL_003", file=sub.file, sheet=INSTRUCTIONS_SHEET, field="模板版本",
                                    cell=sub.meta.get("template_version_cell", ""), value=version,
                                    expected=rulebook.version))
        return None
    return rulebook


def _check_meta(sub: Submission) -> None:
    if not sub.meta.get("township"):
        sub.problems.append(problem("REF_011", file=sub.file, sheet=INSTRUCTIONS_SHEET, field="填报乡镇",
                                    cell=sub.meta.get("township_cell", "")))
    period = unicodedata.normalize("NFKC", str(sub.meta.get("period") or "")).strip()
    parsed = parse_period(period) or parse_period(period.removesuffix("度").removesuffix("年"))  # 2026年(度) too
    if parsed is None:
        sub.problems.append(problem("TPL_009", file=sub.file, sheet=INSTRUCTIONS_SHEET, field="评定年度",
                                    cell=sub.meta.get("period_cell", ""), value=period))
    else:  # the year stays an int (the nightly run's period); a half-year scheme's half travels beside it
        sub.meta["period"] = parsed.year
        if parsed.half is not None:
            sub.meta["half"] = parsed.half


def _find_sheet(sub: Submission, book: RawWorkbook, wanted: str) -> str | None:
    folded = {_fold(n): n for n in book.sheet_names}
    if _fold(wanted) in folded:
        return folded[_fold(wanted)]
    near = difflib.get_close_matches(wanted, book.sheet_names, n=1, cutoff=0.4)
    hint = f"文件中有“{near[0]}”，是否改了名？" if near else ""
    sub.problems.append(problem("TPL_004", file=sub.file, sheet=wanted, hint=hint))
    return None


def _fold(text: str) -> str:
    """Header and sheet names compare without spaces, width or a required-mark asterisk."""
    return _fold_text(str(text))


@lru_cache(maxsize=4096)
def _fold_text(text: str) -> str:
    # Cached: every workbook has the same headers and sheet names.
    return unicodedata.normalize("NFKC", clean_text(text)).replace(" ", "").lstrip("*").strip()


def read_sheet(sub: Submission, book: RawWorkbook, sheet: Sheet) -> list[Record] | None:
    """One sheet of any template (the county's review and complaint workbooks too): found by name, columns by
    header text, every cell normalised and checked against the sheet's schema. None when it cannot be read."""
    name = _find_sheet(sub, book, sheet.name)
    return _read_records(sub, book.sheet(name), sheet) if name is not None else None


# --- one sheet -----------------------------------------------------------------------------

def _read_records(sub: Submission, raw: RawSheet, sheet: Sheet) -> list[Record] | None:
    located = _locate_columns(sub, raw, sheet)
    if located is None:
        return None
    header_row, columns = located
    letters = {f.id: column_letters(raw.origin[1] + j) for j, f in columns.items()}
    read_row = _row_reader(sub, raw, sheet, columns, letters)
    records: list[Record] = []
    fine: list[bool] = []  # per record: passed the compiled schema check (else jsonschema says what is wrong)
    for i in range(header_row + 1, len(raw.rows)):
        if _is_total_row(raw.rows[i]):
            sub.problems.append(problem("VAL_015", file=sub.file, sheet=raw.name, cell=raw.address(i, 0),
                                        value=raw.origin[0] + i + 1))
            continue
        read = read_row(i)
        if read is not None:
            records.append(read[0])
            fine.append(read[1])
    sub.problems += hidden_data_problems(sub.file, raw, records, columns)
    money = [f for f in sheet.fields if f.kind == "money"]
    for record, ok in zip(records, fine, strict=True):
        if not ok:
            sub.problems += schema_problems(sub.file, sheet, record, sheet.validator)
        if money:
            sub.problems += _money_problems(sub.file, money, record)
    sub.problems += merged_cell_problems(sub, raw, header_row, columns)
    return records


TOTAL_WORDS = ("合计", "小计", "总计", "总合计", "共计")


def _is_total_row(row: list[Any]) -> bool:
    """A row a clerk added to sum the sheet (合计/小计/总计 in its first text cells)."""
    for cell in row[:4]:
        if isinstance(cell, str) and cell.strip():
            return _is_total_label(cell)
    return False


@lru_cache(maxsize=4096)
def _is_total_label(cell: str) -> bool:
    # Cached: the first text of every row is mostly a handful of township names and codes.
    text = unicodedata.normalize("NFKC", cell).replace(" ", "").rstrip(":：")
    return text.startswith(TOTAL_WORDS) and len(text) <= 6


def merged_cell_problems(sub: Submission, raw: RawSheet, header_row: int,
                         columns: dict[int, Field]) -> list[Problem]:
    """A merge over data rows keeps one value for many rows; say so at the merge, and drop the "must be filled"
    lines it caused on the cells it covers (they would send the clerk after the wrong fix)."""
    first_data_row = raw.origin[0] + header_row + 1  # 0-based sheet row of the first data row
    mapped = {raw.origin[1] + j for j in columns}
    found: list[Problem] = []
    covered: set[str] = set()
    for r1, c1, r2, c2 in raw.info.merges:
        if r2 < first_data_row or not any(c1 <= c <= c2 for c in mapped):
            continue
        ref = f"{a1(r1, c1)}:{a1(r2, c2)}"
        found.append(problem("VAL_016", file=sub.file, sheet=raw.name, cell=a1(r1, c1), value=ref))
        covered |= {a1(r, c) for r in range(r1, min(r2, r1 + 1000) + 1) for c in range(c1, c2 + 1)} - {a1(r1, c1)}
    if covered:
        sub.problems[:] = [p for p in sub.problems
                           if not (p.sheet == raw.name and p.code == "VAL_001" and p.cell in covered)]
    return found


def _canonical_code(value: str, raw: Any, change: Change | None) -> tuple[str, Change | None]:
    """A branch code matches whatever case or width it was typed in (cs-００1 is CS-001); the change is recorded."""
    canonical = unicodedata.normalize("NFKC", value).strip().upper()
    if canonical == value:
        return value, change
    return canonical, Change("branch_code", str(raw), canonical)


def hidden_data_problems(file: str, raw: RawSheet, records: list[Record], columns: dict[int, Field]) -> list[Problem]:
    """Data the clerk cannot see is still read and counted: say so at its cells (warnings, so a file whose rows
    were hidden by a filter is not refused, yet every hidden figure is on the receipt)."""
    info = raw.info
    found: list[Problem] = []
    if info.hidden and records:
        found.append(problem("TPL_012", file=file, sheet=raw.name, value=len(records)))
    for record in records:
        if record.row in info.hidden_rows:
            found.append(problem("VAL_013", file=file, sheet=raw.name, cell=f"A{record.row}", value=record.row))
    for field_ in columns.values() if info.hidden_columns else ():
        letters = records[0].columns.get(field_.id) if records else None
        used = [r for r in records if field_.id in r.values]
        if letters in info.hidden_columns and used:
            found.append(problem("VAL_014", file=file, sheet=raw.name, cell=f"{letters}{used[0].row}",
                                 field=field_.title, value=len(used)))
    return found


def _locate_columns(sub: Submission, raw: RawSheet, sheet: Sheet) -> tuple[int, dict[int, Field]] | None:
    lookup = {_fold(alias): f for f in sheet.fields for alias in f.aliases}
    enough = max(1, sum(1 for f in sheet.fields if f.required))
    best_row, best_hits = -1, 0
    for i, row in enumerate(raw.rows[:HEADER_SEARCH_ROWS]):
        hits = sum(1 for v in row if isinstance(v, str) and _fold(v) in lookup)
        if hits > best_hits:
            best_row, best_hits = i, hits
        if best_hits >= enough:
            break  # the usual case: the header is the first row with every required column
    if best_row < 0:
        sub.problems.append(problem("TPL_008", file=sub.file, sheet=raw.name))
        return None
    columns: dict[int, Field] = {}
    first_seen: dict[str, str] = {}
    unknown: list[tuple[int, str]] = []
    for j, value in enumerate(raw.rows[best_row]):
        if value in ("", None):
            continue
        f = lookup.get(_fold(str(value)))
        if f is None:
            unknown.append((j, str(value)))
        elif f.id in first_seen:
            sub.problems.append(problem("TPL_007", file=sub.file, sheet=raw.name, cell=raw.address(best_row, j),
                                        field=f.title, detail=f"另见 {first_seen[f.id]}"))
        else:
            columns[j] = f
            first_seen[f.id] = raw.address(best_row, j)
    _report_missing_columns(sub, raw, sheet, best_row, set(first_seen), unknown)
    return best_row, columns


def _report_missing_columns(sub: Submission, raw: RawSheet, sheet: Sheet, header_row: int,
                            present: set[str], unknown: list[tuple[int, str]]) -> None:
    unknown_names = [name for _, name in unknown]
    for f in sheet.fields:
        if f.id in present or not f.required:
            continue
        near = difflib.get_close_matches(f.title, unknown_names, n=1, cutoff=0.4)
        hint = f"“{near[0]}”是否就是这一列？" if near else ""
        sub.problems.append(problem("TPL_005", file=sub.file, sheet=raw.name, field=f.title,
                                    cell=raw.address(header_row, 0), hint=hint))
    for j, name in unknown:
        sub.problems.append(problem("TPL_006", file=sub.file, sheet=raw.name, cell=raw.address(header_row, j),
                                    value=name))


RowReader = Callable[[int], "tuple[Record, bool] | None"]


def _row_reader(sub: Submission, raw: RawSheet, sheet: Sheet, columns: dict[int, Field],
                letters: dict[str, str]) -> RowReader:
    """The reader of one data row (by its index in raw.rows): (the Record, whether it passed the compiled schema
    check), or None for an empty row."""
    row_ok = sheet.row_ok
    if raw.formulas:
        plan = [(j, f, f.convert) for j, f in columns.items()]

        def read_with_formulas(i: int) -> tuple[Record, bool] | None:
            record = _read_row(sub, raw, i, plan, letters)
            return None if record is None else (record, row_ok is not None and row_ok(record.values))

        return read_with_formulas
    return _plain_row_reader(sub, raw, row_ok, columns, letters)


def _never(_value: Any) -> bool:
    return False


def _plain_row_reader(sub: Submission, raw: RawSheet, row_ok: RowCheck | None, columns: dict[int, Field],
                      letters: dict[str, str]) -> RowReader:
    """_read_row for a sheet without formulas, which is nearly every sheet, at a fraction of its cost: each
    distinct float or text of a column is converted and checked once (_ColumnMemo), and the row's compiled
    schema check is the conjunction of its cells' checks. Same values, changes, problems and verdicts as
    _read_row and RowCheck."""
    checks = row_ok.fields if row_ok is not None else {}
    required = frozenset(row_ok.required if row_ok is not None else ())
    # Whether a row has every required field is counted as it is read: comparing its keys with the set after was
    # ~1,800 instructions a row. Columns are distinct fields, so a count that reaches len(required) means all of them.
    plan = [(j, f.id, _ColumnMemo.of(f, checks.get(f.id) or _never), letters[f.id], f, f.id in required)
            for j, f in columns.items()]
    wanted = len(required)
    rows, name, first_row = raw.rows, raw.name, raw.origin[0] + 1
    too_long = LIMITS.max_cell_chars
    no_formulas: frozenset[str] = frozenset()

    def read(i: int) -> tuple[Record, bool] | None:
        row = rows[i]
        width = len(row)
        row_number = first_row + i
        values: dict[str, Any] = {}
        ok = row_ok is not None
        found = 0  # required fields with a value
        for j, fid, memo, column, f, needed in plan:
            cell = row[j] if j < width else ""
            kind = type(cell)
            if kind is float or (kind is str and len(cell) < too_long):
                value = memo.texts.get(cell) if kind is str else memo.numbers.get(cell)
                if value is not None:  # the usual cell: seen before, read as it is and fine
                    if value is not _SKIP:
                        values[fid] = value
                        found += needed
                    continue
                value, change, passed = memo.first_time(cell)
            elif kind is str:
                sub.problems.append(_too_long(sub.file, name, f"{column}{row_number}", f, cell))
                continue
            else:  # a date, a bool (True == 1.0: it must not share an entry with a number), …
                value, change, passed = memo.convert_once(cell)
            if value is None:
                continue
            values[fid] = value
            found += needed
            if not passed:
                ok = False
            if change:
                sub.changes.append((name, f"{column}{row_number}", change))
        if not values:
            return None
        return Record(name, row_number, values, letters, no_formulas), ok and found == wanted

    return read


Converted = tuple[Any, "Change | None", bool]  # (value, what changed, passes the field's compiled check)
_SKIP: Final = object()  # a cell read as nothing (empty, or only spaces); Final: compiled, a C static, not a lookup


class _ColumnMemo:
    """A column's float and text cells converted and checked once per distinct value, for every workbook the
    process reads: scores, names, types, yes/no and money repeat from row to row and from township to township.

    Conversion and check are pure functions of the cell, so a remembered result is the result. `texts` and
    `numbers` hold the usual cells, read unchanged into a value that passes the check (or read as nothing: _SKIP),
    so that the row reader needs only the value; any other cell is converted again each time. Texts and floats are
    kept apart: a dict of str keys only is searched by CPython's path for them, a mixed one by its generic path,
    which compares each candidate key through a call (~4 % of a workbook's time went to these lookups). A bool
    (True == 1.0) or a date never goes in either. Equal floats are the same number (0.0 and -0.0 too: every
    converter reads both as the same zero, unchanged); NaN equals nothing."""

    LIMIT: ClassVar[int] = 20_000  # distinct values kept per column; then it starts over (a bound on memory, not on correctness)
    _by_field: ClassVar[dict[int, tuple[Field, _ColumnMemo]]] = {}

    def __init__(self, f: Field, check: Callable[[Any], bool]) -> None:
        self.convert = _cell_converter(f)
        self.check = check
        self.texts: dict[str, Any] = {"": _SKIP}
        self.numbers: dict[Any, Any] = {}  # float keys (Any: the row reader has not narrowed its cell)

    @classmethod
    def of(cls, f: Field, check: Callable[[Any], bool]) -> _ColumnMemo:
        """The memo of this column (a Field of a Sheet built once per rulebook) with this check."""
        kept = cls._by_field.get(id(f))
        if kept is None or kept[0] is not f or kept[1].check is not check:
            kept = cls._by_field[id(f)] = (f, cls(f, check))
        return kept[1]

    def convert_once(self, cell: Any) -> Converted:
        value, change = self.convert(cell)
        return value, change, value is not None and self.check(value)

    def first_time(self, cell: float | str) -> Converted:
        """A float or text not kept: converted, and kept when it is a usual one."""
        converted = value, change, passed = self.convert_once(cell)
        if value is None or (change is None and passed):
            kept = _SKIP if value is None else value
            if isinstance(cell, str):
                if len(self.texts) >= self.LIMIT:
                    self.texts = {"": _SKIP}
                self.texts[cell] = kept
            else:
                if len(self.numbers) >= self.LIMIT:
                    self.numbers = {}
                self.numbers[cell] = kept
        return converted


def _cell_converter(f: Field) -> Callable[[Any], tuple[Any, Change | None]]:
    """One cell's (value, change) in this column: the column's normaliser, and a branch code made canonical."""
    convert = f.convert
    if f.id != "branch_code":
        return convert

    def convert_code(cell: Any) -> tuple[Any, Change | None]:
        value, change = convert(cell)
        if isinstance(value, str):
            value, change = _canonical_code(value, cell, change)
        return value, change

    return convert_code


def _too_long(file: str, sheet: str, cell: str, f: Field, text: str) -> Problem:
    # calamine stops at Excel's 32,767-character cell limit, so reaching it means "too long".
    return problem("VAL_012", file=file, sheet=sheet, cell=cell, field=f.title, value=f"{len(text)} 个字符以上",
                   limit=LIMITS.max_cell_chars - 1)


def _read_row(sub: Submission, raw: RawSheet, i: int, plan: list, letters: dict[str, str]) -> Record | None:
    """One row of a sheet that has formulas: a formula's cell is refused (VAL_009), never read."""
    row = raw.rows[i]
    width = len(row)
    row_number = raw.origin[0] + i + 1
    values: dict[str, Any] = {}
    formula_fields = []
    for j, f, convert in plan:
        cell = row[j] if j < width else ""
        if f"{letters[f.id]}{row_number}" in raw.formulas:
            formula_fields.append(f)
            continue
        if cell == "":
            continue
        if type(cell) is str and len(cell) >= LIMITS.max_cell_chars:
            sub.problems.append(_too_long(sub.file, raw.name, f"{letters[f.id]}{row_number}", f, cell))
            continue
        value, change = convert(cell)
        if value is None:
            continue
        if f.id == "branch_code" and isinstance(value, str):
            value, change = _canonical_code(value, cell, change)
        values[f.id] = value
        if change:
            sub.changes.append((raw.name, f"{letters[f.id]}{row_number}", change))
    if not values and not formula_fields:
        return None
    for f in formula_fields:
        sub.problems.append(problem("VAL_009", file=sub.file, sheet=raw.name, cell=f"{letters[f.id]}{row_number}",
                                    field=f.title))
    return Record(raw.name, row_number, values, letters, frozenset(f.id for f in formula_fields))


def schema_problems(file: str, sheet: Sheet, record: Record, validator: Draft202012Validator) -> list[Problem]:
    """The one adapter from jsonschema errors to Problems at sheet + A1 cell."""
    titles = {f.id: f.title for f in sheet.fields}
    found: list[Problem] = []
    for error in validator.iter_errors(record.values):
        if error.validator == "required":
            for missing in error.validator_value:
                if missing not in record.columns:
                    continue  # the whole column is missing: TPL_005 already says so, once
                if missing not in record.values and missing not in record.formulas and not any(p.field == titles[missing] and p.cell == record.cell(missing) for p in found):
                    found.append(problem("VAL_001", file=file, sheet=record.sheet, cell=record.cell(missing),
                                         field=titles[missing]))
            continue
        fid = str(error.absolute_path[0]) if error.absolute_path else ""
        found.append(_problem_for_error(file, record, fid, titles.get(fid, fid), error))
    return found


def _problem_for_error(file: str, record: Record, fid: str, title: str, error: Any) -> Problem:
    where = {"file": file, "sheet": record.sheet, "cell": record.cell(fid), "field": title,
             "value": _shown(error.instance)}
    kind = error.validator
    if kind == "type":
        return problem("VAL_003" if error.validator_value == "integer" else "VAL_002", **where)
    if kind in ("minimum", "exclusiveMinimum"):
        return problem("VAL_004", limit=error.validator_value, **where)
    if kind in ("maximum", "exclusiveMaximum"):
        return problem("VAL_005", limit=error.validator_value, **where)
    if kind == "enum" and isinstance(error.schema, dict) and error.schema.get("x-score"):
        return problem("VAL_011", limit=_shown(error.validator_value[-1]), **where)  # an all-or-nothing item
    if kind == "enum":
        options = "、".join(str(o) for o in error.validator_value)
        return problem("VAL_006", limit=options[:200], **where)
    if kind == "format":
        return problem("VAL_007", **where)
    if kind in ("pattern", "minLength", "maxLength"):
        rule = {"pattern": "只能包含字母、数字、“-”和“_”，2-30 位", "minLength": f"至少 {error.validator_value} 个字",
                "maxLength": f"最多 {error.validator_value} 个字"}[kind]
        return problem("VAL_008", limit=rule, **where)
    return problem("VAL_010", detail=error.message[:200], **where)


def _money_problems(file: str, money: list[Field], record: Record) -> list[Problem]:
    found = []
    for f in money:
        value = record.values.get(f.id)
        if f.kind == "money" and isinstance(value, Decimal) and _beyond_cents(value):
            found.append(problem("VAL_008", file=file, sheet=record.sheet, cell=record.cell(f.id), field=f.title,
                                 value=value, limit="金额最多保留两位小数（到分）"))
    return found


def _beyond_cents(value: Decimal) -> bool:
    """More than two decimals in use. (quantize would raise for a number wider than the context.)"""
    text = str(value)
    point = text.find(".")
    if len(text) <= 30 and "E" not in text and (point < 0 or len(text) - point <= 3):
        return False  # 150, 2086.6, 2086.61: its text has at most two decimals (~4 times faster than as_tuple)
    _, digits, written = value.as_tuple()
    if written in (0, -1, -2) and len(digits) <= 28:
        return False  # what a cell holds (150, 2086.61): normalize() would only strip zeros, neither round nor raise
    exponent = value.normalize().as_tuple().exponent
    return isinstance(exponent, int) and exponent < -2


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


# --- across sheets -------------------------------------------------------------------------

def cross_check(sub: Submission) -> None:
    """Checks JSON Schema cannot express: references, uniqueness, counts across rows and sheets."""
    sub.problems += cross_sheet_problems(sub)
    if "branches" not in sub.unread_sheets and not sub.records.get("branches"):
        # A blank template must never stand for a township: it would replace its real submission.
        sub.problems.append(problem("REF_019", file=sub.file, sheet="支部信息"))
