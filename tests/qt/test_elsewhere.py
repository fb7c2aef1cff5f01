"""Written elsewhere while the call runs, on one desktop: another window (another process on the same
journal) starts a hold on the account, or `privacy withdraw` ends a consent. At the agent's next key
the call takes it up (the gate decides on the account as it now is), and the window says so in one
line; the journal holds one `protections_received` entry."""

from __future__ import annotations

import pytest

from tests.qt.test_calls import open_to_affordability

pytestmark = pytest.mark.qt


def test_a_hold_started_in_another_window_reaches_the_running_call_at_the_next_key(open_window, library, db_path):
    from callguide.engine.commands import Action, EndCall
    from callguide.engine.session import Account, CallSession
    from callguide.store.sqlite import SQLiteJournal

    d = open_window(account_id="A-100")
    open_to_affordability(d)
    assert not d.session.state.hold_active
    other = SQLiteJournal.open(db_path)  # its own connection, as another process's
    try:
        elsewhere = CallSession.start(library, other, Account("A-100", "Jo Bloggs", "UK"), "agent-8",
                                      start_flow="wrap-up", auto_wrap_up=False)
        assert elsewhere.apply(Action("start_hold", {"days": 30, "reason": "Getting debt advice"})).ok
        elsewhere.apply(EndCall("on_hold"))
    finally:
        other.close()
    d.fill("employment", "employed")  # the agent's next key (an answer is a command)
    d.next()
    assert d.session.state.hold_active
    assert "Raised elsewhere on this account just now: ON HOLD" in d.w.info_strip.text()
    assert d.w.info_strip.isVisible()
    assert any(k == "hold" for k, _ in d.w.side.history.lines())  # the history beside the call shows it
    assert any(k == "hold" for k, _ in d.w.banner.lines())
    received = [e for e in d.entries() if e.type == "protections_received"]
    assert [e.data["raised"] for e in received] == [["hold"]]
    assert d.where[0] != "affordability" or d.view.kind != "input", d.where  # no more money questions
