"""An action that raises an unexpected error after its entries were emitted in the same operation: the
journal keeps whole commands only (`journal._Operation`), so a resume of that call gives the state
before the command instead of replaying half of it and crashing again. The failing action is a real
executor registered in the real action registry (`engine.actions.EXECUTORS`), on the real flows and a
real SQLite journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguide.engine.actions import EXECUTORS
from callguide.engine.clock import FixedClock
from callguide.engine.commands import Action, EngineError
from callguide.engine.localtime import ContactRules
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store import entry_types as et

ROOT = Path(__file__).resolve().parents[2]
ANY_TIME = ContactRules.load(ROOT / "tests" / "contact_rules_any_time.yaml")


class Boom(RuntimeError):
    pass


def _hold_then_fail(ctx, a):
    """Changes the protections and journals them, then fails on a path nobody expected."""
    ctx.start_hold("2026-12-23")
    ctx.emit(et.HOLD_STARTED, {"days": 30, "until": "2026-12-23", "reason": "test"})
    raise Boom("unexpected")


@pytest.fixture(scope="module")
def lib():
    library, diags = load_library([ROOT / "flows"])
    assert not [d for d in diags if d.severity == "error"], diags
    return library


def test_an_action_that_fails_after_its_entry_leaves_no_half_command_and_the_call_resumes(lib, store,
                                                                                         monkeypatch):
    monkeypatch.setitem(EXECUTORS, "test_hold_then_fail", _hold_then_fail)
    s = CallSession.start(lib, store, Account("X-1", "Jo Bloggs", "UK", "en", "100"), "agent-7",
                          start_flow="call-opening", clock=FixedClock("2026-11-23T10:00:00+00:00", step_seconds=1),
                          contact_rules=ANY_TIME, auto_wrap_up=False)
    heard: list[str] = []
    unsubscribe = s.subscribe(lambda event, payload: heard.append(event))  # (the window's bridge listens so)
    before = [e.type for e in store.call_entries(s.call_id)]
    where = (s.top.flow.id, s.top.step_id)
    with pytest.raises(EngineError) as err:
        s.apply(Action("test_hold_then_fail", {}))
    assert str(err.value) == ("test_hold_then_fail stopped on an internal error (Boom: unexpected); nothing of it "
                              "was recorded: the call is as it was before it.")
    # the journal holds nothing of the failed command, and the call's memory neither (before: the hold
    # stayed on in the running call until it was resumed)
    assert [e.type for e in store.call_entries(s.call_id)] == before + ["call_resumed"]
    assert not s.state.hold_active and s.state.hold_until is None
    assert (s.top.flow.id, s.top.step_id) == where and s.unsaved == 0
    assert "changed" in heard  # the same listeners hear the rebuilt call (the window refreshes)
    heard.clear()
    assert s.apply(Action("schedule_callback", {"in_days": 2, "reason": "Customer asked"})).ok  # the call goes on
    assert "entries_written" in heard
    after = [e.type for e in store.call_entries(s.call_id)]
    assert after[len(before):] == ["call_resumed", "global_action", "callback"]
    unsubscribe()  # what was handed out before the rebuild still works (a closed window hears nothing)
    heard.clear()
    assert s.apply(Action("schedule_callback", {"in_days": 3, "reason": "Customer asked"})).ok
    assert heard == []

    r = CallSession.resume(lib, store, s.call_id, clock=FixedClock("2026-11-23T10:30:00+00:00"))
    assert not r.state.hold_active and r.state.hold_until is None  # the state before the failed command
    assert (r.top.flow.id, r.top.step_id) == where
    assert [e.type for e in store.call_entries(s.call_id)].count(et.HOLD_STARTED) == 0
    assert store.verify().ok


def test_a_call_that_cannot_be_rebuilt_after_an_internal_error_refuses_every_later_command(lib, tmp_path,
                                                                                          monkeypatch):
    """The failing action also takes the journal away (closed under it): the call cannot be rebuilt,
    so it says so in one line and refuses every later command instead of going on from a memory
    that is ahead of its journal."""
    from callguide.store.sqlite import SQLiteJournal

    store = SQLiteJournal.open(tmp_path / "j.db")

    def _close_then_fail(ctx, a):
        ctx.start_hold("2026-12-23")
        store.close()
        raise Boom("unexpected")

    monkeypatch.setitem(EXECUTORS, "test_close_then_fail", _close_then_fail)
    s = CallSession.start(lib, store, Account("X-2", "Jo Bloggs", "UK", "en", "100"), "agent-7",
                          start_flow="call-opening", clock=FixedClock("2026-11-23T10:00:00+00:00", step_seconds=1),
                          contact_rules=ANY_TIME, auto_wrap_up=False)
    call_id = s.call_id
    with pytest.raises(EngineError, match=r"^test_close_then_fail stopped on an internal error \(Boom: unexpected\); "
                                          r"nothing of it was recorded, and the call could not be rebuilt"):
        s.apply(Action("test_close_then_fail", {}))
    with pytest.raises(EngineError, match="could not be rebuilt from its journal"):
        s.apply(Action("schedule_callback", {"in_days": 2, "reason": "Customer asked"}))
    again = SQLiteJournal.open(tmp_path / "j.db")
    r = CallSession.resume(lib, again, call_id, clock=FixedClock("2026-11-23T10:30:00+00:00"))
    assert not r.state.hold_active  # the journal is whole: a later resume gives the state before
    assert again.verify().ok
    again.close()


def test_a_next_held_for_its_step_shown_is_dropped_with_the_operation_that_failed(store):
    """A plain Next's `step_committed` waits for the `step_shown` that follows (one entry); when the
    operation fails in between, it goes with the rest of the operation, never into the next one."""
    from callguide.engine.journal import JournalWriter

    w = JournalWriter(store, "call-1", "X-3", "agent-7", FixedClock("2026-11-23T10:00:00+00:00"))
    with pytest.raises(Boom), w.operation("next"):
        w.emit(et.STEP_COMMITTED, {"choice": None}, "call-opening", "h" * 64, "identity",
               input={"cmd": "next", "choice": None})
        raise Boom("between the commit and the next step")
    assert w.unsaved == 0 and w.aborted
    with w.operation("note"):
        w.emit(et.NOTE, {"text": "later"})
    assert [e.type for e in store.call_entries("call-1")] == [et.NOTE]


def test_aborted_says_only_what_became_of_the_latest_operation(store):
    """A command refused on purpose part-way (an EngineError) marks its operation aborted; the next
    operation starts clean, so a failed *write* after it (a locked journal: entries kept pending for
    Ctrl+R) is never taken for an internal error that rebuilds or stops the call."""
    from callguide.engine.journal import JournalWriter

    w = JournalWriter(store, "call-2", "X-4", "agent-7", FixedClock("2026-11-23T10:00:00+00:00"))
    with pytest.raises(EngineError), w.operation("answer"):
        raise EngineError("refused on purpose")
    assert w.aborted
    with w.operation("note"):
        w.emit(et.NOTE, {"text": "later"})
    assert not w.aborted
