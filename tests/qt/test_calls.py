"""Whole calls driven through the real window by clicks and keys, with the real engine,
the real flows and a real SQLite journal; each test asserts what the journal holds."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qt

OPENING = {"identity_check": "confirmed"}
BUDGET = {"income": "2000", "rent": "600", "energy": "120", "council_tax": "100", "other_priority": "0",
          "priority_arrears": False, "essentials": "500", "other_debts": "100"}


def open_to_affordability(d) -> None:
    """Hello, identity, purpose, recording notice, read-back, balance: into affordability."""
    d.begin()
    assert d.where == ("call-opening", "identity")
    d.fill("identity_check", "confirmed")
    d.next()
    assert d.where == ("call-opening", "purpose")
    d.next()
    d.next()  # recording
    assert d.where == ("call-opening", "readback")
    d.fill_all({"adjustments_on_file": False, "vulnerability_on_file": False})
    d.next()
    assert d.where == ("call-opening", "balance")
    d.next()
    assert d.where == ("call-opening", "handover")
    d.next()
    assert d.where == ("affordability", "intro")
    d.next()
    assert d.where == ("affordability", "situation")


def budget_to_offer(d, instalment="150") -> None:
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.fill("income", BUDGET["income"])
    d.next()
    d.fill_all({k: BUDGET[k] for k in ("rent", "energy", "council_tax", "other_priority", "priority_arrears")})
    d.next()
    assert d.where == ("affordability", "essentials"), (d.where, d.panel.notice.text(), d.panel._errors)
    d.fill("essentials", BUDGET["essentials"])
    d.next()
    d.fill("other_debts", BUDGET["other_debts"])
    d.next()
    assert d.where == ("affordability", "offer")
    d.fill("instalment", instalment)
    d.next()


def through_outcomes(d) -> None:
    """Each protocol ends on an outcome step the agent confirms with Next."""
    for _ in range(10):
        if d.view.kind != "outcome":
            return
        d.next()


def wrap_up(d, outcome_choice: str) -> None:
    """The wrap-up protocol, then the summary screen; confirm and close."""
    through_outcomes(d)
    assert d.where[0] == "wrap-up", d.where
    d.next()  # summary
    d.choose(outcome_choice)
    d.next()  # records the outcome
    d.choose("none")  # follow-up
    v = d.view
    if v.step_id == "survey-consent":
        d.consent("declined")
    assert d.where == ("wrap-up", "close")
    d.next()
    if d.view.step_id == "agent-check":
        d.choose("fine")
    through_outcomes(d)
    assert d.w.pages.currentWidget() is d.w.wrap_panel
    d.click(d.w.wrap_panel.confirm)
    d.click(d.w.wrap_panel.close_button)


def test_clean_call_with_an_arrangement(open_window):
    d = open_window()
    open_to_affordability(d)
    budget_to_offer(d)
    assert d.where == ("affordability", "sustainable")
    d.choose("agree")
    assert d.where == ("affordability", "arrange")
    d.next()
    assert d.where == ("payment-arrangement", "propose")
    assert [f for f, _ in d.view.breadcrumbs] == ["call-opening", "affordability", "payment-arrangement"]
    assert d.panel.crumbs.text() == " \u203a ".join(t for _, t in d.view.breadcrumbs)
    d.choose("go-ahead")
    d.fill_all({"arrangement_amount": "150", "payment_day": "15", "first_payment": "2030-01-15",
                "payment_method": "direct_debit"})
    d.next()
    d.choose("agreed")
    assert d.where == ("payment-arrangement", "record")
    d.next()
    wrap_up(d, "arrangement")
    assert d.session.ended
    arr = d.entries("arrangement")
    assert len(arr) == 1
    assert arr[0].data["fields"]["arrangement_amount"] == "150.00"
    assert arr[0].data["fields"]["payment_method"] == "direct_debit"
    ended = d.entries("call_ended")
    assert ended and ended[0].data["outcome"] == "arrangement_agreed"
    assert d.session.store.unfinished_calls() == []
