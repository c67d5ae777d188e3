"""Properties of scoring that hold for every input, checked with hypothesis.

The workbooks are built and validated once per module (real files, validated clean); each example
then changes the validated records in memory and scores again with score_county, so an example
costs milliseconds. What must hold (RULES.md: a rating comes from points, vetoes remove stars,
ties are decided by branch code so nothing depends on order):
- adding points (a bonus, a higher item score, a standard met) never lowers the branch's rating;
- adding a veto (a 否决事项 row, 一肩挑 = 否) never raises any rating; a deduction never raises the
  branch's own rating;
- shuffling the rows of every sheet and the order of the files never changes any result.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.sheets import REVIEW, SELF, score_field_id
from scoring_helpers import (branch, comparable, event, rescore, rulebook, score_paths, shuffled, validated,
                             vote, write)

R1, R4, R5 = rulebook("R1"), rulebook("R4"), rulebook("R5")
FEW = settings(max_examples=25, deadline=None)


# --- the townships, built once ----------------------------------------------------------------
def r1_branches(prefix: str) -> list:
    return [
        branch(f"{prefix}-01"),                                                   # five stars
        branch(f"{prefix}-02", scores={"civility": 75, "party_building": 74},     # near the 75/85 edges
               events=[event("乡风文明星加分", points=5), event("乡风文明星加分", points=4.5),
                       event("基层党建星加分", points=11)]),
        branch(f"{prefix}-03", scores={"party_building": 80}, secretary_is_head="否"),  # 一肩挑 veto → 1+4 cap
        branch(f"{prefix}-04", scores={"peace": 0, "industry": 84, "beautiful_village": 60}),
        branch(f"{prefix}-05", review={"civility": 70, "peace": 86},
               events=[event("平安和谐星扣分", points=1), event("平安和谐星扣分", points=0.5)]),
        branch(f"{prefix}-06", scores={"party_building": 60, "civility": 0, "peace": 0, "industry": 0,
                                       "beautiful_village": 0},
               vetoes=["出现命案、重大刑事案件或被上级挂牌督办", "同一问题赴县集访2次以上、赴市集访1次或个访2次以上、赴省以上集访个访非访"]),
    ]


@pytest.fixture(scope="module")
def r1_subs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop_r1")
    return [validated(R1, write(R1, folder / "城关镇.xlsx", r1_branches("CG"), "城关镇")),
            validated(R1, write(R1, folder / "亢村镇.xlsx", r1_branches("KC"), "亢村镇"))]


COMMENDED = "党组织或书记受表彰、在市以上媒体发表署名文章报道"
ABSENCE = "无故不参加市直工委会议、培训或不按时完成工作任务"


@pytest.fixture(scope="module")
def r4_subs(tmp_path_factory):
    scores = [95, 92, 91, 90, 89.5, 85, 79, 70, 60, 50, 45, 30]   # 12 organs, four at 90+ for the quota
    branches = [branch(f"AY-{i:02d}", scores={"comprehensive": s}) for i, s in enumerate(scores)]
    branches[1].events = [event(COMMENDED, level="市级")]
    branches[2].events = [event(ABSENCE, count=3)]
    branches[5].votes = [vote("整体", 40, 40, 23)]                                  # 57.5% → −5
    branches[6].info["last_reelection"] = dt.date(2022, 1, 1)  # overdue
    return [validated(R4, write(R4, tmp_path_factory.mktemp("prop_r4") / "市直.xlsx", branches, "市直机关"))]


@pytest.fixture(scope="module")
def r5_subs(tmp_path_factory):
    dims = [{}, {"team": 15}, {"systems": 12.5}, {"systems": 12.5}, {"role": 13.34}, {"team": 10, "org_life": 7.5},
            {"member_management": 9}, {"groundwork": 5}, {"team": 0, "role": 0}, {"systems": 0, "org_life": 0}]
    branches = [branch(f"YD-{i:02d}", scores=d) for i, d in enumerate(dims)]
    return [validated(R5, write(R5, tmp_path_factory.mktemp("prop_r5") / "移动.xlsx", branches, "分公司"))]


# --- changing validated records in memory -----------------------------------------------------
def with_records(subs: list, key: str, change) -> list:
    """Copies of the submissions where `change(records of sheet key, submission)` gives the new list."""
    out = []
    for sub in subs:
        c = copy.copy(sub)
        c.records = dict(sub.records)
        c.records[key] = change(list(sub.records.get(key, [])), sub)
        out.append(c)
    return out


def add_row(subs: list, key: str, code: str, values: dict) -> list:
    """A new row for branch `code` on sheet `key`, shaped like the sheet's first row (its columns)."""
    def change(records, sub):
        if not any(b.values["branch_code"] == code for b in sub.records["branches"]):
            return records
        template = next(r for s in subs for r in s.records.get(key, []))
        last = max((r.row for r in records), default=1)
        return records + [dataclasses.replace(template, row=last + 1, values={"branch_code": code, **values})]
    return with_records(subs, key, change)


