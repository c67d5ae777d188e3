"""The public notice (公示) as the Word document an office posts: one for the county, one per township.

A notice is posted on a village board and published by the county's media, and offices write and
publish them as Word documents (公文 layout: title, body, list, where to report, issuing body and
date), not as spreadsheets — so this is a .docx (python-docx). The bytes are deterministic: fixed
core properties and fixed zip entry times, so the same inputs give the same file.
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import DeflatedPart, FastZip
from .consolidate import Consolidated, system_name
from .records import BranchResult
from .rulebook import rating_text

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
TITLE_FONT, BODY_FONT, TABLE_FONT = "方正小标宋简体", "仿宋_GB2312", "宋体"
BLANK = "＿＿＿＿＿＿＿＿"
TABLE_WIDTHS = (1.5, 4.5, 6.5, 3.0)  # cm

# python-docx and lxml (~60 ms to import) are loaded when a notice is first built (`_load_docx`), in the process that
# writes it (a lane's child when the run has one), rather than at the start of every run: python-docx's names below
# are None until then.
Document: Any = None
WD_TABLE_ALIGNMENT: Any = None
WD_ALIGN_PARAGRAPH: Any = None
OxmlElement: Any = None
qn: Any = None
PackageWriter: Any = None
Cm: Any = None
Pt: Any = None
Table: Any = None


def _load_docx() -> None:
    import docx
    import docx.enum.table
    import docx.enum.text
    import docx.opc.pkgwriter
    import docx.oxml
    import docx.oxml.ns
    import docx.shared
    import docx.table

    globals().update(Document=docx.Document, WD_TABLE_ALIGNMENT=docx.enum.table.WD_TABLE_ALIGNMENT,
                     WD_ALIGN_PARAGRAPH=docx.enum.text.WD_ALIGN_PARAGRAPH, OxmlElement=docx.oxml.OxmlElement,
                     qn=docx.oxml.ns.qn, PackageWriter=docx.opc.pkgwriter.PackageWriter, Cm=docx.shared.Cm,
                     Pt=docx.shared.Pt, Table=docx.table.Table)


@dataclass(frozen=True)
class NoticeContact:
    """Who issues the notice and where to report, from the run config (blank lines when not set)."""
    county: str = ""
    issuer: str = ""
    phone: str = ""
    address: str = ""
    mailbox: str = ""


def notice_file_name(rulebook_id: str, period: int, township: str = "") -> str:
    return f"公示_{rulebook_id}_{period}" + (f"_{township}" if township else "") + ".docx"


def notice_title(c: Consolidated, contact: NoticeContact, township: str = "") -> str:
    return f"关于{contact.county}{township}{c.period}年度{system_name(c.rulebook, contact.county)}评定结果的公示"


# Entries of a notice's package kept across retold notices (_deterministic): where each goes, its bytes deflated.
Unchanged = dict[str, tuple[Any, DeflatedPart]]


def write_county_notice(folder: Path, c: Consolidated, contact: NoticeContact) -> Path:
    """The county's notice: every branch on the notice list, by township (the townships' are their own job)."""
    listed = [b for b in c.county.branches if "notice" in b.lists]
    return write_notice(folder / notice_file_name(c.rulebook.id, c.period), c, contact, listed)


def write_township_notices(folder: Path, c: Consolidated, contact: NoticeContact) -> list[Path]:
    """One notice per township with a branch on the notice list, in the county's order."""
    listed = [b for b in c.county.branches if "notice" in b.lists]
    paths: list[Path] = []
    by_township: dict[str, list[BranchResult]] = {}
    for b in listed:
        by_township.setdefault(b.township, []).append(b)
    doc = None
    unchanged: Unchanged = {}  # the parts a retelling leaves alone, serialised and deflated once
    for township in _ordered(c.townships, listed):
        members = by_township[township]
        # A province has thousands of township notices alike but for a few texts and the list: the previous
        # one is retold (its texts and rows replaced) rather than built again — the same XML, ten times faster.
        if doc is None or not _retell(doc, c, contact, members, township):
            doc = _notice(c, contact, members, township)
            unchanged = {}
        paths.append(_written(folder / notice_file_name(c.rulebook.id, c.period, township),
                              _deterministic(doc, unchanged)))
    return paths


