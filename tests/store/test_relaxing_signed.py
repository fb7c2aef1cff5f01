"""Relaxing entries are signed at their own seq (docs/journal.md, "Relaxing entries are signed").

The attack (found by the adversarial review): with only the journal file and no key, someone appends a
correctly chained `capacity_review` (confirmed) after the newest checkpoint. Before, `history` showed
the doubt closed, a later call allowed payment, and `audit verify` found no problem. Real SQLite files,
real keys: the attacker's tools are plain sqlite3 and `compute_hash`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from click.testing import CliRunner
from sqlite_utils import Database

from callguide.cli import main
from callguide.store import GENESIS_HASH, SQLiteJournal, compute_hash
from callguide.store import migrations as store_migrations
from callguide.store.audit import audit_journal
from callguide.store.base import canonical_json
from callguide.store.checkpoints import sign_checkpoint
from callguide.store.keys import KeyStore
from callguide.store.sqlite import open_database

TODAY = dt.date(2026, 11, 26)
REVIEW = {"result": "confirmed", "meaning": "x", "by": "cara", "name": "Cara", "role": "care_team", "note": "ok"}


def _call(make_entry, call_id: str, *middle: tuple[str, dict]) -> list:
    return [make_entry("call_started", {"account": {"id": "A1"}}, call_id=call_id),
            *(make_entry(t, d, call_id=call_id) for t, d in middle),
            make_entry("call_ended", {"outcome": "done", "summary": {}}, call_id=call_id)]


def _forge(path: Path, type_: str = "capacity_review", data: dict | None = None) -> int:
    """What the attacker does: a correctly chained entry, no key."""
    c = sqlite3.connect(path)
    seq, head = c.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    fields = {"ts": "2026-11-02T09:00:00Z", "type": type_, "call_id": "review-1", "account_id": "A1",
              "agent": "mallory", "flow_id": None, "flow_hash": None, "step_id": None, "data": data or REVIEW}
    c.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
              (seq + 1, fields["ts"], type_, "review-1", "A1", "mallory", None, None, None,
               canonical_json(fields["data"]), head, compute_hash(head, fields)))
    c.commit()
    c.close()
    return seq + 1


def _behind_triggers(path: Path, *sql: tuple) -> None:
    """The attacker edits an append-only table: drop its triggers, write, put them back word for word."""
    c = sqlite3.connect(path)
    triggers = c.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'journal_meta'"
                         ).fetchall()
    for name, _ in triggers:
        c.execute(f"DROP TRIGGER {name}")
    for stmt in sql:
        c.execute(*stmt)
    for _, text in triggers:
        c.execute(text)
    c.commit()
    c.close()


def _doubted(db_path: Path, make_entry) -> None:
    with SQLiteJournal.open(db_path) as j:
        j.append_many(_call(make_entry, "C1", ("capacity_doubt", {"reason": "confused"})))


def _audit_exit(db_path: Path) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["audit", "verify", "--db", str(db_path)])
    return r.exit_code, r.output


def test_a_review_forged_after_the_last_checkpoint_is_not_counted(db_path, make_entry):
    _doubted(db_path, make_entry)
    forged = _forge(db_path)
    with SQLiteJournal.open(db_path, readonly=True) as j:
        st = j.account_state("A1", TODAY)
    assert st.capacity_doubt_open, "the forged review closed the doubt"
    assert [(u["seq"], u["type"]) for u in st.unsigned] == [(forged, "capacity_review")]
    assert st.capacity_reviews == []
    hist = CliRunner().invoke(main, ["history", "--account", "A1", "--db", str(db_path)])
    assert hist.exit_code == 0, hist.output
    assert "Capacity doubt open since" in hist.output
    assert sum(f"(entry {forged}) is not counted" in line for line in hist.output.splitlines()) == 1, hist.output
    code, out = _audit_exit(db_path)
    assert code != 0 and f"entry {forged} (capacity_review)" in out, out
    # The next legitimate call end signs over the forged entry: it still has no checkpoint of its own.
    with SQLiteJournal.open(db_path) as j:
        j.append_many(_call(make_entry, "C2"))
        st = j.account_state("A1", TODAY)
    assert st.capacity_doubt_open and [u["seq"] for u in st.unsigned] == [forged]
    assert not audit_journal(db_path).ok


def test_forged_consent_hold_end_and_closing_reviews_are_not_counted_refusals_still_are(db_path, make_entry):
    with SQLiteJournal.open(db_path) as j:
        j.append_many(_call(make_entry, "C1", ("hold_started", {"days": 30, "until": "2099-01-01", "reason": "r"}),
                            ("dispute", {"reason": "not mine"}), ("crisis", {"reason": "crisis"}),
                            ("consent", {"purpose": "health", "decision": "given", "wording_hash": "h"})))
    for type_, data in (("hold_ended", {"reason": "over"}), ("dispute_review", {"result": "debt_confirmed"}),
                        ("crisis_review", {"result": "resolved"}), ("consent", {"purpose": "sms", "decision": "given"}),
                        ("consent", {"purpose": "health", "decision": "refused"})):
        _forge(db_path, type_, data)
    with SQLiteJournal.open(db_path, readonly=True) as j:
        st = j.account_state("A1", TODAY)
    assert st.hold_active and st.disputes and st.crises
    # A forged refusal only tightens: it counts (the signed consent given is withdrawn by it).
    assert "sms" not in st.consents and st.consents["health"]["decision"] == "refused"
    assert [u["type"] for u in st.unsigned] == ["hold_ended", "dispute_review", "crisis_review", "consent"]


def test_signed_relaxing_entries_count_each_at_its_own_seq(db_path, make_entry):
    _doubted(db_path, make_entry)
    with SQLiteJournal.open(db_path) as j:
        # In the middle of a batch, and last in one (no call end: no regular checkpoint due).
        written = j.append_many([make_entry("capacity_review", REVIEW, call_id="R1"),
                                 make_entry("note", {"text": "x"}, call_id="R1")])
        last = j.append(make_entry("consent", {"purpose": "sms", "decision": "given"}, call_id="R2"))
        cps = dict(j.db.execute("SELECT seq, head FROM checkpoints").fetchall())
        assert cps[written[0].seq] == written[0].hash and cps[last.seq] == last.hash
        assert written[1].seq not in cps
        st = j.account_state("A1", TODAY)
        j.wait_for_witnesses()
    assert not st.capacity_doubt_open and st.unsigned == [] and "sms" in st.consents
    assert audit_journal(db_path).ok


def _old_journal(path: Path, make_entry, calls: list[list]) -> Path:
    """A journal as the previous version (schema 5) wrote it: no grandfathering point, checkpoints only
    at call ends (none at a relaxing entry's own seq), signed with this machine's key."""
    conn = sqlite3.connect(path)
    store_migrations.migrations.apply(Database(conn), stop_before=store_migrations.M0006)
    conn.execute("PRAGMA user_version = 5")
    journal_id = conn.execute("SELECT value FROM journal_meta WHERE key = 'journal_id'").fetchone()[0]
    key = KeyStore().signing_key()
    seq, head = 0, GENESIS_HASH
    for call in calls:
        for e in call:
            fields = {"ts": e.ts, "type": e.type, "call_id": e.call_id, "account_id": e.account_id,
                      "agent": e.agent, "flow_id": e.flow_id, "flow_hash": e.flow_hash, "step_id": e.step_id,
                      "data": e.data}
            seq, h = seq + 1, compute_hash(head, fields)
            conn.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (seq, e.ts, e.type, e.call_id, e.account_id, e.agent, e.flow_id, e.flow_hash, e.step_id,
                          canonical_json(e.data), head, h))
            head = h
        cp = sign_checkpoint(key, journal_id, seq, head)
        conn.execute("INSERT INTO checkpoints VALUES (?,?,?,?,?)", (cp.seq, cp.ts, cp.head, cp.key, cp.sig))
    conn.commit()
    conn.close()
    return path


def test_an_old_journal_keeps_its_earlier_reviews_after_the_migration(db_path, make_entry):
    db_path.parent.mkdir(parents=True, exist_ok=True)
    _old_journal(db_path, make_entry, [
        _call(make_entry, "C1", ("capacity_doubt", {"reason": "confused"}), ("hold_started", {"days": 3})),
        _call(make_entry, "C2", ("capacity_review", REVIEW), ("hold_ended", {"reason": "over"}),
              ("consent", {"purpose": "sms", "decision": "given"}))])
    with SQLiteJournal.open(db_path, witnesses=()) as j:
        meta = dict(j.db.execute("SELECT key, value FROM journal_meta").fetchall())
        assert meta[store_migrations.RELAXING_FROM] == str(j.count())
        st = j.account_state("A1", TODAY)
    assert not st.capacity_doubt_open and not st.hold_active and "sms" in st.consents and st.unsigned == []
    assert audit_journal(db_path, witnesses=()).ok


def test_a_migration_run_without_the_key_is_strict(db_path, make_entry):
    db_path.parent.mkdir(parents=True, exist_ok=True)
    _old_journal(db_path, make_entry, [_call(make_entry, "C1", ("capacity_doubt", {"reason": "c"}),
                                             ("capacity_review", REVIEW))])
    db = open_database(db_path, store_migrations.migrations, schema_version=store_migrations.SCHEMA_VERSION)
    db.conn.close()
    with SQLiteJournal.open(db_path, witnesses=()) as j:
        assert store_migrations.RELAXING_FROM not in dict(j.db.execute("SELECT key, value FROM journal_meta"))
        st = j.account_state("A1", TODAY)
    assert st.capacity_doubt_open and [u["type"] for u in st.unsigned] == ["capacity_review"]


def test_raising_the_grandfathering_point_needs_the_key(db_path, make_entry):
    _doubted(db_path, make_entry)
    forged = _forge(db_path)
    _behind_triggers(db_path, ("UPDATE journal_meta SET value = ? WHERE key = ?",
                               (str(forged), store_migrations.RELAXING_FROM)))
    with SQLiteJournal.open(db_path, readonly=True) as j:
        st = j.account_state("A1", TODAY)
    assert st.capacity_doubt_open and [u["seq"] for u in st.unsigned] == [forged]
    assert _audit_exit(db_path)[0] != 0


def test_running_the_migration_again_does_not_cover_a_forged_entry(db_path, make_entry):
    _doubted(db_path, make_entry)
    forged = _forge(db_path)
    _behind_triggers(db_path, ("DELETE FROM journal_meta WHERE key LIKE 'relaxing_signed_from%'",),
                     ("DELETE FROM _sqlite_migrations WHERE name = ?", (store_migrations.M0006,)),
                     ("PRAGMA user_version = 5",))
    with SQLiteJournal.open(db_path) as j:
        meta = dict(j.db.execute("SELECT key, value FROM journal_meta").fetchall())
        assert int(meta[store_migrations.RELAXING_FROM]) < forged  # the newest checkpoint: before the forgery
        st = j.account_state("A1", TODAY)
    assert st.capacity_doubt_open and [u["seq"] for u in st.unsigned] == [forged]
    assert _audit_exit(db_path)[0] != 0


def test_a_journal_from_before_checkpoints_keeps_its_reviews(db_path, make_entry):
    """Schema 2 (no checkpoints at all, none of its entries could be signed): 0003 and 0006 run in one
    transaction, and G is its last entry."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    store_migrations.migrations.apply(Database(conn), stop_before="0003_checkpoints_meta_account_index")
    conn.execute("PRAGMA user_version = 2")
    head = GENESIS_HASH
    for seq, e in enumerate(_call(make_entry, "C1", ("capacity_doubt", {"reason": "c"}), ("capacity_review", REVIEW)),
                            1):
        fields = {"ts": e.ts, "type": e.type, "call_id": e.call_id, "account_id": e.account_id, "agent": e.agent,
                  "flow_id": e.flow_id, "flow_hash": e.flow_hash, "step_id": e.step_id, "data": e.data}
        h = compute_hash(head, fields)
        conn.execute("INSERT INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (seq, e.ts, e.type, e.call_id, e.account_id, e.agent, e.flow_id, e.flow_hash, e.step_id,
                      canonical_json(e.data), head, h))
        head = h
    conn.commit()
    conn.close()
    with SQLiteJournal.open(db_path, witnesses=()) as j:
        st = j.account_state("A1", TODAY)
        assert dict(j.db.execute("SELECT key, value FROM journal_meta"))[store_migrations.RELAXING_FROM] == "4"
    assert not st.capacity_doubt_open and st.unsigned == []


def test_a_review_recorded_by_the_engine_counts_and_a_forged_one_does_not(db_path, make_entry):
    """`engine.reviews.record_review` (what `callguide review` and the window call) goes through the
    store, which signs it: the doubt closes; the same review appended by hand does not close the next."""
    from callguide.engine.reviews import record_review
    from callguide.identity import Person

    care = Person("bo", "Bo Nielsen", frozenset({"care_team"}))
    _doubted(db_path, make_entry)
    with SQLiteJournal.open(db_path) as j:
        record_review(j, "capacity", "A1", "confirmed", care, now=dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC))
        assert not j.account_state("A1", TODAY).capacity_doubt_open
        j.append_many(_call(make_entry, "C3", ("capacity_doubt", {"reason": "again"})))
    forged = _forge(db_path)
    with SQLiteJournal.open(db_path) as j:
        st = j.account_state("A1", TODAY)
    assert st.capacity_doubt_open and st.payment_blocked and [u["seq"] for u in st.unsigned] == [forged]
    assert len(st.capacity_reviews) == 1
