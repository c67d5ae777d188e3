"""Score every branch by its rulebook, with a reason for every star given or withheld.

Per branch: unit scores from items (township-review score where given, else self-score) →
bonuses and deductions → vetoes → raw rating (units earned, score bands, or county-wide grades) →
whole-rating vetoes → adjustments (caps, demotions) in rulebook order. Then, over the whole county,
the county steps (quotas, exclusions by rank, forced grades, floors, township assessment), and last
the outcomes (qualified, lists). Results never depend on row or file order: branches are sorted by
(township, branch code) and every tie is broken by branch code.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from .conditions import evaluate, holds, number, show
from .figures import figure
from .problems import Problem, problem
from .records import HUNDRED, ZERO, BranchResult, Reason, Record, Submission, UnitResult
from .rulebook import Rulebook, rating_text, source_text
from .sharing import remembered
from .sheets import REVIEW, SELF, score_field_id

# --- one branch ----------------------------------------------------------------------------

@dataclass(init=False)
class BranchInput:
    sub: Submission
    branch: Record
    scores: Record | None
    events: Sequence[Record]
    vetoes: Sequence[Record]
    votes: Sequence[Record]
    cadres: Sequence[Record]

    def __init__(self, sub: Submission, branch: Record, scores: Record | None, events: Sequence[Record],
                 vetoes: Sequence[Record], votes: Sequence[Record], cadres: Sequence[Record]) -> None:
        # Written out: compiled, @dataclass's own __init__ would stay interpreted (pay.PaymentLine says more).
        self.sub, self.branch, self.scores, self.events = sub, branch, scores, events
        self.vetoes, self.votes, self.cadres = vetoes, votes, cadres


def branch_inputs(sub: Submission) -> list[BranchInput]:
    def by_code(key: str) -> dict[str, list[Record]]:
        grouped: dict[str, list[Record]] = {}
        # In sheet order, whatever order the records come in: cells in reasons never depend on it.
        for r in sorted(sub.records.get(key, []), key=lambda r: r.row):
            grouped.setdefault(str(r.values.get("branch_code")), []).append(r)
        return grouped

    scores, events, vetoes, votes = by_code("scores"), by_code("events"), by_code("vetoes"), by_code("votes")
    cadres = by_code("cadres")
    inputs = []
    for branch in sub.records.get("branches", []):
        code = str(branch.values.get("branch_code"))
        inputs.append(BranchInput(sub, branch, next(iter(scores.get(code, [])), None), events.get(code, []),
                                  vetoes.get(code, []), votes.get(code, []), cadres.get(code, [])))
    return inputs


def score_branch(rb: Rulebook, period: int, data: BranchInput, problems: list[Problem]) -> BranchResult:
    v = data.branch.values
    facts = branch_facts(rb, period, data)
    result = BranchResult(file=data.sub.file, township=v.get("township", data.sub.township),
                          branch_code=v["branch_code"], name=v.get("branch_name", ""),
                          village=v.get("village") or v.get("branch_name", ""), branch_type=v.get("branch_type", ""),
                          committee=str(v.get("parent_committee") or ""),
                          units=[], score=ZERO, rating=0, rating_max=rb.data["rating"]["max"], facts=facts,
                          event_rows=data.events, cadres=data.cadres,
                          rows=_own_rows(data))
    for unit, plan in zip(rb.units, _index(rb).units, strict=True):
        if unit.get("applies_to") and result.branch_type not in unit["applies_to"]:
            continue
        result.units.append(_score_unit(rb, plan, data, facts, result, problems))
    result.score = _branch_score(rb, data, result)
    _raw_rating(rb, result)
    _whole_rating_vetoes(rb, data, result)
    _adjust(rb, result)
    return result


def _own_rows(data: BranchInput) -> dict[str, Sequence[Record]]:
    """The branch's rows by sheet key: pay points at their cells, the county panel rescores from them."""
    rows = {"branches": [data.branch], "vetoes": data.vetoes, "votes": data.votes}
    if data.scores is not None:
        rows["scores"] = [data.scores]
    return rows


def branch_facts(rb: Rulebook, period: int, data: BranchInput) -> dict[str, Any]:
    v = data.branch.values
    facts: dict[str, Any] = {}
    for name in ("member_count", "collective_income", "elderly_70_plus", "reserve_cadres", "target_assessment_score"):
        if name in v:
            facts[name] = number(v[name])
    facts["secretary_is_head"] = Decimal(1 if v.get("secretary_is_head") == "是" else 0) if "secretary_is_head" in v else None
    facts["reelection_postponed_approved"] = Decimal(1 if v.get("reelection_postponed_approved") == "是" else 0)
    term = term_years(rb, v.get("branch_type", ""))
    facts["reelection_term_years"] = None if term is None else Decimal(term)
    facts["reelection_overdue_days"] = _overdue_days(v.get("last_reelection"), term, period)
    return facts


