"""A compiled form of a sheet's row schema: one predicate per column, for the rows that are fine.

Calling jsonschema on every row costs ~1 ms per row (the per-workbook budget is a few ms), so each
row is first checked by predicates compiled from the same schema. Only a row that fails them goes
through jsonschema, which then produces the messages. A predicate is at least as strict as the
schema for every keyword it knows; a schema using any other keyword is not compiled and every
row goes to jsonschema. tests/test_fastcheck.py checks the agreement on generated rows.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Callable

KNOWN = {"type", "enum", "minimum", "maximum", "pattern", "minLength", "maxLength", "format", "title",
         "description"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Predicate = Callable[[Any], bool]


def compile_field(spec: dict[str, Any]) -> Predicate | None:
    """A predicate for one property's schema, or None when it uses a keyword not compiled here."""
    if any(key not in KNOWN and not key.startswith("x-") for key in spec):
        return None
    return _common_shape(spec) or _general(spec)


def _common_shape(spec: dict[str, Any]) -> Predicate | None:
    """One-line predicates for the shapes nearly every column has (the hot path)."""
    keys = {k for k in spec if k in KNOWN} - {"title", "description"}
    kind = spec.get("type")
    if kind == "number" and keys == {"type", "minimum", "maximum"}:
        low, high = spec["minimum"], spec["maximum"]
        return lambda v: (type(v) is int or type(v) is Decimal) and low <= v <= high
    if kind == "integer" and keys == {"type", "minimum", "maximum"}:
        low, high = spec["minimum"], spec["maximum"]
        return lambda v: type(v) is int and low <= v <= high
    if kind == "string" and keys == {"type", "enum"} and all(type(o) is str for o in spec["enum"]):
        options = frozenset(spec["enum"])
        return lambda v: v in options  # only a str can equal a str option
    if kind == "string" and keys == {"type", "maxLength"}:
        longest = spec["maxLength"]
        return lambda v: type(v) is str and len(v) <= longest
    return None


def _general(spec: dict[str, Any]) -> Predicate | None:
    tests: list[Predicate] = [_type_test(spec.get("type"))]
    if "enum" in spec:
        options = frozenset(spec["enum"])
        tests.append(lambda v: v in options)
    if "minimum" in spec:
        low = spec["minimum"]
        tests.append(lambda v: v >= low)
    if "maximum" in spec:
        high = spec["maximum"]
        tests.append(lambda v: v <= high)
    if "pattern" in spec:
        search = re.compile(spec["pattern"]).search
        tests.append(lambda v: search(v) is not None)
    if "minLength" in spec:
        shortest = spec["minLength"]
        tests.append(lambda v: len(v) >= shortest)
    if "maxLength" in spec:
        longest = spec["maxLength"]
        tests.append(lambda v: len(v) <= longest)
    if spec.get("format") == "date":
        tests.append(_is_iso_date)
    elif "format" in spec:
        return None
    return _all(tests)


def _type_test(kind: str | None) -> Predicate:
    if kind == "integer":
        return lambda v: type(v) is int
    if kind == "number":
        return lambda v: type(v) is int or type(v) is Decimal
    if kind == "string":
        return lambda v: type(v) is str
    return lambda _: False  # unknown or absent type: let jsonschema decide


def _all(tests: list[Predicate]) -> Predicate:
    first, rest = tests[0], tests[1:]

    def check(value: Any) -> bool:
        # The type test runs first so the later tests only ever see values of the right type.
        if not first(value):
            return False
        for test in rest:
            if not test(value):
                return False
        return True

    return check


def _is_iso_date(value: str) -> bool:
    if not _ISO_DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class RowCheck:
    """A predicate for a whole row: every required field present and every value passing its field's predicate."""

    def __init__(self, required: tuple[str, ...], fields: dict[str, Predicate]) -> None:
        self.required = required
        self.fields = fields  # one predicate per property: the reader may test each cell as it converts it

    def __call__(self, row: dict[str, Any]) -> bool:
        for name in self.required:
            if name not in row:
                return False
        checks = self.fields
        for name, value in row.items():
            check = checks.get(name)
            if check is None or not check(value):
                return False
        return True


def compile_row(schema: dict[str, Any]) -> RowCheck | None:
    """A predicate for a whole row (required + every property), or None if any part is not compiled."""
    if any(key not in {"$schema", "$id", "title", "description", "type", "properties", "required"}
           and not key.startswith("x-") for key in schema):
        return None
    checks: dict[str, Predicate] = {}
    for name, spec in schema["properties"].items():
        predicate = compile_field(spec)
        if predicate is None:
            return None
        checks[name] = predicate
    return RowCheck(tuple(schema.get("required", [])), checks)
