"""Secretary typing (000_556207f0cb65ca56.txt lines 325–327): the township classifies each village secretary as
引领型 / 潜力型 / 守摊型 / 问题型 (书记类型 on 支部信息); 问题型 joins the rectification view (一村一策)."""
from __future__ import annotations

from .records import BranchResult, Submission
from .rulebook import Rulebook


def type_secretaries(rb: Rulebook, sub: Submission, branches: list[BranchResult]) -> None:
    spec = rb.data.get("secretary_types")
    if not spec:
        return
    typed = {str(r.values.get("branch_code")): r.values.get("secretary_type") for r in sub.records.get("branches", [])}
    for branch in branches:
        kind = typed.get(branch.branch_code)
        branch.extras["secretary_type"] = kind
        branch.extras["secretary_rectification"] = kind in spec["rectification"]