def set_values(subs: list, key: str, code: str, values: dict) -> list:
    def change(records, sub):
        return [dataclasses.replace(r, values={**r.values, **values}) if r.values.get("branch_code") == code else r
                for r in records]
    return with_records(subs, key, change)


def ratings(county) -> dict:
    return {(b.township, b.branch_code): b.rating for b in county.branches}


def codes_of(subs) -> list[str]:
    return [b.values["branch_code"] for s in subs for b in s.records["branches"]]


def item_raise(rb, subs, code: str, unit_id: str, k: int, delta: Decimal) -> list:
    """Raise item k of the unit by delta (to at most its max) wherever it is scored: self and review."""
    unit = rb.unit_by_id[unit_id]
    item = unit["items"][k % len(unit["items"])]
    top = Decimal(str(item["max"]))
    row = next(r for s in subs for r in s.records["scores"] if r.values["branch_code"] == code)
    new = {}
    for which in (SELF, REVIEW):
        fid = score_field_id(unit_id, item["id"], which)
        if fid in row.values:
            new[fid] = min(top, row.values[fid] + delta)
    return set_values(subs, "scores", code, new)


half_points = st.integers(min_value=1, max_value=40).map(lambda k: Decimal(k) / 2)   # 0.5 … 20


# --- adding points never lowers a rating ------------------------------------------------------
@FEW
@given(data=st.data())
def test_r1_adding_points__never_lowers_the_branch_rating(r1_subs, data):
    code = data.draw(st.sampled_from(codes_of(r1_subs)), label="branch")
    unit_id = data.draw(st.sampled_from([u["id"] for u in R1.units]), label="star")
    points = data.draw(half_points, label="points")
    if data.draw(st.booleans(), label="as a bonus event (else a higher item score)"):
        changed = add_row(r1_subs, "events", code, {"event_kind": f"{R1.unit_by_id[unit_id]['name']}加分",
                                                    "points": points, "count": 1})
    else:
        changed = item_raise(R1, r1_subs, code, unit_id, data.draw(st.integers(0, 5), label="item"), points)
    before, after = ratings(rescore(R1, r1_subs)), ratings(rescore(R1, changed))
    key = next(k for k in before if k[1] == code)
    assert after[key] >= before[key]


@FEW
@given(data=st.data())
def test_r4_adding_points__never_lowers_the_branch_rating__even_under_the_quota(r4_subs, data):
    code = data.draw(st.sampled_from(codes_of(r4_subs)), label="branch")
    if data.draw(st.booleans(), label="as a commendation (else a higher item score)"):
        level = data.draw(st.sampled_from(["市级", "省级", "国家级"]), label="level")
        changed = add_row(r4_subs, "events", code, {"event_kind": COMMENDED, "level": level, "count": 1})
    else:
        changed = item_raise(R4, r4_subs, code, "comprehensive", data.draw(st.integers(0, 9), label="item"),
                             data.draw(half_points, label="points"))
    before, after = ratings(rescore(R4, r4_subs)), ratings(rescore(R4, changed))
    key = next(k for k in before if k[1] == code)
    assert after[key] >= before[key]


