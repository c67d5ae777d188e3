"""Row schemas per template sheet: the static ones in schemas/rows, completed from the rulebook.

JSON Schema (draft 2020-12) is the single source of truth for a sheet's columns: header text
(`title`, `x-aliases`), type, required, enum, bounds and input message (`description`). The
template writer and the validator both read the schemas built here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .fastcheck import RowCheck, compile_row
from .normalise import converter_for
from .paths import SCHEMA_DIR
from .rulebook import Rulebook, schema_validator, used_figures

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

INSTRUCTIONS_SHEET = "填报说明"
SELF, REVIEW = "self", "review"
SCORE_LABELS = {SELF: "自评", REVIEW: "乡镇评审"}


@dataclass(frozen=True)
class Field:
    id: str
    title: str
    spec: dict[str, Any] = field(hash=False, compare=False)
    required: bool = False

    @cached_property
    def convert(self):
        """This column's cell normaliser (see normalise.converter_for)."""
        return converter_for(self)

    @property
    def aliases(self) -> list[str]:
        return [self.title, *self.spec.get("x-aliases", [])]

    @cached_property
    def type(self) -> str:
        return self.spec.get("type", "string")

    @cached_property
    def kind(self) -> str:
        """date, percent, money or the JSON type: tells the normaliser what to make of a cell."""
        return self.spec.get("x-kind", self.type)


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    schema: dict[str, Any] = field(hash=False, compare=False)

    @cached_property
    def fields(self) -> list[Field]:
        required = set(self.schema.get("required", []))
        props = self.schema["properties"]
        return [Field(fid, props[fid]["title"], props[fid], fid in required) for fid in self.schema["x-order"]]

    @cached_property
    def validator(self) -> Draft202012Validator:
        return schema_validator(exact_limits(self.schema), formats=True)

    @cached_property
    def row_ok(self) -> RowCheck | None:
        """The compiled check for rows that are fine (None: every row goes to jsonschema)."""
        return compile_row(exact_limits(self.schema))


def exact_limits(node: Any) -> Any:
    """The schema with its decimal numbers as Decimal, as cell values are: the float 6.67 is a little
    below 6.67, so Decimal('6.67') would exceed “maximum: 6.67” and miss “enum: [0, 6.67]”."""
    if isinstance(node, float):
        return Decimal(str(node))
    if isinstance(node, dict):
        return {k: exact_limits(v) for k, v in node.items()}
    if isinstance(node, list):
        return [exact_limits(v) for v in node]
    return node


@lru_cache(maxsize=None)
def _static_schema(key: str) -> str:
    return (SCHEMA_DIR / "rows" / f"{key}.schema.json").read_text(encoding="utf-8")


def load_static(key: str) -> dict[str, Any]:
    return json.loads(_static_schema(key))


_BUILT: dict[int, tuple[dict[str, Any], list[Sheet]]] = {}


def sheets_for(rulebook: Rulebook) -> list[Sheet]:
    """The data sheets of this rulebook's template, in template order (built once per rulebook)."""
    built = _BUILT.get(id(rulebook.data))
    if built is None or built[0] is not rulebook.data:
        built = (rulebook.data, _build_sheets(rulebook))
        _BUILT[id(rulebook.data)] = built
    return built[1]


def _build_sheets(rulebook: Rulebook) -> list[Sheet]:
    sheets = [_branches(rulebook), _scores(rulebook)]
    if rulebook.events:
        sheets.append(_events(rulebook))
    if any("when" not in v for v in rulebook.vetoes):
        sheets.append(_vetoes(rulebook))
    if rulebook.votes:
        sheets.append(_votes(rulebook))
    sheets += [make(rulebook) for key, make in OPTIONAL_SHEETS.items() if key in rulebook.data]
    if uses_cadres(rulebook):
        sheets.append(_cadres(rulebook))
    return sheets


CADRE_PAY_RULES = ("performance", "star_reward")


def uses_cadres(rulebook: Rulebook) -> bool:
    """Only a rulebook that pays cadres asks for them (a city organ is not asked for a village's 两委)."""
    return any(r["type"] in CADRE_PAY_RULES for r in (rulebook.data.get("pay") or {}).get("rules", []))


def _cadres(rulebook: Rulebook) -> Sheet:
    schema = load_static("cadres")
    if not any("kept_level_source" in r for r in rulebook.data["pay"]["rules"]):
        _drop(schema, "kept_monthly_pay")
    return Sheet("cadres", schema["title"], _with_id(schema, rulebook, "cadres"))


def _drop(schema: dict[str, Any], field_id: str) -> None:
    del schema["properties"][field_id]
    schema["x-order"].remove(field_id)
    if field_id in schema.get("required", []):
        schema["required"].remove(field_id)


def _members(rulebook: Rulebook) -> Sheet:
    schema = load_static("members")
    return Sheet("members", schema["title"], _with_id(schema, rulebook, "members"))


def _meetings(rulebook: Rulebook) -> Sheet:
    schema = load_static("meetings")
    schema["properties"]["kind"]["enum"] = [c["kind"] for c in rulebook.data["meetings"]["cycle"]]
    return Sheet("meetings", schema["title"], _with_id(schema, rulebook, "meetings"))


# Sheets a template has when its rulebook has the key: data decides, not code.
OPTIONAL_SHEETS = {"members": _members, "meetings": _meetings}

