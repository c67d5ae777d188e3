"""The county's own workbooks: the review workbook (县级评审表) and the complaints workbook (公示反馈表).

Like the townships' template, each is generated from row schemas built here from the rulebook (its own
template id and version), and read back through the same reader, normaliser and schema checks
(validate.read_sheet), so a wrong cell is refused at its cell with a receipt. What a sheet holds and what
its cells may be is data; what the findings do is processor/procedure.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .normalise import clean_text, to_date_text
from .problems import Problem, problem, sort_key
from .read import UnreadableSheet, open_workbook
from .records import Record, Submission
from .rulebook import Rulebook
from .sheets import INSTRUCTIONS_SHEET, REVIEW, SELF, Field, Sheet, score_field_id
from .template import field_rule_text
from .validate import content_digest, file_bytes, read_meta, read_sheet
from .xlsx import NO_CELL, Formats, display_width, new_workbook, small_workbook, write_rows

REVIEW_KIND, COMPLAINTS_KIND = "review", "complaints"
PROCEDURE_VERSION = "p1"  # bumped when the layout of these workbooks changes
KIND_TEXT = {REVIEW_KIND: "县级评审表", COMPLAINTS_KIND: "公示反馈表"}
BODY_LABEL = {REVIEW_KIND: "评审单位", COMPLAINTS_KIND: "报送单位"}
REVIEW_LABELS = {"template_id": "模板编号", "template_version": "模板版本", "body": "评审单位", "period": "评定年度",
                 "confirm_date": "县委确定日期", "confirm_ref": "确定会议及文号"}
COMPLAINT_LABELS = {"template_id": "模板编号", "template_version": "模板版本", "body": "报送单位", "period": "评定年度"}
CONCLUSIONS = ["维持", "调整", "不予认定"]
FINDINGS = ["属实", "不属实", "核查中"]
CANCEL_RATING, CANCEL_STAR = "取消星级", "减一星"
REVIEW_ROWS = 500
TOWNSHIP, COUNTY = "township", "county"


def procedure_template_id(rb: Rulebook, kind: str) -> str:
    return f"{rb.template_id}-{kind}"


def procedure_version(rb: Rulebook) -> str:
    return f"{rb.version}-{PROCEDURE_VERSION}"


def kind_of_template(rb: Rulebook, template_id: str) -> str | None:
    """review / complaints when the id is one of this rulebook's county workbooks."""
    return next((k for k in (REVIEW_KIND, COMPLAINTS_KIND) if template_id == procedure_template_id(rb, k)), None)


def review_workbook_name(rb: Rulebook, period: int) -> str:
    return f"县级评审表_{rb.id}_{period}.xlsx"


def complaints_workbook_name(rb: Rulebook, period: int) -> str:
    return f"公示反馈表_{rb.id}_{period}.xlsx"


# --- the sheets, from the rulebook ---------------------------------------------------------------

def _text(title: str, limit: int, description: str = "") -> dict[str, Any]:
    return {"type": "string", "title": title, "maxLength": limit, "description": description}


