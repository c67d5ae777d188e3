"""County-wide steps, after every branch is scored: grades, quotas, exclusions, floors, outcomes.

Every rank is by score (or the step's figure) and then by branch code, so a tie is decided the
same way every night and the branch's reasons say how it was decided.
"""
from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any, Callable, NamedTuple

from .conditions import evaluate, holds, number, show
from .extras import attach_extras
from .figures import figure
from .problems import Problem, problem
from .records import BranchResult, CountyResult, Reason, Submission, UnitResult
from .rulebook import Rulebook, rating_text, source_text, used_figures
from .score import score_submission
from .sharing import shared_text


def apply_county_steps(rb: Rulebook, branches: list[BranchResult], notes: list[Reason],
                       problems: list[Problem]) -> None:
    """Grades first, then the steps that change ratings in rulebook order, then the checks on the result."""
    if rb.data["rating"]["mode"] == "grades":
        assign_grades(rb, branches)
    steps = list(enumerate(rb.data.get("county", [])))
    for phase in ("rank", "check"):
        for i, step in steps:
            kind = COUNTY_STEPS[step["type"]]
            if kind.phase == phase and kind.apply is not None:
                kind.apply(rb, branches, step, i, notes, problems)


def _rule(rb: Rulebook, i: int, step: dict[str, Any]) -> str:
    return f"{rb.id}.county.{i}.{step['type']}"


def by_score(branch: BranchResult) -> tuple:
    return (-branch.score, branch.branch_code, branch.township)


def assign_grades(rb: Rulebook, branches: list[BranchResult]) -> None:
    """Forced distribution within each group (R5: each 基层党委 grades its own branches, 002 line 483; else the
    county): rank by score, cut at the cumulative shares rounded half up; equal scores get the same grade —
    a tie across a cut goes to the better grade and the grades below shrink."""
    within = rb.data["rating"].get("grades_within")
    groups: dict[str, list[BranchResult]] = {}
    for branch in branches:
        groups.setdefault(branch.committee if within else "", []).append(branch)
    for name, members in sorted(groups.items()):
        _grade_group(rb, members, f"{name}所属" if within else "全县")


def _grade_group(rb: Rulebook, members: list[BranchResult], where: str) -> None:
    grades = rb.data["rating"]["grades"]
    ranked = sorted(members, key=by_score)
    n = len(ranked)
    cumulative, bounds = Decimal(0), []
    for grade in grades:
        cumulative += number(grade["share"])
        bounds.append(int((cumulative * n / 100).quantize(Decimal(1), ROUND_HALF_UP)))
    bounds[-1] = n
    source = source_text(rb.data["rating"].get("grades_source") or rb.data["rating"].get("source"))
    top = rb.data["rating"]["max"]
    shares = "、".join(f"{g['name']}{show(number(g['share']))}%" for g in grades)
    best_of_score: dict[Decimal, int] = {}
    for rank, branch in enumerate(ranked, 1):
        by_place = next(k for k, bound in enumerate(bounds) if rank <= bound)
        index = best_of_score.setdefault(branch.score, by_place)  # the first (best) place of this score
        branch.grade = grades[index]["name"]
        branch.rating = top - index
        tie = "，与同分支部同等" if index != by_place else ""
        branch.reasons.append(Reason(
            f"综合得分 {show(branch.score)}，{where} {n} 个支部中排第 {rank} 名，"
            f"按强制分布（{shares}）评为{branch.grade}{tie}", f"{rb.id}.rating.grades", source))


def apply_quota(rb: Rulebook, branches: list[BranchResult], step: dict[str, Any], i: int,
                notes: list[Reason], _problems: list[Problem]) -> None:
    """At most share% of all branches keep the rating; the rest drop one step, lowest score first."""
    level, n = step["rating"], len(branches)
    allowed = int((number(step["share"]) * n / 100).to_integral_value(ROUND_FLOOR))
    holders = sorted((b for b in branches if b.rating == level), key=by_score)
    rule, source = _rule(rb, i, step), source_text(step.get("source"))
    label = rating_text(rb, level)
    for rank, branch in enumerate(holders, 1):
        head = f"{label}名额：全县 {n} 个支部的 {show(number(step['share']))}%，即 {allowed} 个；本支部得分 {show(branch.score)}，在 {len(holders)} 个{label}支部中排第 {rank}（同分按支部编码排序）"
        if rank <= allowed:
            branch.reasons.append(Reason(f"{head}，保留{label}", rule, source))
        else:
            branch.rating = level - 1
            branch.reasons.append(Reason(f"{head}，超出名额，调整为{rating_text(rb, branch.rating)}", rule, source))
    if len(holders) > allowed:
        notes.append(Reason(f"{label}共 {len(holders)} 个，超过名额 {allowed} 个，{len(holders) - allowed} 个按得分调整为"
                            f"{rating_text(rb, level - 1)}", rule, source))


