"""Read a workbook's cell values: one reader (python-calamine) behind one small interface.

openpyxl costs ~67 ms per township workbook and calamine ~6 ms (../shared/EXCEL-FACTS.md), so
values come from calamine; what calamine cannot tell — whether a cell holds a formula — is read
from the sheet XML directly. Every failure becomes a Problem, never an exception.
"""
from __future__ import annotations

import io
import os
import re
import struct
import unicodedata
import xml.parsers.expat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine
from isal import isal_zlib

from .cells import a1
from .guard import inspect_open_package, xls_problems
from .limits import LIMITS
from .problems import Problem, problem
from .sheetinfo import SheetInfo, workbook_info, xlsx_hidden, xlsx_hidden_sheets, xlsx_merges
from .xlsxscan import contains

ZIP_MAGIC = b"PK\x03\x04"
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class RawSheet:
    name: str
    rows: list[list[Any]]
    origin: tuple[int, int]  # zero-based (row, column) of rows[0][0] in the real sheet
    formulas: frozenset[str] = frozenset()
    info: SheetInfo = field(default_factory=SheetInfo)  # hidden rows, columns, the sheet itself

    def address(self, i: int, j: int) -> str:
        return a1(self.origin[0] + i, self.origin[1] + j)


class UnreadableSheet(Exception):
    """A sheet of a workbook that opened cannot be read: its part of the zip or its XML is broken."""

    def __init__(self, sheet: str, detail: str) -> None:
        super().__init__(detail)
        self.sheet = sheet
        self.detail = detail


@dataclass
class RawWorkbook:
    path: Path
    kind: str  # xlsx, xlsm, xls, ods
    sheet_names: list[str]
    _book: Any = field(repr=False, default=None)
    _formula_xml: dict[str, str] = field(repr=False, default_factory=dict)
    _info: dict[str, SheetInfo] = field(repr=False, default_factory=dict)  # .ods and .xls: read at open
    _parts: dict[str, bytes] = field(repr=False, default_factory=dict)  # sheet XML the guard already inflated
    _hidden_sheets: set[str] | None = field(repr=False, default=None)  # from workbook.xml, read at the first sheet
    _told_no_merges: bool = field(repr=False, default=False)  # calamine was handed its worksheets by _stored_package

    def sheet(self, name: str) -> RawSheet:
        """The sheet's values; UnreadableSheet when its part of the file is broken (the caller reports it)."""
        try:
            raw = self._book.get_sheet_by_name(name)
            rows = raw.to_python(skip_empty_area=True, nrows=LIMITS.max_rows + 1)
            start = raw.start or (0, 0)
            info = self._sheet_info(name)
            return RawSheet(name, rows, (start[0], start[1]), frozenset(info.formulas), info)
        except Exception as exc:  # calamine, zipfile and zlib raise unrelated types for a corrupt part
            raise UnreadableSheet(name, _short(exc)) from exc

    def _sheet_info(self, name: str) -> SheetInfo:
        if name in self._info:
            return self._info[name]
        xml_path = self._formula_xml.get(name)
        if not xml_path:
            return SheetInfo()
        data, workbook = self._parts.pop(xml_path, None), self._parts.get("xl/workbook.xml")
        if data is None or workbook is None:  # not handed over by the guard: inflate them here
            with zipfile.ZipFile(self.path) as zf:
                data = zf.read(xml_path) if data is None else data
                workbook = zf.read("xl/workbook.xml") if workbook is None else workbook
        if self._told_no_merges and not _well_formed_outside_rows(data):
            self._read_as_it_came(name)  # what calamine says of it read whole, as it did before it was told
        rows, columns = xlsx_hidden(data)
        if self._hidden_sheets is None:  # one workbook.xml for every sheet
            self._hidden_sheets = xlsx_hidden_sheets(workbook)
        return SheetInfo(set(formula_addresses(data)), rows, columns, name in self._hidden_sheets,
                         xlsx_merges(data))

    def _read_as_it_came(self, name: str) -> None:
        """calamine's reading of the sheet, merged cells and all, from the file as it came: its error is the sheet's."""
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self.path.read_bytes()))
        try:
            book.get_sheet_by_name(name).to_python(skip_empty_area=True, nrows=LIMITS.max_rows + 1)
        finally:
            book.close()

    def close(self) -> None:
        if self._book is not None:
            self._book.close()


