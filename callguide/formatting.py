"""Money, dates and times in the call's language, and money typed by a person (Babel).

One place for the words an agent reads aloud ("1.234,50 kr.", "25. december 2026",
"1 234,50 Kč") and for reading an amount back ("12,50" in Danish and Czech, "12.50" anywhere).
The engine's templates, the CLI and the window all use these functions, so a screen never
shows an amount spelled differently from the script. Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from babel import dates as _dates
from babel import numbers as _numbers

#: The Babel locale for each call language.
LOCALES: dict[str, str] = {"en": "en_GB", "da": "da_DK", "cs": "cs_CZ"}
#: Largest amount CallGuide accepts anywhere (a balance, an instalment, an income).
MAX_AMOUNT = Decimal("1000000000000")
_PLAIN = re.compile(r"^[+-]?\d{1,13}(\.\d{1,2})?$")


class MoneyError(ValueError):
    """An amount that cannot be read (one plain line, safe to show)."""

    def __init__(self, message: str, code: str = "money", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def locale_for(lang: str | None) -> str:
    return LOCALES.get(lang or "en", "en_GB")


def format_money(amount: Decimal | int | float | str | None, currency: str | None, lang: str | None) -> str:
    """`1234.5, "DKK", "da"` -> "1.234,50 kr."; an unknown amount -> "" (never "0.00")."""
    if amount is None or amount == "":
        return ""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if not value.is_finite():
        return ""
    if not currency:
        return _numbers.format_decimal(value, format="#,##0.00", locale=locale_for(lang))
    return _numbers.format_currency(value, currency, locale=locale_for(lang))


def format_number(value: Decimal | int | float, lang: str | None) -> str:
    return _numbers.format_decimal(value, locale=locale_for(lang))


def format_date(value: dt.date | dt.datetime | str | None, lang: str | None, fmt: str = "long") -> str:
    """`2026-12-25` -> "25 December 2026" / "25. december 2026" / "25. prosince 2026"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.date()
    return _dates.format_date(value, format=fmt, locale=locale_for(lang))


def format_time(value: dt.datetime | dt.time, lang: str | None, fmt: str = "short") -> str:
    return _dates.format_time(value, format=fmt, locale=locale_for(lang))


def format_datetime(value: dt.datetime, lang: str | None, fmt: str = "medium") -> str:
    return _dates.format_datetime(value, format=fmt, locale=locale_for(lang))


def parse_money(text: str | int | Decimal, lang: str | None = None) -> Decimal:
    """Read an amount a person typed, in the call language's spelling or plain `1234.50`.

    Refuses (MoneyError, one line) anything that is not a finite amount with at most two
    decimals and at most `MAX_AMOUNT`: "NaN", "Infinity", "1e999999", "{{7*7}}", "12,505".
    """
    if isinstance(text, bool):
        raise MoneyError(f"{text!r} is not an amount.", "not_money", value=str(text))
    if isinstance(text, int):
        text = str(text)
    if isinstance(text, Decimal):
        value = text
    else:
        raw = str(text).strip().replace("\u00a0", " ").replace("\u202f", " ")
        if not raw or len(raw) > 40:
            raise MoneyError(f"{str(text)[:40]!r} is not an amount.", "not_money", value=str(text)[:40])
        if _PLAIN.match(raw):
            value = Decimal(raw)
        else:
            try:
                value = _numbers.parse_decimal(raw, locale=locale_for(lang), strict=True)
            except (_numbers.NumberFormatError, InvalidOperation, ValueError):
                example = format_money(Decimal("1234.50"), None, lang)
                raise MoneyError(f"{raw!r} is not an amount (write it like {example}).", "not_money",
                                 value=raw, example=example) from None
    if not value.is_finite() or "e" in str(text).lower():
        raise MoneyError(f"{str(text)[:40]!r} is not an amount.", "not_money", value=str(text)[:40])
    if abs(value) > MAX_AMOUNT:
        raise MoneyError(f"{str(text)[:40]!r} is larger than any amount CallGuide accepts.", "too_large",
                         value=str(text)[:40])
    if value != value.quantize(Decimal("0.01")):
        raise MoneyError(f"{str(text)[:40]!r} has more than two decimals.", "decimals", value=str(text)[:40])
    return value.quantize(Decimal("0.01"))
