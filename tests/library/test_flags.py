from __future__ import annotations

from callguide.engine.clock import FixedClock
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.library.flags import collect_flags, flags_for_flow
from callguide.store.sqlite import SQLiteJournal


def test_flags_are_grouped_by_step_with_counts_and_comments(flows, db):
    lib, _ = load_library([flows])
    store = SQLiteJournal.open(db)
    for comment in ("customers find this cold", "too long", ""):
        s = CallSession.start(lib, store, Account("A1", "Jo", "UK"), "agent", start_flow="main",
                              clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
        assert s.flag_step(comment).ok
    s.next()
    s.flag_step("which income?")
    store.close()
    flags = collect_flags(db)
    hello = flags[("main", "hello")]
    assert hello.count == 3
    assert hello.comments == ["too long", "customers find this cold"]
    assert flags_for_flow(flags, "main")["income"].comments == ["which income?"]


def test_no_journal_means_no_flags(tmp_path):
    assert collect_flags(tmp_path / "missing.db") == {}
