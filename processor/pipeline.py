"""Library entry points that chain the stages; the CLI calls exactly one of these per command."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .rulebook import Rulebook
from .score import CountyResult, score_county
from .validate import Submission, validate_files


@dataclass
class ScoredGroup:
    rulebook: Rulebook
    period: int
    county: CountyResult


@dataclass
class ScoreReport:
    submissions: list[Submission]
    groups: list[ScoredGroup]

    @property
    def rejected(self) -> list[Submission]:
        return [s for s in self.submissions if not s.accepted]


def score_files(paths: list[Path], rulebook: Rulebook | None = None) -> ScoreReport:
    """Validate every file, then score the accepted ones, one group per (rulebook, period)."""
    subs = validate_files(paths, rulebook)
    return ScoreReport(subs, score_submissions(subs))


def score_submissions(subs: list[Submission]) -> list[ScoredGroup]:
    groups: dict[tuple[str, int], list[Submission]] = {}
    for s in subs:
        if s.accepted:
            groups.setdefault((s.rulebook.template_id, s.meta["period"]), []).append(s)
    result = []
    for (template_id, period), members in sorted(groups.items()):
        rulebook = members[0].rulebook
        result.append(ScoredGroup(rulebook, period, score_county(rulebook, members, period)))
    return result
