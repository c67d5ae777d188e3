"""R6 targets are rulebook data, evaluated by the engine and compared exactly (never rounded first)."""
from __future__ import annotations

from decimal import Decimal

from processor.consolidate import targets_table
from processor.county import evaluate_targets
from processor.records import BranchResult
from processor.rulebook import load_rulebook


def _branches(qualified: int, total: int) -> list[BranchResult]:
    return [BranchResult(file="f.xlsx", township="城关镇", branch_code=f"B{n:03d}", name="", village="",
                         branch_type="村党支部", units=[], score=Decimal(0), rating=0, rating_max=5,
                         qualified=n < qualified, facts={"collective_income": Decimal(0), "reserve_cadres": Decimal(2)})
            for n in range(total)]


def _row(rows: list[list], name_part: str) -> list:
    return next(r for r in rows if name_part in r[0])


def test_five_good_share__76_of_117_is_64_96_percent__not_the_65_percent_target():
    # 003_dee69c3e95568f05.txt line 12: “五个好”村级党组织达到65%以上 — 76/117 = 64.957…%, below 65.
    rows = targets_table(evaluate_targets(load_rulebook("R1"), _branches(76, 117)))
    assert _row(rows, "五个好")[2:4] == ["65.0%", "未达成"]


def test_five_good_share__exactly_65_percent__met_because_以上_includes_it():
    # 003_dee69c3e95568f05.txt line 12: 65%以上 includes 65; 13 of 20 is exactly 65%.
    rows = targets_table(evaluate_targets(load_rulebook("R1"), _branches(13, 20)))
    assert _row(rows, "五个好")[2:4] == ["65.0%", "达成"]


def test_targets_not_collected__said_plainly_with_why():
    rows = targets_table(evaluate_targets(load_rulebook("R1"), _branches(1, 2)))
    row = _row(rows, "承诺践诺")
    assert row[2] == "未采集" and "未采集" in row[4] and "003_dee69c3e95568f05.txt 第14行" == row[5]


def test_rulebook_without_targets__no_rows():
    assert evaluate_targets(load_rulebook("R4"), _branches(1, 2)) == []


def test_model_villages__过10万元_means_above_100000__labelled_as_the_text_does():
    # 004_661bff59ee7f4186.txt line 14: 打造一批集体经济收入过10万元的样板村 — 过 is "above": 100000 itself is not.
    branches = _branches(0, 3)
    for b, income in zip(branches, ("100000", "100000.01", "250000"), strict=True):
        b.facts["collective_income"] = Decimal(income)
    row = _row(targets_table(evaluate_targets(load_rulebook("R1"), branches)), "样板村")
    assert row[0] == "集体经济收入过10万元的样板村" and row[2] == "2" and row[5] == "004_661bff59ee7f4186.txt 第14行"


def test_township_committee_and_county_department_targets__not_collected__said_with_why():
    # 003_dee69c3e95568f05.txt line 12: 85%以上的乡镇党委、60%以上的县直涉农部门和乡镇站所.
    rows = targets_table(evaluate_targets(load_rulebook("R1"), _branches(1, 2)))
    township, departments = _row(rows, "乡镇党委"), _row(rows, "县直涉农部门")
    assert township[1:3] == ["≥85%", "未采集"] and "未采集乡镇党委" in township[4]
    assert departments[1:3] == ["≥60%", "未采集"]


def test_five_good_target_from_a_filled_template__76_of_117_villages__not_met(tmp_path):
    """End to end through the real R1 template: 117 branches, 76 with every star (合格, ≥ 2 stars) and 41 with
    none (not 合格). 003_dee69c3e95568f05.txt line 12 asks 65%以上; 76/117 = 64.957…% is below it, although
    it shows as 65.0% — the comparison is on the exact share."""
    from scoring_helpers import branch, county

    rb = load_rulebook("R1")
    branches = [branch(f"CG-{n:03d}") for n in range(76)]
    branches += [branch(f"CG-{n:03d}", scores={u["id"]: 0 for u in rb.units}) for n in range(76, 117)]
    scored = county(rb, tmp_path, branches)
    qualified = sum(1 for b in scored.branches if b.qualified)
    assert (qualified, len(scored.branches)) == (76, 117)
    row = _row(targets_table(evaluate_targets(rb, scored.branches)), "五个好")
    assert row[2:4] == ["65.0%", "未达成"]
