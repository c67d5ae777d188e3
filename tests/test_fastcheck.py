"""The compiled row predicates (processor/fastcheck.py) accept exactly what jsonschema accepts.

Over every field of every sheet of every shipped rulebook, on the kinds of value the normaliser hands
the validator (int, Decimal, str — dates as ISO text — and out-of-range, wrong-type and malformed
neighbours of the field's own bounds, options and patterns). A row the predicate passes skips
jsonschema, so a predicate looser than the schema would let a bad cell through unreported; one stricter
would only cost time, and is caught here too.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from processor.fastcheck import compile_field
from processor.rulebook import shipped_rulebooks
from processor.sheets import exact_limits, sheets_for

FIELDS = [(f"{rb.id}/{sheet.key}/{fid}", spec)
          for rb in shipped_rulebooks() for sheet in sheets_for(rb)
          for fid, spec in exact_limits(sheet.schema)["properties"].items()]


def _near(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values close to what the field allows, and plausible mistakes."""
    options: list[st.SearchStrategy[Any]] = [
        st.integers(-10**6, 10**6),
        st.decimals(-10**6, 10**6, places=3, allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.dates().map(lambda d: d.isoformat()),
        st.sampled_from(["2026-02-30", "2026-1-1", "２０２６-01-01", "", " ", "0", "是", "否"]),
    ]
    for key in ("minimum", "maximum"):
        if key in spec:
            edge = Decimal(str(spec[key]))
            options.append(st.sampled_from([edge, edge - Decimal("0.001"), edge + Decimal("0.001"),
                                            int(edge), int(edge) - 1, int(edge) + 1]))
    if "enum" in spec:
        options.append(st.sampled_from(spec["enum"]))
        options.append(st.sampled_from([f"{o} " for o in spec["enum"] if isinstance(o, str)] or [""]))
    if "maxLength" in spec:
        options.append(st.text(min_size=spec["maxLength"], max_size=spec["maxLength"] + 1))
    return st.one_of(options)


@pytest.mark.parametrize("name,spec", FIELDS, ids=[n for n, _ in FIELDS])
def test_fast_predicate__accepts_exactly_what_jsonschema_accepts(name, spec):
    predicate = compile_field(spec)
    if predicate is None:
        pytest.skip(f"{name}: not compiled; every row goes to jsonschema")
    schema = Draft202012Validator(spec, format_checker=FormatChecker())

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(_near(spec))
    def agree(value: Any) -> None:
        assert predicate(value) == schema.is_valid(value), f"{name}: {value!r} ({type(value).__name__})"

    agree()


def test_every_shipped_sheet_is_compiled__the_fast_path_is_taken():
    not_compiled = [(rb.id, sheet.key) for rb in shipped_rulebooks() for sheet in sheets_for(rb) if sheet.row_ok is None]
    assert not_compiled == []