def apply_per_star_quota(rb: Rulebook, branches: list[BranchResult], step: dict[str, Any], i: int,
                         notes: list[Reason], problems: list[Problem]) -> None:
    """At most `count` branches county-wide keep each star: by the star's own score, ties by branch code.

    The older Huojia scheme (000_556207f0cb65ca56.txt line 303): “每颗星不超10个村”. A branch that loses a star
    is rated by the stars it keeps (never above the rating it had, so a cap applied earlier still holds).
    """
    for unit in [u for u in rb.units if u["id"] in step.get("units", [u["id"] for u in rb.units])]:
        holders = sorted(((b, own) for b in branches for own in b.units if own.id == unit["id"] and own.earned),
                         key=lambda bo: (-bo[1].total, bo[0].branch_code, bo[0].township))
        _keep_first(rb, holders, unit["name"], step, i, notes, problems)


def _keep_first(rb: Rulebook, holders: list[tuple[BranchResult, UnitResult]], star: str, step: dict[str, Any],
                i: int, notes: list[Reason], problems: list[Problem]) -> None:
    allowed, n = step["count"], len(holders)
    rule, source = _rule(rb, i, step), source_text(step.get("source"))
    for rank, (branch, unit) in enumerate(holders, 1):
        head = (f"{star}名额：全县每颗星不超过 {allowed} 个村；本支部{star}得分 {show(unit.total)}，在 {n} 个达到"
                f"标准的支部中排第 {rank}（同分按支部编码排序）")
        if rank <= allowed:
            branch.reasons.append(Reason(f"{head}，保留{star}", rule, source))
            continue
        unit.earned = False
        branch.rating = min(branch.rating, sum(1 for u in branch.units if u.earned))
        branch.reasons.append(Reason(f"{head}，超出名额，不授予{star}，评为{rating_text(rb, branch.rating)}",
                                     rule, source))
    if n > allowed:
        notes.append(Reason(f"{star}达到标准 {n} 个，超过名额 {allowed} 个，{n - allowed} 个按得分未授予",
                            rule, source))
    if 0 < allowed < n and holders[allowed - 1][1].total == holders[allowed][1].total:
        tied = [b for b, u in holders if u.total == holders[allowed][1].total]
        text = (f"{star}名额线上同分：{'、'.join(f'{b.township} {b.branch_code}' for b in tied)} 得分均为 "
                f"{show(holders[allowed][1].total)}，按支部编码排序决定（{holders[allowed - 1][0].branch_code} 保留，"
                f"{holders[allowed][0].branch_code} 未授予），请县级评审确认")
        notes.append(Reason(text, rule, source))
        problems.append(problem("SCO_006", detail=text))


def apply_exclusion(rb: Rulebook, branches: list[BranchResult], step: dict[str, Any], i: int,
                    _notes: list[Reason], problems: list[Problem]) -> None:
    """The bottom `count` of the given branch types by `by` cannot be rated above `cap`.

    Ranked within each township: the seed's bottom places are of one town (“全镇目标考核后3位”,
    002 line 179), so one township's villages never shield or sink another's.
    """
    types = set(step.get("branch_types") or [])
    pool = [b for b in branches if not types or b.branch_type in types]
    for own in by_township(pool).values():
        _exclude_bottom(rb, own, step, i, problems)


def by_township(branches: list[BranchResult]) -> dict[str, list[BranchResult]]:
    """Branches grouped by township, townships sorted, in one pass (a province has 2,000 of them)."""
    grouped: dict[str, list[BranchResult]] = {}
    for b in branches:
        grouped.setdefault(b.township, []).append(b)
    return dict(sorted(grouped.items()))


