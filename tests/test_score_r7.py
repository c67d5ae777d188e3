"""R7, the older Huojia scheme (000_556207f0cb65ca56.txt line 303): five stars, rated every half year, each star
+300 yuan a month for the secretary and +100 for every other cadre, and at most 10 villages per star county-wide."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from processor.fill import fill_template
from processor.pay import compute_payments
from processor.rulebook import load_rulebook

from scoring_helpers import Branch, assert_reason, branch, earned, rows_for, score_paths

SEED = "000_556207f0cb65ca56.txt 第303行"
QUOTA_RULE = "R7.county.0.per_star_quota"


@pytest.fixture(scope="module")
def r7():
    return load_rulebook("R7")


def _write(rb, path: Path, branches: list[Branch], period: str = "2026H1", cadres=None) -> Path:
    rows = rows_for(rb, branches, default_score="zero")
    if cadres is not None:
        rows["cadres"] = cadres
    return fill_template(rb, path, {"township": "城关镇", "period": period}, rows)


def test_quota__12_villages_reach_the_star__10_keep_it__tie_at_the_line_by_branch_code(r7, tmp_path):
    # 基层党建星 scores 99, 98, …, 91 for 001–009, then 90 for both 010 and 011, 88 for 012: 12 reach 85.
    # Ranked by the star's score, ties by branch code: 001–009, 010 (tenth, keeps it); 011 (eleventh, same 90
    # as 010) and 012 lose it. 013 has 84 and never reached the star.
    scores = {f"D{n:03d}": 100 - n for n in range(1, 10)} | {"D010": 90, "D011": 90, "D012": 88, "D013": 84}
    branches = [branch(code, scores={"party_building": s}) for code, s in scores.items()]
    scored = score_paths([_write(r7, tmp_path / "城关镇.xlsx", branches)])
    kept = sorted(b.branch_code for b in scored.branches if "party_building" in earned(b))
    assert kept == [f"D{n:03d}" for n in range(1, 11)]
    assert [scored[c].rating for c in ("D010", "D011", "D012", "D013")] == [1, 0, 0, 0]
    assert_reason(scored["D010"], QUOTA_RULE, "排第 10", "保留基层党建星", source=SEED)
    assert_reason(scored["D011"], QUOTA_RULE, "得分 90", "排第 11", "超出名额", "不授予基层党建星", "无星",
                  source=SEED)
    [tie] = [p for p in scored.problems("SCO_006") if "同分" in p.message]
    assert "城关镇 D010、城关镇 D011" in tie.message and "D010 保留" in tie.message and "D011 未授予" in tie.message
    assert any("超过名额 10 个，2 个" in n.text for n in scored.county.notes)


def test_quota__losing_one_star_keeps_the_others(r7, tmp_path):
    # D012 reaches 基层党建星 (86) and 乡风文明星 (95); eleven others hold 基层党建星 at 90–99.
    # D012 is 12th for 基层党建星 and loses it; it keeps 乡风文明星: one star.
    branches = [branch(f"D{n:03d}", scores={"party_building": 100 - n}) for n in range(1, 12)]
    branches.append(branch("D012", scores={"party_building": 86, "civility": 95}))
    scored = score_paths([_write(r7, tmp_path / "城关镇.xlsx", branches)])
    assert earned(scored["D012"]) == ["civility"] and scored["D012"].rating == 1
    assert not [p for p in scored.problems("SCO_006") if "同分" in p.message]  # 10th 90, 11th 89: no tie


def test_pay__each_star_300_a_month_for_the_secretary_100_for_others(r7, tmp_path):
    # Two stars; the secretary served the whole half year (6 months), a committee member 4 months:
    # 2 × 300 × 6 = 3600 and 2 × 100 × 4 = 800 (line 303: 每争创一个“星”……书记每月上调工资300元，其他干部每月上调工资100元).
    cadres = [{"branch_code": "A001", "name": "王明", "role": "书记", "monthly_pay": 2000, "months": 6},
              {"branch_code": "A001", "name": "李华", "role": "委员", "monthly_pay": 1500, "months": 4},
              {"branch_code": "A002", "name": "赵强", "role": "书记", "monthly_pay": 2000, "months": 6}]
    branches = [branch("A001", scores={"party_building": 90, "peace": 85}),
                branch("A002", scores={"party_building": 84})]
    scored = score_paths([_write(r7, tmp_path / "城关镇.xlsx", branches, cadres=cadres)])
    pay = compute_payments(r7, scored.report.submissions, scored.branches)
    amounts = {(l.branch_code, l.payee): l.amount for l in pay.lines}
    assert amounts == {("A001", "王明"): Decimal("3600.00"), ("A001", "李华"): Decimal("800.00")}
    assert {l.payer for l in pay.lines} == {"unspecified"}


@pytest.mark.parametrize("written, half", [("2026H1", 1), ("2026h2", 2), ("2026年上半年", 1)])
def test_period__half_year_written_in_the_template(r7, tmp_path, written, half):
    scored = score_paths([_write(r7, tmp_path / "城关镇.xlsx", [branch("A001")], period=written)])
    [sub] = scored.report.submissions
    assert (sub.meta["period"], sub.meta["half"]) == (2026, half)
