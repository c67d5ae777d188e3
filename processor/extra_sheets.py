"""The consolidated workbook's sheets for what is rated beside the stars (extras.py): member ratings,
the meeting cycle, secretaries by type. Each is written only when the rulebook collects it."""

from __future__ import annotations

from typing import Any

from .records import BranchResult
from .rulebook import Rulebook

LIST_TEXT = {"commendation": "表彰", "priority": "优先", "rectification": "整顿处置"}


Table = tuple[str, list[str], list[list[Any]]]  # sheet name, headers, rows


def extra_tables(rb: Rulebook, branches: list[BranchResult]) -> list[Table]:
    """The consolidated workbook's sheets for the parts of a rule system that only some rulebooks have."""
    tables: list[Table] = []
    if "members" in rb.data:
        tables.append(("党员评星", ["乡镇", "支部编码", "支部名称", "党员", "星数", "获得的星", "名单", "逐星说明"],
                       member_rows(branches)))
        tables.append(("党员十星目标", ["乡镇", "支部编码", "支部名称", "评星党员数", "十星党员数", "占比(%)", "目标(%)",
                                    "是否达到"], member_goal_rows(branches)))
    if "meetings" in rb.data:
        tables.append(("五个一落实", ["乡镇", "支部编码", "支部名称", "类别", "要求", "次数", "缺少"],
                       meeting_rows(branches)))
    if "secretary_types" in rb.data:
        tables.append(("书记分类", ["乡镇", "书记类型", "支部编码", "支部名称", "星级", "一村一策整顿"],
                       secretary_rows(rb, branches)))
    return tables


def member_rows(branches: list[BranchResult]) -> list[list[Any]]:
    return [
        [
            b.township,
            b.branch_code,
            b.name,
            m["name"],
            m["stars"],
            "、".join(m["earned"]),
            "、".join(LIST_TEXT[x] for x in m["lists"]),
            "；".join(m["reasons"]),
        ]
        for b in branches
        for m in b.extras.get("members", [])
    ]


def member_goal_rows(branches: list[BranchResult]) -> list[list[Any]]:
    rows = []
    for b in branches:
        g = b.extras.get("member_goal")
        if g and g["members"]:
            rows.append(
                [
                    b.township,
                    b.branch_code,
                    b.name,
                    g["members"],
                    g["at_goal"],
                    g["share"],
                    g["goal"],
                    "达到" if g["met"] else "未达到",
                ]
            )
    return rows


EVERY = {"month": "每月", "quarter": "每季度", "year": "每年"}


def meeting_rows(branches: list[BranchResult]) -> list[list[Any]]:
    return [
        [b.township, b.branch_code, b.name, f["kind"], EVERY[f["every"]], f["held"], "、".join(f["missing"])]
        for b in branches
        for f in b.extras.get("meetings", [])
    ]


def secretary_rows(rb: Rulebook, branches: list[BranchResult]) -> list[list[Any]]:
    order = rb.data["secretary_types"]["types"]
    typed = [b for b in branches if b.extras.get("secretary_type")]
    typed.sort(key=lambda b: (b.township, order.index(b.extras["secretary_type"]), b.branch_code))
    return [
        [
            b.township,
            b.extras["secretary_type"],
            b.branch_code,
            b.name,
            b.rating,
            "是（一村一策）" if b.extras.get("secretary_rectification") else "",
        ]
        for b in typed
    ]