def _ordered(townships: list[str], listed: list[BranchResult]) -> list[str]:
    seen = {b.township for b in listed}
    return [t for t in townships if t in seen] + sorted(seen - set(townships))


def write_notice(path: Path, c: Consolidated, contact: NoticeContact, members: list[BranchResult],
                 township: str = "") -> Path:
    later = _RowsLater()
    return _written(path, _deterministic(_notice(c, contact, members, township, later), later=later))


def _written(path: Path, data: bytes) -> Path:
    """The notice written as every other output is, into the run's staging folder, which no one reads before the
    commit publishes it whole (publish.py). Written beside it and renamed, with an fsync, a province's 2,000 township
    notices spent ~1.4 ms each making a temporary file among thousands and waiting for the disk (perf)."""
    path.write_bytes(data)
    return path


def _notice(c: Consolidated, contact: NoticeContact, members: list[BranchResult], township: str = "",
            later: _RowsLater | None = None):
    """LATER: where the lists' rows are kept as texts, to be put into the document as it is serialised. Every
    document is built here first (a retold one was built here before), so python-docx is loaded here."""
    _load_docx()
    doc = Document()
    title = notice_title(c, contact, township)
    _page(doc, title)
    _paragraph(doc, title, TITLE_FONT, 22, WD_ALIGN_PARAGRAPH.CENTER, space_after=12)
    for text in _body(c, contact, members, township):
        _paragraph(doc, text, BODY_FONT, 16, first_line=True)
    groups: dict[str, list[BranchResult]] = {}
    for b in members:
        groups.setdefault(b.township, []).append(b)
    blank_table: list[Any] = []  # the first group's table before its rows: the others start as copies of it
    for group in _ordered(c.townships, members):
        _paragraph(doc, _group_heading(group, groups[group]), BODY_FONT, 16, bold=True, space_before=6)
        _table(doc, c, groups[group], blank_table, later)
    _paragraph(doc, "", BODY_FONT, 16)
    _paragraph(doc, contact.issuer or BLANK, BODY_FONT, 16, WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(doc, _chinese_date(c.notice.get("start")), BODY_FONT, 16, WD_ALIGN_PARAGRAPH.RIGHT)
    _fix_properties(doc, title)
    return doc


def _group_heading(group: str, rows: list[BranchResult]) -> str:
    return f"{group}（{len(rows)}个）"


def _retell(doc, c: Consolidated, contact: NoticeContact, members: list[BranchResult], township: str) -> bool:
    """Turn one township's notice into another's in place; False (doc untouched) when a text needs python-docx's
    own handling of a run. A township notice has one group: title, body, heading, table, issuer, date."""
    title = notice_title(c, contact, township)
    texts = {0: title, 1: _body(c, contact, members, township)[0], 8: _group_heading(township, members)}
    rows = [_row_texts(c, i, b) for i, b in enumerate(members, 1)]
    if not all(_plain_run_text(t) for t in [*texts.values(), *(t for row in rows for t in row)]):
        return False
    paragraphs = doc.element.body.findall(qn("w:p"))
    for index, text in texts.items():
        paragraphs[index].find(f"{qn('w:r')}/{qn('w:t')}").text = text
    doc.sections[0].header._element.find(f"{qn('w:p')}/{qn('w:r')}/{qn('w:t')}").text = title
    table = doc.element.body.find(qn("w:tbl"))
    data_rows = table.findall(qn("w:tr"))[1:]
    prototype = copy.deepcopy(data_rows[0])
    for tr in data_rows:
        table.remove(tr)
    for texts_of_row in rows:
        tr = copy.deepcopy(prototype)
        _set_texts(tr, texts_of_row)
        table.append(tr)
    _fix_properties(doc, title)
    return True


def _row_texts(c: Consolidated, i: int, b: BranchResult) -> list[str]:
    return [str(i), b.branch_code, b.name, rating_text(c.rulebook, b.rating, b.grade)]


def _body(c: Consolidated, contact: NoticeContact, members: list[BranchResult], township: str) -> list[str]:
    start, end = c.notice.get("start"), c.notice.get("end")
    days = c.notice.get("working_days", 5)
    when = (f"{_chinese_date(start)}至{_chinese_date(end)}（{days}个工作日）" if end
            else f"{BLANK}至{BLANK}（不少于{days}个工作日）")
    where = f"{contact.county}{township}" or "本县"
    return [
        f"按照{system_name(c.rulebook, contact.county)}工作安排，经评定，{where}共有{len(members)}个村党支部拟列入公示名单，现予以公示。",
        f"公示时间：{when}。",
        ("公示期间，如对公示对象有不同意见，可通过来电、来信、来访或电子邮件等方式反映。"
         "反映情况应实事求是、具体详实；以个人名义反映的请署真实姓名，以单位名义反映的请加盖公章。"),
        f"联系电话：{contact.phone or BLANK}",
        f"通信地址：{contact.address or BLANK}",
        f"电子邮箱：{contact.mailbox or BLANK}",
        "附：公示名单（按乡镇排列）" if members else "附：公示名单（无）",
    ]


def _chinese_date(iso: str | None) -> str:
    if not iso:
        return f"{BLANK}年{BLANK[:2]}月{BLANK[:2]}日"
    day = dt.date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def _page(doc, title: str) -> None:
    """A4 with 公文 margins; the title in the page header and 第 N 页 共 M 页 in the footer of every page."""
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(header, title, BODY_FONT, 10)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(footer, "第 ", BODY_FONT, 10)
    _field(footer, "PAGE")
    _run(footer, " 页 共 ", BODY_FONT, 10)
    _field(footer, "NUMPAGES")
    _run(footer, " 页", BODY_FONT, 10)


def _field(paragraph, code: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" {code} ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _paragraph(doc, text: str, font: str, size: float, align=None, bold: bool = False, first_line: bool = False,
               space_before: float = 0, space_after: float = 0):
    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(space_before), Pt(space_after)
    fmt.line_spacing = Pt(size * 1.6)
    if first_line:
        fmt.first_line_indent = Pt(size * 2)
    _run(p, text, font, size, bold)
    return p


def _run(paragraph, text: str, font: str, size: float, bold: bool = False) -> None:
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = font
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _table(doc, c: Consolidated, rows: list[BranchResult], blank: list[Any] | None = None,
           later: _RowsLater | None = None) -> None:
    """The list's table. `blank`: where the first table built keeps a copy of itself before its rows were
    filled in (header and one row); each further table starts as a copy of that — a county notice has a table
    per township, and python-docx takes milliseconds to build one (its style is looked up among all the styles).
    `later`: the rows are kept there as texts when they are all plain (_RowsLater)."""
    if blank and rows:
        tbl = copy.deepcopy(blank[0])
        doc.element.body._insert_tbl(tbl)  # where add_table puts it: before the section properties
        table = Table(tbl, doc._body)
        first = table.rows[1]
    else:
        table = doc.add_table(rows=1, cols=4)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, text in zip(table.rows[0].cells, ["序号", "支部编码", "支部名称", "评定结果"], strict=True):
            _cell(cell, text, bold=True)
        _repeat_header(table.rows[0])
        _widths(table.rows[0])
        if not rows:
            return
        first = table.add_row()
        for cell in first.cells:
            _cell(cell, "0")
        _widths(first)
        if blank is not None:
            blank.append(copy.deepcopy(table._tbl))
    # python-docx builds a cell in ~0.1 ms; a county notice lists thousands of branches. The first row is built
    # with it, the others are copies of that row's XML with their texts set: the same elements, the same bytes.
    prototype = first._tr
    if later is not None and later.takes(prototype, [_row_texts(c, i, b) for i, b in enumerate(rows, 1)]):
        return
    pristine = copy.deepcopy(prototype)  # the copies are of the row before its texts: a first row with a tab has more runs
    for i, b in enumerate(rows, 1):
        texts = _row_texts(c, i, b)
        tr = prototype if i == 1 else copy.deepcopy(pristine)
        if i > 1:
            table._tbl.append(tr)
        if all(_plain_run_text(t) for t in texts):
            _set_texts(tr, texts)
        else:  # spaces at an edge, tabs or line breaks need python-docx's handling of the run
            for cell, text in zip(table.rows[i].cells, texts, strict=True):
                for r in list(cell.paragraphs[0].runs):
                    r._element.getparent().remove(r._element)
                _cell(cell, text)


class _RowsLater:
    """A notice's list rows put into word/document.xml as it is serialised, not built as elements first.

    A province's county notice lists ~50,000 branches; as python-docx elements (a row is ~36 of them) they took
    ~700 MB while the notice was written, as XML ~1 KB a row. Each table keeps one row, its cells' texts
    placeholders; the serialised document has that row written once for each row of the list, its texts escaped as
    lxml escapes them (& < >) — the same bytes as the rows built as elements. Only plain texts (`_plain_run_text`,
    printable) are kept here; a table with another is built as elements."""

    def __init__(self) -> None:
        self.nonce = os.urandom(8).hex()  # a placeholder no submitted text can spell
        self.tables: list[list[list[str]]] = []

    def _marks(self, table: int) -> list[str]:
        return [f"\ue000{self.nonce}.{table}.{j}\ue001" for j in range(len(TABLE_WIDTHS))]

    def takes(self, prototype, rows: list[list[str]]) -> bool:
        """Whether the rows are kept here (the prototype row then holds the placeholders)."""
        if not all(_plain_run_text(t) and t.isprintable() for row in rows for t in row):
            return False
        _set_texts(prototype, self._marks(len(self.tables)))
        self.tables.append(rows)
        return True

    def expanded(self, blob: bytes) -> Iterator[bytes]:
        """The serialised document with each table's placeholder row written once for each of its rows, a table at
        a time (written into the zip as it comes: a province's notice is ~55 MB of XML)."""
        at = 0
        for n, rows in enumerate(self.tables):
            marks = [m.encode() for m in self._marks(n)]
            first = blob.index(marks[0], at)
            start = _row_start(blob, at, first)
            end = blob.index(b"</w:tr>", first) + len(b"</w:tr>")
            pieces, cut = [], start
            for mark in marks:
                found = blob.index(mark, cut, end)
                pieces.append(blob[cut:found].decode())
                cut = found + len(mark)
            pieces.append(blob[cut:end].decode())
            yield blob[at:start]
            yield "".join(_rows_xml(pieces, rows)).encode()
            at = end
        yield blob[at:]


def _rows_xml(pieces: list[str], rows: list[list[str]]) -> list[str]:
    """Each row: the row's XML pieces around its texts (escaped)."""
    out: list[str] = []
    last = pieces[-1]
    for row in rows:
        out.extend(piece + _escaped(text) for piece, text in zip(pieces, row, strict=False))
        out.append(last)
    return out


def _row_start(blob: bytes, at: int, before: int) -> int:
    """Where the <w:tr> (with or without attributes) holding position `before` starts."""
    start = before
    while True:
        start = blob.rindex(b"<w:tr", at, start)
        if blob[start + 5:start + 6] in (b">", b" "):
            return start


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _set_texts(tr, texts: list[str]) -> None:
    """A copied table row's cells say `texts` (each cell one run of plain text)."""
    for node, text in zip(tr.iter(qn("w:t")), texts, strict=True):
        node.text = text


def _widths(row) -> None:
    for cell, width in zip(row.cells, TABLE_WIDTHS, strict=True):
        cell.width = Cm(width)


def _plain_run_text(text: str) -> bool:
    """Text a <w:t> holds as it is (python-docx splits tabs and breaks into their own elements)."""
    return bool(text) and text == text.strip() and not any(ch in text for ch in "\t\n\r")


def _cell(cell, text: str, bold: bool = False) -> None:
    p = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(p, text, TABLE_FONT, 12, bold)


def _repeat_header(row) -> None:
    """The table's header row repeats at the top of each page the list runs onto."""
    props = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)


