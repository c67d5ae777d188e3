"""The one-screen summary a run prints for the operator."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .accounting import Accounted, files_in_force
from .problems import ERROR, count_by_severity
from .publish import RECEIPTS
from .results import RESULTS_JSON
from .rulebook import Rulebook


def one_screen_summary(out: Path, period: int, rb: Rulebook, counts: dict[str, int], missing: list[str],
                       accounted: list[Accounted], total: Decimal, seed: int, ignored: list[str]) -> str:
    """What the operator reads in the cron mail: the accounting equation, money, and what needs a look."""
    lines = [
        f"starbatch run — {rb.name}（{rb.template_id}）{period}年度",
        f"inputs {counts['inputs']} = accepted {counts['accepted']} + rejected {counts['rejected']} + "
        f"superseded {counts['superseded']} + duplicate {counts['duplicate']} + held {counts['held']}",
        f"branches scored {counts['branches']}; payments total {total:.2f} yuan; spot-check seed {seed}",
    ]
    if missing:
        lines.append(f"missing townships ({len(missing)}): {'、'.join(missing)}")
    in_force = files_in_force(accounted)
    for a in accounted:
        if a.state == "rejected":
            kept = in_force.get(a.sub.township)
            still = f"; {kept} stays in force for {a.sub.township}" if kept else ""
            lines.append(f"  rejected: {a.input.name} ({count_by_severity(a.sub.problems)[ERROR]} errors) → "
                         f"{RECEIPTS}/{a.receipt}{still}")
    for a in accounted:
        if a.state == "held":
            lines.append(f"  held: {a.input.name} would drop {a.lost} of {a.note}, which stays in force; "
                         f"to accept the shrink run again with --accept-shrink '{a.input.name}'")
    if ignored:
        lines.append(f"ignored (not submissions): {len(ignored)} file(s), e.g. {ignored[0]}")
    lines.append(f"outputs in {out}: 评定结果汇总 / 财务发放表 workbooks, {RESULTS_JSON}, {RECEIPTS}/, logs/")
    return "\n".join(lines)