@FEW
@given(data=st.data())
def test_r5_meeting_a_standard__never_lowers_the_branch_grade(r5_subs, data):
    code = data.draw(st.sampled_from(codes_of(r5_subs)), label="branch")
    unit = data.draw(st.sampled_from(R5.units), label="dimension")
    item = data.draw(st.sampled_from(unit["items"]), label="standard")
    changed = set_values(r5_subs, "scores", code, {score_field_id(unit["id"], item["id"], SELF): Decimal(str(item["max"]))})
    before, after = ratings(rescore(R5, r5_subs)), ratings(rescore(R5, changed))
    key = next(k for k in before if k[1] == code)
    assert after[key] >= before[key]  # rating 4 优秀 … 1 不合格


# --- adding a veto never raises a rating ------------------------------------------------------
R1_VETO_ROWS = [v["name"] for v in R1.vetoes if "when" not in v]


@FEW
@given(data=st.data())
def test_r1_adding_a_veto__never_raises_any_rating(r1_subs, data):
    code = data.draw(st.sampled_from(codes_of(r1_subs)), label="branch")
    choice = data.draw(st.sampled_from(R1_VETO_ROWS + ["书记兼村委会主任 = 否"]), label="veto")
    if choice in R1_VETO_ROWS:
        changed = add_row(r1_subs, "vetoes", code, {"veto": choice})
        star = next(v["unit"] for v in R1.vetoes if v["name"] == choice)
    else:
        changed = set_values(r1_subs, "branches", code, {"secretary_is_head": "否"})
        star = "party_building"
    before, after = ratings(rescore(R1, r1_subs)), rescore(R1, changed)
    for key, rating in ratings(after).items():
        assert rating <= before[key]
    vetoed = next(b for b in after.branches if b.branch_code == code)
    assert next(u for u in vetoed.units if u.id == star).earned is False


@FEW
@given(data=st.data())
def test_r4_adding_a_deduction__never_raises_the_branch_rating(r4_subs, data):
    code = data.draw(st.sampled_from(codes_of(r4_subs)), label="branch")
    kind = data.draw(st.sampled_from([e["name"] for e in R4.events if e["effect"] == "deduction"]), label="deduction")
    changed = add_row(r4_subs, "events", code, {"event_kind": kind, "count": data.draw(st.integers(1, 4))})
    before, after = ratings(rescore(R4, r4_subs)), ratings(rescore(R4, changed))
    key = next(k for k in before if k[1] == code)
    assert after[key] <= before[key]


# --- order never matters -----------------------------------------------------------------------
def everything(county) -> tuple:
    return ([b.to_dict() for b in county.branches], [p.to_dict() for p in county.problems],
            [n.sentence() for n in county.notes], county.townships)


@pytest.mark.parametrize("name", ["R1", "R4", "R5"])
@FEW
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffling_rows_and_files__never_changes_any_result(r1_subs, r4_subs, r5_subs, name, seed):
    rb, subs = {"R1": (R1, r1_subs), "R4": (R4, r4_subs), "R5": (R5, r5_subs)}[name]
    assert everything(rescore(rb, shuffled(subs, random.Random(seed)))) == everything(rescore(rb, subs))


def test_files_renamed_and_given_in_reverse__same_results_but_the_file_name(tmp_path):
    a = write(R1, tmp_path / "a" / "城关镇.xlsx", r1_branches("CG"), "城关镇")
    b = write(R1, tmp_path / "a" / "亢村镇.xlsx", r1_branches("KC"), "亢村镇")
    renamed_a = tmp_path / "b" / "2026-城关镇-终稿.xlsx"
    renamed_b = tmp_path / "b" / "亢村镇（修改）.xlsx"
    renamed_a.parent.mkdir()
    renamed_a.write_bytes(a.read_bytes())
    renamed_b.write_bytes(b.read_bytes())
    first, second = score_paths([a, b]), score_paths([renamed_b, renamed_a])
    assert comparable(first.branches, drop_file=True) == comparable(second.branches, drop_file=True)
    assert [x.file for x in second.branches if x.township == "城关镇"] == ["2026-城关镇-终稿.xlsx"] * 6
