"""R4 re-election term by organisation type (issue 11 item 2).

002_2fd0b28a4b55ec79.txt line 375: 无特殊理由、无请示，不按期进行党组织换届选举的，不得定为五星级；超过一年不换届的，
不得定为四星及以上等级. The term is not in the seed: the 2018 central opinion 关于党的基层组织任期的意见 gives
基层党委 generally 5 years, 党总支 and 党支部 3 years — R4's `reelection_term_years` per branch type.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from processor.pipeline import score_files
from processor.rulebook import load_rulebook
from readings_helpers import fill_by_header, score_row

R4 = load_rulebook("R4")


def organ(code: str, branch_type: str, elected: dt.date) -> dict:
    return {"乡镇": "城关镇", "支部编码": code, "支部名称": f"{code}党组织", "支部类型": branch_type, "党员人数": 40,
            "上次换届日期": elected}


def test_r4_committee_elected_2022__five_year_term__keeps_five_stars(tmp_path: Path) -> None:
    # Both elected 2022-06-01, both score 100 (every item at its max) → 5 stars by the bands (≥ 90, line 373).
    # 机关党委: term 5 years → due 2027-06-01, not overdue at 2026-12-31 → no re-election cap (the county's
    #   5-star quota, 10% of 2 branches = 0, then takes it to 4 — a different rule, line 373).
    # 机关党支部: term 3 years → due 2025-06-01; overdue 2026-12-31 − 2025-06-01 = 213 + 365 = 578 days > 365
    #   → capped at 4 (overdue) and then at 3 (over a year).
    codes = {"JG-DW": "机关党委", "JG-ZB": "机关党支部"}
    path = fill_by_header(R4, tmp_path / "城关镇.xlsx", "城关镇", {
        "支部信息": [organ(code, kind, dt.date(2022, 6, 1)) for code, kind in codes.items()],
        "评分": [score_row(R4, code, [u["id"] for u in R4.units]) for code in codes],
        "民主测评": [{"支部编码": code, "测评对象": "整体", "应参加人数": 40, "实际参加人数": 40, "满意（赞成）票数": 38}
                 for code in codes],
    })
    (group,) = score_files([path], R4).groups
    result = {b.branch_code: b for b in group.county.branches}
    assert result["JG-DW"].facts["reelection_overdue_days"] == 0
    assert not [r for r in result["JG-DW"].reasons if r.rule.startswith("R4.adjustments.reelection")]
    assert result["JG-DW"].rating == 4 and "R4.county.0.quota_max" in [r.rule for r in result["JG-DW"].reasons]
    assert result["JG-ZB"].facts["reelection_overdue_days"] == 578
    assert result["JG-ZB"].rating == 3
    texts = [r.text for r in result["JG-ZB"].reasons if r.rule == "R4.adjustments.reelection_overdue_year"]
    assert texts and "机关党支部任期按 3 年计" in texts[0] and "超期未换届天数 578 > 365" in texts[0]