def term_years(rb: Rulebook, branch_type: str) -> int | None:
    """The term of this branch type: committees (党委) 5 years, general branches and branches 3 (2018 opinion)."""
    setting = rb.settings.get("reelection_term_years")
    return setting.get(branch_type) if isinstance(setting, dict) else setting


def _overdue_days(last: str | None, term_years: int | None, period: int) -> Decimal | None:
    """Days past the end of the term at the end of the rating year; 0 when not overdue."""
    if not last or not term_years:
        return None
    held = dt.date.fromisoformat(last)
    try:
        due = held.replace(year=held.year + term_years)
    except ValueError:  # 29 February
        due = held.replace(year=held.year + term_years, day=28)
    return Decimal(max(0, (dt.date(period, 12, 31) - due).days))


def _score_unit(rb: Rulebook, plan: _UnitPlan, data: BranchInput, facts: dict[str, Any],
                result: BranchResult, problems: list[Problem]) -> UnitResult:
    unit = plan.unit
    base, used_review, used_self, cells = _unit_base(plan, data, problems)
    bonus, deduction, event_cells = _event_points(plan.events, data.events)
    ur = UnitResult(unit["id"], unit["name"], base, bonus, deduction, plan.max,
                    _named_vote_share(data.votes, plan.vote_target), None, [], used_review, used_self,
                    cells + event_cells)
    ur.vetoes = _unit_vetoes(plan, data, facts)
    if "earn" in unit:
        ur.earned = _earn_unit(rb, plan, ur, result, data)
    else:
        result.reasons.append(Reason(
            f"{unit['name']}：基础分 {show(ur.base)}，加分 {show(ur.bonus)}，扣分 {show(ur.deduction)}，得分 {show(ur.total)}",
            f"{rb.id}.units.{unit['id']}", source_text(unit.get("source")), ur.cells))
    return ur


@dataclass(frozen=True)
class _UnitPlan:
    """One unit of the rulebook as every branch is scored against it: looked up once per rulebook instead of
    once per unit of each branch."""
    unit: dict[str, Any]
    items: list[tuple[dict[str, Any], str, str]]  # (item, self-score field, review-score field)
    events: list[dict[str, Any]]  # the events counted for it, in rulebook order (as they are summed and cited)
    vetoes: list[dict[str, Any]]  # its vetoes of effect "unit", in rulebook order
    earn_cited: tuple[str, str]  # (rule, source) its earn reason cites
    gap_limit: Decimal  # the rulebook's review_gap_warning
    # Asked of the Rulebook (interpreted) once here rather than for each unit of each branch (~3,000 instructions).
    max: Decimal  # rb.unit_max(unit)
    vote_target: str | None  # the name its 民主测评 row has (rb.vote_target_name), None when it is not voted on


@dataclass(frozen=True)
class _RulebookIndex:
    units: list[_UnitPlan]  # one per unit of rb.units, in that order
    branch_events: list[dict[str, Any]]  # the events counted for the branch as a whole


_INDEXES: dict[int, tuple[dict[str, Any], _RulebookIndex]] = {}


def _index(rb: Rulebook) -> _RulebookIndex:
    """Built once per rulebook (like sheets_for: keyed by its data, which is never changed once loaded)."""
    built = _INDEXES.get(id(rb.data))
    if built is None or built[0] is not rb.data:
        built = (rb.data, _build_index(rb))
        _INDEXES[id(rb.data)] = built
    return built[1]


def _build_index(rb: Rulebook) -> _RulebookIndex:
    gap_limit = number(rb.settings.get("review_gap_warning", 0))
    units = [_UnitPlan(unit,
                       [(item, score_field_id(unit["id"], item["id"], SELF), score_field_id(unit["id"], item["id"], REVIEW))
                        for item in unit["items"]],
                       [e for e in rb.events if e.get("unit") == unit["id"]],
                       [v for v in rb.vetoes if v["effect"] == "unit" and v.get("unit") == unit["id"]],
                       (f"{rb.id}.units.{unit['id']}.earn", source_text(unit.get("earn_source") or unit.get("source"))),
                       gap_limit, rb.unit_max(unit), _vote_target(rb, unit["id"]))
             for unit in rb.units]
    return _RulebookIndex(units, [e for e in rb.events if e.get("unit") is None])


def _unit_base(plan: _UnitPlan, data: BranchInput, problems: list[Problem]) -> tuple[Decimal, int, int, list[str]]:
    """Sum of item scores; for each item the township-review score where given, else the self-score."""
    base, used_review, used_self = ZERO, 0, 0
    cells: list[str] = []
    scores = data.scores
    if scores is None:
        return base, 0, 0, cells
    values = scores.values
    where, row = _sheet_cells(scores), str(scores.row)
    gap_limit = plan.gap_limit
    for item, self_id, review_id in plan.items:
        review = values.get(review_id)
        if review is not None:
            base += review
            used_review += 1
            cells.append(where[review_id] + row)
            own = values.get(self_id) if gap_limit else None
            if own is not None and abs(own - review) > gap_limit:
                problems.append(problem("SCO_001", file=data.sub.file, sheet=scores.sheet, cell=scores.cell(review_id),
                                        field=f"{plan.unit['name']}｜{item['name']}", value=show(number(own)),
                                        limit=show(number(review)), detail=show(gap_limit)))
        elif (own := values.get(self_id)) is not None:
            base += own
            used_self += 1
            cells.append(where[self_id] + row)
    return base, used_review, used_self, cells


class _CellNames(dict[str, str]):
    """Field id → "评分!C" for the records of one sheet: a cited cell is that plus the row number, exactly as
    f"{record.sheet}!{record.cell(field)}" (a field without a column falls back to the first column, as there)."""

    def __init__(self, record: Record) -> None:
        self.sheet, self.columns = record.sheet, record.columns
        self.fallback = f"{record.sheet}!{next(iter(record.columns.values()), 'A')}"
        super().__init__({fid: f"{record.sheet}!{letters}" if letters else self.fallback
                          for fid, letters in record.columns.items()})

    def __missing__(self, field_id: str) -> str:
        return self.fallback


_SHEET_CELLS: dict[int, _CellNames] = {}


def _sheet_cells(record: Record) -> _CellNames:
    """Made once per sheet read (its records share one columns dict), not once per cited cell."""
    kept = _SHEET_CELLS.get(id(record.columns))
    if kept is None or kept.columns is not record.columns or kept.sheet != record.sheet:
        if len(_SHEET_CELLS) >= 1000:  # one entry per sheet read: a run reads thousands
            _SHEET_CELLS.clear()
        kept = _SHEET_CELLS[id(record.columns)] = _CellNames(record)
    return kept


def _event_points(counted: list[dict[str, Any]], events: Sequence[Record]) -> tuple[Decimal, Decimal, list[str]]:
    """Bonus and deduction from the branch's event rows of the counted events, and the cells they cite."""
    bonus, deduction = ZERO, ZERO
    cells: list[str] = []
    if not events:
        return bonus, deduction, cells
    for event in counted:
        rows = [r for r in events if r.values.get("event_kind") == event["name"]]
        if not rows:
            continue
        points = event_total(event, rows)
        cells += [f"{r.sheet}!{r.cell('event_kind')}" for r in rows]
        if event["effect"] == "bonus":
            bonus += points
        else:
            deduction += points
    return bonus, deduction, cells


def event_total(event: dict[str, Any], rows: list[Record]) -> Decimal:
    """sum: points × count on every row; highest: the highest level's points, once."""
    def row_points(r: Record) -> Decimal:
        spec = event["points"]
        if spec == "entered":
            return number(r.values.get("points", 0))
        if isinstance(spec, dict):
            return number(spec.get(r.values.get("level"), 0))
        return number(spec)

    if event.get("combine") == "highest":
        total = max(row_points(r) for r in rows)
    else:
        total = sum((row_points(r) * int(r.values.get("count", 1)) for r in rows), ZERO)
    if "max_points" in event:
        total = min(total, number(event["max_points"]))
    return total


def _vote_share(rb: Rulebook, votes: Sequence[Record], target: str) -> Decimal | None:
    return _named_vote_share(votes, _vote_target(rb, target))


def _vote_target(rb: Rulebook, target: str) -> str | None:
    """The name of the target's 民主测评 row; None when the rulebook does not vote on it."""
    if not rb.votes or target not in rb.votes["targets"]:
        return None
    return rb.vote_target_name(target)


def _named_vote_share(votes: Sequence[Record], name: str | None) -> Decimal | None:
    if name is None:
        return None
    for r in votes:
        if r.values.get("target") == name and r.values.get("participants"):
            return Decimal(r.values["votes_yes"]) * HUNDRED / Decimal(r.values["participants"])
    return None


def _vote_row(rb: Rulebook, votes: Sequence[Record], target: str) -> Record | None:
    name = rb.vote_target_name(target)
    return next((r for r in votes if r.values.get("target") == name), None)


