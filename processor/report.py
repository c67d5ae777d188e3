"""Plain-text and JSON views of validation results for the terminal."""
from __future__ import annotations

import json
from typing import Any

from .problems import count_by_severity
from .receipt import SEVERITY_TEXT, verdict
from .records import Submission
from .rulebook import rating_text
from .xlsx import display_width


def validation_json(subs: list[Submission]) -> dict[str, Any]:
    return {"files": [{"file": s.file, "template": s.template, "township": s.township, "accepted": s.accepted,
                       "problems": [_problem_dict(p) for p in s.problems]} for s in subs]}


def _problem_dict(p) -> dict[str, Any]:
    return {"severity": p.severity, "code": p.code, "sheet": p.sheet, "cell": p.cell, "field": p.field,
            "value": p.value, "message": p.message}


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)


def validation_table(subs: list[Submission]) -> str:
    lines = []
    for s in subs:
        counts = count_by_severity(s.problems)
        lines.append(f"== {s.file}  [{s.township or '?'} · {s.template or '?'}]  {verdict(s)}"
                     f"  错误 {counts['error']}  提示 {counts['warning']}")
        rows = [[SEVERITY_TEXT.get(p.severity, p.severity), p.code, p.sheet, p.cell, p.message] for p in s.problems]
        lines += _columns(["类别", "代码", "工作表", "单元格", "说明"], rows) if rows else ["   (无问题)"]
        lines.append("")
    return "\n".join(lines)


def _columns(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(display_width(str(r[j])) for r in [headers] + rows) for j in range(len(headers) - 1)]
    out = []
    for r in [headers] + rows:
        cells = [str(v) + " " * (widths[j] - display_width(str(v))) for j, v in enumerate(r[:-1])]
        out.append("   " + "  ".join(cells + [str(r[-1])]))
    return out


def score_json(report) -> dict[str, Any]:
    branches = [b.to_dict() for g in report.groups for b in g.county.branches]
    return {"branches": branches,
            "rejected": [{"file": s.file, "errors": count_by_severity(s.problems)["error"]} for s in report.rejected],
            "problems": [{"file": p.file, **_problem_dict(p)} for g in report.groups for p in g.county.problems],
            "county_notes": [r.sentence() for g in report.groups for r in g.county.notes]}


def score_text(report) -> str:

    lines = []
    for g in report.groups:
        lines.append(f"# {g.rulebook.name}（{g.rulebook.template_id}）评定年度 {g.period}：{len(g.county.branches)} 个支部")
        for b in g.county.branches:
            qualified = "" if b.qualified is None else ("  合格" if b.qualified else "  不合格")
            lines.append(f"\n{b.township} {b.branch_code} {b.name}：{rating_text(g.rulebook, b.rating, b.grade)}{qualified}"
                         f"  （得分 {b.score}，{b.score_source}）")
            lines += [f"   - {r.sentence()}" for r in b.reasons]
        if g.county.notes:
            lines.append("\n全县：")
            lines += [f"   - {r.sentence()}" for r in g.county.notes]
        for p in g.county.problems:
            lines.append(f"   ! {p.code} {p.file} {p.sheet}{p.cell} {p.message}")
    for s in report.rejected:
        lines.append(f"\n未评分（报送有错误，见 starbatch validate）：{s.file}")
    return "\n".join(lines)