def open_workbook(path: Path, shown_name: str | None = None,
                  data: bytes | None = None) -> tuple[RawWorkbook | None, list[Problem]]:
    """Open a workbook for reading values; (None, problems) when it cannot be read. `data`: the file's bytes when the
    caller has read them (validate.file_bytes), so that the file is read once."""
    name = shown_name or path.name
    parts: dict[str, bytes] = {}
    whole: list[tuple[zipfile.ZipInfo, bytes]] = []
    kind, problems = sniff(path, name, parts, data, whole)
    if kind is None:
        return None, problems
    stored = _stored_package(whole, set(_sheet_parts(parts).values())) if kind in ("xlsx", "xlsm") else None
    try:
        # By content: from_path picks the reader by extension, so an .xls named .xlsx would fail.
        book = python_calamine.CalamineWorkbook.from_filelike(
            io.BytesIO(stored if stored is not None else path.read_bytes() if data is None else data))
        names = list(book.sheet_names)
    except python_calamine.PasswordError:
        return None, problems + [problem("FILE_003", file=name)]
    except Exception as exc:  # calamine raises several unrelated types for broken files
        return None, problems + [problem("FILE_002", file=name, detail=_short(exc))]
    formula_xml = _sheet_parts(parts) if kind in ("xlsx", "xlsm") else {}
    return RawWorkbook(path, kind, names, book, formula_xml, workbook_info(path, kind), parts,
                       _told_no_merges=stored is not None), problems


def sniff(path: Path, name: str, parts: dict[str, bytes] | None = None, data: bytes | None = None,
          whole: list[tuple[zipfile.ZipInfo, bytes]] | None = None) -> tuple[str | None, list[Problem]]:
    """What kind of file this is, by content rather than by its name (parts, whole: see guard.inspect_open_package,
    whole left empty unless it holds every member; data: the file's bytes, when the caller has read them)."""
    try:
        if data is None:
            size = path.stat().st_size
            with path.open("rb") as fh:
                head = fh.read(8)
        else:
            size, head = len(data), data[:8]
    except FileNotFoundError:
        return None, [problem("FILE_008", file=name)]
    except OSError as exc:
        return None, [problem("FILE_002", file=name, detail=_short(exc))]
    if size == 0:
        return None, [problem("FILE_002", file=name, detail="文件大小为 0")]
    if size > LIMITS.max_file_bytes:
        return None, [problem("FILE_007", file=name, detail=f"{size} 字节 > {LIMITS.max_file_bytes}")]
    if head.startswith(CFB_MAGIC):
        return _sniff_cfb(path, name, data)
    if head.startswith(ZIP_MAGIC):
        return _sniff_zip(path, name, parts, data, whole)
    return None, [problem("FILE_001", file=name, detail="文件内容不是 xlsx/xls/ods 格式")]


def _sniff_cfb(path: Path, name: str, data: bytes | None) -> tuple[str | None, list[Problem]]:
    # An encrypted .xlsx is an OLE container holding these streams (MS-OFFCRYPTO).
    data = path.read_bytes() if data is None else data
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        return None, [problem("FILE_003", file=name)]
    unsafe = xls_problems(data, name)
    if unsafe:
        return None, unsafe
    return "xls", [problem("FILE_004", file=name)]