def _unit_vetoes(plan: _UnitPlan, data: BranchInput, facts: dict[str, Any]) -> list[str]:
    return [veto["id"] for veto in plan.vetoes if _veto_present(veto, data, facts)]


def _veto_present(veto: dict[str, Any], data: BranchInput, facts: dict[str, Any]) -> bool:
    if "when" in veto:
        return holds(veto["when"], lambda f: facts.get(f.split(".", 1)[1]) if f.startswith("fact.") else None)
    return bool(data.vetoes) and any(r.values.get("veto") == veto["name"] for r in data.vetoes)


def _veto_cells(veto: dict[str, Any], data: BranchInput) -> list[str]:
    if "when" in veto:
        fact = veto["when"].get("figure", "").split(".", 1)[-1]
        return [f"{data.branch.sheet}!{data.branch.cell(fact)}"]
    return [f"{r.sheet}!{r.cell('veto')}" for r in data.vetoes if r.values.get("veto") == veto["name"]]


# The figures a unit's `earn` condition may name, read off the unit's result only when asked.
UNIT_FIGURES: dict[str, Callable[[UnitResult], Decimal | None]] = {
    "base": lambda u: u.base, "bonus": lambda u: u.bonus, "deduction": lambda u: u.deduction,
    "total": lambda u: u.total, "share": lambda u: u.share, "vote_share": lambda u: u.vote_share,
}


def _earn_unit(rb: Rulebook, plan: _UnitPlan, ur: UnitResult, result: BranchResult,
               data: BranchInput) -> bool:
    unit = plan.unit
    held, detail = _earn_verdict(plan, ur)
    rule, source = plan.earn_cited
    vetoed = [v for v in rb.vetoes if v["id"] in ur.vetoes] if ur.vetoes else []
    if vetoed:
        names = "、".join(v["name"] for v in vetoed)
        result.reasons.append(Reason(f"{unit['name']}：未得星。{detail}；存在一票否决事项：{names}", rule, source, ur.cells))
        for veto in vetoed:
            result.reasons.append(Reason(f"一票否决：{veto['name']}，取消{unit['name']}评选资格",
                                         f"{rb.id}.vetoes.{veto['id']}", source_text(veto.get("source")),
                                         _veto_cells(veto, data)))
        return False
    verdict = "得星" if held else "未得星"
    result.reasons.append(Reason(f"{unit['name']}：{verdict}。{detail}", rule, source, ur.cells))
    return held


_VERDICTS: dict[tuple[int, str, str, str, str, str], tuple[_UnitPlan, bool, str]] = {}


def _earn_verdict(plan: _UnitPlan, ur: UnitResult) -> tuple[bool, str]:
    """(whether the unit's earn condition holds, the words that decided it). Both depend only on the unit's figures,
    which branches repeat (the same base, no bonus, no deduction), so each set of them is worded once. The figures
    are found by their texts, not as Decimals: the hash of a number just computed costs ~6 times its text, and 0 and
    -0, equal but shown apart, stay apart."""
    key = (id(plan), str(ur.base), str(ur.bonus), str(ur.deduction), str(ur.max),
           "" if ur.vote_share is None else str(ur.vote_share))
    found = _VERDICTS.get(key)
    if found is not None and found[0] is plan:
        return found[1], found[2]

    def unit_figure(name: str) -> Decimal | None:
        of = UNIT_FIGURES.get(name)
        return None if of is None else of(ur)

    held, texts = evaluate(plan.unit["earn"], unit_figure)
    detail = "，".join(texts)
    if ur.bonus or ur.deduction:
        detail += f"（总分 {show(ur.total)} = 基础分 {show(ur.base)} + 加分 {show(ur.bonus)} − 扣分 {show(ur.deduction)}）"
    remembered(_VERDICTS, 1 << 14, key, (plan, held, detail))
    return held, detail


def _branch_score(rb: Rulebook, data: BranchInput, result: BranchResult) -> Decimal:
    score = sum((u.total for u in result.units), ZERO)
    bonus, deduction, cells = _event_points(_index(rb).branch_events, data.events)
    if bonus or deduction:
        result.reasons.append(Reason(f"加分 {show(bonus)}，扣分 {show(deduction)}",
                                     f"{rb.id}.events", _event_sources(rb), cells))
    score += bonus - deduction
    result.figures_cache["vote_share"] = _vote_share(rb, data.votes, "overall")
    result.figures_cache["turnout"] = _turnout(rb, data.votes)
    for penalty in rb.data.get("penalties", []):
        held, texts = evaluate(penalty["when"], lambda f: figure(rb, result, f))
        if held:
            points = number(penalty["points"])
            score -= points
            vote = _vote_row(rb, data.votes, "overall")
            result.reasons.append(Reason(f"{penalty['name']}：{'，'.join(texts)}{_term_text(penalty, result)}，扣 {show(points)} 分",
                                         f"{rb.id}.penalties.{penalty['id']}", source_text(penalty.get("source")),
                                         [f"{vote.sheet}!{vote.cell('votes_yes')}"] if vote else []))
    return score


