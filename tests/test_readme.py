"""The README is part of the product: its worked rulebook example must load and score as it says."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from processor.fill import fill_template
from processor.pipeline import score_files
from processor.problems import catalogue_markdown
from processor.rulebook import Rulebook, rulebook_problems

README = Path(__file__).resolve().parent.parent / "README.md"


def _example() -> dict:
    block = re.search(r"```yaml\n(id: X1.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    return yaml.safe_load(block)


def test_readme_example_rulebook__is_valid():
    assert rulebook_problems(_example()) == []


def _branch(reserve: int) -> dict:
    return {"township": "示例镇", "branch_code": "SL-001", "branch_name": "示例村党支部", "branch_type": "村党支部",
            "member_count": 20, "secretary_is_head": "是", "reserve_cadres": reserve}


def _score(tmp_path: Path, reserve: int, harmony: int = 80):
    rb = Rulebook(_example(), README)
    scores = {"branch_code": "SL-001", "organisation.meetings.self": 45, "organisation.members.self": 38,
              "development.income.self": 72, "harmony.petitions.self": harmony}
    events = [{"branch_code": "SL-001", "event_kind": "受县级以上表彰", "level": "市级"},
              {"branch_code": "SL-001", "event_kind": "受县级以上表彰", "level": "县级"}]
    cadres = [{"branch_code": "SL-001", "name": "王明", "role": "书记", "monthly_pay": 2000, "months": 12}]
    path = fill_template(rb, tmp_path / f"x{reserve}-{harmony}.xlsx", {"township": "示例镇", "period": 2026},
                         {"branches": [_branch(reserve)], "scores": [scores], "events": events, "cadres": cadres})
    report = score_files([path], rb)
    assert report.rejected == []
    return report.groups[0].county.branches[0]


def test_readme_example__scores_as_the_readme_says(tmp_path):
    # 组织建设星: (45 + 38) / 100 = 83% >= 80 → earned.
    # 发展星: base 72 >= 60; highest commendation only: 市级 10 (not 10 + 5) → total 82 >= 80 → earned.
    # 和谐星: base 80 is not > 80 → not earned.  Two stars.
    branch = _score(tmp_path, reserve=2)
    assert branch.rating == 2
    earned = {u.id: u.earned for u in branch.units}
    assert earned == {"organisation": True, "development": True, "harmony": False}
    assert next(u for u in branch.units if u.id == "development").total == 82
    assert any("基础分 80 未高于 80" in r.text for r in branch.reasons)


def test_readme_example__third_star_needs_two_reserve_cadres(tmp_path):
    # 和谐星 base 85 > 80 → three stars earned; with 1 reserve cadre (< 2) the cap makes it 2.
    assert _score(tmp_path, reserve=2, harmony=85).rating == 3
    capped = _score(tmp_path, reserve=1, harmony=85)
    assert capped.rating == 2
    assert any(r.rule == "X1.adjustments.no_reserve" for r in capped.reasons)


def test_readme_lists_every_problem_code_with_its_current_message():
    assert catalogue_markdown() in README.read_text(encoding="utf-8")
