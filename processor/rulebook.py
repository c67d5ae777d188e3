"""Rulebooks: one YAML file per rule system, checked against schemas/rulebook.schema.json.

A rulebook is data. This module loads it, refuses it with the path of every bad key (and the
keys allowed there), checks that its internal references resolve, and offers small lookups.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RulebookError
from .paths import RULEBOOK_DIR, SCHEMA_DIR

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


@dataclass(frozen=True)
class Rulebook:
    data: dict[str, Any]
    path: Path = field(compare=False)

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def key(self) -> str:
        return self.data["key"]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def version(self) -> str:
        return self.data["template_version"]

    @property
    def template_id(self) -> str:
        return f"{self.id}-{self.key}"

    @property
    def units(self) -> list[dict[str, Any]]:
        return self.data["units"]

    @property
    def vetoes(self) -> list[dict[str, Any]]:
        return self.data.get("vetoes", [])

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.data.get("events", [])

    @property
    def votes(self) -> dict[str, Any] | None:
        return self.data.get("votes")

    @property
    def settings(self) -> dict[str, Any]:
        return self.data["settings"]

    @cached_property
    def unit_by_id(self) -> dict[str, dict[str, Any]]:
        return {u["id"]: u for u in self.units}

    @cached_property
    def _unit_maxima(self) -> dict[str, Decimal]:
        return {u["id"]: (Decimal(str(u["max"])) if "max" in u
                          else sum((Decimal(str(i["max"])) for i in u["items"]), Decimal(0))) for u in self.units}

    def unit_max(self, unit: dict[str, Any]) -> Decimal:
        """The unit's nominal maximum: its `max` setting, else the sum of its items."""
        return self._unit_maxima[unit["id"]]

    def vote_target_name(self, target: str) -> str:
        return "整体" if target == "overall" else self.unit_by_id[target]["name"]

    @cached_property
    def _rating_texts(self) -> dict[int, str]:
        """Each rating's text, filled as asked (rating_text): every table asks it of every branch."""
        return {}


def source_text(source: dict[str, Any] | None) -> str:
    """The seed line a rule cites, as reasons and payment lines show it. One str per distinct citation, shared by
    every reason and payment line that cites it (a province has millions of them)."""
    if not source:
        return "来源未注明"
    return _source_text(bool(source.get("not_from_source")), source.get("why"), source.get("seed"), source.get("line"))


@lru_cache(maxsize=4096)
def _source_text(not_from_source: bool, why: str | None, seed: str | None, line: int | str | None) -> str:
    if not_from_source:
        # A setting that reads a seed line still cites it, so every reason names its line.
        where = f"（参照 {seed} 第{line}行）" if seed and line else ""
        return f"非原文默认设置：{why}{where}"
    return f"{seed} 第{line}行"


def rating_text(rb: Rulebook, rating: int, grade: str | None = None) -> str:
    if grade:
        return grade
    texts = rb._rating_texts
    found = texts.get(rating)
    if found is None:
        found = texts[rating] = _rating_text(rb, rating)
    return found


def _rating_text(rb: Rulebook, rating: int) -> str:
    # Interned: a few texts, asked for every branch by every table (one str each, not 100,000).
    if rating == 0:
        return sys.intern(f"无{rb.data['rating']['label']}") if rb.data["rating"]["mode"] != "grades" else "未定等级"
    return sys.intern(f"{rating}{rb.data['rating']['label']}")


def rulebook_data(path: Path, text: str, copy: bool = True) -> Any:
    """The rulebook at `path`, whose text is `text`, as data: the stamp's copy when the stamp names these bytes of a
    shipped file (parsed when the stamp was made, below), else parsed from its YAML. Each shipped rulebook took 2–8 ms
    to parse, and a run given --rulebook read all of them three times over (finding the one named, loading it, and
    every template's sheet names): ~85 ms of a county's run. COPY=False: the stamp's own, for a caller that only reads."""
    if _checked_by_stamp(path, text):
        kept = _stamp().get("data", {}).get(path.name)
        if kept is not None:
            return json.loads(json.dumps(kept)) if copy else kept  # its own copy: the caller may change what it is given
    return parse_yaml(text)


