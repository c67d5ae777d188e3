"""Checks on a workbook package before any reader inflates or parses it.

A submission comes from outside by email. Before calamine builds a sheet in memory (it allocates
the whole used range), every part of the zip is inflated here with a bound, so that:
- a zip bomb (declared or real size, or ratio, past the limits) is refused before it costs memory;
- XML with a DOCTYPE or entity declarations (billion laughs, external entities) is refused — no
  reader of ours expands entities, and a township's workbook never needs them;
- a sheet whose values span more rows or columns than the limits (e.g. a cell at XFD1048576) is
  refused instead of making a reader allocate millions of empty cells;
- a workbook with more sheets than the limit is refused.
"""
from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from .cells import split_a1
from .limits import LIMITS
from .problems import Problem, problem

CHUNK = 1 << 16
_DOCTYPE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
# The r attribute of a valued cell (not self-closing: <c r="B7" s="1"/> is formatting only) that lies
# far out: a three-letter column, or a row number of five or more digits. Normal sheets have none,
# so the scan runs at C speed without building matches. Only cells have letters in r; rows do not.
# A cell with content; an empty one is <c .../> or, as lxml writes it (openpyxl with lxml), <c ...></c>.
_FAR_COLUMN = re.compile(rb' r="([A-Z]{3})[0-9]{1,7}"[^>]*[^/]>(?!</c>)')
_FAR_ROW = re.compile(rb' r="[A-Z]{1,3}([0-9]{5,7})"[^>]*[^/]>(?!</c>)')
_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b")


def inspect_package(path: Path, name: str) -> list[Problem]:
    """Problems that make the package unsafe to read; empty when it may be read."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            found = _declared_limits(infos, name)
            if found:
                return found
            for info in infos:
                found = _inspect_member(zf, info, name)
                if found:
                    return found
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        return [problem("FILE_002", file=name, detail=str(exc)[:120] or type(exc).__name__)]
    return []


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


def _inspect_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> list[Problem]:
    data = _inflate_bounded(zf, info, name)
    if isinstance(data, Problem):
        return [data]
    lower = info.filename.lower()
    if not (lower.endswith(".xml") or lower.endswith(".rels")):
        return []
    if _DOCTYPE.search(data[:CHUNK]):
        return [problem("FILE_009", file=name, detail=info.filename)]
    if lower == "xl/workbook.xml" and len(_SHEET_TAG.findall(data)) > LIMITS.max_sheets:
        return [problem("FILE_011", file=name, detail=f"{len(_SHEET_TAG.findall(data))} 个工作表 > {LIMITS.max_sheets}")]
    if lower.startswith("xl/worksheets/") and lower.endswith(".xml"):
        return _extent_problems(data, info.filename, name)
    return []


def _inflate_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes | Problem:
    """The member's bytes, inflating at most its declared size (+1 to catch a lying header)."""
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


def _extent_problems(xml: bytes, member: str, name: str) -> list[Problem]:
    columns = set(_FAR_COLUMN.findall(xml))
    max_col = max((split_a1(f"{c.decode()}1")[1] for c in columns), default=0)
    rows = set(_FAR_ROW.findall(xml))
    max_row = max((int(r) - 1 for r in rows), default=0)
    if max_row + 1 > LIMITS.max_rows or max_col + 1 > LIMITS.max_columns:
        return [problem("FILE_010", file=name, detail=f"{member} 的数据范围达到 {max_row + 1} 行 × {max_col + 1} 列"
                                                      f"（上限 {LIMITS.max_rows} 行 × {LIMITS.max_columns} 列）")]
    return []
