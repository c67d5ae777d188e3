"""The rollup: several county runs' results.json merged into one city or province workbook.

Counties run where they are, each with its own rulebook, inbox and ledger; the rollup reads only their
results.json. Amounts are added as Decimal from the JSON strings, so the rollup's totals are the sum of
the counties' to the fen, and a results.json whose payment lines do not add up to its own totals is
refused. Same results files in → byte-identical workbook and rollup.json out.
"""
from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .common import atomic_write
from .conditions import evaluate
from .errors import RunError
from .pay import PAYER_TEXT
from .xlsx import Formats, new_workbook, write_table

ROLLUP_JSON = "rollup.json"
STATE_TEXT = {"accepted": "已采用", "rejected": "已退回", "missing": "未报送"}
TARGET_HEADERS = ["县", "目标", "目标值", "达成情况", "是否达成", "计入支部", "支部总数"]
_OP_TEXT = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠"}


def rollup_workbook_name(period: int) -> str:
    return f"评定结果汇总_多县_{period}.xlsx"


@dataclass
class Township:
    name: str
    state: str  # accepted / rejected / missing
    ratings: Counter[str] = field(default_factory=Counter)
    qualified: int = 0
    by_payer: dict[str, Decimal] = field(default_factory=dict)

    @property
    def branches(self) -> int:
        return sum(self.ratings.values())


@dataclass
class County:
    name: str
    source: str
    rulebook: str
    period: int
    labels: list[str]
    townships: list[Township]
    by_payer: dict[str, Decimal]
    targets: list[dict[str, Any]]

    @property
    def missing(self) -> list[str]:
        return [t.name for t in self.townships if t.state != "accepted"]

    @property
    def total(self) -> Decimal:
        return sum(self.by_payer.values(), Decimal(0))


