"""Money and dates in the call's language; amounts typed by a person (callguide/formatting.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from callguide.formatting import MoneyError, format_date, format_money, parse_money


def _plain(s: str) -> str:
    return s.replace("\u00a0", " ").replace("\u202f", " ")


def test_money_and_dates_read_aloud_in_each_language():
    assert _plain(format_money(Decimal("1234.50"), "DKK", "da")) == "1.234,50 kr."
    assert _plain(format_money(Decimal("25000"), "CZK", "cs")) == "25 000,00 Kč"
    assert format_money(Decimal("1234.5"), "GBP", "en") == "£1,234.50"
    assert format_money(None, "GBP", "en") == ""
    assert format_date(dt.date(2026, 12, 25), "da") == "25. december 2026"
    assert format_date("2026-12-25", "cs") == "25. prosince 2026"
    assert format_date(dt.date(2026, 12, 25), "en") == "25 December 2026"


@pytest.mark.parametrize("text, lang, value", [
    ("12,50", "da", "12.50"), ("1.234,50", "da", "1234.50"), ("12,50", "cs", "12.50"),
    ("12.50", "da", "12.50"), ("1,234.50", "en", "1234.50"), ("100", "en", "100.00"), (" 7 ", None, "7.00"),
])
def test_amounts_typed_per_locale(text, lang, value):
    assert parse_money(text, lang) == Decimal(value)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999999", "{{7*7}}", "", "12,505", "abc",
                                  "9" * 30, "1E5"])
def test_not_an_amount_is_one_line(text):
    with pytest.raises(MoneyError) as e:
        parse_money(text, "da")
    assert "\n" not in str(e.value)
