"""The account's protections register, end to end: derived from the journal, loaded at the start of
every later call, enforced by the gate, closed only the way docs/engine.md says."""

from __future__ import annotations

import datetime as dt

import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.commands import Action, Answer, Consent, EndCall, Interrupt, Next, Withdraw
from callguide.engine.localtime import ContactRules
from callguide.engine.reviews import ReviewError, record_review
from callguide.engine.session import Account, CallSession
from callguide.identity import Person
from tests.engine.conftest import of_type

MONDAY = "2026-11-23T10:00:00+00:00"
CARE = Person("bo", "Bo Nielsen", frozenset({"care_team"}))
SUPERVISOR = Person("sv", "Sam Visor", frozenset({"supervisor"}))


@pytest.fixture
def clock():
    return FixedClock(MONDAY, step_seconds=1)


def later(start, clock, days=1, **kw):
    clock.advance(days=days)
    return start(**kw)


def test_a_consent_given_on_one_call_is_in_force_later_and_withdrawn_on_a_third(start, clock, store):
    first = start()
    first.apply(Next())
    first.apply(Interrupt("disclose"))
    first.apply(Consent("given"))
    first.apply(EndCall("referred"))
    second = later(start, clock)
    assert [c.purpose for c in second.consents_in_force()] == ["health_disclosure"]
    assert second.consents_in_force()[0].this_call is False
    second.apply(EndCall("referred"))
    third = later(start, clock)
    assert third.apply(Withdraw("health_disclosure")).ok
    w = of_type(third, "consent_withdrawn")[0]["data"]
    assert w["given_on_call"] == first.call_id and w["input"] == {"cmd": "withdraw", "purpose": "health_disclosure"}
    assert third.consents_in_force() == []
    third.apply(Interrupt("disclose"))
    assert third.top.step_id == "consent"  # asked again; nothing special may be captured before
    assert not third.apply(Withdraw("health_disclosure")).ok  # nothing left to withdraw


def test_a_dispute_pauses_collection_on_later_calls_until_the_evidence_is_reviewed(start, clock, store):
    s = start()
    assert not s.apply(Action("record_dispute", {})).ok  # a dispute needs its reason
    assert s.apply(Action("record_dispute", {"reason": "Says it was paid in 2024"})).ok
    assert s.state.dispute and not s.apply(Next()).rerouted  # hello is not a collection step
    s.apply(EndCall("disputed"))
    nxt = later(start, clock)
    assert nxt.state.dispute
    res = nxt.apply(Interrupt("pay"))
    assert res.rule == "dispute"
    nxt.apply(EndCall("disputed"))
    with pytest.raises(ReviewError, match="care team or supervisor"):
        record_review(store, "dispute", "A1", "debt_confirmed", Person("anna"), now=clock.now())
    record_review(store, "dispute", "A1", "upheld", SUPERVISOR, now=clock.now())
    assert later(start, clock).state.dispute  # upheld: stays paused
    record_review(store, "dispute", "A1", "debt_confirmed", SUPERVISOR, note="Bank statement checked",
                  now=clock.now())
    assert not later(start, clock).state.dispute


def test_a_crisis_lasts_until_its_review_date_or_a_review(start, clock, store):
    s = start()
    s.apply(Interrupt("crisis"))
    crisis = of_type(s, "crisis")[0]["data"]
    assert crisis["review_date"] == "2026-12-23"
    s.apply(EndCall("crisis"))
    assert later(start, clock).state.crisis
    with pytest.raises(ReviewError, match="care team"):
        record_review(store, "crisis", "A1", "resolved", SUPERVISOR, now=clock.now())
    record_review(store, "crisis", "A1", "continue", CARE, review_in_days=60, now=clock.now())
    assert later(start, clock, days=40).state.crisis  # past the first review date, within the new one
    record_review(store, "crisis", "A1", "resolved", CARE, now=clock.now())
    assert not later(start, clock).state.crisis


def test_ending_a_hold_early_needs_a_reason_and_says_who(start):
    s = start()
    s.apply(Next())
    s.apply(Answer({"income": "100", "spend": "400"}))
    s.apply(Next())
    s.apply(Next())  # hold-it: a 30-day hold
    assert s.state.hold_active
    res = s.apply(Action("end_hold", {"reason": "  "}))
    assert not res.ok and res.rule == "reason-needed"
    assert s.apply(Action("end_hold", {"reason": "Debt adviser says the customer is back in work"})).ok
    ended = of_type(s, "hold_ended")[0]["data"]
    assert ended["by"] == "agent-7" and ended["reason"].startswith("Debt adviser")
    assert not s.state.hold_active
    assert s.apply(Action("end_hold", {"reason": "again"})).rule == "no-hold"


def test_a_call_outside_the_contact_hours_refuses_collection_until_an_allowed_reason(lib, store):
    rules = ContactRules.load()
    clock = FixedClock("2026-11-23T21:30:00+00:00", step_seconds=1)  # 22:30 in Prague
    s = CallSession.start(lib, store, Account("CZ-1", "Jana", "CZ", "cs", "1000"), "agent-7", start_flow="main",
                          clock=clock, auto_wrap_up=False, contact_rules=rules)
    contact = of_type(s, "contact_time")[0]["data"]
    assert (contact["local_time"], contact["window"], contact["allowed"]) == ("22:30", "06:00-22:00", False)
    assert s.view().notices[0].code == "contact-hours"
    assert s.apply(Interrupt("pay")).rule == "contact-hours"
    assert s.apply(Action("record_contact_reason", {"reason": "because"})).rule == "bad-reason"
    assert s.apply(Action("record_contact_reason", {"reason": "customer_request"})).ok
    assert not s.state.collection_blocked and s.view().notices[0].code == "contact-reason"
    day = CallSession.start(lib, store, Account("CZ-2", "Jana", "CZ", "cs", "1000"), "agent-7", start_flow="main",
                            clock=FixedClock("2026-11-23T12:00:00+00:00"), auto_wrap_up=False, contact_rules=rules)
    assert not of_type(day, "contact_time") and not day.state.out_of_hours
    own_zone = CallSession.start(lib, store, Account("CZ-3", "Jana", "CZ", "cs", "1000", timezone="Europe/London"),
                                 "agent-7", start_flow="main", clock=FixedClock("2026-11-23T21:30:00+00:00"),
                                 auto_wrap_up=False, contact_rules=rules)
    assert own_zone.facts.now().strftime("%H:%M") == "21:30" and not own_zone.state.out_of_hours  # its own zone


def test_the_register_is_shown_and_loaded_from_the_journal_only(start, clock, store):
    s = start()
    s.apply(Action("record_dispute", {"reason": "Wrong amount"}))
    s.apply(Interrupt("doubt"))
    s.apply(Next("remains"))
    s.apply(Next())
    s.apply(EndCall("referred"))
    st = store.account_state("A1", clock.now().date())
    assert st.capacity_doubt_open and st.dispute_open and st.payment_blocked and st.collection_paused
    nxt = later(start, clock)
    codes = [n.code for n in nxt.view().notices]
    assert codes == ["capacity-doubt", "dispute"]
    assert "capacity_doubts" in nxt.records[0]["data"]["history"]  # what the agent was shown is kept


def test_the_wrap_up_outcomes_say_which_are_allowed(start):
    s = start()
    outcomes = {o.code: o for o in s.view().outcomes}
    assert not outcomes["arrangement_agreed"].enabled and outcomes["arrangement_agreed"].rule == "outcome-unsupported"
    s.apply(Interrupt("doubt"))
    s.apply(Next("remains"))
    s.apply(Next())
    outcomes = {o.code: o for o in s.view().outcomes}
    assert outcomes["arrangement_agreed"].rule == "capacity-doubt" and outcomes["on_hold"].enabled


def test_local_time_is_in_templates_and_the_time_jumps_with_the_clock(start, clock):
    s = start()
    ns = s.namespace()
    assert ns["today"] == dt.date(2026, 11, 23) and ns["local_time"] == "10:00"
    clock.advance(hours=5)
    assert s.namespace()["local_time"] == "15:00"


def test_a_review_note_with_health_details_needs_their_consent_at_every_door(start, clock, store):
    """`record_review` itself applies the typed-text rule: a door that calls it without checking
    (a script, a future window) still cannot save health details the customer did not agree to."""
    s = start()
    assert s.apply(Action("record_dispute", {"reason": "Says it was paid in 2024"})).ok
    s.apply(EndCall("disputed"))
    before = store.count()
    with pytest.raises(ReviewError, match="no consent for health disclosure is in force on account A1"):
        record_review(store, "dispute", "A1", "upheld", SUPERVISOR, note="Customer has cancer and is on chemo",
                      now=clock.now())
    assert store.count() == before  # nothing written
    assert later(start, clock).state.dispute
    entry = record_review(store, "dispute", "A1", "upheld", SUPERVISOR, note="Statement checked", now=clock.now())
    assert entry.data["result"] == "upheld"
