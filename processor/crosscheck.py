"""Cross-sheet checks of a submission: every reference resolves, every count adds up."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from .problems import Problem, problem
from .records import Record, Submission
from .sheets import REVIEW, SELF, score_field_id, score_title, uses_cadres


def cross_sheet_problems(sub: Submission) -> list[Problem]:
    # A check that needs a sheet which could not be read would only repeat TPL_004/TPL_005 on every row.
    unread = sub.unread_sheets
    found: list[Problem] = []
    branches = sub.records.get("branches", [])
    found += _unique_codes(sub, branches)
    found += _township_consistent(sub, branches)
    codes = {r.values["branch_code"]: r for r in branches if "branch_code" in r.values}
    if "branches" not in unread:
        for key in ("scores", "events", "vetoes", "votes", "cadres"):
            found += _known_branches(sub, sub.records.get(key, []), codes)
    if "scores" not in unread:
        found += _scores_complete(sub, codes)
    found += _events_complete(sub)
    found += _votes_consistent(sub)
    found += _committee_sizes(sub)
    if "branches" not in unread and "votes" not in unread:
        found += _votes_present(sub, codes)
    if uses_cadres(sub.rules) and "cadres" not in unread and not _column_missing(sub, "cadres", "role"):
        found += _cadre_periods(sub, codes)
    return found


def _column_missing(sub: Submission, key: str, field_id: str) -> bool:
    records = sub.records.get(key, [])
    return bool(records) and field_id not in records[0].columns


def _where(sub: Submission, record: Record, field_id: str, title: str = "") -> dict:
    return {"file": sub.file, "sheet": record.sheet, "cell": record.cell(field_id), "field": title}


def _unique_codes(sub: Submission, branches: list[Record]) -> list[Problem]:
    seen: dict[str, str] = {}
    found = []
    for r in branches:
        code = r.values.get("branch_code")
        if code is None:
            continue
        if code in seen:
            found.append(problem("REF_002", value=code, detail=seen[code], **_where(sub, r, "branch_code", "支部编码")))
        else:
            seen[code] = r.cell("branch_code")
    return found


def _township_consistent(sub: Submission, branches: list[Record]) -> list[Problem]:
    expected = sub.township
    if not expected:
        return []
    return [problem("REF_003", value=r.values["township"], expected=expected, **_where(sub, r, "township", "乡镇"))
            for r in branches if r.values.get("township") not in (None, expected)]


def _known_branches(sub: Submission, records: list[Record], codes: dict) -> list[Problem]:
    return [problem("REF_001", value=r.values["branch_code"], **_where(sub, r, "branch_code", "支部编码"))
            for r in records if "branch_code" in r.values and r.values["branch_code"] not in codes]


def _scores_complete(sub: Submission, codes: dict) -> list[Problem]:
    rulebook = sub.rules
    found: list[Problem] = []
    by_code: dict[str, Record] = {}
    for r in sub.records.get("scores", []):
        code = r.values.get("branch_code")
        if code is None:
            continue
        if code in by_code:
            found.append(problem("REF_009", value=code, field="评分", detail=by_code[code].cell("branch_code"),
                                 file=sub.file, sheet=r.sheet, cell=r.cell("branch_code")))
            continue
        by_code[code] = r
    # (self field, review field) of every item, per unit, worked out once rather than per branch
    unit_items = [(unit, [(item, score_field_id(unit["id"], item["id"], SELF),
                           score_field_id(unit["id"], item["id"], REVIEW)) for item in unit["items"]])
                  for unit in rulebook.units]
    for code, branch in codes.items():
        record = by_code.get(code)
        if record is None:
            found.append(problem("REF_012", value=code, **_where(sub, branch, "branch_code", "支部编码")))
            continue
        branch_type = branch.values.get("branch_type")
        values = record.values
        for unit, items in unit_items:
            if unit.get("applies_to") and branch_type not in unit["applies_to"]:
                continue
            for item, self_id, review_id in items:
                if self_id not in values and review_id not in values and not _has_problem_at(sub, record, self_id):
                    found.append(problem("REF_014", **_where(sub, record, self_id, score_title(unit, item, SELF))))
    return found


def _has_problem_at(sub: Submission, record: Record, field_id: str) -> bool:
    cell = record.cells.get(field_id)
    return any(p.sheet == record.sheet and p.cell == cell for p in sub.problems)


def _events_complete(sub: Submission) -> list[Problem]:
    kinds = {e["name"]: e for e in sub.rules.events}
    found = []
    for r in sub.records.get("events", []):
        event = kinds.get(r.values.get("event_kind"))
        if event is None:
            continue
        points = event["points"]
        if points == "entered" and "points" not in r.values:
            found.append(problem("REF_013", value=event["name"], detail="该事项的分值由乡镇按评分细则填写。",
                                 **_where(sub, r, "points", "分值")))
        if isinstance(points, dict):
            level = r.values.get("level")
            if level is None:
                found.append(problem("REF_013", value=event["name"], detail=f"可选：{'、'.join(points)}。",
                                     **_where(sub, r, "level", "级别")))
            elif level not in points:
                found.append(problem("VAL_006", value=level, limit="、".join(points), **_where(sub, r, "level", "级别")))
    return found


def _votes_consistent(sub: Submission) -> list[Problem]:
    found = []
    seen: dict[tuple, str] = {}
    min_turnout = Decimal(str((sub.rules.votes or {}).get("min_turnout", 0)))
    for r in sub.records.get("votes", []):
        v = r.values
        key = (v.get("branch_code"), v.get("target"))
        if None not in key:
            if key in seen:
                found.append(problem("REF_009", value=key[0], field=f"测评对象“{key[1]}”", detail=seen[key],
                                     file=sub.file, sheet=r.sheet, cell=r.cell("target")))
            seen.setdefault(key, r.cell("target"))
        members, participants, yes = v.get("members"), v.get("participants"), v.get("votes_yes")
        if isinstance(yes, int) and isinstance(participants, int) and yes > participants:
            found.append(problem("REF_006", value=yes, limit=participants, **_where(sub, r, "votes_yes", "满意（赞成）票数")))
        if isinstance(participants, int) and isinstance(members, int):
            if participants > members:
                found.append(problem("REF_007", value=participants, limit=members,
                                     **_where(sub, r, "participants", "实际参加人数")))
            elif min_turnout and members and Decimal(participants) * 100 < min_turnout * members:
                share = (Decimal(participants) * 100 / members).quantize(Decimal("0.1"))
                found.append(problem("REF_010", value=share, limit=min_turnout,
                                     detail=f"{participants}/{members}", **_where(sub, r, "participants", "实际参加人数")))
    return found


def _votes_present(sub: Submission, codes: dict[str, Record]) -> list[Problem]:
    """Where the rulebook requires a vote (R4: 满意率 decides points off and whether a rating is given), a branch
    without one cannot be rated as the text says: an error at the 民主测评 sheet, never a silent pass."""
    votes = sub.rules.votes or {}
    if not votes.get("required"):
        return []
    have = {(r.values.get("branch_code"), r.values.get("target")) for r in sub.records.get("votes", [])}
    found = []
    for code in codes:
        for target in votes["targets"]:
            name = sub.rules.vote_target_name(target)
            if (code, name) not in have:
                found.append(problem("REF_020", file=sub.file, sheet="民主测评", value=code, field=f"测评对象“{name}”"))
    return found


def _committee_sizes(sub: Submission) -> list[Problem]:
    """The evaluation committee's size per vote (R3: 一般为5～7人; “一般” makes it a warning unless the rulebook
    says error)."""
    rule = (sub.rules.votes or {}).get("committee_size")
    if not rule:
        return []
    found = []
    for r in sub.records.get("votes", []):
        size = r.values.get("committee_size")
        if isinstance(size, int) and not rule["min"] <= size <= rule["max"]:
            code = "REF_021" if rule["severity"] == "error" else "REF_022"
            found.append(problem(code, value=size, limit=f"{rule['min']}～{rule['max']}",
                                 **_where(sub, r, "committee_size", "评议委员会人数")))
    return found


def _cadre_periods(sub: Submission, codes: dict) -> list[Problem]:
    """Each cadre row is one person in one role for some months; secretaries may follow each other,
    never overlap (a branch has one secretary at a time), and one person never holds two rows at once."""
    by_branch: dict[str, list[Record]] = defaultdict(list)
    for r in sub.records.get("cadres", []):
        if "branch_code" in r.values:
            by_branch[r.values["branch_code"]].append(r)
    found = [p for r in sub.records.get("cadres", []) for p in _row_period(sub, r)]
    for code, branch in codes.items():
        rows = sorted(by_branch.get(code, []), key=lambda r: r.row)
        secretaries = [r for r in rows if r.values.get("role") == "书记"]
        if not secretaries:
            found.append(problem("REF_004", value=code, **_where(sub, branch, "branch_code", "支部编码")))
        found += _overlaps(sub, secretaries, lambda r: str(r.values["branch_code"]), "REF_005")
        found += _overlaps(sub, [r for r in rows if "name" in r.values], lambda r: r.values["name"], "REF_017",
                           same_person=True)
    return found


def cadre_span(record: Record) -> tuple[int, int]:
    """The months a cadre row covers: 起始月 (else January) to 截止月 (else December)."""
    v = record.values
    return _month(v.get("start_month"), 1), _month(v.get("end_month"), 12)


def _month(value: object, default: int) -> int:
    """A month the schema accepted; anything else was reported at its cell already, so the default stands in."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12 else default


