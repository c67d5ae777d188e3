"""Conditions of a rulebook ({figure, op, value} / {all} / {any}): evaluated and explained in Chinese.

以上/以下 include the number (>=, <=) and 高于/低于/超过/不满 exclude it (>, <): the rulebook says
which by its `op`; this module never guesses.
"""
from __future__ import annotations

import operator
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}
HOLDS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}
FAILS = {">=": "<", ">": "未高于", "<=": ">", "<": "未低于", "==": "≠", "!=": "="}
PERCENT_FIGURES = {"share", "vote_share", "turnout"}

FIGURE_LABELS = {
    "base": "基础分", "bonus": "加分", "deduction": "扣分", "total": "总分", "share": "得分率",
    "vote_share": "民主测评满意率", "turnout": "参会率", "score": "综合得分", "rating": "星级",
    "reelection_overdue_days": "超期未换届天数",
}


def number(value: Any) -> Decimal:
    if type(value) is Decimal:
        return value
    return _as_decimal(value)


@lru_cache(maxsize=4096)
def _as_decimal(value: Any) -> Decimal:
    # Rulebook constants (75, 85, "0.5") are converted once, not on every branch.
    return Decimal(str(value))


def show(value: Decimal | None, figure: str = "") -> str:
    """72 → '72', 89.50 → '89.5', a share → '90.0%'."""
    return _show(value, _is_percent(figure))


def _show(value: Decimal | None, percent: bool) -> str:
    if value is None:
        return "未填写"
    # Scores, thresholds and amounts repeat on every branch: each is worded once, found by its text (80 and 80.0 are
    # two entries that show alike). Not by the Decimal: the hash of a number just computed costs ~6 times its text.
    shown = _SHOWN[percent]
    written = str(value)
    text = shown.get(written)
    if text is None:
        if len(shown) >= 10_000:
            shown.clear()
        text = shown[written] = _shown(value, percent)
    return text


_SHOWN: tuple[dict[str, str], dict[str, str]] = ({}, {})  # plain, percent: by the number's own text


def _shown(value: Decimal, percent: bool) -> str:
    if percent:
        return f"{value.quantize(Decimal('0.1'))}%"
    return format(value.normalize(), "f")


@lru_cache(maxsize=256)
def _is_percent(figure: str) -> bool:
    return figure.split(".")[0] in PERCENT_FIGURES


def label_of(cond: dict[str, Any]) -> str:
    return cond.get("label") or FIGURE_LABELS.get(cond["figure"], cond["figure"])


Figures = Callable[[str], "Decimal | None"]
Test = Callable[[Figures], "tuple[bool, list[str]]"]
Check = Callable[[Figures], bool]


def evaluate(cond: dict[str, Any], figures: Figures) -> tuple[bool, list[str]]:
    """(holds, the sentences that decided it). A missing figure makes its test fail, said as such."""
    return _compiled(cond)[0](figures)


def holds(cond: dict[str, Any], figures: Figures) -> bool:
    """evaluate(cond, figures)[0], without wording the sentences nobody reads (list membership, targets)."""
    return _compiled(cond)[1](figures)


_COMPILED: dict[int, tuple[dict[str, Any], tuple[Test, Check]]] = {}


def _compiled(cond: dict[str, Any]) -> tuple[Test, Check]:
    """The condition as functions, made once per condition: every branch is tested against the same few
    conditions of its rulebook, whose dicts never change once loaded. Held with the dict, so its id stays its own."""
    kept = _COMPILED.get(id(cond))
    if kept is None or kept[0] is not cond:
        if len(_COMPILED) >= 10_000:  # conditions made on the fly (a target's goal) must not pile up
            _COMPILED.clear()
        kept = _COMPILED[id(cond)] = (cond, (_compile(cond), _compile_check(cond)))
    return kept[1]


def _compile_check(cond: dict[str, Any]) -> Check:
    # Every part is asked, as evaluate asks them (no short cut past a figure that would raise).
    if "all" in cond:
        every = [_compile_check(c) for c in cond["all"]]
        return lambda figures: all([check(figures) for check in every])
    if "any" in cond:
        some = [_compile_check(c) for c in cond["any"]]
        return lambda figures: any([check(figures) for check in some])
    figure, compare, threshold = cond["figure"], OPS[cond["op"]], number(cond["value"])

    def check(figures: Figures) -> bool:
        value = figures(figure)
        return value is not None and compare(value, threshold)

    return check


def _compile(cond: dict[str, Any]) -> Test:
    if "all" in cond:
        every = [_compile(c) for c in cond["all"]]

        def all_of(figures: Figures) -> tuple[bool, list[str]]:
            results = [test(figures) for test in every]
            held = all(ok for ok, _ in results)
            # When it fails, the failing tests are the reason; when it holds, every test is.
            return held, [t for ok, ts in results if held or not ok for t in ts]

        return all_of
    if "any" in cond:
        some = [_compile(c) for c in cond["any"]]

        def any_of(figures: Figures) -> tuple[bool, list[str]]:
            results = [test(figures) for test in some]
            held = any(ok for ok, _ in results)
            return held, [t for ok, ts in results if ok or not held for t in ts]

        return any_of
    return _compile_one(cond)


def _compile_one(cond: dict[str, Any]) -> Test:
    """One {figure, op, value}: everything but the figure's value is worded once ("基础分 80 ≥ 75")."""
    figure, op = cond["figure"], cond["op"]
    threshold = number(cond["value"])
    compare = OPS[op]
    label = label_of(cond)
    percent = _is_percent(figure)
    shown_threshold = _show(threshold, percent)
    missing = f"{label}未填写（需 {HOLDS[op]} {shown_threshold}）"
    if_held, if_failed = f" {HOLDS[op]} {shown_threshold}", f" {FAILS[op]} {shown_threshold}"

    def test(figures: Figures) -> tuple[bool, list[str]]:
        value = figures(figure)
        if value is None:
            return False, [missing]
        held = compare(value, threshold)
        return held, [label + " " + _show(value, percent) + (if_held if held else if_failed)]

    return test
