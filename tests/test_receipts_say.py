"""Receipts say what happened to the file (issue: intake safety, item 7; hostile inputs: receipt names)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import openpyxl

from run_helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _answer(receipt: Path) -> dict[str, object]:
    ws = openpyxl.load_workbook(receipt, read_only=True)["回执"]
    return {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row and row[0]}


def _receipt(out: Path, stem: str) -> Path:
    [path] = sorted((out / "receipts").glob(f"回执_{stem}_*.xlsx"))
    return path


def test_accepted__says_how_many_branches_and_cadres_were_read__superseded_says_no_action(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "samples" / "inbox", inbox)
    shutil.copy(inbox / "01-城关镇.xlsx", inbox / "城关镇-再次报送.xlsx")
    book = openpyxl.load_workbook(inbox / "城关镇-再次报送.xlsx")
    book["填报说明"]["D1"] = "再次报送"  # other bytes, same content for the county
    book.save(inbox / "城关镇-再次报送.xlsx")
    os.utime(inbox / "城关镇-再次报送.xlsx", (1_800_000_000, 1_800_000_000))
    code, _, _ = run_cli("run", str(inbox), "--out", str(tmp_path / "out"), "--period", "2026")
    assert code == 0
    newer = _answer(_receipt(tmp_path / "out", "城关镇-再次报送"))
    branches = sum(1 for r in book["支部信息"].iter_rows(min_row=2, values_only=True) if r[1])
    cadres = sum(1 for r in book["村干部"].iter_rows(min_row=2, values_only=True) if r[0])
    assert newer["审核结果"] == f"通过：数据可以使用（读取支部 {branches} 个、村干部 {cadres} 名）"
    older = _answer(_receipt(tmp_path / "out", "01-城关镇"))
    assert str(older["审核结果"]).startswith("已被本乡镇更新的报送“城关镇-再次报送.xlsx”替代")
    assert str(older["下一步"]).startswith("无需操作") and "未通过" not in str(older["审核结果"])


def test_same_empty_bytes_under_four_extensions__four_receipts(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for ext in (".xlsx", ".xls", ".ods", ".xlsm"):
        (inbox / f"城关镇{ext}").write_bytes(b"")
    code, _, _ = run_cli("run", str(inbox), "--out", str(tmp_path / "out"), "--period", "2026", "--rulebook", "R1")
    assert code == 1
    assert len(list((tmp_path / "out" / "receipts").glob("回执_*.xlsx"))) == 4
