"""Append, chain, verify, tamper detection, append-only triggers, migrations, snapshots, export."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from callguide.store import GENESIS_HASH, SQLiteJournal, StoreError, canonical_json, compute_hash
from callguide.store import migrations as store_migrations
from callguide.store.base import HASHED_FIELDS


def _fill(journal, make_entry, n=5):
    return [journal.append(make_entry("note", {"text": f"n{i}", "input": {"note": i}})) for i in range(n)]


def test_append_returns_durable_chained_entry(journal, make_entry, db_path):
    first = journal.append(make_entry("call_started", {"account": {"id": "A1", "name": "Å Ø"}, "lang": "da"}))
    second = journal.append(make_entry("note", {"text": "hello", "input": {"note": "hello"}}))
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    fields = {"ts": first.ts, "type": "call_started", "call_id": "C1", "account_id": "A1", "agent": "agent1",
              "flow_id": "texas", "flow_hash": "f" * 64, "step_id": "s1", "data": first.data}
    expected = hashlib.sha256((GENESIS_HASH + json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)).encode()).hexdigest()
    assert first.hash == expected == compute_hash(GENESIS_HASH, fields)
    # Durable and visible to a completely separate connection.
    with sqlite3.connect(db_path) as other:
        rows = other.execute("SELECT seq, data, hash FROM entries ORDER BY seq").fetchall()
    assert rows[0] == (1, canonical_json(first.data), first.hash)
    assert rows[1][2] == second.hash


def test_verify_ok_and_chain_continues_across_reopen(db_path, make_entry):
    j = SQLiteJournal.open(db_path)
    _fill(j, make_entry, 3)
    j.close()
    j = SQLiteJournal.open(db_path)
    e = j.append(make_entry("note", {"text": "after reopen"}))
    assert e.seq == 4
    assert j.verify().ok and j.verify().checked == 4
    j.close()


def test_empty_journal_verifies(journal):
    result = journal.verify()
    assert result.ok and result.checked == 0


def test_tamper_with_data_is_named(journal, make_entry, db_path):
    _fill(journal, make_entry, 5)
    with sqlite3.connect(db_path) as other:
        other.execute("DROP TRIGGER entries_no_update")
        other.execute("""UPDATE entries SET data = '{"text":"forged"}' WHERE seq = 3""")
    result = journal.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "hash mismatch" in result.reason
    assert result.checked == 2


def test_rehashed_forgery_breaks_the_link(journal, make_entry, db_path):
    _fill(journal, make_entry, 5)
    with sqlite3.connect(db_path) as other:
        other.execute("DROP TRIGGER entries_no_update")
        row = other.execute("SELECT ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, prev_hash"
                            " FROM entries WHERE seq = 3").fetchone()
        fields = dict(zip(("ts", "type", "call_id", "account_id", "agent", "flow_id", "flow_hash", "step_id"),
                          row[:8], strict=True))
        fields["data"] = {"text": "forged"}
        other.execute("UPDATE entries SET data = ?, hash = ? WHERE seq = 3",
                      (canonical_json(fields["data"]), compute_hash(row[8], fields)))
    result = journal.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "broken link" in result.reason


def test_deleted_entry_is_a_gap(journal, make_entry, db_path):
    _fill(journal, make_entry, 5)
    with sqlite3.connect(db_path) as other:
        other.execute("DROP TRIGGER entries_no_delete")
        other.execute("DELETE FROM entries WHERE seq = 3")
    result = journal.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "gap" in result.reason and "expected seq 3" in result.reason


@pytest.mark.parametrize("sql", ["UPDATE entries SET data = '{}' WHERE seq = 1", "DELETE FROM entries WHERE seq = 1",
                                 "UPDATE flow_snapshots SET text = 'x'", "DELETE FROM flow_snapshots"])
def test_triggers_refuse_update_and_delete(journal, make_entry, db_path, sql):
    journal.append(make_entry("note", {"text": "x"}))
    journal.save_flow_snapshot("h1", "texas", "1", "id: texas")
    with sqlite3.connect(db_path) as other, pytest.raises(sqlite3.IntegrityError, match="append-only|immutable"):
        other.execute(sql)
    assert journal.verify().ok
    assert journal.flow_snapshot("h1") == "id: texas"


def test_triggers_refuse_through_the_store_connection_as_store_error(journal, make_entry):
    journal.append(make_entry("note", {"text": "x"}))
    with pytest.raises(StoreError) as err, journal._guard() as conn:
        conn.execute("DELETE FROM entries")
    assert err.value.kind == "append_only"
    assert "\n" not in str(err.value)


def test_schema_strict_indexes_pragmas(journal, db_path):
    schema = journal.db["entries"].schema
    assert "STRICT" in schema
    indexes = {i.name: i.columns for i in journal.db["entries"].indexes}
    assert indexes["idx_entries_account_state"] == ["account_id", "seq"]  # partial: the register's types only
    assert indexes["idx_entries_call_seq"] == ["call_id", "seq"]
    conn = journal.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    plan = " ".join(r[-1] for r in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE account_id = 'A1' AND {store_migrations.STATE_PREDICATE}"
        " ORDER BY seq"))
    assert "idx_entries_account_state" in plan


def test_migrations_idempotent_on_reopen(db_path, make_entry):
    j = SQLiteJournal.open(db_path)
    j.append(make_entry("call_started", {}))
    applied = [m.name for m in store_migrations.migrations.applied(j.db)]
    schema = j.db.schema
    j.close()
    for _ in range(3):
        j = SQLiteJournal.open(db_path)
        assert [m.name for m in store_migrations.migrations.applied(j.db)] == applied
        assert store_migrations.pending(j.db) == []
        assert j.db.schema == schema
        assert j.verify().ok and j.verify().checked == 1
        j.close()
    assert applied == ["0001_entries_and_snapshots", "0002_call_index", "0003_checkpoints_meta_account_index",
                       "0004_counts_in_the_call_row", "0005_account_index_of_state_types",
                       "0006_relaxing_entries_signed"]


def test_open_creates_parent_dirs(tmp_path):
    path = tmp_path / "a" / "b" / "c" / "journal.db"
    SQLiteJournal.open(path).close()
    assert path.exists()


def test_flow_snapshot_roundtrip_and_idempotent(journal):
    assert journal.flow_snapshot("nope") is None
    journal.save_flow_snapshot("h1", "texas", "3", "id: texas\nversion: 3\n")
    journal.save_flow_snapshot("h1", "texas", "3", "id: texas\nversion: 3\n")
    assert journal.flow_snapshot("h1") == "id: texas\nversion: 3\n"
    assert journal.db["flow_snapshots"].count == 1


def test_call_and_account_entries(journal, make_entry):
    journal.append(make_entry("call_started", {}, call_id="C1", account_id="A1"))
    journal.append(make_entry("call_started", {}, call_id="C2", account_id="A2"))
    journal.append(make_entry("note", {"text": "a"}, call_id="C1", account_id="A1"))
    journal.append(make_entry("call_started", {}, call_id="C3", account_id="A1"))
    assert [e.seq for e in journal.call_entries("C1")] == [1, 3]
    assert [e.seq for e in journal.account_entries("A1")] == [1, 3, 4]
    assert journal.call_entries("missing") == []


def test_iter_entries_after_seq(journal, make_entry):
    _fill(journal, make_entry, 5)
    assert [e.seq for e in journal.iter_entries()] == [1, 2, 3, 4, 5]
    assert [e.seq for e in journal.iter_entries(after_seq=3)] == [4, 5]


def test_iter_entries_batches(journal, make_entry, monkeypatch):
    import callguide.store.sqlite as mod

    monkeypatch.setattr(mod, "_BATCH", 2)
    _fill(journal, make_entry, 5)
    assert [e.seq for e in journal.iter_entries()] == [1, 2, 3, 4, 5]
    assert journal.verify().checked == 5


def test_export_redacted(journal, make_entry):
    journal.append(make_entry("answer", {"field": "condition", "value": "depression", "sensitivity": "special",
                                         "input": {"answer": {"condition": "depression"}}}))
    journal.append(make_entry("answer", {"field": "income", "value": "1200", "sensitivity": "personal"}))
    journal.append(make_entry("vulnerability", {"fields": {"condition": "depression"}, "category": "health",
                                                "review_date": "2026-06-01", "consent": "health_disclosure"}))
    out = journal.export_redacted("C1")
    assert out[0]["data"]["value"] == "[redacted]"
    assert out[1]["data"]["value"] == "1200"  # personal, not special: opened for the auditor
    assert out[2]["data"]["fields"] == {"condition": "[redacted]"}
    assert out[2]["data"]["category"] == "[redacted]"
    assert out[2]["data"]["review_date"] == "2026-06-01"
    assert out[0]["data"]["input"] == "[redacted]"
    assert "depression" not in json.dumps(out)
    # The journal holds the values sealed (every door: this entry came straight to the store).
    raw = journal.call_entries("C1")[0].data
    assert "depression" not in json.dumps(raw)
    assert journal.sealer.open("A1", raw["value"]) == "depression"
    assert journal.verify().ok


def test_unfinished_calls(journal, make_entry):
    journal.append(make_entry("call_started", {"account": {"id": "A1"}, "lang": "en"}, call_id="C1"))
    journal.append(make_entry("call_started", {"account": {"id": "A2"}}, call_id="C2", account_id="A2"))
    journal.append(make_entry("note", {"text": "x"}, call_id="C1"))
    journal.append(make_entry("call_ended", {"outcome": "PAID", "summary": ""}, call_id="C2", account_id="A2"))
    journal.append(make_entry("note", {"text": "no start"}, call_id="C9"))  # no call_started: not a call
    calls = journal.unfinished_calls()
    assert [c.call_id for c in calls] == ["C1"]
    c = calls[0]
    assert (c.account_id, c.agent, c.entries) == ("A1", "agent1", 2)
    assert c.data == {"account": {"id": "A1"}, "lang": "en"}
    assert c.started == journal.call_entries("C1")[0].ts
    assert c.last_ts == journal.call_entries("C1")[-1].ts
    journal.append(make_entry("call_ended", {"outcome": "X", "summary": ""}, call_id="C1"))
    assert journal.unfinished_calls() == []


def test_rebuild_call_index_matches_trigger(journal, make_entry):
    journal.append(make_entry("call_started", {"a": 1}, call_id="C1"))
    journal.append(make_entry("call_started", {"a": 2}, call_id="C2"))
    journal.append(make_entry("note", {}, call_id="C2"))
    before = list(journal.db["call_index"].rows)
    journal.rebuild_call_index()
    assert list(journal.db["call_index"].rows) == before
    assert [c.call_id for c in journal.unfinished_calls()] == ["C1", "C2"]


def _call_index_by_triggers_is_rebuilt(journal):
    before = sorted(journal.db["call_index"].rows, key=lambda r: r["call_id"])
    strays = sorted(journal.db["account_index"].rows, key=lambda r: r["account_id"])
    journal.rebuild_call_index()
    assert sorted(journal.db["call_index"].rows, key=lambda r: r["call_id"]) == before
    assert sorted(journal.db["account_index"].rows, key=lambda r: r["account_id"]) == strays
    return before


def test_call_index_triggers_in_every_order(journal, make_entry):
    """The two triggers (counts on every entry; start and end marks on those two types) give what a
    rebuild from the entries gives, whatever the order: a note before the start, a call ended twice,
    entries after the end, an end without a start, a call appended in one batch."""
    journal.append(make_entry("note", {}, call_id="C1"))
    journal.append(make_entry("call_started", {}, call_id="C1"))
    journal.append(make_entry("call_ended", {}, call_id="C1"))
    journal.append(make_entry("note", {}, call_id="C1"))
    journal.append(make_entry("call_ended", {}, call_id="C1"))
    journal.append(make_entry("call_ended", {}, call_id="C2"))
    journal.append(make_entry("call_started", {}, call_id="C3"))
    journal.append(make_entry("call_started", {}, call_id="C3"))
    journal.append_many([make_entry("call_started", {}, call_id="C4"), make_entry("note", {}, call_id="C4"),
                         make_entry("call_ended", {}, call_id="C4")])
    rows = {r["call_id"]: r for r in _call_index_by_triggers_is_rebuilt(journal)}
    assert {k: (r["start_seq"], r["entries"], r["ended"]) for k, r in rows.items()} == {
        "C1": (2, 5, 1), "C2": (None, 1, 1), "C3": (7, 2, 0), "C4": (9, 3, 1)}
    assert [c.call_id for c in journal.unfinished_calls()] == ["C3"]


def test_data_roundtrip_is_what_is_hashed(journal, make_entry):
    e = journal.append(make_entry("flag", {"value": (1, 2), "n": 1.5, "s": "æøå"}))
    assert e.data == {"value": [1, 2], "n": 1.5, "s": "æøå"}
    assert journal.call_entries("C1")[0] == e
    assert journal.verify().ok


@pytest.mark.parametrize("data", [
    {},
    {"value": (1, 2), "n": 1.5, "s": "æøå \u2028 \"q\" \\ \n\t\x01 😀"},
    {2: "two", 10: "ten"},            # keys that are not text: read back as "10", "2" (another order)
    {"a": {1: [True, None, -0.0, 10**30]}, "b": [{"z": 1, "y": (2,)}]},
    {"big": 1e300, "small": 5e-324, "neg": -3},
])
def test_hash_is_compute_hash_of_what_is_read_back(journal, make_entry, data):
    """The append path spells the hashed body around the stored data text; `compute_hash` over the
    data as read back (what `verify` does) must give the same hash, whatever the data looked like."""
    e = journal.append(make_entry("flag", data, step_id=None, call_id='C"1\u00e9'))
    stored = journal.db.execute("SELECT data FROM entries WHERE seq = ?", (e.seq,)).fetchone()[0]
    assert json.loads(stored) == e.data
    fields = {k: getattr(e, k) for k in HASHED_FIELDS}
    assert compute_hash(e.prev_hash, fields) == e.hash
    assert canonical_json(e.data) == stored
    assert journal.verify().ok


def test_text_that_is_not_unicode_is_a_store_error(journal, make_entry):
    with pytest.raises(StoreError) as err:
        journal.append(make_entry("flag", {"blob": "\ud800"}))
    assert err.value.kind == "invalid" and "\n" not in str(err.value)
    assert journal.verify().checked == 0


def test_new_journal_has_small_pages(journal, db_path, make_entry):
    from callguide.store.sqlite import PAGE_SIZE

    assert journal.db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    journal.append(make_entry("flag", {"blob": "x" * 5000}))  # an entry larger than a page
    assert journal.call_entries("C1")[0].data == {"blob": "x" * 5000}
    assert journal.verify().ok


def test_write_ahead_log_stays_small(journal, db_path, make_entry):
    """The log is copied back into the file every WAL_AUTOCHECKPOINT pages, so it stops growing
    after a few dozen appends and is rewritten in place (docs/journal.md, "Durability")."""
    from callguide.store.sqlite import PAGE_SIZE, WAL_AUTOCHECKPOINT

    assert journal.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_AUTOCHECKPOINT
    wal = db_path.with_name(db_path.name + "-wal")
    sizes = []
    for i in range(600):
        journal.append(make_entry("note", {"text": f"note {i} " + "x" * 300}))
        sizes.append(wal.stat().st_size)
    frame = PAGE_SIZE + 24
    # Bounded by the limit plus one commit's pages; it reached its size and stopped growing.
    assert max(sizes) <= 32 + (WAL_AUTOCHECKPOINT + 20) * frame
    assert sizes[-1] == max(sizes[:300])
    assert journal.verify().ok


def test_existing_journal_keeps_its_page_size(db_path, make_entry):
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("CREATE TABLE other (x)")  # a file made elsewhere, before the journal's tables
    conn.commit()
    conn.close()
    j = SQLiteJournal.open(db_path)
    try:
        assert j.db.execute("PRAGMA page_size").fetchone()[0] == 4096
        j.append(make_entry("note", {}))
        assert j.verify().ok
    finally:
        j.close()


def test_bad_data_is_a_store_error(journal, make_entry):
    with pytest.raises(StoreError) as err:
        journal.append(make_entry("note", {"bad": object()}))
    assert err.value.kind == "invalid"
    with pytest.raises(StoreError):
        journal.append(make_entry("note", {"nan": float("nan")}))
    assert journal.verify().checked == 0


def test_closed_journal_raises_store_error(db_path, make_entry):
    j = SQLiteJournal.open(db_path)
    j.close()
    j.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        j.append(make_entry("note", {}))


def test_append_many_one_transaction(journal, make_entry, db_path):
    journal.append(make_entry("call_started", {}))
    written = journal.append_many([make_entry("step_committed", {"to": "b"}), make_entry("step_shown", {"say": "b"})])
    assert [e.seq for e in written] == [2, 3]
    assert written[1].prev_hash == written[0].hash
    assert journal.append_many([]) == []
    # All or nothing: one bad entry writes none of them.
    with pytest.raises(StoreError):
        journal.append_many([make_entry("note", {}), make_entry("note", {"x": object()})])
    assert journal.append(make_entry("note", {})).seq == 4
    assert journal.verify().ok and journal.verify().checked == 4


def _schema_2_journal(path, make_entry, n=6):
    """A journal as CallGuide left it before checkpoints (migrations 0001-0002), with entries."""
    from sqlite_utils import Database

    conn = sqlite3.connect(path)
    store_migrations.migrations.apply(Database(conn), stop_before="0003_checkpoints_meta_account_index")
    prev = GENESIS_HASH
    for i in range(n):
        e = make_entry("call_started" if i == 0 else "vulnerability", {"i": i, "review_date": "2099-01-01"},
                       account_id="TX-3")
        fields = {k: getattr(e, k) for k in ("ts", "type", "call_id", "account_id", "agent", "flow_id",
                                              "flow_hash", "step_id", "data")}
        h = compute_hash(prev, fields)
        conn.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (i + 1, e.ts, e.type, e.call_id, e.account_id, e.agent, e.flow_id, e.flow_hash, e.step_id,
                      canonical_json(e.data), prev, h))
        prev = h
    conn.commit()
    conn.close()


def test_migration_from_schema_2_adds_tamper_evidence(db_path, make_entry):
    import datetime as dt

    db_path.parent.mkdir(parents=True, exist_ok=True)
    _schema_2_journal(db_path, make_entry)
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(db_path, readonly=True)
    assert err.value.kind == "upgrade"
    with SQLiteJournal.open(db_path, checkpoint_every=3) as j:
        assert j.journal_id and j.db.execute("PRAGMA user_version").fetchone()[0] == store_migrations.SCHEMA_VERSION
        assert len(j.account_state("TX-3", dt.date(2026, 1, 1)).vulnerabilities) == 5
        j.append(make_entry("call_ended", {}, account_id="TX-3"))
        assert j.verify().ok and j.verify().checked == 7
    from callguide.store.audit import audit_journal

    report = audit_journal(db_path)
    assert report.ok, report.lines()
    assert dict(sqlite3.connect(db_path).execute("SELECT key, value FROM journal_meta").fetchall())[
        "checkpoints_from"] == "6"


def _zero_index_root(path, name):
    """Damage the index `name`: its root page says it holds no cells."""
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page_size)
        header = bytearray(f.read(8))
        header[3:5] = b"\0\0"
        f.seek((root - 1) * page_size)
        f.write(header)


def test_migration_does_not_trust_a_damaged_index(db_path, make_entry):
    """The account counts and the account index of schema 5 are built from the table, so an index
    damaged before the upgrade leaves nothing behind, and one damaged after it is caught."""
    import datetime as dt

    db_path.parent.mkdir(parents=True, exist_ok=True)
    _schema_2_journal(db_path, make_entry)
    _zero_index_root(db_path, "idx_entries_account_seq")  # the account index of schemas 1-4
    with SQLiteJournal.open(db_path) as j:
        assert len(j.account_state("TX-3", dt.date(2026, 1, 1)).vulnerabilities) == 5
        assert len(j.account_entries("TX-3")) == 6
    _zero_index_root(db_path, "idx_entries_account_state")
    with SQLiteJournal.open(db_path) as j, pytest.raises(StoreError, match="account TX-3"):
        j.account_state("TX-3", dt.date(2026, 1, 1))


def test_migration_from_schema_3_keeps_the_call_index(db_path, make_entry):
    """A journal of schema 3 (one trigger kept the whole table of calls, touching the open-calls
    index on every entry) upgrades in place: the table is kept as it is, the two triggers go on
    keeping it as a rebuild would, and old and new entries verify."""
    from sqlite_utils import Database

    from callguide.store.audit import audit_journal

    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    # (the entries are written before migration 0003, so they come from before checkpoints, as the
    # journal's `checkpoints_from` then says: a call end after it without a checkpoint is a removal)
    store_migrations.migrations.apply(Database(conn), stop_before="0003_checkpoints_meta_account_index")
    old = [make_entry("call_started", {}, call_id="C1"), make_entry("note", {}, call_id="C1"),
           make_entry("call_started", {}, call_id="C2"), make_entry("call_ended", {}, call_id="C2")]
    prev = GENESIS_HASH
    for i, e in enumerate(old):
        h = compute_hash(prev, {k: getattr(e, k) for k in HASHED_FIELDS})
        conn.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (i + 1, e.ts, e.type, e.call_id, e.account_id, e.agent, e.flow_id, e.flow_hash, e.step_id,
                      canonical_json(e.data), prev, h))
        prev = h
    conn.commit()
    store_migrations.migrations.apply(Database(conn), stop_before="0004_counts_in_the_call_row")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    before = sorted(Database(conn)["call_index"].rows, key=lambda r: r["call_id"])
    conn.close()
    with SQLiteJournal.open(db_path) as j:
        assert j.db.execute("PRAGMA user_version").fetchone()[0] == store_migrations.SCHEMA_VERSION
        after = sorted(j.db["call_index"].rows, key=lambda r: r["call_id"])
        assert [{k: v for k, v in r.items() if k not in ("own", "state")} for r in after] == before
        assert [r["own"] for r in after] == [2, 2]  # counted from the entries by the migrations
        assert [r["state"] for r in after] == [1, 2]  # (the note is not a type the account register reads)
        assert list(j.db["account_index"].rows) == []  # no entry outside its call's account
        assert [c.call_id for c in j.unfinished_calls()] == ["C1"]
        j.append(make_entry("note", {}, call_id="C1"))
        j.append_many([make_entry("call_ended", {}, call_id="C1"), make_entry("call_started", {}, call_id="C3")])
        assert [c.call_id for c in j.unfinished_calls()] == ["C3"]
        rows = {r["call_id"]: r for r in _call_index_by_triggers_is_rebuilt(j)}
        assert (rows["C1"]["entries"], rows["C1"]["ended"], rows["C1"]["start_seq"]) == (4, 1, 1)
        assert j.verify().ok and j.verify().checked == 7
    report = audit_journal(db_path)
    assert report.ok, report.lines()


def test_account_counts_with_an_entry_outside_its_calls_account(journal, make_entry):
    """An account's entries are its calls' own entries plus strays (an entry whose account is not
    its call's account, kept in `account_index`): every account's history still opens, the counts
    match what a rebuild gives, and the consistency check is clean."""
    import datetime as dt

    from callguide.store import integrity

    journal.append(make_entry("call_started", {}, call_id="C1", account_id="A1"))
    journal.append(make_entry("note", {}, call_id="C1", account_id="A2"))  # a stray
    journal.append_many([make_entry("note", {}, call_id="C1", account_id="A1"),
                         make_entry("note", {}, call_id="C2", account_id="A2")])
    for account, n in (("A1", 2), ("A2", 2)):
        assert len(journal.account_entries(account)) == n
        journal.account_state(account, dt.date(2026, 1, 1))  # counts match: no StoreError
    rows = {r["call_id"]: (r["entries"], r["own"]) for r in _call_index_by_triggers_is_rebuilt(journal)}
    assert rows == {"C1": (3, 2), "C2": (1, 1)}
    assert list(journal.db["account_index"].rows) == [{"account_id": "A2", "entries": 1, "state": 0}]
    with journal._guard() as conn:
        assert integrity.consistency_problems(conn, deep=True) == []
