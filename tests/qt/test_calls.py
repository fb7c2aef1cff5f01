"""Whole calls driven through the real window by clicks and keys, with the real engine,
the real flows and a real SQLite journal; each test asserts what the journal holds."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

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
    d.next()  # the hand-over to the budget runs by itself: no screen of its own
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
    d.choose("agree")  # the hand-over to the arrangement runs by itself
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


def texas_until_consent(d) -> None:
    d.press(Qt.Key.Key_F2)  # disclosure quick-start, by its hotkey
    assert d.where == ("texas", "thank")
    d.next()
    d.next()  # explain
    assert d.where == ("texas", "consent")
    assert d.panel._consent_buttons  # the wording to read, then Given / Declined
    assert d.view.consent_wording in d.panel.body.findChild(QLabel, "consentText").text()


def texas_finish(d) -> None:
    assert d.where == ("texas", "route")
    d.choose("signpost")
    d.choose("none")
    assert d.view.kind == "outcome"
    d.next()


def test_disclosure_with_consent(open_window):
    d = open_window()
    open_to_affordability(d)
    texas_until_consent(d)
    d.consent("given")
    assert d.where == ("texas", "ask")
    assert all(f.enabled for f in d.view.fields if f.sensitivity == "special")
    d.fill_all({"category": "health", "impact": "Hospital treatment, tired in the mornings"})
    d.next()
    assert d.where == ("texas", "ask-adjustments")
    d.fill("adjustments_wanted", True)
    assert "contact_format" in d.panel._rows  # shown once the answer asks for it
    d.fill("contact_format", "large_print")
    d.next()
    assert d.where == ("texas", "record-vulnerability")
    d.next()
    assert d.where == ("texas", "record-adjustment")
    d.next()
    texas_finish(d)
    assert d.where == ("affordability", "situation")  # resumed exactly where it was
    consent = d.entries("consent")
    assert [c.data["decision"] for c in consent] == ["given"]
    assert consent[0].data["wording_hash"]
    vul = d.entries("vulnerability")
    assert len(vul) == 1 and vul[0].data["fields"]["category"] == "health"
    assert "Hospital treatment" in vul[0].data["fields"]["impact"]
    adj = d.entries("adjustment")
    assert adj and adj[0].data["fields"]["contact_format"] == "large_print"


SECRET = "chemotherapy-on-tuesdays"


def test_disclosure_without_consent_stores_no_detail(open_window, db_path):
    d = open_window()
    open_to_affordability(d)
    texas_until_consent(d)
    d.consent("declined")
    seen_special = []
    for _ in range(8):
        for f in d.view.fields:
            if f.sensitivity == "special":
                seen_special.append(f)
                row = d.panel._rows.get(f.id)
                if row is not None and row.edit is not None and row.edit.isEnabled():
                    d.fill(f.id, SECRET)  # would be a leak: the test below then fails
        if d.where == ("texas", "route"):
            break
        if d.view.step_id == "ask-adjustments":
            d.fill("adjustments_wanted", False)
        d.next()
    assert all(not f.enabled for f in seen_special)
    # IDEA needs the consent: the answer is there, disabled, with its reason on screen
    assert not d.choice_button("idea").isEnabled()
    texas_finish(d)
    assert d.where == ("affordability", "situation")
    assert [c.data["decision"] for c in d.entries("consent")] == ["declined"]
    assert d.entries("disclosure") and not d.entries("vulnerability")
    assert not [e for e in d.entries() if e.data.get("sensitivity") == "special"]
    d.session.store.close()
    for path in db_path.parent.glob(db_path.name + "*"):
        assert SECRET.encode() not in path.read_bytes(), path


def test_bruce_doubt_blocks_payment(open_window):
    d = open_window()
    open_to_affordability(d)
    budget_to_offer(d)
    assert d.where == ("affordability", "sustainable")
    assert d.choice_button("agree").isEnabled()
    d.press(Qt.Key.Key_F3)
    assert d.where == ("bruce", "assume")
    d.next()
    for step in ("behaviour", "remembering", "understanding", "communicating", "evaluating"):
        assert d.where == ("bruce", step)
        d.fill(f"concern_{step}", True)
        d.next()
    assert d.where == ("bruce", "supports")
    d.next()
    d.choose("doubt-remains")
    d.next()  # flag the doubt, stop collection, hold, refer
    d.next()  # evidence
    d.choose("no-third-party")
    d.next()  # BRUCE outcome: the question about paying is not shown again
    assert d.where == ("affordability", "not-today")
    assert "ability to decide" in d.view.guidance
    blocked = d.entries("blocked")[-1].data
    assert (blocked["rule"], blocked["rerouted"]) == ("capacity-doubt", "affordability/not-today")
    assert d.w.state_chip.isVisible() and d.w.state_chip.text()
    assert d.entries("capacity_doubt")
    assert not d.entries("arrangement")


def test_blake_from_the_middle_of_affordability(open_window):
    d = open_window()
    open_to_affordability(d)
    d.fill_all({"employment": "unemployed", "finance_difficulty": True})
    d.next()
    assert d.where == ("affordability", "income")
    d.press(Qt.Key.Key_F5)
    assert d.where == ("blake", "breathe")
    assert [f for f, _ in d.view.breadcrumbs] == ["call-opening", "affordability", "blake"]
    assert "999" in d.w.call_bar.escalation_cells["emergency"].button.text()
    d.next()
    d.next()  # listen
    d.choose("immediate-danger")
    d.fill_all({"crisis_location": "At home, 1 High Street", "callback_number": "07700 900123"})
    d.next()
    assert d.where == ("blake", "escalate")
    d.next()  # emergency + supervisor
    d.next()  # stay on the line
    d.next()  # end
    assert d.where == ("blake", "protect")
    d.next()
    d.next()  # BLAKE done: the budget is not resumed during a crisis
    assert d.where == ("affordability", "not-today")
    assert "999" in [e.data.get("number") for e in d.entries("escalation")]
    assert d.entries("hold_started")
    interrupt = d.entries("interrupt")[0].data
    assert (interrupt["protocol"], interrupt["from_step"]) == ("blake", "income")
    assert d.session.state.crisis and d.w.state_chip.isVisible()