def _date(title: str, description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date", "x-kind": "date", "title": title, "description": description}


def _enum(title: str, options: list[str], description: str) -> dict[str, Any]:
    return {"type": "string", "title": title, "enum": options, "description": description}


def item_title(unit: dict[str, Any], item: dict[str, Any], who: str) -> str:
    return f"{unit['name']}｜{item['name']}｜{'乡镇评分' if who == TOWNSHIP else '县级评审分'}"


def review_sheet(rb: Rulebook) -> Sheet:
    """One row per branch the panel reviews: the township's figures (filled in), then the panel's own."""
    props: dict[str, Any] = {
        "township": _text("乡镇", 30, "已填好，请勿修改。"),
        "branch_code": {"type": "string", "title": "支部编码", "minLength": 1, "maxLength": 30,
                        "description": "已填好，请勿修改。"},
        "branch_name": _text("支部名称", 60, "已填好，请勿修改。"),
        "review_kind": _enum("审查类别", ["评审", "抽查"], "评审：乡镇推荐的支部，逐个评审；抽查：随机抽取的支部。"),
        "township_rating": _text("乡镇评定", 20, "乡镇评定（推荐）的结果，已填好。"),
    }
    for unit in rb.units:
        for item in unit["items"]:
            top = item["max"]
            props[score_field_id(unit["id"], item["id"], TOWNSHIP)] = {
                "type": "number", "title": item_title(unit, item, TOWNSHIP), "minimum": 0, "maximum": top,
                "description": "乡镇评审分（无评审分时为自评分），已填好，请勿修改。"}
            props[score_field_id(unit["id"], item["id"], COUNTY)] = {
                "type": "number", "title": item_title(unit, item, COUNTY), "minimum": 0, "maximum": top,
                "description": f"县级评审组的评分：0 至 {top} 分。结论为“调整”时按此重新评定；留空沿用乡镇评分。"}
    manual = [v["name"] for v in rb.vetoes if "when" not in v]
    if manual:
        props["veto"] = _enum("县级认定否决事项", manual, "评审中查实的一票否决事项（如有）；结论应为“调整”。")
    props |= {
        "conclusion": _enum("结论", CONCLUSIONS, "维持：认可乡镇评定；调整：按县级评审分和否决事项重新评定；不予认定：不认定星级。"),
        "reviewer": _text("评审人", 30, "填写结论时必填。"),
        "review_date": _date("评审日期", "填写结论时必填，如 2027-01-08。"),
        "note": _text("说明", 500, "发现弄虚作假、降低标准等情况请在此说明。"),
    }
    for fid, spec in props.items():
        if fid in ("township", "branch_code", "branch_name", "review_kind", "township_rating") or fid.endswith(f".{TOWNSHIP}"):
            spec["x-prefilled"] = True
    return _sheet("review", "县级评审", rb, props, ["branch_code"])


def complaints_sheet(rb: Rulebook) -> Sheet:
    procedure = rb.data.get("procedure") or {}
    actions = [CANCEL_RATING] + ([CANCEL_STAR] if procedure.get("complaint_cancels") == "rating_or_one_star" else [])
    props: dict[str, Any] = {
        "branch_code": {"type": "string", "title": "支部编码", "minLength": 1, "maxLength": 30,
                        "description": "被反映支部的编码（见评定结果汇总“支部评定”）。"},
        "branch_name": _text("支部名称", 60, "便于核对，可不填。"),
        "report": {**_text("反映的问题", 500, "公示期间收到的问题反映或举报的内容。"), "minLength": 1},
        "finding": _enum("核查结论", FINDINGS, "属实 / 不属实 / 核查中（未核查完毕的，发放表保持草案）。"),
        "action": _enum("处理", actions, "核查属实时必填：" + "；".join(actions) + "。"),
        "checked_on": _date("核查日期", "核查完毕时必填，如 2027-01-15。"),
        "checker": _text("核查人", 30, "可不填。"),
    }
    return _sheet("complaints", "公示反馈", rb, props, ["branch_code", "report", "finding"])


def _sheet(key: str, name: str, rb: Rulebook, props: dict[str, Any], required: list[str]) -> Sheet:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"https://starbatch.invalid/schemas/generated/{rb.template_id}/{key}.schema.json",
              "title": name, "type": "object", "properties": props, "required": required,
              "x-sheet": name, "x-order": list(props)}
    return Sheet(key, name, schema)


def sheet_for(rb: Rulebook, kind: str) -> Sheet:
    return review_sheet(rb) if kind == REVIEW_KIND else complaints_sheet(rb)


# --- writing ---------------------------------------------------------------------------------

@dataclass
class ReviewRow:
    """A branch the panel must review, with the township's figures and the hints for the panel."""
    township: str
    branch_code: str
    name: str
    kind: str  # 评审 / 抽查
    rating_text: str
    items: dict[str, Any]  # township score field id -> the score the township's rating used
    hints: list[str] = field(default_factory=list)


