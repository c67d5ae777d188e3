"""Checks on a workbook before any reader inflates or parses it.

A submission comes from outside by email. Before calamine builds a sheet in memory (it allocates
the whole used range: one valued cell at XFD60000 costs ~31 GB), the file is checked here, so that:
- a zip bomb (declared or real size, or ratio, past the limits) is refused before it costs memory;
- XML with a DOCTYPE or entity declarations (billion laughs, external entities) is refused — no
  reader of ours expands entities, and a township's workbook never needs them;
- a sheet whose values span more rows or columns than the limits is refused instead of making a
  reader allocate millions of empty cells: .xlsx/.xlsm (cell and row references, however quoted),
  .ods (repeated rows and columns that carry values) and .xls (the cell records of each sheet);
- a workbook with more sheets than the limit is refused.
"""
from __future__ import annotations

import re
import struct
import sys
import xml.parsers.expat
import zipfile
import zlib
from array import array
from dataclasses import dataclass

from isal import isal_zlib

from . import xlsxscan
from .limits import LIMITS
from .problems import Problem, problem

CHUNK = 1 << 16
_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?sheet(?=[\s/>])")
_ODS_CONTENT = "content.xml"
# The one-pass scan where it runs compiled: in C (_plainscan.c, built with the package: 0.13 ms of a township's
# workbook), else as mypyc compiled its reference, xlsxscan.plain_and_near (0.40 ms). Interpreted, the scans of
# bytes.count and re are faster than either's loop.
try:
    from ._plainscan import plain_and_near
    SCAN_COMPILED = True
except ImportError:
    plain_and_near = xlsxscan.plain_and_near
    SCAN_COMPILED = not xlsxscan.__file__.endswith(".py")


@dataclass
class Extent:
    """Rows and columns (counts, 1-based ends) that a reader would allocate for one sheet."""
    rows: int = 0
    columns: int = 0

    def add(self, row: int, column: int) -> None:
        self.rows = max(self.rows, row)
        self.columns = max(self.columns, column)

    @property
    def too_large(self) -> bool:
        return self.rows > LIMITS.max_rows or self.columns > LIMITS.max_columns


def inspect_open_package(zf: zipfile.ZipFile, name: str, keep: dict[str, bytes] | None = None,
                         whole: list[tuple[zipfile.ZipInfo, bytes]] | None = None) -> list[Problem]:
    """Problems that make the zip package (.xlsx, .xlsm, .ods) unsafe to read; empty when it may be read. The caller
    has it open: the reader opens a file's zip once (~0.13 ms of reading its directory) to tell what it is and to
    inspect it.

    keep, when given, receives the inflated workbook.xml, its rels and every worksheet part, so the reader's
    formula scan uses these bytes instead of inflating them a second time; whole, every member as inflated, in the
    package's order, so the reader can hand them on without their being inflated again (read._stored_package)."""
    try:
        infos = zf.infolist()
        found = _declared_limits(infos, name)
        is_ods = _is_ods(zf, infos)
        for info in infos:
            found = found or _inspect_member(zf, info, name, is_ods, keep, whole)
        return found
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, NotImplementedError, RuntimeError,
            EOFError) as exc:
        return [problem("FILE_002", file=name, detail=str(exc)[:120] or type(exc).__name__)]


