"""A plain Next is one journal entry (the `step_shown` it leads to, carrying the Next and the step
it committed); a Next followed by anything else keeps its own `step_committed`, in its place.
Journals written before (a `step_committed` and a `step_shown` for every Next) still verify,
replay and resume to the same call (docs/journal.md, "What a step writes")."""

from __future__ import annotations

from callguide.engine.clock import FixedClock
from callguide.engine.journal import JournalWriter
from callguide.engine.session import Account, CallSession
from callguide.store.sqlite import SQLiteJournal


def _call(lib, path):
    store = SQLiteJournal.open(path, witnesses=())
    s = CallSession.start(lib, store, Account("A1", "Jo Bloggs", "UK"), "agent-7", start_flow="main",
                          clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
    s.next()
    s.answer({"income": "100", "spend": "400"})
    s.next()  # income -> route (a decision) -> hold-it
    s.next()  # hold-it: an action step (start_hold, signpost), then the outcome step
    return store, s


def _state(s):
    return (s.top.flow.id if s.top else None, s.top.step_id if s.top else None, dict(s.values), s.root_outcome,
            list(s.outcomes), s.state.hold_active, [(b["action"], b["rule"]) for b in s.blocked])


def test_a_plain_next_is_one_step_shown_carrying_the_command(lib, tmp_path):
    store, s = _call(lib, tmp_path / "new.db")
    entries = store.call_entries(s.call_id)
    shown = [(e.step_id, e.data.get("committed"), e.data.get("input")) for e in entries if e.type == "step_shown"]
    assert shown == [("hello", None, None), ("income", "hello", {"cmd": "next", "choice": None}),
                     ("route", "income", {"cmd": "next", "choice": None}), ("hold-it", None, None), ("held", None, None)]
    kinds = [e.type for e in entries]
    # the action step's Next is followed by its actions' entries: it keeps its own step_committed, before them
    i = kinds.index("step_committed")
    assert entries[i].step_id == "hold-it" and kinds[i + 1] == "hold_started"
    assert kinds.count("step_committed") == 1
    assert store.verify().ok
    store.close()


def test_old_two_entry_journals_replay_and_resume_the_same(lib, tmp_path, monkeypatch):
    store, new = _call(lib, tmp_path / "new.db")
    want = _state(new)
    store.close()
    monkeypatch.setattr(JournalWriter, "fold_next", False)  # what CallGuide wrote before stop 19
    old_store, old = _call(lib, tmp_path / "old.db")
    monkeypatch.undo()
    old_entries = old_store.call_entries(old.call_id)
    assert [e.type for e in old_entries].count("step_committed") == 3
    assert not [e for e in old_entries if e.type == "step_shown" and "input" in e.data]
    assert _state(old) == want
    old_store.close()
    for path, call_id in ((tmp_path / "new.db", new.call_id), (tmp_path / "old.db", old.call_id)):
        j = SQLiteJournal.open(path, witnesses=())
        assert j.verify().ok
        resumed = CallSession.resume(lib, j, call_id)
        assert _state(resumed) == want
        assert resumed.next().ok and resumed.top is None  # and the call goes on from there
        j.close()


def test_a_next_whose_step_is_left_unshown_keeps_its_step_committed(lib, tmp_path):
    """The outcome step's Next ends the protocol: the held `step_committed` is written, then `protocol_ended`."""
    store, s = _call(lib, tmp_path / "j.db")
    s.next()
    kinds = [e.type for e in store.call_entries(s.call_id)]
    assert kinds[-2:] == ["step_committed", "protocol_ended"]
    resumed = CallSession.resume(lib, store, s.call_id)
    assert _state(resumed) == _state(s)
    store.close()


def test_a_schema_4_journal_of_two_entry_nexts_upgrades_verifies_and_resumes(lib, tmp_path, monkeypatch):
    """A journal as the code before stop 19 left it: schema 4 (every entry in the account index) and a
    `step_committed` + `step_shown` for every Next. It opens (migration 0005: the account index keeps
    only the register's types, counted from the table), verifies, audits clean, shows the same
    history, and the unfinished call resumes to the same state and goes on."""
    import datetime as dt
    import shutil
    import sqlite3

    from sqlite_utils import Database

    from callguide.store import migrations as store_migrations
    from callguide.store.audit import audit_journal
    from callguide.store.checkpoints import sign_checkpoint
    from callguide.store.keys import KeyStore
    from callguide.store.sealing import keys_path

    monkeypatch.setattr(JournalWriter, "fold_next", False)
    src_store, src = _call(lib, tmp_path / "src.db")
    monkeypatch.undo()
    want, call_id = _state(src), src.call_id
    want_history = src_store.account_state("A1", dt.date(2026, 11, 22))
    rows = src_store.db.execute("SELECT * FROM entries ORDER BY seq").fetchall()
    snapshots = src_store.db.execute("SELECT * FROM flow_snapshots").fetchall()
    src_store.close()

    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    store_migrations.migrations.apply(Database(conn), stop_before="0005_account_index_of_state_types")
    conn.execute("PRAGMA user_version = 4")
    conn.executemany("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.executemany("INSERT INTO flow_snapshots VALUES (?,?,?,?,?)", snapshots)
    # The head signed, as that code's checkpoints (every 50 entries, every call end, `checkpoint()`)
    # sign it: the relaxing entries before the newest checkpoint count after the upgrade (migration
    # 0006's signed grandfathering point; docs/journal.md, "Relaxing entries are signed").
    journal_id = conn.execute("SELECT value FROM journal_meta WHERE key = 'journal_id'").fetchone()[0]
    cp = sign_checkpoint(KeyStore().signing_key(), journal_id, rows[-1][0], rows[-1][-1])
    conn.execute("INSERT INTO checkpoints VALUES (?,?,?,?,?)", (cp.seq, cp.ts, cp.head, cp.key, cp.sig))
    conn.commit()
    assert conn.execute("SELECT count(*) FROM entries INDEXED BY idx_entries_account_seq WHERE account_id = 'A1'"
                        ).fetchone()[0] == len(rows)
    conn.close()
    shutil.copy(keys_path(tmp_path / "src.db"), keys_path(old))

    with SQLiteJournal.open(old, witnesses=()) as j:
        assert j.db.execute("PRAGMA user_version").fetchone()[0] == store_migrations.SCHEMA_VERSION == 6
        assert j.verify().ok and j.verify().checked == len(rows)
        assert j.account_state("A1", dt.date(2026, 11, 22)) == want_history
        assert len(j.account_entries("A1")) == len(rows)
        resumed = CallSession.resume(lib, j, call_id)
        assert _state(resumed) == want
        assert resumed.next().ok
    report = audit_journal(old, witnesses=())
    assert report.ok, report.lines()


def test_the_account_index_types_are_the_registers_types():
    """The account index's predicate is frozen by migration 0005; a new type the register reads needs a
    new migration (rebuild the index, the triggers and the counts), or its entries would be missed."""
    from callguide.store import migrations as store_migrations
    from callguide.store.derive import STATE_TYPES

    assert store_migrations.INDEXED_STATE_TYPES == STATE_TYPES


def test_a_plain_next_writes_at_most_four_pages_to_the_log(tmp_path, monkeypatch):
    """What a Next costs on disk (docs/journal.md, "Durability and write size"): one entry, one cell in
    the call index, the call's counts and now and then the file header, about 3.9 pages; two entries
    and every entry in the account index wrote 6.5."""
    from benchmarks.bench_engine_step import wal_per_step

    monkeypatch.setenv("CALLGUIDE_ANCHORS_DIR", str(tmp_path / "anchors"))
    (pages, _), (bare, _) = wal_per_step(tmp_path, n=120)
    assert pages <= 4.2 and bare <= 1.2, (pages, bare)
