"""Rules checked at one door and not another (the review of the doors, after issue 8): each test
goes in through the door that let it through, on the real flows and a real journal file."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.commands import Action, EndCall, SetOutcome
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sqlite import SQLiteJournal
from tests.engine.test_gate import play

ROOT = Path(__file__).resolve().parents[2]
MONDAY = "2026-11-23T10:00:00+00:00"


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


@pytest.fixture
def clock():
    return FixedClock(MONDAY, step_seconds=1)


def call(lib, store, clock, start="call-opening", account_id="D-1"):
    return CallSession.start(lib, store, Account(account_id, "Oliver Smith", "UK", "en", "1200.00"), "agent-7",
                             start_flow=start, clock=clock, auto_wrap_up=False)


def ended_outcomes(store, account_id="D-1"):
    return [e.data.get("outcome") for e in store.account_entries(account_id) if e.type == "call_ended"]


# ---------------------------------------------------------------------------- the outcome at the end

def test_an_outcome_chosen_before_a_dispute_is_not_the_one_the_call_ends_with(lib, store, clock):
    """`EndCall()` with no code ends the call with the outcome chosen earlier: the gate must ask about
    that one, as it does about an outcome given with the command."""
    s = call(lib, store, clock, start="wrap-up")
    assert s.apply(SetOutcome("promise_to_pay")).ok  # allowed then
    assert s.apply(Action("record_dispute", {"reason": "Says it is not their debt"})).ok
    res = s.apply(EndCall())
    assert not res.ok and res.rule == "dispute"
    assert not s.ended and "promise_to_pay" not in ended_outcomes(store)
    assert s.apply(EndCall("disputed")).ok
    assert ended_outcomes(store) == ["disputed"]


def test_a_resumed_call_does_not_end_with_a_payment_outcome_after_a_hold_on_another_call(lib, store, clock):
    s = call(lib, store, clock, start="wrap-up")
    assert s.apply(SetOutcome("promise_to_pay")).ok
    call_id = s.call_id  # killed here
    clock.advance(minutes=5)
    other = call(lib, store, clock, start="wrap-up")
    assert other.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok
    other.apply(EndCall("on_hold"))
    clock.advance(minutes=5)
    resumed = CallSession.resume(lib, store, call_id, clock=clock)
    assert resumed.state.hold_active
    res = resumed.apply(EndCall())
    assert not res.ok and res.rule == "hold-active"
    assert "promise_to_pay" not in ended_outcomes(store)


# ---------------------------------------------------------------------------- resume after a withdrawal

def test_a_consent_withdrawn_on_another_call_is_not_in_force_on_a_resumed_call(lib, store, clock):
    """A resumed call adds the protections recorded since it started; a consent withdrawn since (on a
    later call, or from the command line) must end on it too: no special-category value stored."""
    first = call(lib, store, clock, start="texas")
    play(first, [{"next": None}, {"next": None}, {"consent": "given"}])
    first.apply(EndCall("referred"))
    clock.advance(hours=1)
    killed = call(lib, store, clock, start="texas")
    play(killed, [{"next": None}])
    assert killed.top.step_id == "consent-in-force"  # the consent from the first call stands; killed here
    clock.advance(minutes=5)
    third = call(lib, store, clock, start="wrap-up")
    assert third.withdraw_consent("health_disclosure").ok
    third.apply(EndCall("referred"))
    clock.advance(minutes=5)
    resumed = CallSession.resume(lib, store, killed.call_id, clock=clock)
    assert resumed.consents_in_force() == [] and not resumed.facts.consent_in_force("health_disclosure")
    resumed.apply({"cmd": "next", "choice": "consent-stands"})
    resumed.apply({"cmd": "answer", "values": {"category": "health", "impact": "Cannot read letters"}})
    assert not [e for e in store.call_entries(killed.call_id)
                if e.type == "answer" and e.data.get("sensitivity") == "special"]


# ---------------------------------------------------------------------------- hostile params from the bar or a script

@pytest.mark.parametrize("name,params", [
    ("start_hold", {"days": 99999999999, "reason": "Lost their job"}),
    ("schedule_callback", {"in_days": 10**30, "reason": "Asked for a call"}),
    ("start_hold", {"days": -3, "reason": "Lost their job"}),
    ("start_hold", {"days": 10**400, "reason": "Lost their job"}),
    ("start_hold", {"days": float("inf"), "reason": "Lost their job"}),
    ("schedule_callback", {"in_days": "99999999999", "reason": "Asked for a call"}),
])
def test_a_number_of_days_out_of_its_range_is_refused_in_one_line_and_the_call_still_resumes(
        lib, store, clock, name, params):
    s = call(lib, store, clock)
    res = s.apply(Action(name, params))
    assert not res.ok and res.rule == "bad-param" and "\n" not in res.reason
    assert not [e for e in store.call_entries(s.call_id) if e.type in ("global_action", "hold_started", "callback")]
    assert not s.state.hold_active
    resumed = CallSession.resume(lib, store, s.call_id, clock=clock)
    assert resumed.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok
