"""Typed field values: coercion from what an agent typed (or a script gave) to the
value the engine keeps, with a plain one-line message when it is wrong."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from callguide.flow.model import Field
from callguide.formatting import MAX_AMOUNT, MoneyError, format_money, parse_money

_YES = {"yes", "y", "true", "1", "ja", "ano", True}
_NO = {"no", "n", "false", "0", "nej", "ne", False}


class FieldValueError(ValueError):
    """A value that does not fit its field: the message is shown next to the field.

    `code` and `params` let a UI translate it (`min` -> "Must be at least {n}.")."""

    def __init__(self, message: str, code: str = "invalid", **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


def _number(raw: Any, f: Field, money: bool, lang: str | None) -> Decimal | int:
    if isinstance(raw, bool):
        raise FieldValueError("Enter a number.", "enter_number")
    if money:
        try:
            value = parse_money(raw if isinstance(raw, (int, Decimal)) else str(raw), lang)
        except MoneyError as e:
            if e.code == "decimals":
                raise FieldValueError("Use at most two decimals.", "two_decimals") from None
            example = format_money(Decimal("1234.50"), None, lang)
            raise FieldValueError(f"Enter an amount, for example {example}.", "enter_amount", example=example) from None
    else:
        text = str(raw).strip().replace(" ", "").replace("\u00a0", "")
        if len(text) > 40:
            raise FieldValueError("Enter a number.", "enter_number")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise FieldValueError("Enter a number.", "enter_number") from None
        if not value.is_finite() or abs(value) > MAX_AMOUNT:
            raise FieldValueError("Enter a number.", "enter_number")
    if f.min is not None and value < Decimal(str(f.min)):
        raise FieldValueError(f"Must be at least {f.min:g}.", "at_least", n=f"{f.min:g}")
    if f.max is not None and value > Decimal(str(f.max)):
        raise FieldValueError(f"Must be at most {f.max:g}.", "at_most", n=f"{f.max:g}")
    if money:
        return value
    return int(value) if value == value.to_integral_value() else value


def coerce(f: Field, raw: Any, lang: str | None = None) -> Any:
    """Return the typed value, `None` for an empty answer, or raise FieldValueError. Money is read
    in the call language's spelling (`callguide.formatting.parse_money`): "1.234,50" in Danish and
    Czech, "1,234.50" in English, "1234.50" anywhere."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    t = f.type
    if t == "text":
        return str(raw).strip()
    if t in ("number", "money"):
        return _number(raw, f, money=(t == "money"), lang=lang)
    if t == "yesno":
        key = raw.strip().lower() if isinstance(raw, str) else raw
        if key in _YES:
            return True
        if key in _NO:
            return False
        raise FieldValueError("Answer yes or no.", "yes_or_no")
    if t == "date":
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise FieldValueError("Enter a date as YYYY-MM-DD.", "enter_date") from None
    if t == "choice":
        allowed = [c.value for c in f.choices]
        if str(raw) not in allowed:
            raise FieldValueError("Choose one of: " + ", ".join(allowed) + ".", "choose_one_of", choices=allowed)
        return str(raw)
    raise FieldValueError(f"Unknown field type {t!r}.", "unknown_type", type=t)


def to_json(value: Any) -> Any:
    """How a typed value is written to the journal."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def from_json(f: Field, value: Any) -> Any:
    """Inverse of `to_json` for replay."""
    return coerce(f, value) if value is not None else None  # journal values are plain (1234.50)