def _term_text(rule: dict[str, Any], result: BranchResult) -> str:
    """Which term a reelection check used, so the reason says why a branch is overdue."""
    term = result.facts.get("reelection_term_years")
    if term is None or "reelection_overdue_days" not in str(rule.get("when")):
        return ""
    return f"（{result.branch_type}任期按 {term} 年计）"


def _event_sources(rb: Rulebook) -> str:
    lines = sorted({source_text(e.get("source")) for e in rb.events if "unit" not in e})
    return "；".join(lines)


def _turnout(rb: Rulebook, votes: Sequence[Record]) -> Decimal | None:
    if not rb.votes or "overall" not in rb.votes["targets"]:
        return None
    row = _vote_row(rb, votes, "overall")
    if row is None or not row.values.get("members"):
        return None
    return Decimal(row.values["participants"]) * HUNDRED / Decimal(row.values["members"])


def _raw_rating(rb: Rulebook, result: BranchResult) -> None:
    mode = rb.data["rating"]["mode"]
    rule, source = f"{rb.id}.rating", source_text(rb.data["rating"].get("source"))
    if mode == "count":
        earned = [u.name for u in result.units if u.earned]
        result.rating = len(earned)
        listing = "、".join(earned) if earned else "无"
        result.reasons.append(Reason(f"得星 {len(earned)} 颗：{listing}", rule, source))
    elif mode == "bands":
        result.rating = band_rating(rb, result.score)
        result.reasons.append(Reason(f"综合得分 {show(result.score)}，按分档评为 {rating_text(rb, result.rating)}",
                                     rule, source))
    else:
        result.rating = 0  # grades are given county-wide, after every branch is scored


def band_rating(rb: Rulebook, score: Decimal) -> int:
    """The first band (highest first) whose lower bound is at or below the score; lower bounds inclusive."""
    for band in sorted(rb.data["rating"]["bands"], key=lambda b: number(b["min"]), reverse=True):
        if score >= number(band["min"]):
            return band["rating"]
    return 0


def _whole_rating_vetoes(rb: Rulebook, data: BranchInput, result: BranchResult) -> None:
    for veto in rb.vetoes:
        if veto["effect"] == "rating" and _veto_present(veto, data, result.facts):
            result.rating = 0
            result.reasons.append(Reason(f"一票否决：{veto['name']}，不评定星级", f"{rb.id}.vetoes.{veto['id']}",
                                         source_text(veto.get("source")), _veto_cells(veto, data)))


# Adjustment kinds: type -> the new rating. Parameters: schemas/rulebook.schema.json $defs "adjustment.<type>".
ADJUSTMENTS: dict[str, Callable[[int, dict[str, Any]], int]] = {
    "cap": lambda rating, adj: min(rating, adj["cap"]),
    "demote": lambda rating, adj: max(0, rating - adj.get("steps", 1)),
    "zero": lambda _rating, _adj: 0,
}


def _adjust(rb: Rulebook, result: BranchResult) -> None:
    for adj in rb.data.get("adjustments", []):
        def branch_figure(name: str) -> Decimal | None:
            return figure(rb, result, name)

        if not holds(adj["when"], branch_figure):
            continue
        before = result.rating
        result.rating = ADJUSTMENTS[adj["type"]](result.rating, adj)
        if before == result.rating:
            continue  # a cap above the rating changes nothing and would only clutter the trail
        _, texts = evaluate(adj["when"], branch_figure)  # worded only when it changed the rating
        change = f"由{rating_text(rb, before)}调整为{rating_text(rb, result.rating)}"
        result.reasons.append(Reason(f"{adj['name']}：{'，'.join(texts)}{_term_text(adj, result)}，{change}",
                                     f"{rb.id}.adjustments.{adj['id']}", source_text(adj.get("source"))))


# --- the county ----------------------------------------------------------------------------

def score_submission(rb: Rulebook, sub: Submission, period: int) -> tuple[list[BranchResult], list[Problem]]:
    """Branch-level scoring of one accepted submission (independent of every other file)."""
    problems: list[Problem] = []
    branches = [score_branch(rb, period, bi, problems) for bi in branch_inputs(sub)]
    return branches, problems