class YamlInvalid(ValueError):
    """A text PyYAML cannot parse (its message), raised by `parse_yaml` in place of PyYAML's own error."""


def parse_yaml(text: str) -> Any:
    """The YAML `text` as data. PyYAML (~20 ms to import) is loaded here, when a text is first parsed: a run whose
    rulebooks all come from the stamp (`rulebook_data`) never parses one."""
    import yaml

    # libyaml's safe loader when PyYAML was built with it (ten times faster), else the pure-Python one; both build
    # the same data.
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 — a safe loader
    except yaml.YAMLError as exc:
        raise YamlInvalid(str(exc)) from None


def load_rulebook(name_or_path: str | Path) -> Rulebook:
    """Load a shipped rulebook by key or id (e.g. 'huojia-five-star', 'R1') or a YAML path."""
    path = resolve_rulebook_path(str(name_or_path))
    text = path.read_text(encoding="utf-8")
    try:
        data = rulebook_data(path, text)
    except YamlInvalid as exc:
        raise RulebookError(f"{path}: not valid YAML: {exc}") from None
    _refuse(path, rulebook_problems(data, schema_checked=_checked_by_stamp(path, text)))
    return Rulebook(data=data, path=path)


def _refuse(path: Path, reasons: list[str]) -> None:
    if reasons:
        raise RulebookError(f"{path}: rulebook refused:\n  " + "\n  ".join(reasons))


@lru_cache(maxsize=1)
def shipped_rulebooks() -> tuple[Rulebook, ...]:
    """Every shipped rulebook, parsed and checked once per process (~100 ms: each run looks for its template)."""
    return tuple(load_rulebook(p) for p in sorted(RULEBOOK_DIR.glob("*.yaml")))


