"""The nine kinds of tampering `audit verify` must detect (docs/journal.md, "Tamper evidence"),
each done the way an attacker with the file would do it: a plain sqlite3 connection, triggers
dropped first, hashes recomputed where that helps, checkpoints deleted where they would give the
attacker away. With the anchor present all nine are detected; without it, the audit says what it
cannot rule out. Normal opening refuses the same journals with one line."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from callguide.store import GENESIS_HASH, NewEntry, SQLiteJournal, StoreError, compute_hash
from callguide.store.audit import audit_journal
from callguide.store.checkpoints import AnchorFolder, Checkpoint
from callguide.store.keys import KeyStore, PublicKey

_FIELDS = ("ts", "type", "call_id", "account_id", "agent", "flow_id", "flow_hash", "step_id")


def _entry(type_: str, call: int, n: int, data: dict | None = None) -> NewEntry:
    return NewEntry(type=type_, call_id=f"C{call}", account_id=f"TX-{call}", agent="kim", flow_id="texas",
                    flow_hash="f" * 64, step_id="s1", data=data or {}, ts=f"2026-03-01T10:{call:02d}:{n:02d}Z")


def _call(j: SQLiteJournal, call: int) -> None:
    j.append(_entry("call_started", call, 0, {"account": {"id": f"TX-{call}"}}))
    j.append(_entry("consent", call, 1, {"purpose": "health_disclosure", "decision": "given",
                                         "input": {"op": "consent", "decision": "given"}}))
    j.append(_entry("vulnerability", call, 2, {"fields": {"condition": "illness"}, "review_date": "2099-01-01",
                                               "consent": "health_disclosure"}))
    j.append(_entry("note", call, 3, {"text": "ok"}))
    j.append(_entry("call_ended", call, 4, {"outcome": "done", "summary": {}}))


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    """Three calls (15 entries), a checkpoint every 4 entries and at every call end."""
    path = tmp_path / "journal.db"
    with SQLiteJournal.open(path, checkpoint_every=4) as j:
        for call in (1, 2, 3):
            _call(j, call)
    return path


def _attacker(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_%'"
                                ).fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    return conn


def _rehash_from(conn: sqlite3.Connection, seq: int) -> None:
    prev = conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq - 1,)).fetchone()
    prev_hash = prev[0] if prev else GENESIS_HASH
    rows = conn.execute(f"SELECT seq, {', '.join(_FIELDS)}, data FROM entries WHERE seq >= ? ORDER BY seq",
                        (seq,)).fetchall()
    for row in rows:
        fields = dict(zip(_FIELDS, row[1:9], strict=True))
        fields["data"] = json.loads(row[9])
        h = compute_hash(prev_hash, fields)
        conn.execute("UPDATE entries SET prev_hash = ?, hash = ? WHERE seq = ?", (prev_hash, h, row[0]))
        prev_hash = h


def _restore(conn: sqlite3.Connection) -> None:
    """Put the triggers back (a careful attacker would), so only the evidence is left."""
    from callguide.store import migrations

    for name, (type_, _, sql) in migrations.expected_schema().items():
        if type_ == "trigger" and conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is None:
            conn.execute(sql)
    conn.close()


def _other_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _resign(cp: Checkpoint, key: ed25519.Ed25519PrivateKey, head: str | None = None) -> Checkpoint:
    public = PublicKey(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    unsigned = Checkpoint(cp.journal_id, cp.seq, head or cp.head, cp.ts, public.fingerprint, "")
    return Checkpoint(cp.journal_id, cp.seq, unsigned.head, cp.ts, public.fingerprint,
                      key.sign(unsigned.payload()).hex())


# ---------------------------------------------------------------------------- the nine kinds

def edited_row(path: Path) -> None:
    conn = _attacker(path)
    # the details are sealed (ciphertext); an attacker moves the review date, which stays readable
    conn.execute("""UPDATE entries SET data = replace(data, '"2099-01-01"', '"2000-01-01"') WHERE seq = 3""")
    _restore(conn)


def deleted_middle_row(path: Path) -> None:
    conn = _attacker(path)
    call_id = conn.execute("SELECT call_id FROM entries WHERE seq = 7").fetchone()[0]
    conn.execute("DELETE FROM entries WHERE seq = 7")
    conn.execute("UPDATE call_index SET entries = entries - 1, own = own - 1 WHERE call_id = ?", (call_id,))
    _restore(conn)


def swapped_rows(path: Path) -> None:
    conn = _attacker(path)
    cols = ", ".join((*_FIELDS, "data", "prev_hash", "hash"))
    a = conn.execute(f"SELECT {cols} FROM entries WHERE seq = 4").fetchone()
    b = conn.execute(f"SELECT {cols} FROM entries WHERE seq = 5").fetchone()
    sets = ", ".join(f"{c} = ?" for c in cols.split(", "))
    conn.execute(f"UPDATE entries SET {sets} WHERE seq = 4", b)
    conn.execute(f"UPDATE entries SET {sets} WHERE seq = 5", a)
    _restore(conn)


def truncation(path: Path) -> None:
    """The last call deleted, with its checkpoints and counts: the file alone looks whole."""
    conn = _attacker(path)
    conn.execute("DELETE FROM entries WHERE seq > 10")
    conn.execute("DELETE FROM checkpoints WHERE seq > 10")
    conn.execute("DELETE FROM call_index WHERE call_id = 'C3'")
    _restore(conn)


def forgery(path: Path) -> None:
    """Call 1's consent turned from given to declined, every later hash recomputed, and the
    checkpoints that no longer match deleted."""
    conn = _attacker(path)
    conn.execute("""UPDATE entries SET data = replace(data, '"given"', '"declined"') WHERE seq = 2""")
    _rehash_from(conn, 2)
    conn.execute("DELETE FROM checkpoints WHERE seq >= 2")
    _restore(conn)


def dropped_triggers(path: Path) -> None:
    _attacker(path).close()


def damaged_index(path: Path) -> None:
    """The account index's leaf page claims to hold no cells: lookups by account find nothing."""
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'idx_entries_account_state'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page_size)
        header = bytearray(f.read(8))
        assert header[0] == 0x0A, "expected a leaf index page"
        header[3:5] = (0).to_bytes(2, "big")
        f.seek((root - 1) * page_size)
        f.write(header)