@dataclass
class Rollup:
    period: int
    counties: list[County]
    absent: list[str]  # counties expected (--counties) with no results file

    @property
    def complete(self) -> bool:
        return not self.absent and not any(c.missing for c in self.counties)

    def by_payer(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for county in self.counties:
            for payer, amount in county.by_payer.items():
                totals[payer] = totals.get(payer, Decimal(0)) + amount
        return dict(sorted(totals.items()))

    def labels(self) -> list[str]:
        return list(dict.fromkeys(label for c in self.counties for label in c.labels))


# --- reading the counties' results --------------------------------------------------------

def read_rollup(paths: list[Path], expected: list[str] | None = None, workers: int = 1) -> Rollup:
    """The counties of the given results.json files, `workers` read at a time; RunError when one cannot be read or
    does not add up."""
    counties = sorted(_read_counties(paths, workers), key=lambda c: c.name)
    names = [c.name for c in counties]
    if len(set(names)) != len(names):
        twice = sorted(n for n, k in Counter(names).items() if k > 1)
        raise RunError(f"同一个县的结果出现了两次：{'、'.join(twice)} / a county is given twice")
    periods = sorted({c.period for c in counties})
    if len(periods) != 1:
        raise RunError(f"结果文件的评定年度不一致：{'、'.join(map(str, periods))} / results of different periods")
    absent = [n for n in dict.fromkeys(expected or []) if n not in names]
    return Rollup(periods[0], counties, absent)


def _read_counties(paths: list[Path], workers: int) -> list[County]:
    """Each file's county, in the order given. Parsing the JSON is nearly all of a rollup's time (~0.2 s a county of
    50 townships, 8 s for 40), and a county comes back as its few totals: forked children read `workers` at a time.
    A county's RunError is raised here as if read here (the first file's, in the order given)."""
    if workers <= 1 or len(paths) <= 1:
        return [read_county(p) for p in paths]
    with multiprocessing.get_context("fork").Pool(min(workers, len(paths))) as pool:
        return pool.map(read_county, paths, chunksize=1)


def read_county(path: Path) -> County:
    try:
        data = json.loads(path.read_bytes())
        return _county(path, data)
    except (OSError, ValueError, KeyError, TypeError, InvalidOperation) as exc:
        raise RunError(f"{path}: 不是可读的 starbatch results.json（{type(exc).__name__}: {exc}） "
                       f"/ not a readable results.json") from None


def _county(path: Path, data: dict[str, Any]) -> County:
    name = data.get("county") or path.resolve().parent.name
    labels = data["rating_labels"]
    townships = _townships(data)
    for b in data["branches"]:
        t = townships.setdefault(b["township"], Township(b["township"], "accepted"))
        key = b["grade"] or str(b["rating"])
        t.ratings[labels.get(key, key)] += 1
        t.qualified += b["qualified"] is True
    for line in data["payments"]:
        t = townships.setdefault(line["township"], Township(line["township"], "accepted"))
        t.by_payer[line["payer"]] = t.by_payer.get(line["payer"], Decimal(0)) + Decimal(line["amount"])
    by_payer = {p: Decimal(a) for p, a in data["totals"]["by_payer"].items()}
    _check_sums(path, townships.values(), by_payer, Decimal(data["totals"]["amount"]))
    return County(name, str(path), data["rulebook"], int(data["period"]), list(labels.values()),
                  list(townships.values()), by_payer, data.get("targets", []))


def _townships(data: dict[str, Any]) -> dict[str, Township]:
    """Every township the county knows of, in its own order: accepted or rejected inputs, then missing ones."""
    states: dict[str, str] = {}
    for i in data["inputs"]:
        if i["township"] and i["state"] in ("accepted", "rejected"):
            known = states.get(i["township"])
            states[i["township"]] = "accepted" if "accepted" in (known, i["state"]) else i["state"]
    found = {t: Township(t, s) for t, s in sorted(states.items())}
    found.update({t: Township(t, "missing") for t in data["missing"] if t not in found})
    return found


def _check_sums(path: Path, townships: Any, by_payer: dict[str, Decimal], total: Decimal) -> None:
    lines: dict[str, Decimal] = {}
    for t in townships:
        for payer, amount in t.by_payer.items():
            lines[payer] = lines.get(payer, Decimal(0)) + amount
    if lines != by_payer or sum(by_payer.values(), Decimal(0)) != total:
        raise RunError(f"{path}: 支付明细之和与合计不符，文件可能被改动过 / payment lines do not add up to the totals")


# --- writing the rollup ---------------------------------------------------------------------

def write_rollup(rollup: Rollup, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    book = out / rollup_workbook_name(rollup.period)
    _write_workbook(rollup, book)
    summary = atomic_write(out / ROLLUP_JSON, (json.dumps(rollup_record(rollup), ensure_ascii=False, indent=1)
                                               + "\n").encode("utf-8"))
    return [book, summary]


def rollup_record(rollup: Rollup) -> dict[str, Any]:
    """The rollup for integrations: amounts as strings, counties in name order."""
    return {"period": rollup.period, "complete": rollup.complete, "absent_counties": rollup.absent,
            "totals": {"amount": f"{sum(rollup.by_payer().values(), Decimal(0)):.2f}",
                       "by_payer": {p: f"{a:.2f}" for p, a in rollup.by_payer().items()}},
            "counties": [{"county": c.name, "rulebook": c.rulebook, "results": c.source,
                          "branches": sum(t.branches for t in c.townships), "amount": f"{c.total:.2f}",
                          "by_payer": {p: f"{a:.2f}" for p, a in sorted(c.by_payer.items())},
                          "missing_townships": c.missing} for c in rollup.counties]}


def _write_workbook(rollup: Rollup, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    workbook = new_workbook(tmp, f"{rollup.period}年度星级评定汇总（{len(rollup.counties)}个县）")
    formats = Formats(workbook)
    labels, payers = rollup.labels(), list(rollup.by_payer())
    for sheet, headers, rows, first_money in [
        ("各县汇总", _county_headers(labels, payers), _county_rows(rollup, labels, payers), 7 + len(labels)),
        ("乡镇星级分布", _township_headers(labels, payers), _township_rows(rollup, labels, payers), 5 + len(labels)),
        ("目标达成", TARGET_HEADERS, _target_rows(rollup), 99),
        ("报送情况", ["县", "乡镇", "状态"], _completeness_rows(rollup), 99),
    ]:
        ws = workbook.add_worksheet(sheet)
        write_table(ws, formats, headers, rows, {j: formats.yuan for j in range(first_money, len(headers))})
    workbook.close()
    tmp.replace(path)


def _county_headers(labels: list[str], payers: list[str]) -> list[str]:
    return ["县", "评定办法", "乡镇数", "已采用", "未采用或未报送", "支部数", "合格支部", *labels,
            *[PAYER_TEXT.get(p, p) for p in payers], "合计（元）"]


def _county_rows(rollup: Rollup, labels: list[str], payers: list[str]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for c in rollup.counties:
        ratings: Counter[str] = Counter()
        for t in c.townships:
            ratings.update(t.ratings)
        accepted = sum(1 for t in c.townships if t.state == "accepted")
        rows.append([c.name, c.rulebook, len(c.townships), accepted, len(c.townships) - accepted,
                     sum(ratings.values()), sum(t.qualified for t in c.townships), *[ratings[x] for x in labels],
                     *[c.by_payer.get(p, Decimal(0)) for p in payers], c.total])
    if rows:
        sums = [sum(r[j] for r in rows) for j in range(2, len(rows[0]))]
        rows.append(["合计", "", *sums])
    return rows


def _township_headers(labels: list[str], payers: list[str]) -> list[str]:
    return ["县", "乡镇", "状态", "支部数", "合格支部", *labels, *[PAYER_TEXT.get(p, p) for p in payers], "合计（元）"]


def _township_rows(rollup: Rollup, labels: list[str], payers: list[str]) -> list[list[Any]]:
    rows = []
    for c in rollup.counties:
        for t in c.townships:
            amounts = [t.by_payer.get(p, Decimal(0)) for p in payers]
            rows.append([c.name, t.name, STATE_TEXT[t.state], t.branches, t.qualified,
                         *[t.ratings[x] for x in labels], *amounts, sum(amounts, Decimal(0))])
    return rows


def _target_rows(rollup: Rollup) -> list[list[Any]]:
    rows: list[list[Any]] = []
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for c in rollup.counties:
        for t in c.targets:
            rows.append([c.name, *_target_cells(t)])
            key = (t["id"], t["name"], t["measure"], json.dumps(t["goal"], sort_keys=True))
            seen = merged.setdefault(key, {**t, "count": 0, "of": 0, "counties": 0, "collected": 0})
            seen["count"] += t["count"]
            seen["of"] += t["of"]
            seen["counties"] += 1
            seen["collected"] += t["value"] is not None
    for t in merged.values():
        rows.append([f"全部（{t['counties']}个县）", *_target_cells(_combined(t))])
    return rows


def _combined(t: dict[str, Any]) -> dict[str, Any]:
    """A target over every county that counted it: the sum of counts over the sum of branches."""
    if t["collected"] < t["counties"]:
        return {**t, "value": None, "met": None}
    value = Decimal(t["count"]) if t["measure"] == "count" else (
        Decimal(t["count"]) * 100 / t["of"] if t["of"] else Decimal(0))
    met = None if t["goal"] is None else evaluate({"figure": "value", **t["goal"]}, lambda _: value)[0]
    return {**t, "value": str(value), "met": met}


def _target_cells(t: dict[str, Any]) -> list[Any]:
    share = t["measure"] == "share"
    goal = t["goal"]
    goal_text = f"{_OP_TEXT.get(goal['op'], goal['op'])}{goal['value']}{'%' if share else ''}" if goal else "—"
    if t["value"] is None:
        return [t["name"], goal_text, "未采集", "—", t["count"], t["of"]]
    value = Decimal(t["value"])
    shown = f"{value.quantize(Decimal('0.1'))}%" if share else str(t["count"])
    met = "—" if t["met"] is None else ("达成" if t["met"] else "未达成")
    return [t["name"], goal_text, shown, met, t["count"], t["of"]]


def _completeness_rows(rollup: Rollup) -> list[list[Any]]:
    rows: list[list[Any]] = [[c.name, t.name, STATE_TEXT[t.state]] for c in rollup.counties for t in c.townships]
    rows += [[name, "—", "未报送结果（无 results.json）"] for name in rollup.absent]
    return rows