def write_review_workbook(path: Path, rb: Rulebook, period: int, rows: list[ReviewRow],
                          township_hints: list[tuple[str, str]], body: str) -> Path:
    sheet = review_sheet(rb)
    workbook = new_workbook(path, f"{period}年度 {rb.name} 县级评审表", small=small_workbook(len(rows)))
    formats = Formats(workbook)
    _instructions(workbook, formats, rb, period, REVIEW_KIND, body, sheet, _review_notes(rb))
    table = [{"township": r.township, "branch_code": r.branch_code, "branch_name": r.name, "review_kind": r.kind,
              "township_rating": r.rating_text, **r.items} for r in rows]
    _data_sheet(workbook, formats, sheet, table, frozen=5)
    _hints(workbook, formats, rows, township_hints)
    workbook.close()
    return path


def write_complaints_workbook(path: Path, rb: Rulebook, period: int, body: str) -> Path:
    sheet = complaints_sheet(rb)
    workbook = new_workbook(path, f"{period}年度 {rb.name} 公示反馈表", small=True)
    formats = Formats(workbook)
    notes = ["填写说明：", "1. 公示期间收到的每一件问题反映填写一行；核查完毕后填写核查结论、处理和核查日期。",
             "2. 核查结论为“属实”的，按“处理”取消星级（或减一星），发放表随之调整；“核查中”的，发放表保持草案。",
             "3. 填好后放入县委组织部收件箱（或发到收件邮箱）；再次报送以最后一次为准。"]
    _instructions(workbook, formats, rb, period, COMPLAINTS_KIND, body, sheet, notes)
    _data_sheet(workbook, formats, sheet, [], frozen=1)
    workbook.close()
    return path


def _review_notes(rb: Rulebook) -> list[str]:
    return ["填写说明：",
            "1. “县级评审”表每行一个须评审或抽查的支部，乡镇的逐项得分已填好（灰色），请在“县级评审分”列填写评审组的评分。",
            "2. 结论：维持（认可乡镇评定）、调整（按县级评审分和否决事项重新评定）、不予认定；填写结论时须填评审人和评审日期。",
            "3. “评审提示”表列出值得先看的支部（星级跳升、评审分与自评分雷同、分差过大、得分明显偏离本乡镇），仅供参考。",
            "4. 县委确定后，在本表黄色单元格填写县委确定日期和确定会议及文号，再次报送；公示期从确定日期次日起算。",
            f"5. 本表依据：{rb.name}。填好后放入县委组织部收件箱（或发到收件邮箱）；再次报送以最后一次为准。"]


def _instructions(workbook: Any, formats: Formats, rb: Rulebook, period: int, kind: str, body: str, sheet: Sheet,
                  notes: list[str]) -> None:
    ws = workbook.add_worksheet(INSTRUCTIONS_SHEET)
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 3, 60)
    ws.write_string(0, 0, f"{period}年度 {rb.name} {KIND_TEXT[kind]}", formats.title)
    fixed = [("模板编号", procedure_template_id(rb, kind)), ("模板版本", procedure_version(rb)),
             (BODY_LABEL[kind], body), ("评定年度", str(period))]
    for i, (label, value) in enumerate(fixed, 2):
        ws.write_string(i, 0, label, formats.bold)
        ws.write_string(i, 1, value, formats.input if label == BODY_LABEL[kind] else formats.text)
    row = 6
    if kind == REVIEW_KIND:
        for label, message in (("县委确定日期", "县委确定名单后填写，如 2027-01-20。"),
                               ("确定会议及文号", "如 县委常委会会议（2027年第2次）。")):
            ws.write_string(row, 0, label, formats.bold)
            ws.write_blank(row, 1, None, formats.input)
            ws.data_validation(row, 1, row, 1, {"validate": "any", "input_title": label, "input_message": message})
            row += 1
    row += 1
    for line in notes:
        ws.write_string(row, 0, line, formats.text)
        row += 1
    row += 1
    for j, h in enumerate(["工作表", "列", "必填", "填写要求"]):
        ws.write_string(row, j, h, formats.header)
    for f in sheet.fields:
        row += 1
        for j, text in enumerate([sheet.name, f.title, "是" if f.required else "", field_rule_text(f)]):
            ws.write_string(row, j, text, formats.wrap if j == 3 else formats.text)
    ws.activate()


