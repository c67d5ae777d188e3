"""Every rule kind is registered once, and a wrong rulebook is refused at load with its path — never a crash.

The mutation test takes every rule of every shipped rulebook and drops each of its keys, adds an unknown
key, or writes each of its numbers as text; the mutated rulebook must either load and then score and pay
a real workbook, or be refused (RulebookError, exit 2) naming the rule's path.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from processor.county import COUNTY_STEPS, finish_county
from processor.errors import RulebookError
from processor.pay import PAY_RULES, compute_payments
from processor.paths import RULEBOOK_DIR, SCHEMA_DIR
from processor.rulebook import Rulebook, load_rulebook, rulebook_problems
from processor.score import ADJUSTMENTS, score_submission
from processor.validate import validate_file

from scoring_helpers import branch, vote, write

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "inbox" / "01-城关镇.xlsx"
RULE_LISTS = ("units", "vetoes", "events", "penalties", "adjustments", "county", "pay/rules", "outcomes/lists",
              "rating/bands", "rating/grades")
SCHEMA = json.loads((SCHEMA_DIR / "rulebook.schema.json").read_text(encoding="utf-8"))


def _kinds(family: str) -> set[str]:
    return set(SCHEMA["$defs"][family]["properties"]["type"]["enum"])


# --- one registry per family, and the schema names the same kinds -----------------------------

def test_registries__every_schema_kind_has_exactly_one_evaluator():
    assert set(ADJUSTMENTS) == _kinds("adjustment")
    assert set(COUNTY_STEPS) == _kinds("county_step")
    assert set(PAY_RULES) == _kinds("pay_rule")


@pytest.mark.parametrize("family", ["adjustment", "county_step", "pay_rule"])
def test_schema__each_kind_has_its_own_closed_parameter_schema(family):
    for kind in _kinds(family):
        own = SCHEMA["$defs"][f"{family}.{kind}"]
        assert own["additionalProperties"] is False and "type" in own["required"]


# --- one broken rulebook per kind -----------------------------------------------------------

BROKEN = [
    ("adjustments", {"id": "x", "name": "x", "type": "cap", "when": {"figure": "score", "op": "<", "value": 1},
                     "source": {"not_from_source": True, "why": "t"}}, "adjustments/0", "'cap' is a required property"),
    ("adjustments", {"id": "x", "name": "x", "type": "demote", "steps": 1, "cap": 2,
                     "when": {"figure": "score", "op": "<", "value": 1}, "source": {"not_from_source": True, "why": "t"}},
     "adjustments/0", "allowed keys"),
    ("adjustments", {"id": "x", "name": "x", "type": "zero", "when": {"figure": "score", "op": "<", "value": 1}},
     "adjustments/0", "'source' is a required property"),
    ("county", {"type": "quota_max", "rating": 5, "source": {"not_from_source": True, "why": "t"}}, "county/0",
     "'share' is a required property"),
    ("county", {"type": "floor_warning", "share": 10, "source": {"not_from_source": True, "why": "t"}}, "county/0",
     "'rating' is a required property"),
    ("county", {"type": "exclude_bottom", "count": 2, "cap": 4, "source": {"not_from_source": True, "why": "t"}},
     "county/0", "'by' is a required property"),
    ("county", {"type": "township_assessment", "formula": "best", "source": {"not_from_source": True, "why": "t"}},
     "county/0/formula", "is not one of"),
    ("county", {"type": "spot_check", "source": {"not_from_source": True, "why": "t"}}, "county/0",
     "'share' is a required property"),
    ("county", {"type": "lottery", "source": {"not_from_source": True, "why": "t"}}, "county/0/type", "is not one of"),
    ("pay/rules", {"id": "p", "name": "p", "type": "performance", "payer": "county_budget", "share": 30,
                   "source": {"not_from_source": True, "why": "t"}}, "pay/rules/0", "'rates' is a required property"),
    ("pay/rules", {"id": "p", "name": "p", "type": "star_reward", "payer": "county_budget",
                   "source": {"not_from_source": True, "why": "t"}}, "pay/rules/0",
     "'per_star_month' is a required property"),
    ("pay/rules", {"id": "p", "name": "p", "type": "village_award", "payer": "county_budget",
                   "source": {"not_from_source": True, "why": "t"}}, "pay/rules/0", "'amount' is a required property"),
    ("vetoes", {"id": "v", "name": "v", "effect": "unit", "source": {"not_from_source": True, "why": "t"}},
     "vetoes/0", "'unit' is a required property"),
]


@pytest.mark.parametrize("where,rule,path,message", BROKEN, ids=[f"{b[1].get('type', b[1].get('effect'))}-{n}"
                                                                   for n, b in enumerate(BROKEN)])
def test_broken_rule_of_each_kind__refused_at_load_with_its_path(tmp_path, where, rule, path, message):
    data = _r1()
    _rule_list(data, where, create=True)[:] = [rule]
    with pytest.raises(RulebookError) as refused:
        load_rulebook(_save(tmp_path, data))
    text = str(refused.value)
    assert f"{path}:" in text and message in text, text


def test_broken_rulebook__cli_exit_2_one_line_with_the_path_no_internal_error(tmp_path):
    data = _r1()
    data["county"][0].pop("share")
    done = subprocess.run([sys.executable, "-m", "processor.cli", "pay", str(SAMPLE), "--out", str(tmp_path / "o"),
                           "--rulebook", str(_save(tmp_path, data))], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "county/0" in done.stderr and "internal error" not in done.stderr and "Traceback" not in done.stderr


# --- every rule of every shipped rulebook, mutated ---------------------------------------------

def _r1() -> dict[str, Any]:
    return yaml.safe_load((RULEBOOK_DIR / "r1-huojia-five-star.yaml").read_text(encoding="utf-8"))


def _save(folder: Path, data: dict[str, Any], name: str = "mutated.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _rule_list(data: dict[str, Any], where: str, create: bool = False) -> list[Any]:
    node: Any = data
    for part in where.split("/"):
        if create:
            node = node.setdefault(part, [] if part in ("rules", "lists") or "/" not in where else {})
        else:
            node = (node or {}).get(part) or []
    return node


def _mutations(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for where in RULE_LISTS:
        for i, rule in enumerate(_rule_list(data, where)):
            if not isinstance(rule, dict):
                continue
            for key in list(rule):
                mutated = copy.deepcopy(data)
                del _rule_list(mutated, where)[i][key]
                yield f"{where}/{i} without {key}", mutated
                if isinstance(rule[key], (int, float)) and not isinstance(rule[key], bool):
                    mutated = copy.deepcopy(data)
                    _rule_list(mutated, where)[i][key] = str(rule[key])
                    yield f"{where}/{i} {key} as text", mutated
            mutated = copy.deepcopy(data)
            _rule_list(mutated, where)[i]["surprise"] = 1
            yield f"{where}/{i} with an unknown key", mutated


def _workbook(rb_path: Path, folder: Path) -> Path:
    if rb_path.name.startswith("r1-"):
        return SAMPLE
    rb = load_rulebook(rb_path)
    targets = (rb.votes or {}).get("targets", [])
    votes = [vote(rb.vote_target_name(t), 40, 38, 37) for t in targets]
    return write(rb, folder / f"{rb.id}.xlsx", [branch("B001", votes=votes), branch("B002", votes=votes)])


@pytest.mark.parametrize("rb_path", sorted(RULEBOOK_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_rule_mutated__accepted_and_scored_or_refused_with_its_path(tmp_path, rb_path):
    original = yaml.safe_load(rb_path.read_text(encoding="utf-8"))
    sub = validate_file(_workbook(rb_path, tmp_path), load_rulebook(rb_path))
    assert sub.accepted, [p.message for p in sub.problems if p.severity == "error"]
    tried = refused = 0
    for label, mutated in _mutations(original):
        tried += 1
        where = label.split(" ")[0]
        reasons = rulebook_problems(mutated)  # what load_rulebook refuses with (one YAML round trip is tested above)
        if reasons:
            refused += 1
            assert any(r.startswith(where) for r in reasons), f"{label}: refused without naming {where}: {reasons}"
            continue
        rb = Rulebook(data=mutated, path=rb_path)
        period = sub.meta["period"]
        branches, _ = score_submission(rb, sub, period)
        county = finish_county(rb, branches, [])
        compute_payments(rb, [sub], county.branches)  # must not raise
    assert tried > 20 and refused > 0
