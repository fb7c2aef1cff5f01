"""Failures reach callers as one-line StoreErrors naming the file, never sqlite3 tracebacks."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time

import pytest

from callguide.store import SQLiteJournal, StoreError
from callguide.store.sqlite import classify_error


def _one_line(err: StoreError, path) -> str:
    msg = str(err)
    assert "\n" not in msg
    assert str(path) in msg
    assert err.__suppress_context__ or err.__cause__ is None
    return msg


def test_locked_database_on_append(db_path, make_entry):
    j = SQLiteJournal.open(db_path, busy_timeout=0.2)
    j.append(make_entry("note", {}))
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO flow_snapshots VALUES ('h', 'f', '1', 't', 'now')")
    try:
        start = time.monotonic()
        with pytest.raises(StoreError) as err:
            j.append(make_entry("note", {}))
        assert time.monotonic() - start < 3
        assert err.value.kind == "locked"
        assert "locked" in _one_line(err.value, db_path)
    finally:
        other.execute("ROLLBACK")
        other.close()
    # Once the lock is gone the journal carries on with one valid chain.
    assert j.append(make_entry("note", {})).seq == 2
    assert j.verify().ok
    j.close()


def test_locked_database_on_open(db_path):
    SQLiteJournal.open(db_path).close()
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError) as err:
            SQLiteJournal.open(db_path, busy_timeout=0.2)
        assert err.value.kind == "locked"
        _one_line(err.value, db_path)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(path)
    assert err.value.kind == "corrupt"
    assert "not a CallGuide journal" in _one_line(err.value, path)


def test_directory_as_path(tmp_path):
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(tmp_path)
    _one_line(err.value, tmp_path)


def test_parent_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(blocker / "journal.db")
    _one_line(err.value, blocker / "journal.db")


@pytest.mark.parametrize(("exc", "kind"), [
    (sqlite3.OperationalError("database is locked"), "locked"),
    (sqlite3.DatabaseError("file is not a database"), "corrupt"),
    (sqlite3.DatabaseError("database disk image is malformed"), "corrupt"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "readonly"),
    (sqlite3.OperationalError("unable to open database file"), "readonly"),
    (PermissionError(13, "Permission denied"), "readonly"),
    (sqlite3.OperationalError("database or disk is full"), "full"),
    (OSError(28, "No space left on device"), "full"),
    (sqlite3.IntegrityError("journal entries are append-only"), "append_only"),
    (sqlite3.OperationalError("something odd\nsecond line"), "other"),
])
def test_classify_error(exc, kind, tmp_path):
    err = classify_error(exc, tmp_path / "j.db")
    assert err.kind == kind
    _one_line(err, tmp_path / "j.db")


def test_read_only_file(db_path, make_entry):
    SQLiteJournal.open(db_path).close()
    # A read-only connection stands in for a read-only location (tests may run as root).
    j = SQLiteJournal.open(db_path)
    j._conn.close()
    j._conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
    with pytest.raises(StoreError) as err:
        j.append(make_entry("note", {}))
    assert err.value.kind == "readonly"
    _one_line(err.value, db_path)


def test_unreadable_data_is_a_store_error(journal, make_entry, db_path):
    journal.append(make_entry("hold_started", {"until": "2027-01-01"}))
    with sqlite3.connect(db_path) as other:
        other.execute("DROP TRIGGER entries_no_update")
        other.execute("UPDATE entries SET data = '{not json' WHERE seq = 1")
    with pytest.raises(StoreError) as err:
        journal.call_entries("C1")
    assert err.value.kind == "corrupt" and "entry 1" in _one_line(err.value, db_path)
    with pytest.raises(StoreError):
        journal.account_state("A1", dt.date(2026, 1, 1))
    result = journal.verify()
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 1, "data is not valid JSON")