def _exclude_bottom(rb: Rulebook, pool: list[BranchResult], step: dict[str, Any], i: int,
                    problems: list[Problem]) -> None:
    ranked: list[tuple[Decimal, BranchResult]] = []
    unranked: list[BranchResult] = []
    for b in pool:
        value = figure(rb, b, step["by"])
        if value is None:
            unranked.append(b)
        else:
            ranked.append((value, b))
    ranked.sort(key=lambda vb: (vb[0], vb[1].branch_code))
    rule, source = _rule(rb, i, step), source_text(step.get("source"))
    for rank, (value, branch) in enumerate(ranked[: step["count"]], 1):
        before = branch.rating
        branch.rating = min(branch.rating, step["cap"])
        change = f"由{rating_text(rb, before)}调整为{rating_text(rb, branch.rating)}" if before != branch.rating else f"仍为{rating_text(rb, branch.rating)}"
        branch.reasons.append(Reason(
            f"{step.get('name', '排名靠后不得评为最高等级')}：目标考核得分 {show(value)}，在{branch.township} {len(ranked)} 个同类支部中"
            f"倒数第 {rank}（同分按支部编码排序），最高只能评为{rating_text(rb, step['cap'])}，{change}", rule, source))
    for branch in unranked:
        problems.append(problem("SCO_002", file=branch.file, sheet="支部信息", field="目标考核得分",
                                branch=branch.branch_code, detail=step.get("name", "排名")))


def check_floor(rb: Rulebook, branches: list[BranchResult], step: dict[str, Any], i: int,
                notes: list[Reason], problems: list[Problem]) -> None:
    """A guideline floor: at least share% at or below the rating. Reported, never enforced."""
    level, n = step["rating"], len(branches)
    count = sum(1 for b in branches if b.rating <= level)
    share = number(step["share"])
    met = n == 0 or Decimal(count) * 100 >= share * n
    # Shown to two decimals, compared exactly (1 of 52 is 1.92%, not 1.923076923…%).
    shown = show((Decimal(count) * 100 / n).quantize(Decimal("0.01"), ROUND_HALF_UP) if n else Decimal(0))
    text = (f"{rating_text(rb, level)}及以下 {count} 个，占 {shown}%，"
            f"{'达到' if met else '低于'}指导比例 {show(share)}%")
    notes.append(Reason(text, _rule(rb, i, step), source_text(step.get("source"))))
    if not met:
        problems.append(problem("SCO_003", field=step.get("name") or f"{rating_text(rb, level)}及以下",
                                value=count, expected=shown, limit=show(share)))


def apply_outcomes(rb: Rulebook, branches: list[BranchResult]) -> None:
    """Each branch's qualification, the lists it is on, and their reasons.

    Outcomes read nothing of a branch but the figures their conditions name and its rating's wording, so branches
    alike in those get the same verdicts and the same Reasons: each is worked out once and shared (`_OutcomeMemo`).
    The shipped rulebooks' outcomes read the rating only: a province's 100,000 branches are six cases. Tested branch
    by branch they were 85 % of the county's steps, which the run takes in one process (10,000 branches: 68–70 →
    19–21 ms), and each branch held its own copy of the same reasons."""
    outcomes = rb.data["outcomes"]
    qualified = outcomes.get("qualified")
    qualified_rule, qualified_source = f"{rb.id}.outcomes.qualified", source_text(outcomes.get("qualified_source"))
    # Each list's id, condition, and the reason a branch on it is given (the same for every branch of a province).
    lists = [(entry["id"], entry["when"], Reason(shared_text(f"列入{entry['name']}"), f"{rb.id}.outcomes.{entry['id']}",
                                                 source_text(entry.get("source")))) for entry in outcomes["lists"]]
    rating_rule, rating_source = f"{rb.id}.rating", source_text(rb.data["rating"].get("source"))
    verdicts = _OutcomeMemo(rb, used_figures(qualified) if qualified is not None else set())
    # Read after the qualification is set: a list's condition may name the figure "qualified".
    memberships = _OutcomeMemo(rb, {name for _, when, _ in lists for name in used_figures(when)})
    for branch in branches:
        if qualified is not None:
            key = verdicts.case(branch)
            verdict = verdicts.found.get(key)
            if verdict is None:
                held, texts = evaluate(qualified, partial(figure, rb, branch))
                verdict = verdicts.found[key] = (held, Reason(f"{'合格' if held else '不合格'}：{'，'.join(texts)}",
                                                              qualified_rule, qualified_source))
            branch.qualified = verdict[0]
            branch.reasons.append(verdict[1])
        key = (*memberships.case(branch), branch.rating, branch.grade)
        on = memberships.found.get(key)
        if on is None:
            figures = partial(figure, rb, branch)
            listed = [(list_id, reason) for list_id, when, reason in lists if holds(when, figures)]
            rated = Reason(shared_text(f"评定结果：{rating_text(rb, branch.rating, branch.grade)}"), rating_rule,
                           rating_source)
            on = memberships.found[key] = ([list_id for list_id, _ in listed], [reason for _, reason in listed] + [rated])
        branch.lists = list(on[0])  # each branch's own list: a later step may change one branch's
        branch.reasons += on[1]