def dropped_table(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE call_index")
    conn.close()


def forged_checkpoints(path: Path, anchor: bool = True) -> None:
    """A forgery as above, then every checkpoint in the file (and, with `anchor`, the anchor file
    too) re-signed to match, with the attacker's own key."""
    key = _other_key()
    forgery(path)
    conn = sqlite3.connect(path, isolation_level=None)
    journal_id = conn.execute("SELECT value FROM journal_meta WHERE key = 'journal_id'").fetchone()[0]
    end, head = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    conn.execute("DROP TRIGGER checkpoints_no_delete")
    conn.execute("DELETE FROM checkpoints")
    cp = _resign(Checkpoint(journal_id, end, head, "2026-03-01T11:00:00Z", "", ""), key)
    conn.execute("INSERT INTO checkpoints VALUES (?,?,?,?,?)", (cp.seq, cp.ts, cp.head, cp.key, cp.sig))
    _restore(conn)
    if anchor:
        AnchorFolder().file_for(journal_id).write_text(json.dumps({**cp.to_dict(), "path": str(path.absolute())})
                                                       + "\n")


TAMPER_KINDS: dict[str, tuple[Callable[[Path], None], str]] = {
    "edited row": (edited_row, "BROKEN at entry 3: hash mismatch"),
    "deleted middle row": (deleted_middle_row, "BROKEN at entry 8: gap"),
    "swapped rows": (swapped_rows, "BROKEN at entry 4"),
    "truncation": (truncation, "the journal ends at entry 10, the anchor of"),
    "forgery with recomputed hashes": (forgery, "were rewritten after they were signed"),
    "dropped triggers": (dropped_triggers, "append-only triggers missing"),
    "damaged index page": (damaged_index, "SQLite integrity_check"),
    "dropped table": (dropped_table, "the table call_index is missing"),
    "checkpoints and anchor signed with another key": (forged_checkpoints, "not a trusted key"),
}
OPEN_REFUSES = {**TAMPER_KINDS, "checkpoints signed with another key": (
    lambda p: forged_checkpoints(p, anchor=False), "")}


@pytest.mark.parametrize("kind", list(TAMPER_KINDS))
def test_audit_detects_each_kind_with_the_anchor(journal_path, kind):
    assert audit_journal(journal_path).ok
    attack, evidence = TAMPER_KINDS[kind]
    attack(journal_path)
    report = audit_journal(journal_path)
    text = "\n".join(report.lines())
    assert not report.ok, text
    assert evidence in text, text


def test_nine_of_nine(journal_path, tmp_path):
    detected = []
    for kind, (attack, _) in TAMPER_KINDS.items():
        copy = tmp_path / f"{kind.replace(' ', '_')}.db"
        shutil.copy(journal_path, copy)
        # Each copy is the same journal (same id, same anchor file): restore the anchor between runs.
        anchor = AnchorFolder().file_for(audit_journal(copy).journal_id)
        saved = anchor.read_bytes()
        attack(copy)
        detected.append(not audit_journal(copy).ok)
        anchor.write_bytes(saved)
    assert sum(detected) == 9 == len(TAMPER_KINDS)


def test_rollback_to_an_older_copy(tmp_path):
    path = tmp_path / "journal.db"
    with SQLiteJournal.open(path) as j:
        _call(j, 1)
    older = tmp_path / "older.db"
    shutil.copy(path, older)
    with SQLiteJournal.open(path) as j:
        _call(j, 2)
    shutil.copy(older, path)
    report = audit_journal(path)
    assert not report.ok
    assert any("the journal ends at entry 5, the anchor of" in p and "entries 6-10 are missing" in p
               for p in report.problems), report.lines()
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(path)
    assert err.value.kind == "tampered" and "callguide audit verify" in str(err.value)


def test_rollback_then_written_on_is_a_fork(tmp_path):
    """The older copy put back and used for another call: the anchor's entry 10 no longer matches."""
    path = tmp_path / "journal.db"
    with SQLiteJournal.open(path) as j:
        _call(j, 1)
    older = tmp_path / "older.db"
    shutil.copy(path, older)
    with SQLiteJournal.open(path) as j:
        _call(j, 2)
    shutil.copy(older, path)
    # Written on by something that does not check (the app would refuse to open it).
    with _unchecked(path) as j:
        _call(j, 3)
    report = audit_journal(path)
    assert any("entry 10 has hash" in p for p in report.problems), report.lines()


def _unchecked(path: Path) -> SQLiteJournal:
    """The journal opened without the open checks or witnesses (as an attacker's tool would)."""
    from callguide.store import migrations
    from callguide.store.sqlite import open_database

    j = SQLiteJournal(path, open_database(path, migrations.migrations), signing=KeyStore().signing_key())
    with j._guard() as conn:
        j.journal_id = conn.execute("SELECT value FROM journal_meta WHERE key = 'journal_id'").fetchone()[0]
    return j


@pytest.mark.parametrize("kind", ["truncation", "forgery with recomputed hashes", "dropped triggers", "dropped table",
                                  "checkpoints signed with another key"])
def test_normal_open_refuses_with_one_line(journal_path, kind):
    """(A checkpoint signed with another key is not refused by itself: it may come from another
    machine; the anchor, signed by this machine, is what the open compares with.)"""
    OPEN_REFUSES[kind][0](journal_path)
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(journal_path)
    msg = str(err.value)
    assert "\n" not in msg and str(journal_path) in msg
    assert "callguide audit verify" in msg or "audit verify" in msg or err.value.kind == "corrupt", msg


def test_damaged_index_refuses_derived_state_instead_of_showing_none(journal_path):
    import datetime as dt

    damaged_index(journal_path)
    with SQLiteJournal.open(journal_path, readonly=True) as j:
        with pytest.raises(StoreError) as err:
            j.account_state("TX-3", dt.date(2026, 3, 1))
        assert err.value.kind == "corrupt" and "account TX-3" in str(err.value)
        assert len(j.call_entries("C3")) == 5  # the other index is whole


def test_index_entry_moved_to_another_account_is_noticed(journal_path):
    """One index cell rewritten from TX-3 to TX-4: every total still adds up, but TX-3's slice
    does not match its count, so its history is refused rather than shown short."""
    import datetime as dt

    conn = sqlite3.connect(journal_path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'idx_entries_account_state'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(journal_path, "r+b") as f:
        f.seek((root - 1) * page_size)
        page = bytearray(f.read(page_size))
        at = page.index(b"TX-3")
        page[at:at + 4] = b"TX-4"
        f.seek((root - 1) * page_size)
        f.write(page)
    with SQLiteJournal.open(journal_path) as j, pytest.raises(StoreError, match="account TX-3"):
        j.account_state("TX-3", dt.date(2026, 3, 1))
    assert any("integrity_check" in p for p in audit_journal(journal_path).problems)


def test_without_an_anchor_the_audit_says_what_it_cannot_rule_out(journal_path, tmp_path):
    shutil.rmtree(tmp_path / "anchors")
    truncation(journal_path)
    report = audit_journal(journal_path)
    text = "\n".join(report.lines())
    assert report.ok, text  # the file alone is consistent: nothing to show
    assert "no anchor found for journal" in text
    assert "truncation, and rollback to an older copy, cannot be ruled out" in text


def test_without_an_anchor_a_forgery_is_still_caught_by_the_call_end_rule(journal_path, tmp_path):
    shutil.rmtree(tmp_path / "anchors")
    forgery(journal_path)
    report = audit_journal(journal_path)
    assert any("checkpoints were removed" in p for p in report.problems), report.lines()


@pytest.mark.parametrize("readonly", [False, True])
def test_without_an_anchor_opening_refuses_a_forgery_by_the_call_end_rule(journal_path, tmp_path, readonly):
    """Every call end writes a checkpoint in its own transaction, so a call ended after the newest
    checkpoint in the file means checkpoints were removed (the forger's way to hide rewritten
    hashes). Before, only the audit said so: without the anchor, opening let `history` show call 1's
    consent as declined, as forged. Cheap: only the entries after the newest checkpoint are read."""
    shutil.rmtree(tmp_path / "anchors")
    forgery(journal_path)
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(journal_path, readonly=readonly)
    msg = str(err.value)
    assert err.value.kind == "tampered" and "\n" not in msg, msg
    assert "a call ended at entry 15" in msg and "checkpoints were removed" in msg, msg


def test_without_any_key_the_audit_says_forgery_cannot_be_ruled_out(journal_path, tmp_path, monkeypatch):
    monkeypatch.setenv("CALLGUIDE_KEYS_DIR", str(tmp_path / "elsewhere"))
    report = audit_journal(journal_path)
    assert any("no public key to check signatures" in u and "forgery cannot be ruled out" in u
               for u in report.unchecked), report.lines()


def test_another_machines_key_can_be_trusted_explicitly(journal_path, tmp_path, monkeypatch):
    public = KeyStore().public_key()
    assert public is not None
    monkeypatch.setenv("CALLGUIDE_KEYS_DIR", str(tmp_path / "auditor-keys"))
    KeyStore().signing_key()  # the auditor's own machine has another key
    report = audit_journal(journal_path)
    assert not report.ok and any("not a trusted key" in p for p in report.problems)
    assert audit_journal(journal_path, trusted=[public]).ok


def test_changed_journal_id_is_noticed_through_the_anchor_folder(journal_path):
    conn = _attacker(journal_path)
    conn.execute("UPDATE journal_meta SET value = 'aaaaaaaa-0000-0000-0000-000000000000' WHERE key = 'journal_id'")
    _restore(conn)
    report = audit_journal(journal_path)
    text = "\n".join(report.lines())
    assert not report.ok
    assert "saw another journal" in text or "does not carry a valid signature" in text, text


def test_extra_trigger_that_drops_inserts_is_refused(journal_path):
    conn = sqlite3.connect(journal_path)
    conn.execute("CREATE TRIGGER swallow BEFORE INSERT ON entries BEGIN SELECT RAISE(IGNORE); END")
    conn.close()
    with pytest.raises(StoreError, match="unknown trigger swallow"):
        SQLiteJournal.open(journal_path)
    assert any("unknown trigger swallow" in p for p in audit_journal(journal_path).problems)


def test_torn_last_anchor_line_is_not_tampering(journal_path):
    journal_id = audit_journal(journal_path).journal_id
    anchor = AnchorFolder().file_for(journal_id)
    with open(anchor, "ab") as f:
        f.write(b'{"head": "abc", "journal_')
    report = audit_journal(journal_path)
    assert report.ok, report.lines()
    assert any("cut short" in u for u in report.unchecked)
    # The next checkpoint starts on a line of its own.
    with SQLiteJournal.open(journal_path) as j:
        _call(j, 4)
    assert audit_journal(journal_path).ok
    assert AnchorFolder().latest(journal_id).seq == 20


# ------------------------------------------------- readers show only entries that are what was written

def edited_row_own_hash_recomputed(path: Path) -> None:
    """As `edited_row`, and the row's own hash recomputed (not the later ones, which would need the
    checkpoints deleted too): the row is consistent in itself, its link to the next one is not."""
    conn = _attacker(path)
    conn.execute("""UPDATE entries SET data = replace(data, '"2099-01-01"', '"2000-01-01"') WHERE seq = 3""")
    row = conn.execute(f"SELECT prev_hash, {', '.join(_FIELDS)}, data FROM entries WHERE seq = 3").fetchone()
    fields = dict(zip(_FIELDS, row[1:9], strict=True))
    fields["data"] = json.loads(row[9])
    conn.execute("UPDATE entries SET hash = ? WHERE seq = 3", (compute_hash(row[0], fields),))
    _restore(conn)


ROW_TAMPERS: dict[str, Callable[[Path], None]] = {
    "edited row": edited_row,
    "edited row, its own hash recomputed": edited_row_own_hash_recomputed,
    "swapped rows": swapped_rows,
}
READERS: dict[str, Callable[[SQLiteJournal], object]] = {
    "account state": lambda j: j.account_state("TX-1", __import__("datetime").date(2026, 3, 1)),
    "account entries": lambda j: j.account_entries("TX-1"),
    "call entries": lambda j: j.call_entries("C1"),
    "every entry": lambda j: list(j.iter_entries()),
}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("kind", list(ROW_TAMPERS))
def test_a_reader_refuses_an_entry_that_is_not_what_was_written(journal_path, kind, reader):
    """Opening checks the head, the checkpoints and the counts, not every hash (too slow for every
    start); so each reader checks the entries it reads, and their links to their neighbours, before
    anything is shown. Before: the history of TX-1 showed no vulnerability (its review date moved to
    2000), and the exports showed the changed entry as written."""
    ROW_TAMPERS[kind](journal_path)
    with SQLiteJournal.open(journal_path, readonly=True) as j, pytest.raises(StoreError) as err:
        READERS[reader](j)
    msg = str(err.value)
    assert err.value.kind == "tampered" and "\n" not in msg, msg
    assert "entry" in msg and f"callguide audit verify --db {journal_path}" in msg, msg


def test_unfinished_calls_refuse_an_edited_call_start(journal_path):
    with SQLiteJournal.open(journal_path) as j:
        j.append(_entry("call_started", 4, 0, {"account": {"id": "TX-4"}}))
    conn = _attacker(journal_path)
    conn.execute("UPDATE entries SET agent = 'someone-else' WHERE seq = 16")
    _restore(conn)
    with SQLiteJournal.open(journal_path, readonly=True) as j, pytest.raises(StoreError, match="entry 16"):
        j.unfinished_calls()


def test_history_of_an_edited_journal_is_one_error_line(journal_path):
    from .faultlib import cli, one_error_line

    edited_row(journal_path)
    r = cli("history", "--account", "TX-1", "--db", str(journal_path))
    assert r.returncode != 0
    assert "entry 3" in one_error_line(r.stdout, r.stderr)
    assert "Vulnerability" not in r.stdout and "no history" not in r.stdout


# ------------------------------------------- a journal deleted, emptied or replaced, then started afresh

def _gone(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["deleted", "emptied", "replaced by another journal"])
def test_a_journal_started_afresh_where_another_was_anchored_is_refused(journal_path, tmp_path, how):
    """Before: the new, empty journal opened as if nothing had happened, so `history` said "no
    history" for accounts with protections, and a call went ahead without them; only `audit verify`
    noticed (its scan of every anchor file). Opening now reads the anchor folder's note of the
    journals it saw at this path."""
    old_id = audit_journal(journal_path).journal_id
    if how == "replaced by another journal":
        other = tmp_path / "other" / "journal.db"
        with SQLiteJournal.open(other) as j:
            _call(j, 7)
        _gone(journal_path)
        shutil.copy(other, journal_path)
    else:
        _gone(journal_path)
        if how == "emptied":
            journal_path.write_bytes(b"")
            with pytest.raises(StoreError, match="the file is empty"):  # a reading command makes no journal
                SQLiteJournal.open(journal_path, readonly=True)
    with pytest.raises(StoreError) as err:
        SQLiteJournal.open(journal_path)
    msg = str(err.value)
    assert err.value.kind == "tampered" and "\n" not in msg, msg
    assert f"saw another journal here ({old_id}, 15 entries)" in msg and "audit verify" in msg, msg
    # A fresh start on purpose: the old journal's anchor file moved aside, and the new one opens.
    anchor = AnchorFolder().file_for(old_id)
    anchor.rename(tmp_path / "kept-aside.jsonl")
    with SQLiteJournal.open(journal_path) as j:
        _call(j, 8)
    assert audit_journal(journal_path).ok


def test_a_journal_moved_away_does_not_hold_its_old_path(journal_path, tmp_path):
    moved = tmp_path / "moved.db"
    with SQLiteJournal.open(journal_path) as j:
        j.wait_for_witnesses()
    for suffix in ("", ".keys"):
        Path(f"{journal_path}{suffix}").rename(f"{moved}{suffix}")
    _gone(journal_path)
    with SQLiteJournal.open(moved) as j:
        _call(j, 4)  # anchored at its new path
    with SQLiteJournal.open(journal_path) as j:  # a new journal where it was
        _call(j, 5)


def test_history_of_an_emptied_journal_is_one_error_line(journal_path):
    from .faultlib import cli, one_error_line

    _gone(journal_path)
    journal_path.write_bytes(b"")
    r = cli("history", "--account", "TX-1", "--db", str(journal_path))
    assert r.returncode != 0 and "no history" not in r.stdout
    assert "is empty" in one_error_line(r.stdout, r.stderr)
    assert journal_path.stat().st_size == 0  # a reading command wrote nothing
    r = cli("calls", "--unfinished", "--db", str(journal_path))
    assert r.returncode != 0 and "saw another journal here" in one_error_line(r.stdout, r.stderr)