def _row_period(sub: Submission, r: Record) -> list[Problem]:
    v = r.values
    found = []
    if v.get("role") == "书记" and "kept_monthly_pay" in v:
        found.append(problem("REF_018", value=v["kept_monthly_pay"], **_where(sub, r, "kept_monthly_pay", "让贤保留月报酬（元）")))
    if "start_month" not in v and "end_month" not in v:
        return found
    first, last = cadre_span(r)
    if first > last:
        found.append(problem("REF_015", value=first, limit=last, **_where(sub, r, "end_month", "截止月")))
    elif isinstance(v.get("months"), int) and v["months"] > last - first + 1:
        found.append(problem("REF_016", value=v["months"], limit=last - first + 1, **_where(sub, r, "months", "在岗月数")))
    return found


def _overlaps(sub: Submission, rows: list[Record], key: Callable[[Record], str], code: str,
              same_person: bool = False) -> list[Problem]:
    """Rows of the same key whose month spans share a month; reported at the later row, naming the earlier."""
    found: list[Problem] = []
    keys = [key(r) for r in rows]
    if len(set(keys)) == len(keys):
        return found  # no two rows share a key (the usual branch): no pair to compare
    spans = [cadre_span(r) for r in rows]
    dated = [_dated(r) for r in rows]
    for i, later in enumerate(rows):
        first, last = spans[i]
        for j, earlier in enumerate(rows[:i]):
            # Two undated rows with one name may be two people of the same name; dated rows are one person's sequence.
            if keys[j] != keys[i] or (same_person and not dated[j] and not dated[i]):
                continue
            a, b = spans[j]
            if first <= b and a <= last:
                field = "起始月" if dated[i] else "职务"
                cell = later.cell("start_month" if dated[i] else "role")
                found.append(problem(code, value=keys[i], detail=f"{earlier.sheet}!{earlier.cell('role')}",
                                     file=sub.file, sheet=later.sheet, cell=cell, field=field))
                break
    return found


def _dated(record: Record) -> bool:
    return "start_month" in record.values or "end_month" in record.values