class _OutcomeMemo:
    """The outcomes worked out so far (`found`), by each branch's case: the figures their conditions name (`names`)."""

    def __init__(self, rb: Rulebook, names: set[str]) -> None:
        self.rb, self.names = rb, sorted(names)
        self.found: dict[tuple[Any, ...], Any] = {}

    def case(self, branch: BranchResult) -> tuple[Any, ...]:
        if len(self.found) >= _OUTCOME_CASES:  # figures that vary from branch to branch (a score) share little
            self.found.clear()
        return tuple([_case_part(self.rb, branch, name) for name in self.names])


def _case_part(rb: Rulebook, branch: BranchResult, name: str) -> Any:
    """What of a figure decides an outcome: its value as written (str of the Decimal, so that 2 and 2.0, equal but
    shown apart in the reasons, are two cases), None when missing; the rating and the qualification as they are,
    which say the same as their figures without making a Decimal each."""
    if name == "rating":
        return branch.rating
    if name == "qualified":
        return branch.qualified
    value = figure(rb, branch, name)
    return None if value is None else str(value)


_OUTCOME_CASES = 1 << 14


def township_summary(rb: Rulebook, branches: list[BranchResult]) -> dict[str, dict[str, Any]]:
    """Per township: branches, rating distribution, qualification rate, assessment score and rank."""
    top = rb.data["rating"]["max"]
    step = county_step(rb, "township_assessment")
    summary: dict[str, dict[str, Any]] = {}
    for township, own in by_township(branches).items():
        qualified = [b for b in own if b.qualified]
        summary[township] = {
            "branches": len(own),
            "distribution": {r: sum(1 for b in own if b.rating == r) for r in range(top, -1, -1)},
            "qualified": len(qualified),
            "qualified_rate": (Decimal(len(qualified)) * 100 / len(own)).quantize(Decimal("0.01"), ROUND_HALF_UP),
            "assessment": _assessment(step, own, top) if step else None,
        }
    _rank(summary)
    return summary


def _assessment(step: dict[str, Any], own: list[BranchResult], top: int) -> Decimal:
    if step.get("formula") == "share_at_least":
        hits = sum(1 for b in own if b.rating >= step.get("threshold", top))
        value = Decimal(hits) * 100 / len(own)
    else:
        value = Decimal(sum(b.rating for b in own)) * 100 / (len(own) * top)
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _rank(summary: dict[str, dict[str, Any]]) -> None:
    """Competition ranking (1, 2, 2, 4) by assessment score, highest first."""
    values = sorted((v["assessment"] for v in summary.values() if v["assessment"] is not None), reverse=True)
    first_place: dict[Decimal, int] = {}
    for place, value in enumerate(values, 1):
        first_place.setdefault(value, place)
    for entry in summary.values():
        entry["rank"] = None if entry["assessment"] is None else first_place[entry["assessment"]]


# County step kinds, registered once. phase "rank" changes ratings (in rulebook order), "check" reports on
# the result; "summary" (township_summary) and "sample" (draw_spot_check) are read where those are made.
# Parameters: schemas/rulebook.schema.json $defs "county_step.<type>".
StepFunction = Callable[[Rulebook, list[BranchResult], dict[str, Any], int, list[Reason], list[Problem]], None]


class CountyStep(NamedTuple):
    phase: str
    apply: StepFunction | None


COUNTY_STEPS: dict[str, CountyStep] = {
    "quota_max": CountyStep("rank", apply_quota),
    "per_star_quota": CountyStep("rank", apply_per_star_quota),
    "exclude_bottom": CountyStep("rank", apply_exclusion),
    "floor_warning": CountyStep("check", check_floor),
    "township_assessment": CountyStep("summary", None),
    "spot_check": CountyStep("sample", None),
}