def _fix_properties(doc, title: str) -> None:
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, "starbatch", "starbatch"
    props.created = props.modified = props.last_printed = FIXED_TIME
    props.revision = 1
    props.comments = props.keywords = props.subject = props.category = ""


# What _retell changes: the body, the header's title, the core properties' title.
_RETOLD = ("/word/document.xml", "/word/header", "/docProps/core.xml")


def _deterministic(doc, unchanged: Unchanged | None = None, later: _RowsLater | None = None) -> bytes:
    """The document's zip with every entry at one fixed time, in python-docx's order of parts.

    python-docx's own save stamps each entry with the time of writing; its PackageWriter steps (python-docx is
    pinned) are given a writer that stamps a fixed time instead, so the package is compressed once. `unchanged`
    keeps, across retold notices, the parts retelling never touches, serialised and deflated (styles alone take
    2 ms to serialise and as long to deflate) — and the content types and relationships, which retelling (texts
    only) never changes either.
    """
    package = doc.part.package
    for part in package.parts:
        part.before_marshal()
    out = io.BytesIO()
    with FastZip(out, "w") as archive:
        fixed = _FixedTimeZip(archive)
        _write_kept(fixed, unchanged, "[Content_Types].xml",
                    lambda w: PackageWriter._write_content_types_stream(w, package.parts))
        _write_kept(fixed, unchanged, "/_rels/.rels", lambda w: PackageWriter._write_pkg_rels(w, package.rels))
        for part in package.parts:  # PackageWriter._write_parts, with the unchanged parts' bytes kept
            name = str(part.partname)
            if later is not None and later.tables and name == "/word/document.xml":
                fixed.write_chunks(part.partname, later.expanded(part.blob))
            elif unchanged is None or name.startswith(_RETOLD):
                fixed.write(part.partname, part.blob)
            else:
                _write_kept(fixed, unchanged, name, _part_entry(part))
            if len(part.rels):
                _write_kept(fixed, unchanged, f"{name} rels", _rels_entry(part))
    return out.getvalue()


