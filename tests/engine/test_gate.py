"""The failures of issue 8, each at the door where it got through, on the real flows and a real
journal file. Written with the engine calls that existed before the gate (start, next, answer,
interrupt, action, end_call, account_state), so the same file shows them failing on the old code."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.script import apply_event
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parents[2]
MONDAY = "2026-11-23T10:00:00+00:00"

OPENING = [{"answer": {"identity_check": "confirmed"}}, {"next": None}, {"next": None}, {"next": None},
           {"answer": {"adjustments_on_file": False, "vulnerability_on_file": False}}, {"next": None}]
BUDGET = [{"next": None}, {"next": None},  # balance -> the budget; intro
          {"answer": {"employment": "employed", "finance_difficulty": False}}, {"next": None},
          {"answer": {"income": "1800"}}, {"next": None},
          {"answer": {"rent": "700", "energy": "150", "council_tax": "120", "other_priority": "0",
                      "priority_arrears": False}}, {"next": None},
          {"answer": {"essentials": "500"}}, {"next": None},
          {"answer": {"other_debts": "100"}}, {"next": None},
          {"answer": {"instalment": "100"}}, {"next": None}]
TERMS = {"arrangement_amount": "100", "payment_day": 1, "first_payment": "2026-12-01", "payment_method": "card"}


@pytest.fixture(scope="module")
def lib():
    library, diags = load_library([ROOT / "flows"])
    assert not [d for d in diags if d.severity == "error"]
    return library


@pytest.fixture
def store(tmp_path):
    s = SQLiteJournal.open(tmp_path / "journal.db")
    yield s
    s.close()


def call(lib, store, clock, account_id="G-1", start="call-opening", balance="1200.00"):
    return CallSession.start(lib, store, Account(account_id, "Oliver Smith", "UK", "en", balance), "agent-7",
                             start_flow=start, clock=clock, auto_wrap_up=False)


def play(s, events):
    for i, ev in enumerate(events):
        apply_event(s, ev, i)
        top = s.top
        if top is not None and top.step.kind == "action" and top.step.say is None and \
                [a.name for a in top.step.actions] == ["start_protocol"]:
            s.next()  # the old engine showed a hand-over as a step of its own; the gate runs it by itself


def to_terms(s):
    """Through the opening and a sustainable budget, onto the arrangement's terms."""
    play(s, OPENING + BUDGET)
    assert (s.top.flow.id, s.top.step_id) == ("affordability", "sustainable")
    play(s, [{"next": "agree"}, {"next": "go-ahead"}])
    assert (s.top.flow.id, s.top.step_id) == ("payment-arrangement", "terms")


def bruce_doubt_remains(s):
    play(s, [{"interrupt": "bruce"}, {"next": None}])
    for name in ("behaviour", "remembering", "understanding", "communicating", "evaluating"):
        play(s, [{"answer": {f"concern_{name}": True}}, {"next": None}])
    play(s, [{"next": None}, {"next": "doubt-remains"}, {"next": None}, {"next": None}, {"next": "no-third-party"},
             {"next": None}])


def shown(s, after_type, after_match=lambda r: True):
    recs = s.records
    i = next(i for i, r in enumerate(recs) if r["type"] == after_type and after_match(r))
    return [(r["flow"], r["step"]) for r in recs[i:] if r["type"] == "step_shown"]


# ---------------------------------------------------------------------------- failure 1

def test_1_a_capacity_doubt_survives_the_call_and_a_hold_ending(lib, store):
    clock = FixedClock(MONDAY, step_seconds=1)
    first = call(lib, store, clock)
    play(first, OPENING + [{"next": None}, {"next": None}])
    bruce_doubt_remains(first)
    first.end_call("referred")
    clock.advance(days=2)
    second = call(lib, store, clock)
    assert second.history.capacity_flags  # loaded at the start of the call
    play(second, [{"action": "end_hold", "params": {"reason": "Customer back in work"}}])
    play(second, OPENING + BUDGET + [{"next": "agree"}, {"next": "go-ahead"},
                                     {"answer": TERMS}, {"next": None}, {"next": "agreed"}, {"next": None}])
    assert not [r for r in second.records if r["type"] == "arrangement"]
    assert ("affordability", "offer") not in [(r["flow"], r["step"]) for r in second.records
                                              if r["type"] == "step_shown"]
    assert second.state.capacity_doubt


def test_1_only_a_specialist_review_closes_the_doubt(lib, store):
    from callguide.engine.reviews import ReviewError, record_review
    from callguide.identity import Person

    clock = FixedClock(MONDAY, step_seconds=1)
    s = call(lib, store, clock)
    play(s, OPENING + [{"next": None}, {"next": None}])
    bruce_doubt_remains(s)
    s.end_call("referred")
    clock.advance(days=1)
    later = call(lib, store, clock)
    assert not later.action("clear_capacity_doubt", reason="seems fine").ok  # an agent cannot
    later.end_call("referred")
    today = clock.now().date()
    assert store.account_state("G-1", today).capacity_doubts
    agent = Person("anna", "Anna", frozenset({"agent"}))
    with pytest.raises(ReviewError, match="care team"):
        record_review(store, "capacity", "G-1", "confirmed", agent, now=clock.now())
    bo = Person("bo", "Bo Nielsen", frozenset({"care_team"}))
    record_review(store, "capacity", "G-1", "confirmed", bo, note="Assessed with daughter present", now=clock.now())
    st = store.account_state("G-1", today)
    assert not st.capacity_doubts
    assert (st.capacity_reviews[-1]["by"], st.capacity_reviews[-1]["role"]) == ("bo", "care_team")