def county_step(rb: Rulebook, kind: str) -> dict[str, Any] | None:
    """The rulebook's (first) step of a kind that is read once per county, e.g. the spot-check share."""
    return next((s for s in rb.data.get("county", []) if s["type"] == kind), None)


# --- the whole county ----------------------------------------------------------------------

def finish_county(rb: Rulebook, branches: list[BranchResult], problems: list[Problem]) -> CountyResult:
    """The county-wide steps and the outcomes, over every branch of the county, in a fixed order."""
    ordered = sorted(branches, key=lambda b: (b.township, b.branch_code))
    notes: list[Reason] = []
    apply_county_steps(rb, ordered, notes, problems)
    apply_outcomes(rb, ordered)
    # Problems in a fixed order too (by file, sheet, cell, …), whatever order the rows came in.
    return CountyResult(ordered, sorted(problems), notes, township_summary(rb, ordered))


def score_county(rb: Rulebook, subs: list[Submission], period: int) -> CountyResult:
    """Score every branch of every accepted submission, then apply the county-wide steps."""
    branches: list[BranchResult] = []
    problems: list[Problem] = []
    for sub in sorted(subs, key=lambda s: (s.township, s.file)):
        scored, found = score_submission(rb, sub, period)
        found += attach_extras(rb, sub, scored, period)
        branches += scored
        problems += found
    return finish_county(rb, branches, problems)


# --- targets (R6): shares of branches, compared exactly -------------------------------------------

@dataclass(frozen=True)
class TargetResult:
    """One county-wide target: the exact figure, whether it is met (None: no goal, or not collected)."""
    target: dict[str, Any]
    count: int
    of: int
    value: Decimal | None  # the share in % (exact) or the count; None when not collected
    met: bool | None


def evaluate_targets(rb: Rulebook, branches: list[BranchResult]) -> list[TargetResult]:
    return [_evaluate_target(rb, target, branches) for target in rb.data.get("targets", [])]


def _holds(rb: Rulebook, condition: dict[str, Any], branch: BranchResult) -> bool:
    return holds(condition, lambda name: figure(rb, branch, name))


def _evaluate_target(rb: Rulebook, target: dict[str, Any], branches: list[BranchResult]) -> TargetResult:
    n = len(branches)
    if "not_collected" in target:
        return TargetResult(target, 0, n, None, None)
    count = sum(1 for b in branches if _holds(rb, target["counted"], b))
    if target.get("measure", "share") == "count":
        value = Decimal(count)
    else:
        value = Decimal(count) * 100 / n if n else Decimal(0)
    goal = target.get("goal")
    met = None if goal is None else evaluate({"figure": "value", **goal}, lambda _: value)[0]
    return TargetResult(target, count, n, value, met)


# --- after the county is rated: the panel's sample and the year-on-year changes -------------

def derived_seed(accepted: list[Submission]) -> int:
    """Reproducible from the inputs themselves: the same accepted files always draw the same sample."""
    digest = hashlib.sha256("".join(sorted(s.sha256 for s in accepted)).encode()).hexdigest()
    return int(digest[:12], 16)


def draw_spot_check(rb: Rulebook, branches: list[BranchResult], seed: int) -> dict[str, Any]:
    """The county panel's sample of the spot_check list: share% rounded up, drawn with a recorded seed."""
    step = county_step(rb, "spot_check")
    candidates = sorted(b.key for b in branches if "spot_check" in b.lists)
    share = step["share"] if step else 0
    count = math.ceil(len(candidates) * share / 100) if step else 0
    drawn = sorted(random.Random(seed).sample(candidates, count)) if count else []
    return {"seed": seed, "share": share, "candidates": len(candidates), "drawn": drawn}


def promotions(rb: Rulebook, branches: list[BranchResult],
               previous: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """晋星/减星 against the previous period's recorded ratings."""
    changes = []
    for b in branches:
        before = previous.get(b.key)
        if before is None or before["rating"] == b.rating:
            continue
        changes.append({"township": b.township, "branch_code": b.branch_code, "name": b.name,
                        "before": rating_text(rb, before["rating"], before.get("grade")),
                        "after": rating_text(rb, b.rating, b.grade),
                        "change": "晋星" if b.rating > before["rating"] else "减星"})
    return changes