def _write_kept(fixed: _FixedTimeZip, unchanged: Unchanged | None, key: str, write: Callable[[Any], None]) -> None:
    """One entry `write` makes (given a writer: PackageWriter's steps take PhysPkgWriter's one method), deflated once
    and kept in `unchanged` under `key` for the notices retold after this one."""
    if unchanged is None:
        write(fixed)
        return
    kept = unchanged.get(key)
    if kept is None:
        caught = _OneEntry()
        write(caught)
        kept = unchanged[key] = (caught.pack_uri, DeflatedPart(caught.blob))
    fixed.write_deflated(*kept)


def _part_entry(part: Any) -> Callable[[Any], None]:
    return lambda writer: writer.write(part.partname, part.blob)  # the blob is serialised only when not kept


def _rels_entry(part: Any) -> Callable[[Any], None]:
    return lambda writer: writer.write(part.partname.rels_uri, part.rels.xml)


class _OneEntry:
    """A writer that keeps the one entry written to it."""

    def write(self, pack_uri: Any, blob: bytes) -> None:
        self.pack_uri, self.blob = pack_uri, blob


class _FixedTimeZip:
    """The one method PackageWriter calls on its physical writer (and one for a part deflated before)."""

    def __init__(self, archive: FastZip) -> None:
        self.archive = archive

    def write(self, pack_uri, blob: bytes) -> None:
        self.archive.writestr(self._entry(pack_uri), blob)

    def write_chunks(self, pack_uri, chunks: Iterable[bytes]) -> None:
        """write(pack_uri, b"".join(chunks)) — the same bytes in the archive — without joining them (zipfile's
        writestr is this: one write into the entry opened for writing)."""
        entry = self._entry(pack_uri)
        entry._compresslevel = self.archive.compresslevel  # type: ignore[attr-defined]  # as FastZip.writestr sets it
        with self.archive.open(entry, "w") as dest:
            for chunk in chunks:
                dest.write(chunk)

    def write_deflated(self, pack_uri, part: DeflatedPart) -> None:
        self.archive.write_deflated(self._entry(pack_uri), part)

    @staticmethod
    def _entry(pack_uri) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(pack_uri.membername, ZIP_TIME)
        entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, 0o600 << 16
        return entry
