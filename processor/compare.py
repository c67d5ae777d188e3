"""What-if: the same submissions rated and paid under two rulebooks (or two versions of one), side by side.

The speech behind R1 argues that the old per-star cap starved good villages of stars
(000_556207f0cb65ca56.txt line 303); a county should see what a change does on its own data before
making it. Each file is validated under each rulebook. When a file's template is not the rulebook's,
it is read by that rulebook's sheets and columns (the part the two templates share); what that
rulebook needs and the file lacks makes the file not comparable, and the workbook says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .county import score_county
from .pay import PAYER_TEXT, PayResult, compute_payments
from .periods import Period, period_problem, rulebook_cycle
from .problems import ERROR
from .records import BranchResult, Submission
from .rulebook import Rulebook, rating_text
from .sheets import sheets_for
from .validate import validate_file
from .xlsx import Formats, new_workbook, write_table

ZERO = Decimal(0)
SIDES = ("A", "B")
BORROWED = ("TPL_002", "TPL_003")  # the file names another template: read it by this rulebook's columns


@dataclass
class Side:
    """One rulebook's reading of the inbox: its branches (by key) and payments."""
    rulebook: Rulebook
    branches: dict[tuple[str, str], BranchResult] = field(default_factory=dict)
    money: dict[tuple[str, str], dict[str, Decimal]] = field(default_factory=dict)  # key -> rule id -> amount
    payers: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class Comparison:
    a: Side
    b: Side
    period: Period
    files: list[str]
    not_comparable: list[list[str]]  # [what, where, why]

    @property
    def keys(self) -> list[tuple[str, str]]:
        return sorted(set(self.a.branches) & set(self.b.branches))

    @property
    def rules(self) -> list[tuple[str, str]]:
        """(rule id, name) of every pay rule of either rulebook, A's order first."""
        found: dict[str, str] = {}
        for side in (self.a, self.b):
            for rule in (side.rulebook.data.get("pay") or {}).get("rules", []):
                found.setdefault(rule["id"], rule["name"])
        return list(found.items())


def compare_paths(paths: list[Path], a: Rulebook, b: Rulebook, period: Period) -> Comparison:
    """Validate every file under both rulebooks, score and pay the accepted ones, pair the branches."""
    notes: list[list[str]] = [["评定期间", f"{side}：{rb.template_id}", why]
                              for side, rb in zip(SIDES, (a, b), strict=True)
                              if (why := period_problem(rulebook_cycle(rb.settings), period))]
    notes += _template_differences(a, b)
    sides = [_side(paths, rb, period, name, notes) for name, rb in zip(SIDES, (a, b), strict=True)]
    comparison = Comparison(sides[0], sides[1], period, [p.name for p in paths], notes)
    for one, other, name in ((sides[0], sides[1], "B"), (sides[1], sides[0], "A")):
        for key in sorted(set(one.branches) - set(other.branches)):
            branch = one.branches[key]
            comparison.not_comparable.append(["支部", f"{branch.township} {branch.branch_code} {branch.name}",
                                              f"按 {name}（{other.rulebook.template_id}）未能评定，未比较"])
    return comparison


def _side(paths: list[Path], rb: Rulebook, period: Period, name: str, notes: list[list[str]]) -> Side:
    accepted = [s for p in paths if (s := _read(p, rb, name, period, notes)) is not None]
    side = Side(rb)
    county = score_county(rb, accepted, period.year)
    side.branches = {b.key: b for b in county.branches}
    _collect_money(side, compute_payments(rb, accepted, county.branches))
    return side


def _read(path: Path, rb: Rulebook, name: str, period: Period, notes: list[list[str]]) -> Submission | None:
    """The file as rulebook rb reads it, or None (with the reason noted) when it cannot be rated by rb."""
    sub = validate_file(path, rb)
    if any(p.code in BORROWED for p in sub.problems):
        stated = sub.meta.get("template_id", "")
        sub = validate_file(path, _borrowing(rb, str(stated), str(sub.meta.get("template_version") or "")))
        if sub.accepted:
            notes.append(["文件", path.name, f"模板为 {stated}，按 {name}（{rb.template_id}）的工作表和列读取共同部分"])
    where = f"{name}（{rb.template_id}）"
    if not sub.accepted:
        errors = [p for p in sub.problems if p.severity == ERROR]
        shown = "；".join(f"{p.code} {p.sheet}{p.cell} {p.message}" for p in errors[:3])
        notes.append(["文件", path.name, f"按 {where} 未通过检查，未计入：{shown}"
                                         + (f"（另有 {len(errors) - 3} 处）" if len(errors) > 3 else "")])
        return None
    stated_period = Period(sub.meta["period"], sub.meta.get("half"))
    if stated_period != period:
        notes.append(["文件", path.name, f"评定期间为 {stated_period}，不是 {period}，未计入"])
        return None
    return sub


def _borrowing(rb: Rulebook, template_id: str, version: str) -> Rulebook:
    """rb under the file's template id and version, so its sheets and columns are looked for in the file."""
    rb_id, _, key = template_id.partition("-")
    return Rulebook({**rb.data, "id": rb_id or rb.id, "key": key or rb.key, "template_version": version},
                    rb.path)


def _collect_money(side: Side, pay: PayResult) -> None:
    for line in pay.lines:
        by_rule = side.money.setdefault((line.township, line.branch_code), {})
        by_rule[line.rule_id] = by_rule.get(line.rule_id, ZERO) + line.amount
        side.payers[line.payer] = side.payers.get(line.payer, ZERO) + line.amount


def _template_differences(a: Rulebook, b: Rulebook) -> list[list[str]]:
    """Sheets and columns one template has and the other has not (by the name a clerk sees)."""
    columns = [{(s.name, f.title) for s in sheets_for(rb) for f in s.fields} for rb in (a, b)]
    sheets = [{s.name for s in sheets_for(rb)} for rb in (a, b)]
    notes = []
    for mine, theirs, own, other in ((0, 1, "A", "B"), (1, 0, "B", "A")):
        for sheet in sorted(sheets[mine] - sheets[theirs]):
            notes.append(["工作表", sheet, f"只有 {own} 的模板有此工作表，{other} 不使用，未比较"])
        for sheet, title in sorted(columns[mine] - columns[theirs]):
            if sheet in sheets[theirs]:
                notes.append(["列", f"{sheet}：{title}", f"只有 {own} 的模板有此列，{other} 不使用，未比较"])
    return notes


# --- the workbook ------------------------------------------------------------------------------

def money(side: Side, key: tuple[str, str], rule: str | None = None) -> Decimal:
    by_rule = side.money.get(key, {})
    return by_rule.get(rule, ZERO) if rule else sum(by_rule.values(), ZERO)


def branch_rows(c: Comparison) -> list[list[Any]]:
    rows = []
    for key in c.keys:
        a, b = c.a.branches[key], c.b.branches[key]
        row: list[Any] = [a.township, a.branch_code, a.name, rating_text(c.a.rulebook, a.rating, a.grade),
                          rating_text(c.b.rulebook, b.rating, b.grade), b.rating - a.rating]
        for rule, _ in c.rules:
            row += [money(c.a, key, rule), money(c.b, key, rule), money(c.b, key, rule) - money(c.a, key, rule)]
        row += [money(c.a, key), money(c.b, key), money(c.b, key) - money(c.a, key)]
        rows.append(row)
    return rows


def township_rows(c: Comparison) -> list[list[Any]]:
    totals: dict[str, list[Any]] = {}
    for key in c.keys:
        row = totals.setdefault(key[0], [key[0], 0, 0, 0, ZERO, ZERO])
        row[1] += 1
        row[2] += c.a.branches[key].rating
        row[3] += c.b.branches[key].rating
        row[4] += money(c.a, key)
        row[5] += money(c.b, key)
    return [[*row, row[5] - row[4]] for _, row in sorted(totals.items())]