def _is_ods(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> bool:
    mimetype = next((i for i in infos if i.filename == "mimetype"), None)
    return mimetype is not None and mimetype.file_size < 200 and b"opendocument.spreadsheet" in zf.read(mimetype)


def _declared_limits(infos: list[zipfile.ZipInfo], name: str) -> list[Problem]:
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if len(infos) > LIMITS.max_zip_members:
        return [problem("FILE_007", file=name, detail=f"压缩包含 {len(infos)} 个部件")]
    if total > LIMITS.max_unpacked_bytes:
        return [problem("FILE_007", file=name, detail=f"解压后 {total} 字节 > {LIMITS.max_unpacked_bytes}")]
    if total > 10_000_000 and total / packed > LIMITS.max_zip_ratio:
        return [problem("FILE_007", file=name, detail=f"压缩比 {total // packed}:1 异常")]
    return []


_KEPT = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")


def _inspect_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, is_ods: bool,
                    keep: dict[str, bytes] | None = None,
                    whole: list[tuple[zipfile.ZipInfo, bytes]] | None = None) -> list[Problem]:
    data = _inflate_bounded(zf, info, name)
    if isinstance(data, Problem):
        return [data]
    if whole is not None:
        whole.append((info, data))
    lower = info.filename.lower()
    if not (lower.endswith((".xml", ".rels"))):
        return []
    if keep is not None and not is_ods and (lower in _KEPT or lower.startswith("xl/worksheets/")):
        keep[info.filename] = data
    # The whole part: a prolog padded with comments must not hide one. "!" is rare in XML, "<" is not (contains).
    if xlsxscan.contains(data, b"<!", 1) and _DOCTYPE.search(data):
        return [problem("FILE_009", file=name, detail=info.filename)]
    if is_ods:
        return ods_problems(data, name) if info.filename == _ODS_CONTENT else []
    if lower == "xl/workbook.xml":
        return _sheet_count_problems(len(_SHEET_TAG.findall(data)), name)
    if lower.startswith("xl/worksheets/") and lower.endswith(".xml"):
        return _extent_problems(xlsx_sheet_extent(data), info.filename, name)
    return []


def _inflate_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes | Problem:
    """The member's bytes, inflating at most its declared size (+1 to catch a lying header)."""
    whole = _inflate_whole(zf, info)
    if whole is not None:
        return whole
    limit = min(info.file_size, LIMITS.max_unpacked_bytes) + 1
    parts, size = [], 0
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(min(CHUNK, limit - size))
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                return problem("FILE_007", file=name, detail=f"{info.filename} 实际解压大小超过声明的 {info.file_size} 字节")
    return b"".join(parts)


# isal's stubs declare its error an instance (`error: Exception`); it is the class IsalError. Read by name, so the
# isolated build of the compiled modules, which has no isal to check against, and the checks here agree.
_INFLATE_ERROR: type[Exception] = getattr(isal_zlib, "error")  # noqa: B009
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a member's local file header (APPNOTE 4.3.7), as zipfile reads it
_PLAIN_FLAGS = 0x1 | 0x20 | 0x40  # encrypted, patched data, strong encryption: zipfile's own path refuses or decrypts


