"""十星级党员: individual members rated on ten stars, like their organisations (R3, 002_2fd0b28a4b55ec79.txt 113–181).

Six common stars fixed by the organisation's domain (line 155) and four individual stars the unit chooses
(line 157). A voted star is earned only when its democratic evaluation is above 90% (“高于90%”, line 167);
法纪星 and the like are set from daily management without a vote. Outcomes (line 179): ten stars → the
commendation list, eight or more → the priority list, seven or fewer → rectification; the goal is 90% of
members at ten stars (line 125), reported per organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .conditions import show
from .problems import Problem, problem
from .records import BranchResult, Record, Submission
from .rulebook import Rulebook

SHEET = "党员评星"


@dataclass
class MemberResult:
    name: str
    earned: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stars": len(self.earned),
            "earned": self.earned,
            "lists": self.lists,
            "reasons": self.reasons,
        }


def rate_members(rb: Rulebook, sub: Submission, branches: list[BranchResult]) -> list[Problem]:
    """Each branch's members rated (branch.extras["members"], ["member_goal"]); problems for what does not fit."""
    spec = rb.data.get("members")
    if not spec:
        return []
    rows = _by_branch(sub.records.get("members", []))
    problems = [
        _problem(sub, r, f"党员评星表中的支部编码 {code} 不在支部信息表中，未评定。")
        for code, records in rows.items()
        if code not in {b.branch_code for b in branches}
        for r in records[:1]
    ]
    info = {str(r.values.get("branch_code")): r for r in sub.records.get("branches", [])}
    for branch in branches:
        members = [
            rate_member(spec, branch.branch_type, name, own, sub, problems)
            for name, own in _by_member(rows.get(branch.branch_code, [])).items()
        ]
        branch.extras["members"] = [m.to_dict() for m in members]
        branch.extras["member_goal"] = member_goal(spec, members)
        problems += _committee_problems(spec, sub, branch, info.get(branch.branch_code))
    return problems


def _by_branch(records: list[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for r in sorted(records, key=lambda r: r.row):
        grouped.setdefault(str(r.values.get("branch_code")), []).append(r)
    return grouped


def _by_member(records: list[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for r in records:
        grouped.setdefault(str(r.values.get("member_name")), []).append(r)
    return grouped


def rate_member(
    spec: dict[str, Any], branch_type: str, name: str, rows: list[Record], sub: Submission, problems: list[Problem]
) -> MemberResult:
    common = list(spec["common_stars"].get(branch_type, []))
    by_star = {str(r.values.get("star")): r for r in rows}
    individual = [s for s in by_star if s not in common]
    allowed = spec["individual_stars"]
    if len(individual) > allowed:
        problems.append(
            _problem(
                sub,
                by_star[individual[allowed]],
                f"党员 {name} 填了 {len(individual)} 颗个性星，"
                f"只计前 {allowed} 颗（{'、'.join(individual[:allowed])}）。",
            )
        )
    result = MemberResult(name)
    for star in common + individual[:allowed]:
        row = by_star.get(star)
        earned, why = (False, "未填写") if row is None else star_earned(spec, star, row)
        result.reasons.append(f"{star}：{why}")
        if earned:
            result.earned.append(star)
    count = len(result.earned)
    result.lists = [e["id"] for e in spec["lists"] if e.get("min_stars", 0) <= count <= e.get("max_stars", count)]
    return result


def star_earned(spec: dict[str, Any], star: str, row: Record) -> tuple[bool, str]:
    """(earned, why): above the vote line, or set from daily management where the star allows it."""
    v = row.values
    if v.get("method") == "日常管理":
        if star not in spec["daily_stars"]:
            return False, "此星须经民主测评，不能按日常管理直接认定"
        ok = v.get("daily_ok") == "是"
        return ok, "日常管理认定" if ok else "日常管理未认定"
    participants, yes = v.get("participants"), v.get("votes_yes")
    if not participants or yes is None or yes > participants:
        return False, "民主测评人数或票数缺失、不合理"
    share = Decimal(yes) * 100 / Decimal(participants)
    line = Decimal(str(spec["vote"]["value"]))
    earned = share > line if spec["vote"]["op"] == ">" else share >= line
    word = "高于" if earned else "未高于"
    return (
        earned,
        f"民主测评赞成率 {show(share.quantize(Decimal('0.01')))}%（{yes}/{participants}）{word} {show(line)}%",
    )


def member_goal(spec: dict[str, Any], members: list[MemberResult]) -> dict[str, Any]:
    goal = spec["goal"]
    hits = sum(1 for m in members if len(m.earned) >= goal["stars"])
    share = Decimal(hits) * 100 / len(members) if members else None
    return {
        "members": len(members),
        "at_goal": hits,
        "share": None if share is None else str(share.quantize(Decimal("0.01"))),
        "goal": str(goal["share"]),
        "met": None if share is None else share >= Decimal(str(goal["share"])),
    }


def _committee_problems(
    spec: dict[str, Any], sub: Submission, branch: BranchResult, record: Record | None
) -> list[Problem]:
    size = record.values.get("committee_size") if record else None
    low, high = spec["committee"]["min"], spec["committee"]["max"]
    if not branch.extras.get("members") or (size is not None and low <= size <= high):
        return []
    shown = "未填写" if size is None else f"{size} 人"
    return [
        problem(
            "SCO_005",
            file=sub.file,
            branch=branch.branch_code,
            sheet="支部信息",
            field="评审委员会人数",
            cell=record.cell("committee_size") if record else "",
            detail=f"支部 {branch.branch_code} 的“双十星”争创评审委员会人数{shown}，"
            f"一般应为 {low}～{high} 人，请核实。",
        )
    ]


def _problem(sub: Submission, row: Record, detail: str) -> Problem:
    return problem("SCO_005", file=sub.file, sheet=SHEET, cell=row.cell("branch_code"), detail=detail)