def _data_sheet(workbook: Any, formats: Formats, sheet: Sheet, table: list[dict[str, Any]], frozen: int) -> None:
    ws = workbook.add_worksheet(sheet.name)
    locked = workbook.add_format({"font_name": "等线", "bg_color": "#EDEDED", "border": 1})
    ws.set_row(0, 48)
    for j, f in enumerate(sheet.fields):
        ws.write_string(0, j, f.title, formats.header_required if f.required else formats.header)
        ws.set_column(j, j, min(24, max(10, display_width(f.title) // 3 + 4)), _input_format(formats, f))
        if _is_input(f):
            ws.data_validation(1, j, REVIEW_ROWS, j, _validation(f))
    ids = [f.id for f in sheet.fields]
    rows = [[NO_CELL if values.get(fid) is None else values[fid] for fid in ids] for values in table]
    if rows:  # a province's review list has ~700,000 of these cells: one call, not one per cell
        write_rows(ws, formats, 1, rows, [locked] * len(ids), [])
    ws.freeze_panes(1, frozen)
    ws.protect("", {"format_columns": True, "autofilter": True, "select_locked_cells": True,
                    "select_unlocked_cells": True})


def _is_input(f: Field) -> bool:
    return not f.spec.get("x-prefilled")


def _input_format(formats: Formats, f: Field) -> Any:
    if not _is_input(f):
        return formats.text
    if f.kind == "date":
        return formats.input_date
    return formats.input_number if f.type == "number" else formats.input_text


def _validation(f: Field) -> dict[str, Any]:
    rule: dict[str, Any] = {"input_title": f.title.split("｜")[-1][:32], "input_message": field_rule_text(f)[:255],
                            "error_title": "输入有误", "error_message": field_rule_text(f)[:255]}
    spec = f.spec
    if "enum" in spec:
        rule.update({"validate": "list", "source": list(spec["enum"])})
    elif f.type == "number":
        rule.update({"validate": "decimal", "criteria": "between", "minimum": spec["minimum"],
                     "maximum": spec["maximum"]})
    elif f.kind == "date":
        rule.update({"validate": "date", "criteria": "between", "minimum": dt.date(1990, 1, 1),
                     "maximum": dt.date(2100, 12, 31)})
    else:
        rule.update({"validate": "length", "criteria": "<=", "value": spec.get("maxLength", 500)})
    return rule


def _hints(workbook: Any, formats: Formats, rows: list[ReviewRow], township_hints: list[tuple[str, str]]) -> None:
    ws = workbook.add_worksheet("评审提示")
    headers = ["乡镇", "支部编码", "支部名称", "提示（仅供参考，不自动改变评定）"]
    table = [[t, "—", "（全乡镇）", text] for t, text in township_hints]
    table += [[r.township, r.branch_code, r.name, hint] for r in rows for hint in r.hints]
    for j, h in enumerate(headers):
        ws.write_string(0, j, h, formats.header)
    for i, row in enumerate(table, 1):
        for j, value in enumerate(row):
            ws.write_string(i, j, str(value), formats.wrap if j == 3 else formats.text)
    if not table:
        ws.write_string(1, 0, "无", formats.text)
    ws.set_column(0, 2, 16)
    ws.set_column(3, 3, 90)
    ws.freeze_panes(1, 0)


# --- reading back ----------------------------------------------------------------------------

def validate_procedure_file(path: Path, name: str, rb: Rulebook, kind: str, period: int) -> Submission:
    """A returned review or complaints workbook: every cell checked; findings that need the county's list are
    checked later (procedure.check_against_county)."""
    data = file_bytes(path)  # read once, as validate_file reads a township's
    sub = Submission(file=name, path=path, sha256=content_digest(path, data))
    book, opened = open_workbook(path, name, data)
    sub.problems += opened
    if book is None:
        return sub
    try:
        _read(sub, book, rb, kind, period)
    except UnreadableSheet as exc:
        sub.problems.append(problem("FILE_002", file=name, sheet=exc.sheet, detail=exc.detail))
    finally:
        book.close()
    sub.problems.sort(key=sort_key)
    return sub


def _read(sub: Submission, book: Any, rb: Rulebook, kind: str, period: int) -> None:
    if INSTRUCTIONS_SHEET not in book.sheet_names:
        sub.problems.append(problem("TPL_004", file=sub.file, sheet=INSTRUCTIONS_SHEET, hint=""))
        return
    meta = read_meta(book.sheet(INSTRUCTIONS_SHEET), REVIEW_LABELS if kind == REVIEW_KIND else COMPLAINT_LABELS)
    sub.meta = meta
    version = str(meta.get("template_version") or "")
    where = {"file": sub.file, "sheet": INSTRUCTIONS_SHEET}
    if version != procedure_version(rb):
        sub.problems.append(problem("TPL_003", cell=meta.get("template_version_cell", ""), field="模板版本",
                                    value=version, expected=procedure_version(rb), **where))
        return
    sub.rulebook = rb
    meta["kind"] = kind
    _check_meta(sub, kind, period, where)
    sheet = sheet_for(rb, kind)
    records = read_sheet(sub, book, sheet)
    sub.records[sheet.key] = records or []
    if records is None:
        sub.unread_sheets.add(sheet.key)
        return
    sub.problems += (review_row_problems if kind == REVIEW_KIND else complaint_row_problems)(sub.file, sheet, records)
    if kind == REVIEW_KIND:
        sub.problems += _confirmation_problems(sub, records, where)


def _check_meta(sub: Submission, kind: str, period: int, where: dict[str, str]) -> None:
    meta = sub.meta
    body = meta.get("body")
    if not body:
        sub.problems.append(problem("PRO_001", cell=meta.get("body_cell", ""), field=BODY_LABEL[kind], **where))
    # Accounting supersedes by this key: a newer workbook of the same kind from the same body wins.
    meta["township"] = f"{KIND_TEXT[kind]}·{body or '未填写'}"
    stated = str(meta.get("period") or "")
    if not (stated.isdigit() and len(stated) == 4):
        sub.problems.append(problem("TPL_009", cell=meta.get("period_cell", ""), field="评定年度", value=stated, **where))
    elif int(stated) != period:
        sub.problems.append(problem("TPL_011", cell=meta.get("period_cell", ""), field="评定年度", value=int(stated),
                                    expected=period, **where))
    else:
        meta["period"] = int(stated)
    if kind == REVIEW_KIND and meta.get("confirm_date") not in (None, ""):
        shown = to_date_text(meta["confirm_date"])
        if isinstance(shown, str) and len(shown) == 10 and shown[4] == "-":
            meta["confirm_date"] = shown
        else:
            sub.problems.append(problem("VAL_007", cell=meta.get("confirm_date_cell", ""), field="县委确定日期",
                                        value=str(meta["confirm_date"]), **where))
            meta["confirm_date"] = None
    if kind == REVIEW_KIND and isinstance(meta.get("confirm_ref"), str):
        meta["confirm_ref"] = clean_text(meta["confirm_ref"])


def review_row_problems(file: str, sheet: Sheet, records: list[Record]) -> list[Problem]:
    found = _duplicates(file, records)
    county_fields = [f.id for f in sheet.fields if f.id.endswith(f".{COUNTY}")] + ["veto"]
    for r in records:
        conclusion = r.values.get("conclusion")
        if conclusion is None:
            continue
        for fid, title in (("reviewer", "评审人"), ("review_date", "评审日期")):
            if r.values.get(fid) is None:
                found.append(problem("PRO_002", file=file, sheet=r.sheet, cell=r.cell(fid), field=title,
                                     value=r.values.get("branch_code")))
        if conclusion == "调整" and not any(r.values.get(f) is not None for f in county_fields):
            found.append(problem("PRO_003", file=file, sheet=r.sheet, cell=r.cell("conclusion"), field="结论",
                                 value=r.values.get("branch_code")))
    return found


def complaint_row_problems(file: str, _sheet: Sheet, records: list[Record]) -> list[Problem]:
    found = []
    for r in records:
        finding = r.values.get("finding")
        if finding == "属实" and r.values.get("action") is None:
            found.append(problem("PRO_002", file=file, sheet=r.sheet, cell=r.cell("action"), field="处理",
                                 value=r.values.get("branch_code")))
        if finding in ("属实", "不属实") and r.values.get("checked_on") is None:
            found.append(problem("PRO_002", file=file, sheet=r.sheet, cell=r.cell("checked_on"), field="核查日期",
                                 value=r.values.get("branch_code")))
    return found


def _duplicates(file: str, records: list[Record]) -> list[Problem]:
    seen: dict[str, Record] = {}
    found = []
    for r in records:
        code = str(r.values.get("branch_code") or "")
        if code and code in seen:
            found.append(problem("REF_009", file=file, sheet=r.sheet, cell=r.cell("branch_code"), field="支部编码",
                                 value=code, detail=seen[code].cell("branch_code")))
        seen.setdefault(code, r)
    return found


def _confirmation_problems(sub: Submission, records: list[Record], where: dict[str, str]) -> list[Problem]:
    """The committee confirms a finished list: a date needs a reference and every row its conclusion."""
    meta = sub.meta
    if not meta.get("confirm_date"):
        return []
    found = []
    if not meta.get("confirm_ref"):
        found.append(problem("PRO_001", cell=meta.get("confirm_ref_cell", ""), field="确定会议及文号", **where))
    for r in records:
        if r.values.get("conclusion") is None:
            found.append(problem("PRO_004", file=sub.file, sheet=r.sheet, cell=r.cell("conclusion"), field="结论",
                                 value=r.values.get("branch_code")))
    return found


def township_scores(rb: Rulebook, score_row: Record | None) -> dict[str, Any]:
    """The township's score of every item as its rating used it (review score where given, else self)."""
    values = score_row.values if score_row is not None else {}
    found: dict[str, Any] = {}
    for unit in rb.units:
        for item in unit["items"]:
            review = values.get(score_field_id(unit["id"], item["id"], REVIEW))
            own = values.get(score_field_id(unit["id"], item["id"], SELF))
            found[score_field_id(unit["id"], item["id"], TOWNSHIP)] = review if review is not None else own
    return found


# --- adjustments against an issued finance version ------------------------------------------------

ADJUSTMENT_HEADERS = ["乡镇", "支部编码", "收款人", "职务", "项目", "已发放金额", "本版金额", "调整额", "原因"]


def adjustments_workbook_name(rb: Rulebook, period: int) -> str:
    return f"财务调整表_{rb.id}_{period}.xlsx"


def write_adjustments_workbook(path: Path, rb: Rulebook, period: int, heading: str, rows: list[list[Any]],
                               draft: str | None) -> Path:
    """Every payment line that differs from the issued version: issued, now, the difference and why."""
    workbook = new_workbook(path, f"{period}年度 {rb.name} 财务调整表", small=small_workbook(len(rows)))
    formats = Formats(workbook)
    ws = workbook.add_worksheet("调整")
    top = 0
    if draft:
        ws.write_string(0, 0, draft, formats.bad)
        top = 2
    ws.write_string(top, 0, heading, formats.bold)
    for j, h in enumerate(ADJUSTMENT_HEADERS):
        ws.write_string(top + 2, j, h, formats.header)
    ncols = max([len(ADJUSTMENT_HEADERS)] + [len(r) for r in rows])
    write_rows(ws, formats, top + 3, rows, [formats.yuan if j in (5, 6, 7) else formats.wrap for j in range(ncols)],
               [])  # no widths: the rows keep the default height
    last = top + 3 + len(rows)
    ws.write_string(last, 0, "合计", formats.bold)
    for j in (5, 6, 7):
        ws.write_number(last, j, float(sum((r[j] for r in rows), Decimal(0))), formats.yuan_bold)
    ws.set_column(0, 4, 16)
    ws.set_column(5, 7, 14)
    ws.set_column(8, 8, 80)
    ws.activate()
    workbook.close()
    return path