def _sniff_zip(path: Path, name: str, parts: dict[str, bytes] | None, data: bytes | None,
               whole: list[tuple[zipfile.ZipInfo, bytes]] | None) -> tuple[str | None, list[Problem]]:
    try:  # one open of the package (its directory read once) to tell what it is and to inspect it
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as zf:
            names = {i.filename for i in zf.infolist()}
            mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
            unsafe = inspect_open_package(zf, name, parts, whole)  # reports a broken member itself (FILE_002)
            if whole is not None and len(whole) != len(zf.infolist()):
                whole.clear()  # not every member handed over: the reader inflates the file itself
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return None, [problem("FILE_002", file=name, detail=_short(exc))]
    if unsafe:
        return None, unsafe
    if b"opendocument.spreadsheet" in mimetype:
        return "ods", []
    if "xl/workbook.xml" not in names:
        return None, [problem("FILE_001", file=name, detail="压缩包中没有工作簿")]
    if "xl/vbaProject.bin" in names:
        return "xlsm", [problem("FILE_005", file=name)]
    return "xlsx", []


# The headers of a ZIP_STORED archive (APPNOTE 4.3.7, 4.3.12, 4.3.16): signature, versions, flags, method, time, date,
# CRC-32, sizes, lengths of name, extra field (and comment, disk, attributes, offset in the directory).
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_UTF8_NAME = 0x800
# Above this many inflated bytes calamine reads the file as it came: a stored copy (and calamine's own copy of it) of a
# package near the guard's 200 MB limit would take as much again of a reading child's 1 GB; a township's is ~0.2 MB.
HAND_ON_MAX = 32 << 20


def _stored_package(members: list[tuple[zipfile.ZipInfo, bytes]],
                    sheets: frozenset[str] | set[str] = frozenset()) -> bytes | None:
    """The package again, each member stored as the guard inflated it (same names, same order), for calamine; each
    worksheet part of `sheets` with its merged cells told first (`_merges_told_first`).

    calamine inflates each worksheet twice, once for its cells and once for its merged cells (python-calamine
    0.9.1 reads both for every sheet), after the guard has inflated every member once to inspect it: ~0.35 ms of a
    township's ~8 ms, against ~0.05 ms to write these headers. The bytes calamine reads are the members' own:
    the guard checked each one's length and CRC-32. None when there is nothing to hand on or more than HAND_ON_MAX
    (the caller reads the file as it came)."""
    if not members or sum(len(data) for _, data in members) > HAND_ON_MAX:
        return None
    chunks: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for info, given in members:
        data = _merges_told_first(given) if info.filename in sheets else given
        name = info.filename.encode("utf-8")
        flags = 0 if name.isascii() else _UTF8_NAME
        size, crc = len(data), info.CRC if data is given else isal_zlib.crc32(data)
        chunks += (_LOCAL.pack(b"PK\x03\x04", 20, flags, zipfile.ZIP_STORED, 0, 33, crc, size, size, len(name), 0),
                   name, data)
        directory += (_CENTRAL.pack(b"PK\x01\x02", 20, 20, flags, zipfile.ZIP_STORED, 0, 33, crc, size, size,
                                    len(name), 0, 0, 0, 0, 0, offset), name)
        offset += _LOCAL.size + len(name) + size
    listing = b"".join(directory)
    if offset + len(listing) > 0xFFFF_FFFF or len(members) > 0xFFFF:  # beyond a plain zip's fields: no zip64 here
        return None
    chunks += (listing, _END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(listing), offset, 0))
    return b"".join(chunks)


# What calamine reads of a worksheet for its merged cells: the part's events up to the first <mergeCells> element, which
# Excel, WPS and LibreOffice write after the rows (python-calamine 0.9.1 asks for them with every sheet, and its scan
# through every row again was a third of its reading: a township's workbook 3.5 → 2.3 ms). starbatch reads merged
# cells itself, from the part as it came (sheetinfo.xlsx_merges); calamine is given an empty list of them ahead of the
# rows, which its cell reader passes over as it passes over everything before <sheetData> (tests/test_reading.py).
_NO_MERGES = b"<mergeCells></mergeCells>"


def _merges_told_first(part: bytes) -> bytes:
    """The worksheet part with an empty <mergeCells> element just ahead of its rows (unchanged without <sheetData)."""
    at = part.find(b"<sheetData")
    return part if at < 0 else part[:at] + _NO_MERGES + part[at:]


