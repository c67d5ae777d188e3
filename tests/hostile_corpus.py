"""A hostile corpus, built on demand (small on disk): each function writes one file that once made a
reader allocate gigabytes, or vanish, or crash, and returns its path."""
from __future__ import annotations

import io
import os
import re
import struct
import zipfile
from pathlib import Path

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"


def small_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["B2"] = "x", 3
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def rewrite_zip(data: bytes, member: str, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info, change(content) if info.filename == member else content)
    return out.getvalue()


# The cell B2 moved far away, written as no office program writes it but as any XML reader accepts.
FAR_CELL_SPELLINGS = {
    "single-quotes": lambda xml: xml.replace(b'<c r="B2"', b"<c r='XFD60000'"),
    "newline-before-r": lambda xml: xml.replace(b'<c r="B2"', b'<c\n r="XFD60000"'),
    "spaces-around-equals": lambda xml: xml.replace(b'<c r="B2"', b'<c r = "XFD60000"'),
    "tab-and-later-attribute": lambda xml: xml.replace(b'<c r="B2" t="n"', b'<c t="n"\tr="XFD60000"'),
    "prefixed-elements": lambda xml: xml.replace(b'<c r="B2" t="n"><v>3</v></c>',
                                                 b'<x:c r="XFD60000" t="n"><x:v>3</x:v></x:c>')
                                        .replace(b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '),
    "row-far-cells-without-r": lambda xml: xml.replace(b'<row r="2"><c r="B2" t="n">', b'<row r="60000"><c t="n">'),
    "lowercase-reference": lambda xml: xml.replace(b'<c r="B2"', b'<c r="xfd60000"'),
    # calamine places a cell by its last r: the first must not be the only one looked at
    "second-r-attribute": lambda xml: xml.replace(b'<c r="B2"', b'<c r="B2" r="XFD60000"'),
    "second-r-after-another-attribute": lambda xml: xml.replace(b'<c r="B2" t="n"', b'<c r="B2" t="n" r="XFD60000"'),
    "space-inside-quotes": lambda xml: xml.replace(b'<c r="B2"', b'<c r=" XFD60000"'),
    "second-r-spaced": lambda xml: xml.replace(b'<c r="B2"', b'<c r="B2" r =  "XFD60000"'),
    "second-r-single-quoted": lambda xml: xml.replace(b'<c r="B2"', b"<c r=\"B2\" r='XFD60000'"),
}


def far_cell_xlsx(folder: Path, spelling: str) -> Path:
    path = folder / f"far-{spelling}.xlsx"
    path.write_bytes(rewrite_zip(small_xlsx(), SHEET, FAR_CELL_SPELLINGS[spelling]))
    return path


def many_cells_without_r_xlsx(folder: Path) -> Path:
    """1,500 cells in a row, none with r: a reader places them by counting, past column 1,000."""
    cells = b"".join(b'<c t="n"><v>1</v></c>' for _ in range(1500))
    path = folder / "counted-columns.xlsx"
    path.write_bytes(rewrite_zip(small_xlsx(), SHEET, lambda xml: re.sub(rb'<row r="2">.*?</row>', b"<row>" + cells + b"</row>", xml)))
    return path


def huge_dimension_xlsx(folder: Path) -> Path:
    """A <dimension> claiming the whole sheet over two real cells: a hint, not a reason to refuse."""
    path = folder / "dimension-only.xlsx"
    path.write_bytes(rewrite_zip(small_xlsx(), SHEET, lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)))
    return path


def doctype_after_padding_xlsx(folder: Path) -> Path:
    """An entity declaration behind 100 KB of comment (the old guard looked at the first 64 KB only)."""
    def change(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
        return b"<!--" + b"x" * 100_000 + b'--><!DOCTYPE w [<!ENTITY e "e">]>' + body
    path = folder / "doctype-padded.xlsx"
    path.write_bytes(rewrite_zip(small_xlsx(), "xl/workbook.xml", change))
    return path


# --- .ods -------------------------------------------------------------------------------------------
_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def ods_bytes(tables: list[str]) -> bytes:
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
               f'<office:body><office:spreadsheet>{"".join(tables)}</office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def ods_table(name: str, rows: str) -> str:
    return f'<table:table table:name="{name}">{rows}</table:table>'


VALUE_CELL = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
# What LibreOffice writes after the data: the rest of the sheet as repeated empty rows and cells.
EMPTY_TAIL = ('<table:table-row table:number-rows-repeated="1048574">'
              '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>')


def ods_file(folder: Path, name: str, tables: list[str]) -> Path:
    path = folder / name
    path.write_bytes(ods_bytes(tables))
    return path


def ods_repeated_rows(folder: Path) -> Path:
    row = f'<table:table-row table:number-rows-repeated="5000000">{VALUE_CELL}</table:table-row>'
    return ods_file(folder, "rows-repeated.ods", [ods_table("S", row)])


def ods_repeated_columns(folder: Path) -> Path:
    cell = VALUE_CELL.replace("<table:table-cell ", '<table:table-cell table:number-columns-repeated="16000" ')
    return ods_file(folder, "columns-repeated.ods", [ods_table("S", f"<table:table-row>{cell}</table:table-row>")])


def ods_many_tables(folder: Path, count: int = 60) -> Path:
    rows = f"<table:table-row>{VALUE_CELL}</table:table-row>"
    return ods_file(folder, "tables-60.ods", [ods_table(f"S{i}", rows) for i in range(count)])


def ods_plain(folder: Path) -> Path:
    rows = f"<table:table-row>{VALUE_CELL}{VALUE_CELL}</table:table-row>" + EMPTY_TAIL
    return ods_file(folder, "plain.ods", [ods_table("S", rows)])


# --- .xls ------------------------------------------------------------------------------------------

def patch_xls_cells(path: Path, row: int, column: int) -> Path:
    """Move every text cell (LABELSST) of an .xls to (row, column), in place, stream size unchanged."""
    import olefile  # installed with msoffcrypto-tool, a test dependency

    ole = olefile.OleFileIO(str(path), write_mode=True)
    data = bytearray(ole.openstream("Workbook").read())
    pos = 0
    while pos + 4 <= len(data):
        kind, size = struct.unpack_from("<HH", data, pos)
        if kind == 0x00FD:
            struct.pack_into("<HH", data, pos + 4, row, column)
        pos += 4 + size
    ole.write_stream("Workbook", bytes(data))
    ole.close()
    return path


# --- names and messages ----------------------------------------------------------------------------
GBK_NAME = "青山乡报送.xlsx".encode("gbk")
GBK_FOLDER = "青山乡".encode("gbk")


def write_bytes_named(folder: Path, name: bytes, data: bytes) -> Path:
    """A file whose name on disk is raw bytes (as copied from a Windows share), not UTF-8."""
    path = os.path.join(os.fsencode(folder), name)
    with open(path, "wb") as fh:
        fh.write(data)
    return Path(os.fsdecode(path))
