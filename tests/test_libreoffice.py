"""A template filled with openpyxl and re-saved by LibreOffice validates exactly like the original."""
from __future__ import annotations

import datetime as dt
import zipfile

from processor.validate import validate_file
from support import BRANCHES, CADRES, EVENTS, SCORES, comparable, places, soffice_convert


def _with_deliberate_problems(rows):
    rows["scores"][0]["party_building.secretary_ability.self"] = 25            # VAL_005 评分!C2
    rows["scores"][1]["party_building.secretary_ability.self"] = "=10+5"       # VAL_009 评分!C3
    rows["scores"][1]["civility.ideology_study.self"] = "20分"                 # read as 20, recorded
    rows["branches"][1]["member_count"] = "３５"                               # read as 35, recorded
    del rows["branches"][1]["branch_name"]                                     # VAL_001 支部信息!C3
    rows["branches"][0]["last_reelection"] = "2021/3/15"                       # read as a date, recorded
    rows["events"].append({"branch_code": "CG-001", "event_kind": "乡风文明星加分", "points": 1.5,
                           "date": dt.date(2026, 6, 1)})
    rows["events"].append({"branch_code": "CG-002", "event_kind": "平安和谐星扣分"})  # REF_013 加扣分事项!D4
    rows["cadres"][1]["monthly_pay"] = 1800.555                                # VAL_008 村干部!D3
    rows["cadres"].append({"branch_code": "CG-404", "name": "赵六", "role": "委员", "monthly_pay": 1500,
                           "months": 6})                                        # REF_001 村干部!A5
    return rows


def test_libreoffice_resave__validates_exactly_like_the_original(tmp_path, soffice, r1_workbook, rows):
    original = r1_workbook(_with_deliberate_problems(rows))
    resaved = soffice_convert(original, "xlsx", tmp_path / "libreoffice")
    with zipfile.ZipFile(resaved) as zf:
        assert b"LibreOffice" in zf.read("docProps/app.xml")

    before, after = validate_file(original), validate_file(resaved)
    assert {("VAL_005", SCORES, "C2"), ("VAL_009", SCORES, "C3"), ("VAL_001", BRANCHES, "C3"),
            ("REF_013", EVENTS, "D4"), ("VAL_008", CADRES, "D3"), ("REF_001", CADRES, "A5")} == places(before)
    assert comparable(after) == comparable(before)
    assert sorted((s, c, ch.field, ch.after) for s, c, ch in after.changes) == \
        sorted((s, c, ch.field, ch.after) for s, c, ch in before.changes)


def test_libreoffice_resave_of_a_clean_workbook__still_clean(tmp_path, soffice, r1_workbook):
    original = r1_workbook()
    after = validate_file(soffice_convert(original, "xlsx", tmp_path / "libreoffice"))
    assert after.accepted and after.problems == [] and after.changes == []
    assert comparable(after) == comparable(validate_file(original))


def test_libreoffice_ods__read_like_the_xlsx(tmp_path, soffice, r1_workbook, rows):
    original = r1_workbook(_with_deliberate_problems(rows))
    ods = soffice_convert(original, "ods", tmp_path / "ods")
    before, after = validate_file(original), validate_file(ods)
    # An .ods keeps no formula marker calamine can see: everything else must match.
    assert places(after) - {("VAL_009", SCORES, "C3")} == places(before) - {("VAL_009", SCORES, "C3")}
    assert [r.values for r in after.records["branches"]] == [r.values for r in before.records["branches"]]
