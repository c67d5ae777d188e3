"""Small builders the tests share: a valid R1 township, real workbooks, and ways to look at results.

Workbooks are always real files written by the real libraries: the template by xlsxwriter, the
filling by openpyxl (`processor.fill.fill_template`), re-saves by LibreOffice.
"""
from __future__ import annotations

import copy
import datetime as dt
import shutil
import subprocess
import uuid
from functools import lru_cache
import zipfile
from pathlib import Path
from typing import Any, Callable

import openpyxl

from processor.fill import fill_template, save_deterministic
from processor.rulebook import Rulebook, load_rulebook
from processor.sheets import REVIEW, SELF, score_field_id
from processor.records import Submission

TOWNSHIP = "城关镇"
META = {"township": TOWNSHIP, "period": 2026}
SOFFICE = shutil.which("soffice")

# Sheet names of the R1 template, as a township clerk sees them.
BRANCHES, SCORES, EVENTS, VETOES, CADRES, INSTRUCTIONS = "支部信息", "评分", "加扣分事项", "否决事项", "村干部", "填报说明"


@lru_cache(maxsize=1)
def r1() -> Rulebook:
    """The shipped R1 rulebook, loaded once (tests only read it)."""
    return load_rulebook("R1")


def score_row(rulebook: Rulebook, code: str, **override: Any) -> dict[str, Any]:
    """A full 评分 row: every item's self score at its max and review score one below."""
    row: dict[str, Any] = {"branch_code": code}
    for unit in rulebook.units:
        for item in unit["items"]:
            row[score_field_id(unit["id"], item["id"], SELF)] = item["max"]
            row[score_field_id(unit["id"], item["id"], REVIEW)] = item["max"] - 1
    row.update(override)
    return row


def valid_r1_rows(rulebook: Rulebook | None = None) -> dict[str, list[dict[str, Any]]]:
    """One township (城关镇), two village branches, complete and correct: validates with no problem.

    Row 2 of each sheet is branch CG-001, row 3 is CG-002 (村干部 row 3 is CG-001's second cadre).
    """
    rulebook = rulebook or r1()
    return copy.deepcopy({
        "branches": [
            {"township": TOWNSHIP, "branch_code": "CG-001", "branch_name": "大王庄村党支部", "village": "大王庄村",
             "branch_type": "村党支部", "member_count": 35, "secretary_is_head": "是",
             "last_reelection": dt.date(2021, 3, 15), "collective_income": 152000.5, "elderly_70_plus": 40,
             "reserve_cadres": 2, "target_assessment_score": 90},
            {"township": TOWNSHIP, "branch_code": "CG-002", "branch_name": "小李庄村党支部", "village": "小李庄村",
             "branch_type": "村党支部", "member_count": 28, "secretary_is_head": "否",
             "collective_income": 80000, "elderly_70_plus": 25, "reserve_cadres": 2},
        ],
        "scores": [score_row(rulebook, "CG-001"), score_row(rulebook, "CG-002")],
        "events": [{"branch_code": "CG-001", "event_kind": "基层党建星加分", "count": 1, "points": 2,
                    "date": dt.date(2026, 5, 20), "note": "县委表彰"}],
        "vetoes": [],
        "cadres": [
            {"branch_code": "CG-001", "name": "王建国", "role": "书记", "monthly_pay": 2400, "months": 12},
            {"branch_code": "CG-001", "name": "李秀英", "role": "委员", "monthly_pay": 1800.5, "months": 12},
            {"branch_code": "CG-002", "name": "张卫东", "role": "书记", "monthly_pay": 2200, "months": 12},
        ],
    })


def write_r1(path: Path, rows: dict[str, list[dict[str, Any]]] | None = None,
             meta: dict[str, Any] | None = None) -> Path:
    return fill_template(r1(), path, meta or META, rows if rows is not None else valid_r1_rows())


def edit_workbook(path: Path, change: Callable[[openpyxl.Workbook], None], out: Path | None = None) -> Path:
    """Open a filled workbook with openpyxl, change it as a user would, save it (to out or in place)."""
    workbook = openpyxl.load_workbook(path)
    change(workbook)
    target = out or path
    save_deterministic(workbook, target)
    return target


def places(sub: Submission, *codes: str) -> set[tuple[str, str, str]]:
    """(code, sheet, cell) of the submission's problems, optionally only of the given codes."""
    return {(p.code, p.sheet, p.cell) for p in sub.problems if not codes or p.code in codes}


def codes(sub: Submission) -> list[str]:
    return sorted(p.code for p in sub.problems)


def errors(sub: Submission) -> list[tuple[str, str, str]]:
    return sorted((p.code, p.sheet, p.cell) for p in sub.problems if p.severity == "error")


def comparable(sub: Submission) -> tuple[set, list]:
    """What must survive a re-save: the problems by place and value, and every record's values."""
    problems = {(p.code, p.sheet, p.cell, p.field, p.value) for p in sub.problems}
    records = [(key, r.sheet, r.row, r.values, r.cells, r.formulas)
               for key, recs in sorted(sub.records.items()) for r in recs]
    return problems, records


def soffice_convert(src: Path, fmt: str, outdir: Path) -> Path:
    """Re-save a file through LibreOffice headless with a private profile, as a user's office would."""
    assert SOFFICE, "soffice is not installed"
    profile = outdir.parent / f"lo-profile-{uuid.uuid4().hex}"
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=300)
    shutil.rmtree(profile, ignore_errors=True)
    out = outdir / f"{src.stem}.{fmt}"
    assert out.is_file(), f"LibreOffice wrote no {out.name}"
    return out


def rezip(src: Path, dst: Path, extra: dict[str, bytes] | None = None,
          replace: dict[str, bytes] | None = None) -> Path:
    """Copy an xlsx zip entry by entry, replacing some entries' content and adding others."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, replace.get(info.filename, zin.read(info.filename)))
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst
