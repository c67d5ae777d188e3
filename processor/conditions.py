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
    if percent:
        return f"{value.quantize(Decimal('0.1'))}%"
    return format(value.normalize(), "f")


@lru_cache(maxsize=256)
def _is_percent(figure: str) -> bool:
    return figure.split(".")[0] in PERCENT_FIGURES


@lru_cache(maxsize=1024, typed=True)
def _shown_constant(value: Any, percent: bool) -> str:
    # A rulebook's threshold (75, "0.5") is shown the same way on every branch: worked out once. typed: True,
    # 1 and 1.0 are different YAML values (they show alike, but nothing here needs to rely on it).
    return _show(number(value), percent)


def label_of(cond: dict[str, Any]) -> str:
    return cond.get("label") or FIGURE_LABELS.get(cond["figure"], cond["figure"])


def evaluate(cond: dict[str, Any], figures: Callable[[str], Decimal | None]) -> tuple[bool, list[str]]:
    """(holds, the sentences that decided it). A missing figure makes its test fail, said as such."""
    if "all" in cond:
        results = [evaluate(c, figures) for c in cond["all"]]
        held = all(ok for ok, _ in results)
        # When it fails, the failing tests are the reason; when it holds, every test is.
        texts = [t for ok, ts in results if held or not ok for t in ts]
        return held, texts
    if "any" in cond:
        results = [evaluate(c, figures) for c in cond["any"]]
        held = any(ok for ok, _ in results)
        texts = [t for ok, ts in results if ok or not held for t in ts]
        return held, texts
    return _evaluate_one(cond, figures)


def _evaluate_one(cond: dict[str, Any], figures: Callable[[str], Decimal | None]) -> tuple[bool, list[str]]:
    figure, op = cond["figure"], cond["op"]
    threshold = number(cond["value"])
    value = figures(figure)
    label = label_of(cond)
    percent = _is_percent(figure)
    shown_threshold = _shown_constant(cond["value"], percent)
    if value is None:
        return False, [f"{label}未填写（需 {HOLDS[op]} {shown_threshold}）"]
    held = OPS[op](value, threshold)
    relation = HOLDS[op] if held else FAILS[op]
    return held, [f"{label} {_show(value, percent)} {relation} {shown_threshold}"]