def _well_formed_outside_rows(part: bytes) -> bool:
    """Whether a worksheet part is well-formed XML but for its rows, which calamine parses itself. Told of no merges
    first (`_merges_told_first`), calamine no longer reads the rest; read whole, a part cut short or broken after its
    rows was refused naming the sheet (FILE_002). A part this finds otherwise (or laid out otherwise: a "<sheetData" in
    a comment) is read again by calamine as it came (RawWorkbook._read_as_it_came), which decides as before. The guard
    has refused any DOCTYPE."""
    start, end = part.find(b"<sheetData"), part.rfind(b"</sheetData>")
    if not 0 <= start < end:
        return False
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(part[:start] + part[end + len(b"</sheetData>"):], True)
    except xml.parsers.expat.ExpatError:
        return False
    return True


_REL = re.compile(rb'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"|<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"')
_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]+)"|<(?:\w+:)?sheet\b[^>]*?r:id="([^"]+)"[^>]*?name="([^"]*)"')


def sheet_xml_paths(path: Path) -> dict[str, str]:
    """Sheet name -> path of its XML part inside the xlsx, from workbook.xml and its rels."""
    try:
        with zipfile.ZipFile(path) as zf:
            return sheet_paths_from(zf.read("xl/workbook.xml"), zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, OSError):
        return {}


def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    workbook, rels = parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")
    return sheet_paths_from(workbook, rels) if workbook is not None and rels is not None else {}


def sheet_paths_from(workbook: bytes, rels: bytes) -> dict[str, str]:
    targets = {}
    for m in _REL.finditer(rels):
        rid, target = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        target = target.decode()
        targets[rid.decode()] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    found = {}
    for m in _SHEET.finditer(workbook):
        name, rid = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(4), m.group(3))
        if rid.decode() in targets:
            found[_xml_unescape(name.decode())] = targets[rid.decode()]
    return found


_CELL_OPEN = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+[0-9]+)"')


def formula_addresses(sheet_xml: bytes) -> frozenset[str]:
    """A1 addresses of every cell that holds a formula (<f> inside <c>), shared formulas included."""
    if not _has_formula_tag(sheet_xml):  # most sheets have no formula: not worth the pattern's pass
        return frozenset()
    found = set()
    for m in re.finditer(rb"<(?:\w+:)?f[\s>/]", sheet_xml):
        start = sheet_xml.rfind(b"<c ", 0, m.start())
        alt = sheet_xml.rfind(b":c ", 0, m.start())
        start = max(start, alt - 1 if alt >= 0 else -1)
        cell = _CELL_OPEN.match(sheet_xml, start) if start >= 0 else None
        if cell is None and start >= 0:
            cell = _CELL_OPEN.search(sheet_xml, start, m.start())
        if cell:
            found.add(cell.group(1).decode())
    return frozenset(found)


def _has_formula_tag(sheet_xml: bytes) -> bool:
    """Whether "<f" or ":f" occurs (the pattern above needs one), found through the letter f: rare in a sheet part
    (no tag name has it), where a two-byte search crawls through the XML byte by byte (xlsxscan.contains)."""
    return contains(sheet_xml, b"<f", 1) or contains(sheet_xml, b":f", 1)


def shown_file_name(name: str | bytes | os.PathLike) -> str:
    """A name from outside as people should see it: the disk's bytes as UTF-8, else GB18030 (a name
    copied from a Chinese Windows share), else escaped (\\xc7); control characters always escaped."""
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:  # a lone surrogate that no file system byte made
        text = os.fspath(name)
        raw = text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return _escape_controls(raw.decode(encoding))
        except UnicodeDecodeError:
            continue
    return _escape_controls(raw.decode("ascii", "backslashreplace"))


def _escape_controls(text: str) -> str:
    # NUL is left as it is: it cannot move a cursor or start an escape sequence (the run shows such
    # attachment names verbatim); every other control, and bidi overrides that reverse a name, are escaped.
    return "".join(ch if ch == "\x00" or unicodedata.category(ch) not in ("Cc", "Cf") else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def _xml_unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
