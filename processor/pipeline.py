"""Library entry points that chain the stages; the CLI calls exactly one of these per command."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .county import score_county
from .errors import ConfigError
from .finance import write_finance_workbook
from .pay import PayResult, compute_payments
from .records import CountyResult, Submission
from .rulebook import Rulebook
from .validate import validate_files


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


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def workbook_paths(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for every workbook in it (sorted, subfolders included).
    ConfigError (exit 2) for a path that does not exist: that is a typing mistake, not a township's."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES
                            and not p.name.startswith((".", "~$")))
        elif path.exists():
            found.append(path)
        else:
            raise ConfigError(f"找不到 {path}：请检查文件名和路径 / no such file or folder")
    return found


def score_files(paths: list[Path], rulebook: Rulebook | None = None) -> ScoreReport:
    """Validate every file, then score the accepted ones, one group per (rulebook, period)."""
    subs = validate_files(paths, rulebook)
    return ScoreReport(subs, score_submissions(subs))


def score_submissions(subs: list[Submission]) -> list[ScoredGroup]:
    groups: dict[tuple[str, int], list[Submission]] = {}
    for s in subs:
        if s.accepted:
            groups.setdefault((s.rules.template_id, s.meta["period"]), []).append(s)
    result = []
    for (_, period), members in sorted(groups.items()):
        rulebook = members[0].rules
        result.append(ScoredGroup(rulebook, period, score_county(rulebook, members, period)))
    return result


@dataclass
class PaidGroup:
    scored: ScoredGroup
    payments: "PayResult"
    workbook: Path


def pay_files(paths: list[Path], out_dir: Path, rulebook: Rulebook | None = None) -> tuple[ScoreReport, list[PaidGroup]]:
    """Validate, score and pay; write one finance workbook per (rulebook, period) into out_dir."""
    report = score_files(paths, rulebook)
    out_dir.mkdir(parents=True, exist_ok=True)
    paid = []
    for group in report.groups:
        members = [s for s in report.submissions if s.accepted and s.rules.template_id == group.rulebook.template_id
                   and s.meta["period"] == group.period]
        payments = compute_payments(group.rulebook, members, group.county.branches)
        path = out_dir / f"财务发放表_{group.rulebook.id}_{group.period}.xlsx"
        write_finance_workbook(path, group.rulebook, group.period, payments, group.county.branches)
        paid.append(PaidGroup(group, payments, path))
    return report, paid