def resolve_rulebook_path(name: str, rulebook_dir: Path | None = None) -> Path:
    """The YAML file of a rulebook named by id, key or path; a county's own `rulebook_dir` is searched first."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    wanted = name.strip().lower()
    for path, head in _rulebook_heads(rulebook_dir):
        names = {str(head.get("id", "")).lower(), str(head.get("key", "")).lower(), path.stem.lower(),
                 f"{head.get('id', '')}-{head.get('key', '')}".lower()}
        if wanted in names:
            return path
    known = "、".join(f"{head.get('id', path.stem)}（{head.get('key', path.stem)}）"
                     for path, head in _rulebook_heads(rulebook_dir))
    raise RulebookError(f"未知的评定办法“{name}”。可用的有：{known}；也可以给出 .yaml 文件路径。"
                        f" / unknown rulebook '{name}'; known: {known}; or give a .yaml path.")


def _rulebook_heads(rulebook_dir: Path | None) -> list[tuple[Path, dict[str, Any]]]:
    folders = ([rulebook_dir] if rulebook_dir else []) + [RULEBOOK_DIR]
    paths = [p for folder in folders for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])]
    return [(p, _head(p)) for p in paths]


def _head(path: Path) -> dict[str, Any]:
    try:
        head = rulebook_data(path, path.read_text(encoding="utf-8"), copy=False)
    except (OSError, UnicodeDecodeError, YamlInvalid):  # a broken file in a county's folder must not hide the others
        return {}
    return head if isinstance(head, dict) else {}


def rulebook_problems(data: Any, schema_checked: bool = False) -> list[str]:
    """Every reason the rulebook cannot be used, each with its path; empty when it is fine.

    `schema_checked`: these exact bytes already passed the schema (a shipped rulebook named in the stamp).
    """
    if schema_checked and isinstance(data, dict):
        return _reference_problems(data)
    validator = _rulebook_validator()
    schema = validator.schema
    reasons = [_describe_schema_error(e, schema) for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path).__repr__())]
    if reasons:
        return reasons
    return _reference_problems(data)


@lru_cache(maxsize=1)
def _rulebook_validator() -> Draft202012Validator:
    return schema_validator(json.loads(RULEBOOK_SCHEMA.read_text(encoding="utf-8")))


def schema_validator(schema: dict[str, Any], formats: bool = False) -> Draft202012Validator:
    """jsonschema's validator of `schema` (`formats`: with its format checks).

    jsonschema is imported here, when a schema is first checked, not with the package: it and what it imports take
    ~80 ms to import, a tenth of a county's run, and a run whose rulebooks carry the stamp (below) and whose rows all
    pass the compiled checks (fastcheck.py) never asks it."""
    from jsonschema import Draft202012Validator, FormatChecker  # noqa: PLC0415 — on first use, see above
    return Draft202012Validator(schema, format_checker=FormatChecker()) if formats else Draft202012Validator(schema)


# --- the stamp of the shipped rulebooks ----------------------------------------------------------
# Checking a rulebook against the schema takes 5–25 ms (jsonschema, in Python), and every run looks at all
# shipped rulebooks to recognise a template: ~0.1 s of a county's one-second run. The shipped files are
# checked by the test suite, which also keeps this stamp of their digests current; a shipped file whose
# bytes (or the schema's) differ from the stamp — edited after installation — is checked in full as before.

RULEBOOK_SCHEMA = SCHEMA_DIR / "rulebook.schema.json"
CHECKED_STAMP = RULEBOOK_DIR / "checked.json"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _stamp() -> dict[str, Any]:
    try:
        stamp = json.loads(CHECKED_STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(stamp, dict) or stamp.get("schema") != _digest(RULEBOOK_SCHEMA.read_text(encoding="utf-8")):
        return {}
    return stamp


def _checked_by_stamp(path: Path, text: str) -> bool:
    files = _stamp().get("rulebooks", {})
    return path.parent.resolve() == RULEBOOK_DIR.resolve() and files.get(path.name) == _digest(text)


def checked_stamp() -> dict[str, Any]:
    """The stamp the shipped rulebooks deserve now: each checked in full first (RulebookError if one fails), with its
    digest and its data as parsed (`rulebook_data`; a shipped rulebook holds only texts, numbers and true/false, which
    JSON keeps as they are, keys in their order)."""
    files, data = {}, {}
    for path in sorted(RULEBOOK_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        parsed = parse_yaml(text)
        _refuse(path, rulebook_problems(parsed))
        files[path.name] = _digest(text)
        if _kept_by_json(parsed):  # else (a date, say) it is parsed from its YAML each time
            data[path.name] = parsed
    return {"data": data, "rulebooks": files, "schema": _digest(RULEBOOK_SCHEMA.read_text(encoding="utf-8"))}


def _kept_by_json(data: Any) -> bool:
    try:
        return bool(json.loads(json.dumps(data, allow_nan=False)) == data)
    except (TypeError, ValueError):
        return False


def checked_stamp_text() -> str:
    """The stamp as its file holds it (the rulebooks' keys in their own order)."""
    return json.dumps(checked_stamp(), indent=1, ensure_ascii=False) + "\n"


def write_checked_stamp() -> Path:
    """After changing a shipped rulebook or the schema (tests/test_rulebooks.py says so when it is due):
    python -c 'from processor.rulebook import write_checked_stamp; write_checked_stamp()'"""
    CHECKED_STAMP.write_text(checked_stamp_text(), encoding="utf-8")
    _stamp.cache_clear()
    return CHECKED_STAMP


def _describe_schema_error(error: Any, schema: dict[str, Any]) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{where}: {error.message}; allowed keys: {', '.join(allowed)}"
    if error.validator == "oneOf" and error.context:
        # The deepest alternative's error is the specific one (op '=>' rather than "not valid under any").
        best = max(error.context, key=lambda e: len(list(e.absolute_path)))
        if best.validator == "oneOf" and best.context:  # conditions nest: go down to the cause
            return _describe_schema_error(best, schema)
        where = "/".join(str(p) for p in best.absolute_path) or where
        if best.validator == "additionalProperties":
            allowed = sorted(best.schema.get("properties", {}))
            return f"{where}: {best.message}; allowed keys: {', '.join(allowed)}"
        return f"{where}: {best.message}"
    return f"{where}: {error.message}"


def _reference_problems(data: dict[str, Any]) -> list[str]:
    reasons: list[str] = []
    unit_ids = [u["id"] for u in data["units"]]
    reasons += _duplicates("units", unit_ids)
    reasons += _duplicates("vetoes", [v["id"] for v in data.get("vetoes", [])])
    reasons += _duplicates("events", [e["id"] for e in data.get("events", [])])
    # A branch's lists are named by id (results.json, the consolidated workbook): two lists of one id would be one.
    reasons += _duplicates("outcomes/lists", [entry["id"] for entry in data["outcomes"]["lists"]])
    for i, unit in enumerate(data["units"]):
        reasons += _duplicates(f"units/{i}/items", [it["id"] for it in unit["items"]])
        for t in unit.get("applies_to", []):
            if t not in data["branch_types"]:
                reasons.append(f"units/{i}/applies_to: '{t}' is not one of branch_types {data['branch_types']}")
    for kind in ("vetoes", "events"):
        for i, entry in enumerate(data.get(kind, [])):
            if "unit" in entry and entry["unit"] not in unit_ids:
                reasons.append(f"{kind}/{i}/unit: '{entry['unit']}' is not a unit id; units: {', '.join(unit_ids)}")
    for i, target in enumerate((data.get("votes") or {}).get("targets", [])):
        if target != "overall" and target not in unit_ids:
            reasons.append(f"votes/targets/{i}: '{target}' is neither 'overall' nor a unit id")
    meetings = data.get("meetings") or {}
    if meetings.get("effect") == "standard":
        unit = next((u for u in data["units"] if u["id"] == meetings.get("unit")), None)
        if unit is None or meetings.get("item") not in [it["id"] for it in unit["items"]]:
            reasons.append(f"meetings: effect 'standard' needs unit and item naming a standard; "
                           f"units: {', '.join(unit_ids)}")
    for i, step in enumerate(data.get("county", [])):
        for ref in step.get("units", []) if step.get("type") == "per_star_quota" else []:
            if ref not in unit_ids:
                reasons.append(f"county/{i}/units: '{ref}' is not a unit id; units: {', '.join(unit_ids)}")
    for i, rule in enumerate((data.get("pay") or {}).get("rules", [])):
        if "requires_unit" in rule and rule["requires_unit"] not in unit_ids:
            reasons.append(f"pay/rules/{i}/requires_unit: '{rule['requires_unit']}' is not a unit id")
    for where, figure in _figures(data):
        kind, _, ref = figure.partition(".")
        if kind in ("unit_earned", "unit_total") and ref not in unit_ids:
            reasons.append(f"{where}: figure '{figure}' names no unit; units: {', '.join(unit_ids)}")
        if kind == "event_count" and ref not in [e["id"] for e in data.get("events", [])]:
            reasons.append(f"{where}: figure '{figure}' names no event")
        if kind == "fact" and ref not in FACT_FIGURES:
            reasons.append(f"{where}: figure '{figure}' is not a branch fact; facts: {', '.join(sorted(FACT_FIGURES))}")
    rating = data["rating"]
    if rating["mode"] == "bands" and not rating.get("bands"):
        reasons.append("rating/bands: mode 'bands' needs a list of bands")
    if rating["mode"] == "grades" and not rating.get("grades"):
        reasons.append("rating/grades: mode 'grades' needs a list of grades with shares")
    return reasons


# Branch facts a condition may test (fields of the 支部信息 sheet that are numbers or yes/no).
FACT_FIGURES = {"member_count", "secretary_is_head", "collective_income", "elderly_70_plus",
                "reserve_cadres", "target_assessment_score", "reelection_postponed_approved"}


def used_figures(data: dict[str, Any]) -> set[str]:
    """Every figure named in `data`, a rulebook (the template asks only for the facts that are used) or a condition."""
    return {figure for _, figure in _figures(data)}


def _figures(node: Any, where: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        if "figure" in node and isinstance(node["figure"], str):
            found.append((where, node["figure"]))
        for key, value in node.items():
            found += _figures(value, f"{where}/{key}" if where else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _figures(value, f"{where}/{i}")
    return found


def _duplicates(where: str, ids: list[str]) -> list[str]:
    dups = sorted({i for i in ids if ids.count(i) > 1})
    return [f"{where}: id '{d}' appears more than once" for d in dups]