def payer_rows(c: Comparison) -> list[list[Any]]:
    payers = sorted(set(c.a.payers) | set(c.b.payers), key=list(PAYER_TEXT).index)
    rows = []
    for payer in payers:
        a, b = c.a.payers.get(payer, ZERO), c.b.payers.get(payer, ZERO)
        rows.append([PAYER_TEXT[payer], a, b, b - a])
    return rows


def change_rows(c: Comparison) -> list[list[Any]]:
    rows = []
    for key in c.keys:
        a, b = c.a.branches[key], c.b.branches[key]
        if a.rating != b.rating:
            rows.append([a.township, a.branch_code, a.name, rating_text(c.a.rulebook, a.rating, a.grade),
                         rating_text(c.b.rulebook, b.rating, b.grade), "增加" if b.rating > a.rating else "减少",
                         b.rating - a.rating, money(c.b, key) - money(c.a, key)])
    return rows


def write_comparison(path: Path, c: Comparison) -> Path:
    workbook = new_workbook(path, f"{c.period.shown} 评定办法对比")
    formats = Formats(workbook)
    _about(workbook, formats, c)
    money_cols = {j: formats.yuan for j in range(6, 6 + 3 * len(c.rules) + 3)}
    headers = ["乡镇", "支部编码", "支部名称", "A 星级", "B 星级", "星级差（B−A）"]
    for _, name in c.rules:
        headers += [f"{name}（A）", f"{name}（B）", f"{name}差额"]
    headers += ["金额合计（A）", "金额合计（B）", "差额（B−A）"]
    write_table(workbook.add_worksheet("支部对比"), formats, headers, branch_rows(c), money_cols)
    write_table(workbook.add_worksheet("乡镇对比"), formats,
                ["乡镇", "支部数", "星数合计（A）", "星数合计（B）", "金额合计（A）", "金额合计（B）", "差额（B−A）"],
                township_rows(c), {4: formats.yuan, 5: formats.yuan, 6: formats.yuan})
    write_table(workbook.add_worksheet("付款方对比"), formats, ["付款方", "金额（A）", "金额（B）", "差额（B−A）"],
                payer_rows(c), {1: formats.yuan, 2: formats.yuan, 3: formats.yuan})
    write_table(workbook.add_worksheet("升降星"), formats,
                ["乡镇", "支部编码", "支部名称", "A 星级", "B 星级", "变化", "星级差（B−A）", "金额差额（B−A）"],
                change_rows(c), {7: formats.yuan})
    write_table(workbook.add_worksheet("未能比较"), formats, ["类别", "对象", "说明"], c.not_comparable)
    workbook.close()
    return path


def _about(workbook: Any, formats: Formats, c: Comparison) -> None:
    ws = workbook.add_worksheet("说明")
    ws.write_string(0, 0, f"{c.period.shown} 两种评定办法对比（同一批报送）", formats.title)
    changes = change_rows(c)
    lines = [f"A：{c.a.rulebook.name}（{c.a.rulebook.template_id}，{c.a.rulebook.path.name}）",
             f"B：{c.b.rulebook.name}（{c.b.rulebook.template_id}，{c.b.rulebook.path.name}）",
             f"报送文件 {len(c.files)} 个；两种办法下都评定的支部 {len(c.keys)} 个",
             f"升星 {sum(1 for r in changes if r[6] > 0)} 个，降星 {sum(1 for r in changes if r[6] < 0)} 个",
             f"未能比较的事项 {len(c.not_comparable)} 条（见“未能比较”）",
             "差额一律为 B 减 A；金额为各付款行（已按分四舍五入）之和。"]
    for i, text in enumerate(lines, 2):
        ws.write_string(i, 0, text, formats.text)
    ws.set_column(0, 0, 90)
