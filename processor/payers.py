"""Who pays: the county's own answer where the rulebook's source does not say (payer: unspecified).

The run config's `payers` table names a pay rule by its id and the payer by its code or its Chinese
name, e.g. `payers = {performance = "乡镇财政", elderly_allowance = "县财政"}`. The rulebook is copied
with those payers before payments are computed, so a line charged to the village collective is
checked against the village's income like any other.
"""
from __future__ import annotations

import copy

from .errors import ConfigError
from .pay import PAYER_TEXT
from .rulebook import Rulebook

PAYER_CODES = {**{code: code for code in PAYER_TEXT}, **{text: code for code, text in PAYER_TEXT.items()}}


def with_county_payers(rb: Rulebook, payers: dict[str, str]) -> Rulebook:
    """The rulebook with the county's payers set on the named pay rules; unknown ids or payers are refused."""
    if not payers:
        return rb
    rules = {r["id"]: r for r in (rb.data.get("pay") or {}).get("rules", [])}
    unknown = sorted(set(payers) - set(rules))
    if unknown:
        raise ConfigError(f"payers: no pay rule {unknown} in {rb.template_id}; pay rules: {', '.join(rules)}")
    wrong = sorted(v for v in payers.values() if v not in PAYER_CODES or PAYER_CODES[v] == "unspecified")
    if wrong:
        raise ConfigError(f"payers: {wrong} is not a payer; use one of {', '.join(PAYER_TEXT.values())}")
    data = copy.deepcopy(rb.data)
    for rule in data["pay"]["rules"]:
        if rule["id"] in payers:
            rule["payer"] = PAYER_CODES[payers[rule["id"]]]
            rule["payer_source"] = {"set_by_county": True}
    return Rulebook(data, rb.path)


def county_set(rb: Rulebook) -> list[tuple[str, str]]:
    """(pay rule name, payer text) of every payer the county set, in the rulebook's order."""
    return [(r["name"], PAYER_TEXT[r["payer"]]) for r in (rb.data.get("pay") or {}).get("rules", [])
            if (r.get("payer_source") or {}).get("set_by_county")]


def unset(rb: Rulebook) -> list[tuple[str, str]]:
    """(pay rule id, name) of every pay rule whose payer is still unspecified."""
    return [(r["id"], r["name"]) for r in (rb.data.get("pay") or {}).get("rules", []) if r["payer"] == "unspecified"]
