"""One normaliser for every cell value, recording what it changed.

What Excel, WPS and LibreOffice write is accepted when its meaning is certain: numbers stored as
text, full-width digits, units after numbers ("85分", "1,200元"), trailing and non-breaking
spaces, dates as serials or text. A value that cannot be read is returned unchanged so that the
schema reports it at its cell.

Percentages (fields of kind `percent`): "92%" and "９２％" mean 92; a plain number above 1 is
already a percentage (92 → 92); a plain number from 0 to 1 is a fraction (0.92 → 92, 1 → 100),
because that is what a cell formatted as % stores.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Protocol

from .records import Change


class Field(Protocol):
    """A column as the normaliser needs it (sheets.Field is one)."""
    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def spec(self) -> dict[str, Any]: ...

    @property
    def type(self) -> str: ...

    @property
    def kind(self) -> str: ...

_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\u200c\u200d\ufeff]+")
_UNIT_SUFFIX = re.compile(r"(分|元|人|名|个|次|个月|月|岁|票)$")
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's 1900 leap-year bug
_YES = {"是", "y", "yes", "true", "1", "√", "✓", "对"}
_NO = {"否", "n", "no", "false", "0", "×", "✗", "不是", "无"}


def normalise(raw: Any, field: Field) -> tuple[Any, Change | None]:
    """(value for the schema, what changed or None). Empty cells give (None, None)."""
    if raw is None or raw == "":
        return None, None
    cleaned: Any  # a str cleaned, or the cell as it came (a number, a date, a bool)
    if isinstance(raw, str):
        cleaned = clean_text(raw)
        if cleaned == "":
            return None, None
    else:
        cleaned = raw
    value = _by_kind(cleaned, field)
    return value, _change(raw, value, field)


def converter_for(field: Field):
    """normalise() for one column, with a fast path for the cells Excel stores as numbers."""
    from_float = float_converter_for(field)
    if from_float is not None:
        def convert(raw: Any) -> tuple[Any, Change | None]:
            if type(raw) is float and math.isfinite(raw):
                return from_float(raw), None
            return normalise(raw, field)
        return convert
    if field.kind == "string" and not _is_text_enum(field):
        def convert_text(raw: Any) -> tuple[Any, Change | None]:
            if type(raw) is str:
                text = clean_text(raw)
                if not text:
                    return None, None
                return text, (None if text == raw else Change(field.id, raw, text))
            return normalise(raw, field)
        return convert_text
    return lambda raw: normalise(raw, field)


def float_converter_for(field: Field) -> Callable[[float], Any] | None:
    """The value of a finite float cell of a number column (what Excel stores), None for other columns.

    Such a cell never records a change: 150.0 shows as "150" and is read as 150."""
    if _is_text_enum(field):
        return None
    if field.kind in ("number", "money"):
        return lambda raw: Decimal(int(raw)) if raw.is_integer() else Decimal(repr(raw))
    if field.kind == "integer":
        return lambda raw: int(raw) if raw.is_integer() else Decimal(repr(raw))
    return None


def _is_text_enum(field: Field) -> bool:
    return field.spec.get("enum") is not None and field.type == "string"


def clean_text(text: str) -> str:
    """Trim and collapse every kind of space a spreadsheet hides in text."""
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        # Already clean, the usual case: every space but " " is unprintable (Zs, Zl, Zp, Cc, Cf), and
        # single inner spaces stay. Decided at C speed, without the regular expression.
        return text
    return _SPACES.sub(" ", text).strip()


def _by_kind(value: Any, field: Field) -> Any:
    kind = field.kind
    if field.spec.get("enum") is not None and field.type == "string":
        return _enum_text(value, field)
    if kind == "date":
        return to_date_text(value)
    if kind == "percent":
        return to_percent(value)
    if kind in ("number", "money"):
        return to_number(value)
    if kind == "integer":
        number = to_number(value)
        return int(number) if isinstance(number, Decimal) and number == number.to_integral_value() else number
    return _text(value)


def to_number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return _shown(value)  # NaN or infinity is no number: the schema reports it as text
        number = Decimal(str(value))
        # A whole float (150.0) is the integer: normalize() alone would show it as "1.5E+2".
        return Decimal(int(number)) if number.is_finite() and number == number.to_integral_value() else number
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).replace(",", "").replace("¥", "").replace("￥", "").strip()
        text = _UNIT_SUFFIX.sub("", text).strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            return value
        return number if number.is_finite() else value  # "NaN", "Infinity" are text, not numbers
    return value


def to_percent(value: Any) -> Any:
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if text.endswith("%"):
            number = to_number(text[:-1])
            return number
    number = to_number(value)
    if isinstance(number, Decimal) and 0 <= number <= 1:
        return number * 100
    return number


def to_date_text(value: Any) -> Any:
    """A date as YYYY-MM-DD from a date cell, an Excel serial or common Chinese text forms."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:
            return (_EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
        return _shown(value)  # no day: the schema reports it as a bad date, not as a bad number
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        match = _DATE_TEXT.match(text) or _DATE_COMPACT.match(text)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups())).isoformat()
            except ValueError:
                return value
    return value


def _enum_text(value: Any, field: Field) -> Any:
    text = _text(value)
    options = field.spec["enum"]
    if text in options:
        return text
    if set(options) == {"是", "否"}:
        low = text.lower()
        return "是" if low in _YES else "否" if low in _NO else text
    folded = unicodedata.normalize("NFKC", text).replace(" ", "")
    for option in options:
        if unicodedata.normalize("NFKC", str(option)).replace(" ", "") == folded:
            return option
    return text


def _text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _change(raw: Any, value: Any, field: Field) -> Change | None:
    """Worth telling the township only when the text they see differs from what we read."""
    if value is None:
        return None
    before = _shown(raw)
    after = _shown(value)
    if before == after:
        return None
    if isinstance(raw, (int, float)) and isinstance(value, (int, Decimal)) and Decimal(str(raw)) == value:
        return None
    if isinstance(raw, (dt.date, dt.datetime)):
        return None
    return Change(field.id, before, after)


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