# Columns of 支部信息 a rulebook key adds (optional for the clerk): the R3 member committee, the secretary's type.
def _optional_branch_columns(rulebook: Rulebook, schema: dict[str, Any]) -> None:
    props = schema["properties"]
    if "members" in rulebook.data:
        committee = rulebook.data["members"]["committee"]
        props["committee_size"] = {
            "type": "integer", "title": "评审委员会人数", "minimum": 0, "maximum": 100,
            "description": f"“双十星”争创评审委员会人数，一般为{committee['min']}～{committee['max']}人。"}
        schema["x-order"].append("committee_size")
    if "secretary_types" in rulebook.data:
        types = list(rulebook.data["secretary_types"]["types"])
        props["secretary_type"] = {"type": "string", "title": "书记类型", "enum": types,
                                   "description": "乡镇党委对村党支部书记研判分类：" + "、".join(types) + "。"}
        schema["x-order"].append("secretary_type")


def _with_id(schema: dict[str, Any], rulebook: Rulebook, key: str) -> dict[str, Any]:
    schema["$id"] = f"https://starbatch.invalid/schemas/generated/{rulebook.template_id}/{key}.schema.json"
    return schema


def _branches(rulebook: Rulebook) -> Sheet:
    schema = load_static("branches")
    schema["properties"]["branch_type"]["enum"] = list(rulebook.data["branch_types"])
    if "fact.secretary_is_head" not in used_figures(rulebook.data):
        _drop(schema, "secretary_is_head")
    if rulebook.data["rating"].get("grades_within") == "parent_committee":
        schema["required"].append("parent_committee")
    else:  # asked only where grades are given within each 基层党委 (R5)
        _drop(schema, "parent_committee")
    _optional_branch_columns(rulebook, schema)
    return Sheet("branches", schema["title"], _with_id(schema, rulebook, "branches"))


def _events(rulebook: Rulebook) -> Sheet:
    schema = load_static("events")
    props = schema["properties"]
    props["event_kind"]["enum"] = [e["name"] for e in rulebook.events]
    levels = sorted({lvl for e in rulebook.events if isinstance(e["points"], dict) for lvl in e["points"]},
                    key=_level_order)
    if levels:
        props["level"]["enum"] = levels
    else:
        del props["level"]
        schema["x-order"].remove("level")
    if not any(e["points"] == "entered" for e in rulebook.events):
        del props["points"]
        schema["x-order"].remove("points")
    return Sheet("events", schema["title"], _with_id(schema, rulebook, "events"))


_LEVELS = ["县级", "市级", "省级", "国家级"]


def _level_order(level: str) -> tuple[int, str]:
    return (_LEVELS.index(level) if level in _LEVELS else len(_LEVELS), level)


def _vetoes(rulebook: Rulebook) -> Sheet:
    schema = load_static("vetoes")
    schema["properties"]["veto"]["enum"] = [v["name"] for v in rulebook.vetoes if "when" not in v]
    return Sheet("vetoes", schema["title"], _with_id(schema, rulebook, "vetoes"))


def _votes(rulebook: Rulebook) -> Sheet:
    schema = load_static("votes")
    targets = (rulebook.votes or {}).get("targets", [])
    schema["properties"]["target"]["enum"] = [rulebook.vote_target_name(t) for t in targets]
    if "committee_size" not in (rulebook.votes or {}):  # asked only where the rule system records its evaluation committee (R3)
        del schema["properties"]["committee_size"]
        schema["x-order"].remove("committee_size")
    return Sheet("votes", schema["title"], _with_id(schema, rulebook, "votes"))


@lru_cache(maxsize=8192)
def score_field_id(unit_id: str, item_id: str, which: str) -> str:
    # Cached: one str per field, though every branch's figures name them.
    return f"{unit_id}.{item_id}.{which}"


def score_title(unit: dict[str, Any], item: dict[str, Any], which: str) -> str:
    return f"{unit['name']}｜{item['name']}｜{SCORE_LABELS[which]}"


def _scores(rulebook: Rulebook) -> Sheet:
    static = load_static("branches")["properties"]
    props: dict[str, Any] = {
        "branch_code": static["branch_code"],
        "branch_name": {"type": "string", "title": "支部名称", "maxLength": 60,
                        "description": "便于核对，可不填；以支部编码为准。"},
    }
    for unit in rulebook.units:
        for item in unit["items"]:
            for which in (SELF, REVIEW):
                props[score_field_id(unit["id"], item["id"], which)] = _score_spec(unit, item, which)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "评分",
        "description": "每行一个党支部：逐项填写自评分和乡镇评审分。有乡镇评审分的以评审分为准。",
        "type": "object",
        "properties": props,
        "required": ["branch_code"],
        "x-sheet": "评分",
        "x-order": list(props),
    }
    return Sheet("scores", "评分", _with_id(schema, rulebook, "scores"))


def _score_spec(unit: dict[str, Any], item: dict[str, Any], which: str) -> dict[str, Any]:
    top = _json_number(item["max"])
    spec: dict[str, Any] = {"type": "number", "title": score_title(unit, item, which), "minimum": 0, "maximum": top,
                            "x-unit": unit["id"], "x-item": item["id"], "x-score": which}
    if item.get("all_or_nothing"):
        spec["enum"] = [0, top]
        spec["description"] = f"{item['name']}：达成得 {top} 分，未达成得 0 分。"
    else:
        spec["description"] = f"{item['name']}：0 至 {top} 分。"
    return spec


def _json_number(value: Any) -> int | float:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def generated_schema_dir(rulebook: Rulebook, root: Path = SCHEMA_DIR) -> Path:
    return root / "generated" / rulebook.template_id


def write_generated_schemas(rulebook: Rulebook, root: Path = SCHEMA_DIR) -> list[Path]:
    """Write this rulebook's row schemas as committed files (a test keeps them current)."""
    folder = generated_schema_dir(rulebook, root)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in sheets_for(rulebook):
        path = folder / f"{sheet.key}.schema.json"
        path.write_text(json.dumps(sheet.schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
