"""What a rulebook rates beside the branch's stars, from its optional sheets and columns: member ratings
(members.py), the meeting cycle (meetings.py), the secretary's type (secretaries.py). Results go to
BranchResult.extras; findings are problems of the submission."""
from __future__ import annotations

from .meetings import check_meetings
from .members import rate_members
from .problems import Problem
from .records import BranchResult, Submission
from .rulebook import Rulebook
from .secretaries import type_secretaries


def attach_extras(rb: Rulebook, sub: Submission, branches: list[BranchResult], year: int) -> list[Problem]:
    """Called where a submission's branches are scored, while its records are still held."""
    type_secretaries(rb, sub, branches)
    return rate_members(rb, sub, branches) + check_meetings(rb, sub, branches, year)