def _inflate_whole(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The member's bytes in one call of zlib, when they are exactly what zipfile's reading would return: a stored or
    deflated member within the limits whose local header, length and CRC-32 all agree. Anything else is None, and
    zipfile reads it (with its errors). zipfile reads a member in 64 KB steps through Python code: a workbook's ~12
    parts cost ~0.45 ms that way and ~0.25 ms in one call each."""
    if (info.flag_bits & _PLAIN_FLAGS or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
            or info.file_size > LIMITS.max_unpacked_bytes or zf.fp is None):
        return None
    zf.fp.seek(info.header_offset)
    head = zf.fp.read(_LOCAL_HEADER.size)
    if len(head) != _LOCAL_HEADER.size:
        return None
    signature, *_, name_length, extra_length = _LOCAL_HEADER.unpack(head)
    try:
        stored_name = zf.fp.read(name_length).decode("utf-8" if info.flag_bits & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    if signature != b"PK\x03\x04" or stored_name != info.orig_filename:
        return None
    zf.fp.seek(extra_length, 1)
    packed = zf.fp.read(info.compress_size)
    if info.compress_type == zipfile.ZIP_STORED:
        data = packed
    else:
        # ISA-L's inflate and CRC-32 (python-isal, zlib's interface): 0.16 and 0.01 ms of a township's workbook,
        # against zlib's 0.36 and 0.08. Same bytes, or an error, as zlib; it stops at max_length as zlib does.
        inflater = isal_zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            data = inflater.decompress(packed, info.file_size + 1)  # never more than the header declares, and one byte
        except _INFLATE_ERROR:
            return None
        if not inflater.eof:
            return None
    return data if len(data) == info.file_size and isal_zlib.crc32(data) == info.CRC else None


def _sheet_count_problems(count: int, name: str) -> list[Problem]:
    if count > LIMITS.max_sheets:
        return [problem("FILE_011", file=name, detail=f"{count} 个工作表 > {LIMITS.max_sheets}")]
    return []


def _extent_problems(extent: Extent, where: str, name: str) -> list[Problem]:
    if not extent.too_large:
        return []
    return [problem("FILE_010", file=name, detail=f"{where} 的数据范围达到 {extent.rows} 行 × {extent.columns} 列"
                                                  f"（上限 {LIMITS.max_rows} 行 × {LIMITS.max_columns} 列）")]


# --- .xlsx sheets ----------------------------------------------------------------------------------
# Any start or end tag of a row or cell, whatever its prefix, spacing or quoting; quoted attribute
# values may hold ">" or "/>". Group 1: "/" of an end tag, 2: element, 3: attributes, 4: "/" of "/>".
_TAG = re.compile(rb"""<(/?)(?:[\w.-]+:)?(row|c)(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""")
_EMPTY_END = re.compile(rb"\s*</(?:[\w.-]+:)?c\s*>")  # <c r="A9" s="1"></c> holds no more than <c …/>
_R_ATTR = re.compile(rb"""\s(?:[\w.-]+:)?r\s*=\s*["']\s*([A-Za-z]*)\s*([0-9]*)""")
_DIMENSION = re.compile(rb"""<(?:[\w.-]+:)?dimension\s[^>]*?ref\s*=\s*["']([^"']*)["']""")
# What Excel, WPS, LibreOffice and openpyxl write: every row and cell tag opens with r="…", no
# prefixes, no single quotes or spaces around "=". Such a sheet is checked by literal scans at C
# speed (whitespace made spaces first); anything else goes through the exact pass.
_SPACES = bytes.maketrans(b"\t\n\r", b"   ")
_NOT_PLAIN = (b' ="',)  # r ='…' or r ="…": a second r the count of r="…" would miss
_PREFIXED_TAG = re.compile(rb':(?:c|row)[ />]')
# A row or cell tag that does not open with an r surely within the limits (at most two letters and four digits:
# ZZ9999, 702 columns and 9,999 rows): one without r, whose place a reader counts, or one that may lie beyond.
_NEAR_COLUMNS, _NEAR_ROWS = 702, 9_999
_TAG_NOT_NEAR = re.compile(rb'<(?:c|row)(?=[ />])(?! r="[A-Za-z]{0,2}[0-9]{1,4}")')


def xlsx_sheet_extent(xml: bytes) -> Extent:
    """How far the valued cells of one worksheet part reach (what calamine would allocate).

    A cell counts when it has content (<c r="B7" s="1"/> is formatting only). A <dimension> past the
    limits is a hint to take the exact pass, never trusted alone (calamine ignores it).
    """
    # The dimension's pattern reads any whitespace as \s: the same answer before the spaces are made.
    if _dimension_exceeds(xml) or LIMITS.max_rows < _NEAR_ROWS or LIMITS.max_columns < _NEAR_COLUMNS:
        return _exact_extent(xml.translate(_SPACES))
    if SCAN_COMPILED and plain_and_near(xml):
        return Extent()  # what the scans below find of such a sheet: no tag that is not near, nothing counted
    spaced = xml.translate(_SPACES)
    if not _plain(spaced):
        return _exact_extent(spaced)
    extent = Extent()
    for match in _TAG_NOT_NEAR.finditer(spaced):
        tag = _TAG.match(spaced, match.start())
        if tag is None or not spaced.startswith(b' r="', match.end()):  # no r first: placed by counting
            return _exact_extent(spaced)
        if not _opens_content(spaced, tag):
            continue
        row, column = _reference(tag.group(3))
        if tag.group(2) == b"c":
            extent.add(row, column)
        elif _row_has_valued_cell(spaced, tag.end()):
            extent.add(row, 1)
    return extent


def _plain(spaced: bytes) -> bool:
    """Every attribute written name="…", no prefixed row or cell, and one r to each row or cell tag, so the scan of
    the tags' first attribute sees every reference (a tag without r there is found by the scan)."""
    if spaced.count(b"=") != spaced.count(b'="') or any(text in spaced for text in _NOT_PLAIN):
        return False
    # A prefixed r attribute (x:r="…") is not plain; one namespace declaration xmlns:r="…" before the
    # sheet data (Excel and xlsxwriter write it on the root of every sheet) is.
    declared = spaced.find(b' xmlns:r="')
    at_root = 1 if 0 <= declared < spaced.find(b"sheetData") else 0
    if spaced.count(b':r="') != at_root:
        return False
    # An r="…" that does not open its row or cell tag: a second r (calamine places a cell by its last), or one in text.
    if spaced.count(b' r="') != spaced.count(b'<c r="') + spaced.count(b'<row r="'):
        return False
    return _PREFIXED_TAG.search(spaced) is None


def _row_has_valued_cell(xml: bytes, start: int) -> bool:
    for tag in _TAG.finditer(xml, start):
        if tag.group(2) == b"row":
            return False
        if tag.group(2) == b"c" and _opens_content(xml, tag):
            return True
    return False


def _opens_content(xml: bytes, tag: re.Match[bytes]) -> bool:
    """A start tag with something before its end tag (a cell without content is formatting only)."""
    if tag.group(1) or tag.group(4):
        return False
    return tag.group(2) == b"row" or _EMPTY_END.match(xml, tag.end()) is None


def _exact_extent(xml: bytes) -> Extent:
    """Every row and cell placed as a reader places them: by its r, else one after the previous."""
    extent, row, column = Extent(), 0, 0
    for tag in _TAG.finditer(xml):
        closing, element, attrs, _ = tag.groups()
        if closing:
            continue
        r_row, r_column = _reference(attrs)
        if element == b"row":
            row, column = (r_row or row + 1), 0
            continue
        column = r_column or column + 1
        if _opens_content(xml, tag):
            extent.add(r_row or row, column)
    return extent


def _reference(attrs: bytes) -> tuple[int, int]:
    """(row, column), 1-based, of a tag's r attribute ("XFD7" or "7"); 0 for a part that is absent. Of a tag with
    more than one (a reader takes one of them, calamine the last), the farthest row and column of any."""
    row = column = 0
    for match in _R_ATTR.finditer(attrs):
        letters, digits = match.groups()
        number = 0
        for ch in letters.upper():
            number = number * 26 + ch - 64
        row, column = max(row, int(digits) if digits else 0), max(column, number)
    return row, column


def _dimension_exceeds(xml: bytes) -> bool:
    match = _DIMENSION.search(xml, 0, 4096)
    if match is None:
        return False
    row, column = _reference(b' r="' + match.group(1).rsplit(b":", 1)[-1].replace(b"$", b"") + b'"')
    return row > LIMITS.max_rows or column > LIMITS.max_columns


# --- .ods content.xml ------------------------------------------------------------------------------
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0|"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0|"
_CELLS = {_TABLE_NS + "table-cell", _TABLE_NS + "covered-table-cell"}


class _Refused(Exception):
    """Stops the streaming parse as soon as the content is known to be unsafe."""


class _OdsWalk:
    """Streams content.xml, placing repeated rows and cells the way a reader expands them."""

    def __init__(self) -> None:
        self.tables, self.depth, self.extent = 0, 0, Extent()
        self.row, self.row_repeat, self.column = 0, 1, 0
        self.cell: tuple[int, int] | None = None  # (depth, repeat) of the open cell
        self.cell_valued = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.cell is not None:
            self.cell_valued = True  # any content inside a cell (text:p, …) makes it a value
        elif tag == _TABLE_NS + "table":
            self._new_table()
        elif tag == _TABLE_NS + "table-row":
            self.row_repeat, self.column = _repeat(attrs, "number-rows-repeated"), 0
        elif tag in _CELLS:
            self.cell = (self.depth, _repeat(attrs, "number-columns-repeated"))
            self.cell_valued = _OFFICE_NS + "value-type" in attrs

    def end(self, tag: str) -> None:
        if self.cell is not None and self.cell[0] == self.depth:
            self._close_cell(self.cell[1])
        elif tag == _TABLE_NS + "table-row":
            self.row += self.row_repeat
        self.depth -= 1

    def text(self, _data: str) -> None:
        if self.cell is not None:
            self.cell_valued = True

    def _new_table(self) -> None:
        self.tables += 1
        if self.tables > LIMITS.max_sheets:
            raise _Refused
        self.extent, self.row = Extent(), 0

    def _close_cell(self, repeat: int) -> None:
        self.column += repeat
        if self.cell_valued:
            self.extent.add(self.row + self.row_repeat, self.column)
            if self.extent.too_large:
                raise _Refused
        self.cell, self.cell_valued = None, False


def _repeat(attrs: dict[str, str], key: str) -> int:
    value = attrs.get(_TABLE_NS + key, "1").strip()
    return int(value) if value.isdigit() and len(value) < 12 else 1


def _refuse_declarations(*_args) -> None:
    raise _Refused


def ods_problems(content: bytes, name: str) -> list[Problem]:
    """FILE_010/011 for an .ods content.xml whose tables are too many or reach too far."""
    walk = _OdsWalk()
    parser = xml.parsers.expat.ParserCreate(namespace_separator="|")
    parser.StartElementHandler, parser.EndElementHandler = walk.start, walk.end
    parser.CharacterDataHandler = walk.text
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _refuse_declarations
    try:
        parser.Parse(content, True)
    except _Refused:
        pass
    except xml.parsers.expat.ExpatError as exc:
        return [problem("FILE_002", file=name, detail=f"content.xml: {exc}"[:120])]
    if walk.tables > LIMITS.max_sheets:
        return _sheet_count_problems(walk.tables, name)
    return _extent_problems(walk.extent, f"第 {walk.tables} 个工作表", name)


# --- .xls (BIFF in a compound file) ------------------------------------------------------------------
_BOUNDSHEET, _BOF, _FILEPASS, _MULRK = 0x0085, 0x0809, 0x002F, 0x00BD
# Records of cells with a value, each starting with (row, column) as two little-endian u16.
_VALUED_RECORDS = {0x0203, 0x00FD, 0x0204, 0x027E, 0x0205, 0x0006, 0x00D6}


def xls_problems(data: bytes, name: str) -> list[Problem]:
    """FILE_010/011 for a legacy .xls whose sheets are too many or reach too far; FILE_002 when broken."""
    try:
        stream = cfb_stream(data, ("Workbook", "Book"))
    except ValueError as exc:
        return [problem("FILE_002", file=name, detail=str(exc)[:120])]
    if stream is None:
        return [problem("FILE_001", file=name, detail="复合文档中没有工作簿")]
    sheets, extents = _biff_extents(stream)
    if sheets > LIMITS.max_sheets:
        return _sheet_count_problems(sheets, name)
    for i, extent in enumerate(extents[1:], 1):  # the first substream is the workbook's globals
        found = _extent_problems(extent, f"第 {i} 个工作表", name)
        if found:
            return found
    return []


def _biff_extents(stream: bytes) -> tuple[int, list[Extent]]:
    """Number of BOUNDSHEET records, and the extent of the valued cells of each substream."""
    sheets, extents, pos = 0, [], 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        body = stream[pos + 4: pos + 4 + size]
        pos += 4 + size
        if kind == _FILEPASS:
            break  # the rest is encrypted: the reader reports the password
        if kind == _BOUNDSHEET:
            sheets += 1
        elif kind == _BOF:
            extents.append(Extent())
        elif extents and len(body) >= 4 and (kind in _VALUED_RECORDS or kind == _MULRK):
            row, column = struct.unpack_from("<HH", body)
            last = struct.unpack_from("<H", body, len(body) - 2)[0] if kind == _MULRK else column
            extents[-1].add(row + 1, max(column, last) + 1)
    return sheets, extents


_END_OF_CHAIN = 0xFFFFFFFE  # and above: free, FAT and DIFAT sectors


def cfb_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The first stream named one of `names` in a compound file (MS-CFB); ValueError when malformed."""
    try:
        return _Compound(data).stream(names)
    except (struct.error, IndexError, KeyError) as exc:
        raise ValueError(f"复合文档结构损坏（{type(exc).__name__}）") from exc


class _Compound:
    """Just enough of MS-CFB to read one stream; every chain is bounded by the file's size."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.shift = struct.unpack_from("<H", data, 0x1E)[0]
        if self.shift not in (9, 12):
            raise ValueError("复合文档扇区大小无效")
        self.size = 1 << self.shift
        self.fat = self._fat()
        first_dir, self.cutoff, first_minifat = struct.unpack_from("<I4xI I", data, 0x30)
        self.entries = self._chain_bytes(first_dir, self.fat, self._sector)
        self.minifat = _u32s(self._chain_bytes(first_minifat, self.fat, self._sector))
        root_start, root_size = self._entry(0)[2:]
        self.ministream = self._chain_bytes(root_start, self.fat, self._sector)[:root_size]

    def stream(self, names: tuple[str, ...]) -> bytes | None:
        for i in range(len(self.entries) // 128):
            name, kind, start, size = self._entry(i)
            if kind == 2 and name in names:
                if size < self.cutoff:
                    return self._chain_bytes(start, self.minifat, self._mini_sector)[:size]
                return self._chain_bytes(start, self.fat, self._sector)[:size]
        return None

    def _entry(self, i: int) -> tuple[str, int, int, int]:
        raw = self.entries[i * 128:(i + 1) * 128]
        length = min(struct.unpack_from("<H", raw, 64)[0], 64)
        name = raw[:max(length - 2, 0)].decode("utf-16-le", "replace")
        start, size = struct.unpack_from("<II", raw, 116)
        return name, raw[66], start, size

    def _fat(self) -> array:
        sectors = len(self.data) // self.size + 1
        difat = [s for s in _u32s(self.data[0x4C:0x200]) if s < _END_OF_CHAIN]
        sector, seen = struct.unpack_from("<I", self.data, 0x44)[0], 0
        while sector < _END_OF_CHAIN and seen < sectors and len(difat) < sectors:
            entries = _u32s(self._sector(sector))
            difat += [s for s in entries[:-1] if s < _END_OF_CHAIN]
            sector, seen = entries[-1], seen + 1
        return _u32s(b"".join(self._sector(s) for s in difat[:sectors]))

    def _sector(self, n: int) -> bytes:
        offset = (n + 1) << self.shift
        if offset >= len(self.data):
            raise ValueError("复合文档扇区超出文件")
        return self.data[offset:offset + self.size]

    def _mini_sector(self, n: int) -> bytes:
        return self.ministream[n * 64:(n + 1) * 64]

    def _chain_bytes(self, start: int, table: array, read) -> bytes:
        parts: list[bytes] = []
        sector = start
        for _ in range(min(len(table), len(self.data) // 64 + 1)):  # longer than that is a loop
            if sector >= _END_OF_CHAIN:
                return b"".join(parts)
            parts.append(read(sector))
            sector = table[sector]
        if sector < _END_OF_CHAIN:
            raise ValueError("复合文档扇区链循环")
        return b"".join(parts)


def _u32s(raw: bytes) -> array:
    """Little-endian u32 values, 4 bytes each (a FAT of a 20 MB file would be 5 M Python ints)."""
    values = array("I", raw[:len(raw) // 4 * 4])
    if sys.byteorder == "big":
        values.byteswap()
    return values