# ---------------------------------------------------------------------------- failure 2

def test_2_returning_from_blake_does_not_go_back_into_the_payment_terms(lib, store):
    s = call(lib, store, FixedClock(MONDAY, step_seconds=1))
    to_terms(s)
    play(s, [{"interrupt": "blake"}, {"next": None}, {"next": None}, {"next": "no-immediate-danger"},
             {"next": None}, {"next": None}, {"next": None}, {"next": None}, {"next": None}])
    after = shown(s, "protocol_ended", lambda r: r["data"]["protocol"] == "blake")
    assert ("payment-arrangement", "terms") not in after
    assert not s.answer(TERMS).ok
    assert not [r for r in s.records if r["type"] == "answer" and r["data"]["field"] == "arrangement_amount"]
    play(s, [{"next": None}, {"next": "agreed"}, {"next": None}])
    assert not [r for r in s.records if r["type"] == "arrangement"]


# ---------------------------------------------------------------------------- failure 3

def test_3_a_collection_outcome_is_refused_on_an_account_on_hold(lib, store):
    clock = FixedClock(MONDAY, step_seconds=1)
    first = call(lib, store, clock, start="hold")
    play(first, [{"next": None}, {"answer": {"hold_reason": "unemployed"}}, {"next": None}, {"next": "standard"},
                 {"next": None}])
    first.end_call("on_hold")
    clock.advance(days=1)
    s = call(lib, store, clock, start="wrap-up")
    assert s.state.hold_active
    s.end_call("arrangement_agreed")
    assert store.account_state("G-1", clock.now().date()).last_outcome["code"] != "arrangement_agreed"
    assert not s.ended


def test_3_after_blake_the_agreed_outcome_is_refused(lib, store):
    s = call(lib, store, FixedClock(MONDAY, step_seconds=1), start="wrap-up")
    play(s, [{"interrupt": "blake"}, {"next": None}, {"next": None}, {"next": "no-immediate-danger"},
             {"next": None}, {"next": None}, {"next": None}, {"next": None}, {"next": None}])
    s.action("set_outcome", code="arrangement_agreed")
    s.end_call("arrangement_agreed")
    assert not [r for r in s.records if r["type"] in ("outcome", "call_ended")
                and "arrangement_agreed" in (r["data"].get("code"), r["data"].get("outcome"))]


# ---------------------------------------------------------------------------- failure 4

def test_4_after_bruce_the_budget_never_asks_what_the_customer_could_pay(lib, store):
    s = call(lib, store, FixedClock(MONDAY, step_seconds=1))
    play(s, OPENING + BUDGET[:6])  # on the income step
    bruce_doubt_remains(s)
    assert ("affordability", "offer") not in shown(s, "protocol_ended", lambda r: r["data"]["protocol"] == "bruce")
    play(s, BUDGET[6:])
    steps = [(r["flow"], r["step"]) for r in s.records if r["type"] == "step_shown"]
    assert ("affordability", "offer") not in steps and ("affordability", "sustainable") not in steps
    assert not [r for r in s.records if r["type"] == "answer" and r["data"]["field"] == "instalment"]


def test_4_after_blake_the_budget_is_not_resumed(lib, store):
    s = call(lib, store, FixedClock(MONDAY, step_seconds=1))
    play(s, OPENING + BUDGET[:4])  # on the situation step
    play(s, [{"interrupt": "blake"}, {"next": None}, {"next": None}, {"next": "no-immediate-danger"},
             {"next": None}, {"next": None}, {"next": None}, {"next": None}, {"next": None}])
    after = shown(s, "protocol_ended", lambda r: r["data"]["protocol"] == "blake")
    assert not [x for x in after if x[0] == "affordability" and x[1] not in ("not-today",)]


# ---------------------------------------------------------------------------- failure 5

def test_5_payment_straight_after_the_identity_check_is_refused(lib, store):
    s = call(lib, store, FixedClock(MONDAY, step_seconds=1), balance="100.00")
    play(s, [{"answer": {"identity_check": "confirmed"}}, {"next": None}])
    play(s, [{"interrupt": "payment-arrangement"}, {"next": "go-ahead"},
             {"answer": {**TERMS, "arrangement_amount": "5000"}}, {"next": None}, {"next": "agreed"},
             {"next": None}])
    play(s, [{"action": "start_protocol", "params": {"flow": "payment-arrangement"}}, {"next": "go-ahead"},
             {"answer": {**TERMS, "arrangement_amount": "5000"}}, {"next": None}, {"next": "agreed"},
             {"next": None}])
    assert not [r for r in s.records if r["type"] == "arrangement"]
    assert not [r for r in s.records if r["type"] == "step_shown" and r["flow"] == "payment-arrangement"]


def test_5_more_than_the_balance_is_not_accepted(lib, store):
    s = call(lib, store, FixedClock(MONDAY, step_seconds=1), balance="100.00")
    to_terms(s)
    play(s, [{"answer": {**TERMS, "arrangement_amount": "150"}}, {"next": None}])  # within the budget's 230.00
    assert s.top.step_id != "confirm"
