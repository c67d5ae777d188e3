"""Readings corrected by issue 11 (items 4, 5, 8), each against its seed line, by hand.

Workbooks are the committed templates filled by header text (tests/readings_helpers.py), except R3's,
whose 民主测评 sheet needs a vote per star and is written with the scoring builders (tests/scoring_helpers.py).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from processor.pipeline import score_files
from processor.rulebook import load_rulebook, source_text
from processor.validate import validate_file
from readings_helpers import cadre, fill_by_header, r1_branch, score_row

R1, R2, R5 = load_rulebook("R1"), load_rulebook("R2"), load_rulebook("R5")


def test_r1_one_star_branch__is_on_the_public_notice(tmp_path: Path) -> None:
    # 000 line 315: 对评选出的“星级”党支部……进行不少于5个工作日的公示 — every starred branch, not only ≥3.
    # CG-001 earns 平安和谐星 only → 1 star → 公示名单; CG-000 earns nothing → 0 stars → not on it.
    path = fill_by_header(R1, tmp_path / "城关镇.xlsx", "城关镇", {
        "支部信息": [r1_branch("CG-000"), r1_branch("CG-001")],
        "评分": [score_row(R1, "CG-000", []), score_row(R1, "CG-001", ["peace"])],
        "村干部": [cadre("CG-000", "甲", "书记", 2000, 12), cadre("CG-001", "乙", "书记", 2000, 12)],
    })
    (group,) = score_files([path], R1).groups
    lists = {b.branch_code: (b.rating, b.lists) for b in group.county.branches}
    assert lists["CG-001"] == (1, ["notice", "rectification", "spot_check"])
    assert "notice" not in lists["CG-000"][1]


def test_r1_one_plus_four_cap__is_marked_a_reading() -> None:
    # 000 line 307 says only “三星”党支部中必须有一颗“基层党建星”; capping at 2 is our reading.
    (cap,) = [a for a in R1.data["adjustments"] if a["id"] == "one_plus_four"]
    assert cap["source"]["not_from_source"] is True
    assert source_text(cap["source"]).endswith("（参照 000_556207f0cb65ca56.txt 第307行）")


def test_r2_gap_warning__fires_on_a_two_point_item(tmp_path: Path) -> None:
    # R2 items are worth 2–5 points (002 lines 205–255); review_gap_warning 1: self 2 vs review 0 differs by 2 > 1.
    row = score_row(R2, "CG-001", [u["id"] for u in R2.units], review=True)
    unit, item = R2.units[0], R2.units[0]["items"][0]            # ① worth 2 points
    assert item["max"] == 2
    row[f"{unit['name']}｜{item['name']}｜乡镇评审"] = 0
    info = {"乡镇": "城关镇", "支部编码": "CG-001", "支部名称": "甲村党支部", "支部类型": "村党支部", "党员人数": 30}
    path = fill_by_header(R2, tmp_path / "城关镇.xlsx", "城关镇", {"支部信息": [info], "评分": [row]})
    (group,) = score_files([path], R2).groups
    gaps = [p for p in group.county.problems if p.code == "SCO_001"]
    assert [(p.value, p.cell) for p in gaps] == [("2", "D2")]


def test_r5_half_marks_on_an_all_or_nothing_item__VAL_011(tmp_path: Path) -> None:
    # 002 line 477: 达成目标得分，不达成不得分 — 2.5 on a 5-point standard is neither.
    row = score_row(R5, "QY-001", [u["id"] for u in R5.units])
    unit, item = R5.units[0], R5.units[0]["items"][0]
    assert item.get("all_or_nothing") and item["max"] == 5
    row[f"{unit['name']}｜{item['name']}｜自评"] = 2.5
    info = {"乡镇": "城关镇", "支部编码": "QY-001", "支部名称": "甲公司党支部", "支部类型": "企业党支部", "党员人数": 30,
            "所属基层党委": "甲公司党委"}
    sub = validate_file(fill_by_header(R5, tmp_path / "城关镇.xlsx", "城关镇", {"支部信息": [info], "评分": [row]}))
    assert [(p.code, p.cell, p.value) for p in sub.problems if p.severity == "error"] == [("VAL_011", "C2", "2.5")]
    assert "0 或满分 5" in sub.problems[0].message


def test_r4_and_r5__are_not_asked_for_village_cadres_or_one_shoulder() -> None:
    from processor.sheets import sheets_for
    for rb in (load_rulebook("R4"), R5):
        keys = [s.key for s in sheets_for(rb)]
        assert "cadres" not in keys
        (info,) = [s for s in sheets_for(rb) if s.key == "branches"]
        assert "书记兼村委会主任" not in [f.title for f in info.fields]


def test_floor_warning__percent_shown_to_two_decimals_and_its_own_code() -> None:
    # R4 (002 line 373 guideline): 1 of 52 branches at one star or below = 1.923…% < 10% → shown as 1.92%.
    from processor.county import check_floor
    from processor.records import BranchResult
    rb = load_rulebook("R4")
    branches = [BranchResult("f.xlsx", "城关镇", f"B{i:02}", "", "", "机关党支部", [], Decimal(0),
                             1 if i == 0 else 3, 5) for i in range(52)]
    notes, problems = [], []
    step = {"type": "floor_warning", "rating": 1, "share": 10, "name": "一星级以下不低于总数10%"}
    check_floor(rb, branches, step, 1, notes, problems)
    assert notes[0].text == "1星及以下 1 个，占 1.92%，低于指导比例 10%"
    assert [(p.code, p.value) for p in problems] == [("SCO_003", "1")]
    assert "占 1.92%" in problems[0].message
