"""A locked journal: the operation reports a one-line error, nothing recorded is lost,
and the pending entries are written, in order, once the journal is free again."""

from __future__ import annotations

import sqlite3

import pytest

from callguide.engine.session import Account, CallSession
from callguide.store.base import StoreError
from callguide.store.sqlite import SQLiteJournal


def test_locked_journal_keeps_entries_pending_and_writes_them_later(lib, db_path, clock):
    store = SQLiteJournal.open(db_path, busy_timeout=0.2)
    s = CallSession.start(lib, store, Account("L1", "Lee", "UK"), "a", start_flow="main", clock=clock,
                          auto_wrap_up=False)
    before = store.count()
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError) as err:
        s.next()
    assert "\n" not in str(err.value) and "locked" in str(err.value).lower()
    assert s.unsaved == 1 and s.top.step_id == "income"  # a plain Next is one entry
    with pytest.raises(StoreError):
        s.answer({"income": "10"})
    assert s.unsaved == 2
    blocker.execute("ROLLBACK")
    blocker.close()
    assert s.retry_writes().ok and s.unsaved == 0
    types = [e.type for e in store.call_entries(s.call_id)][before:]
    assert types == ["step_shown", "answer"]
    assert store.verify().ok
    r = CallSession.resume(lib, store, s.call_id)
    assert r.top.step_id == "income" and r.values["income"] == 10
    store.close()
