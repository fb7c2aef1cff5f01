"""The local journal: one SQLite file via sqlite-utils (WAL, synchronous=FULL), append-only and
hash-chained. See docs/journal.md for the contract.

Concurrency: every append runs in `BEGIN IMMEDIATE`, so two processes writing the same file
serialise and never fork the chain. The last (seq, hash) is cached in memory and trusted only while
`PRAGMA data_version` shows no other connection has committed since our own last write.

Every sqlite3 / OS failure leaving this module is a `StoreError` with a one-line message naming
the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from . import migrations as _migrations
from .base import (
    GENESIS_HASH,
    AccountState,
    CallSummary,
    Entry,
    JournalStore,
    NewEntry,
    StoreError,
    VerifyResult,
    canonical_json,
    compute_hash,
)
from .derive import STATE_TYPES, derive_account_state

REDACTED = "[redacted]"
DEFAULT_BUSY_TIMEOUT = 5.0
_COLUMNS = "seq, ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, data, prev_hash, hash"
_BATCH = 2000


def classify_error(exc: BaseException, path: str | Path) -> StoreError:
    """Turn a sqlite3 / OS error into a one-line StoreError naming the journal file."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    low = msg.lower()
    where = f"journal {path}"
    if isinstance(exc, StoreError):
        return exc
    if "locked" in low or "busy" in low:
        return StoreError(f"The {where} is locked by another program (waited, still busy); try again.", "locked")
    if "not a database" in low or "malformed" in low or "corrupt" in low or "unsupported file format" in low:
        return StoreError(f"The {where} is not a CallGuide journal or is damaged ({msg}).", "corrupt")
    if "disk is full" in low or "no space" in low or "disk full" in low:
        return StoreError(f"The disk holding the {where} is full; free some space.", "full")
    if ("readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low
            or isinstance(exc, PermissionError)):
        return StoreError(f"The {where} cannot be written here (read-only location or no permission).",
                          "readonly")
    if "append-only" in low or "immutable" in low:
        return StoreError(f"The {where} refused a change: {msg}.", "append_only")
    return StoreError(f"The {where} failed: {msg}.", "other")


def _loads(data: str, seq: int, path: Path) -> Any:
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        raise StoreError(f"The journal {path} is damaged: entry {seq} has unreadable data.", "corrupt") from None


def _row_to_entry(row: tuple[Any, ...], path: Path) -> Entry:
    seq, ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, data, prev_hash, hash_ = row
    return Entry(seq=seq, type=type_, call_id=call_id, account_id=account_id, agent=agent, flow_id=flow_id,
                 flow_hash=flow_hash, step_id=step_id, data=_loads(data, seq, path), ts=ts, prev_hash=prev_hash,
                 hash=hash_)


def _entry_dict(entry: Entry) -> dict[str, Any]:
    return {"seq": entry.seq, "ts": entry.ts, "type": entry.type, "call_id": entry.call_id,
            "account_id": entry.account_id, "agent": entry.agent, "flow_id": entry.flow_id,
            "flow_hash": entry.flow_hash, "step_id": entry.step_id, "data": entry.data,
            "prev_hash": entry.prev_hash, "hash": entry.hash}


def _redact_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_leaves(v) for v in value]
    return REDACTED


def redact_data(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """Special-category values replaced by "[redacted]": an entry whose data says
    `sensitivity: special` loses its `value` and every value inside its `input` (keys kept), and a
    `vulnerability` entry (consented special fields only, by contract) loses its field values and
    its `category`. Field ids, review dates and consent purposes stay."""
    out = dict(data)
    if out.get("sensitivity") == "special":
        if "value" in out:
            out["value"] = REDACTED
        if "input" in out:
            out["input"] = _redact_leaves(out["input"])
    if type_ == "vulnerability":
        if isinstance(out.get("fields"), dict):
            out["fields"] = {k: REDACTED for k in out["fields"]}
        if "category" in out:  # a copy of a special field's value
            out["category"] = REDACTED
    return out


def open_database(path: Path, migrations: Migrations, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Database:
    """Open the SQLite file at `path` with the journal's durability settings (WAL,
    synchronous=FULL, foreign keys, a busy timeout) and apply `migrations` under one write lock,
    so two processes opening a new file never migrate it twice. Other tables kept in the same
    file (publications) open through here too. Raises StoreError with a one-line message."""
    conn: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=busy_timeout, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"The journal {path} cannot use WAL mode (got {mode}).", "other")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn, execute_plugins=False)
        if migrations.pending(db):
            conn.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(db)  # re-checks pending under the write lock
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return db
    except (sqlite3.Error, OSError) as exc:
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        raise classify_error(exc, path) from None
    except StoreError:
        if conn is not None:
            conn.close()
        raise


class SQLiteJournal(JournalStore):
    """The journal in one local SQLite file. Thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path, db: Database) -> None:
        self.path = path
        self.db = db
        self._conn = db.conn
        self._lock = threading.RLock()
        self._last: tuple[int, str] | None = None  # (seq, hash) after our last write/read
        self._data_version: int | None = None
        self._closed = False

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> SQLiteJournal:
        """Open (creating it and its parent folders if needed) and migrate the journal at `path`."""
        path = Path(path)
        return cls(path, open_database(path, _migrations.migrations, busy_timeout=busy_timeout))

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreError(f"The journal {self.path} is closed.", "closed")
            try:
                yield self._conn
            except (sqlite3.Error, OSError) as exc:
                raise classify_error(exc, self.path) from None

    # ---------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE ... COMMIT transaction."""
        with self._guard() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise

    @staticmethod
    def _prepare(entry: NewEntry) -> tuple[dict[str, Any], str]:
        fields: dict[str, Any] = {"ts": entry.ts, "type": entry.type, "call_id": entry.call_id,
                                  "account_id": entry.account_id, "agent": entry.agent, "flow_id": entry.flow_id,
                                  "flow_hash": entry.flow_hash, "step_id": entry.step_id}
        for key in ("ts", "type", "call_id", "account_id", "agent"):
            if not isinstance(fields[key], str):
                raise StoreError(f"Journal entry field {key!r} must be text, got {fields[key]!r}.", "invalid")
        for key in ("flow_id", "flow_hash", "step_id"):
            if fields[key] is not None and not isinstance(fields[key], str):
                raise StoreError(f"Journal entry field {key!r} must be text or None, got {fields[key]!r}.",
                                 "invalid")
        try:
            data_text = canonical_json(entry.data)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"Journal entry data for {entry.type!r} is not plain JSON: {exc}.", "invalid") from None
        fields["data"] = json.loads(data_text)  # hash exactly what will be read back
        return fields, data_text

    def append(self, entry: NewEntry) -> Entry:
        """Append one entry; committed with synchronous=FULL (durable) when this returns."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Iterable[NewEntry]) -> list[Entry]:
        """Append several entries in one transaction (all or none, one sync), chained in order."""
        prepared = [self._prepare(e) for e in entries]
        if not prepared:
            return []
        with self._guard() as conn:
            for attempt in (1, 2):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = self._version(conn)
                    seq, prev_hash = self._tail(conn, version if attempt == 1 else None)
                    written: list[Entry] = []
                    for fields, data_text in prepared:
                        seq += 1
                        hash_ = compute_hash(prev_hash, fields)
                        # An explicit seq: a stale cached tail hits the primary key instead of forking.
                        conn.execute(
                            "INSERT INTO entries (seq, ts, type, call_id, account_id, agent, flow_id, flow_hash,"
                            " step_id, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            (seq, fields["ts"], fields["type"], fields["call_id"], fields["account_id"],
                             fields["agent"], fields["flow_id"], fields["flow_hash"], fields["step_id"], data_text,
                             prev_hash, hash_))
                        written.append(Entry(seq=seq, prev_hash=prev_hash, hash=hash_, **fields))
                        prev_hash = hash_
                    conn.execute("COMMIT")
                except sqlite3.IntegrityError:
                    self._rollback(conn)
                    if attempt == 2:
                        raise
                    continue
                except BaseException:
                    self._rollback(conn)
                    raise
                # data_version was read inside our write transaction: it changes only when another
                # connection commits, so this cached tail stays valid until then.
                self._last = (seq, prev_hash)
                self._data_version = version
                return written
        raise AssertionError("unreachable")

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int:
        return conn.execute("PRAGMA data_version").fetchone()[0]

    def _rollback(self, conn: sqlite3.Connection) -> None:
        self._last = None
        self._data_version = None
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _tail(self, conn: sqlite3.Connection, version: int | None) -> tuple[int, str]:
        """(seq, hash) of the last entry, inside the write transaction."""
        if self._last is not None and version is not None and self._data_version == version:
            return self._last
        row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def save_flow_snapshot(self, flow_hash: str, flow_id: str, version: str, text: str) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO flow_snapshots (flow_hash, flow_id, version, text, first_seen)"
                         " VALUES (?,?,?,?,?)", (flow_hash, flow_id, str(version), text, now))

    # ---------------------------------------------------------------- reading

    def flow_snapshot(self, flow_hash: str) -> str | None:
        with self._guard() as conn:
            row = conn.execute("SELECT text FROM flow_snapshots WHERE flow_hash = ?", (flow_hash,)).fetchone()
        return row[0] if row else None

    def call_entries(self, call_id: str) -> list[Entry]:
        with self._guard() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE call_id = ? ORDER BY seq",
                                (call_id,)).fetchall()
        return [_row_to_entry(r, self.path) for r in rows]

    def account_entries(self, account_id: str) -> list[Entry]:
        with self._guard() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE account_id = ? ORDER BY seq",
                                (account_id,)).fetchall()
        return [_row_to_entry(r, self.path) for r in rows]

    def account_state(self, account_id: str, today: dt.date) -> AccountState:
        marks = ",".join("?" * len(STATE_TYPES))
        with self._guard() as conn:
            rows = conn.execute(
                f"SELECT seq, ts, type, call_id, data FROM entries INDEXED BY idx_entries_account_seq"
                f" WHERE account_id = ? AND type IN ({marks}) ORDER BY seq",
                (account_id, *STATE_TYPES)).fetchall()
        return derive_account_state(
            account_id, ((s, ts, t, c, _loads(d, s, self.path)) for s, ts, t, c, d in rows), today)

    def unfinished_calls(self) -> list[CallSummary]:
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT c.call_id, c.account_id, c.agent, c.started, c.last_ts, c.entries, e.data, e.seq"
                " FROM call_index c JOIN entries e ON e.seq = c.start_seq"
                " WHERE c.ended = 0 AND c.start_seq IS NOT NULL ORDER BY c.start_seq").fetchall()
        return [CallSummary(call_id=r[0], account_id=r[1], agent=r[2], started=r[3], last_ts=r[4],
                            entries=r[5], data=_loads(r[6], r[7], self.path)) for r in rows]

    def iter_entries(self, after_seq: int = 0) -> Iterator[Entry]:
        """Every entry with seq > after_seq, in order, read in batches (no long-held lock)."""
        last = after_seq
        while True:
            with self._guard() as conn:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (last, _BATCH)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _row_to_entry(row, self.path)
            last = rows[-1][0]

    def export_redacted(self, call_id: str) -> list[dict[str, Any]]:
        """The call's entries as plain dicts, special-category values replaced by "[redacted]".
        `hash` stays the hash of the original entry."""
        out = []
        for entry in self.call_entries(call_id):
            d = _entry_dict(entry)
            d["data"] = redact_data(entry.type, entry.data)
            out.append(d)
        return out

    def count(self) -> int:
        with self._guard() as conn:
            return conn.execute("SELECT count(*) FROM entries").fetchone()[0]

    def verify(self) -> VerifyResult:
        """Recompute the whole chain; name the first bad seq (gap, broken link, hash mismatch)."""
        expected_seq = 1
        prev_hash = GENESIS_HASH
        checked = 0
        last = 0
        while True:
            with self._guard() as conn:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (last, _BATCH)).fetchall()
            if not rows:
                return VerifyResult(ok=True, checked=checked)
            for row in rows:
                seq, ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, data, p_hash, hash_ = row
                if seq != expected_seq:
                    return VerifyResult(False, checked, seq, f"gap: expected seq {expected_seq}, found {seq}")
                if p_hash != prev_hash:
                    return VerifyResult(False, checked, seq,
                                        f"broken link: prev_hash does not match the hash of seq {seq - 1}"
                                        if seq > 1 else "broken link: first entry's prev_hash is not genesis")
                try:
                    parsed = json.loads(data)
                except (TypeError, ValueError):
                    return VerifyResult(False, checked, seq, "data is not valid JSON")
                fields = {"ts": ts, "type": type_, "call_id": call_id, "account_id": account_id,
                          "agent": agent, "flow_id": flow_id, "flow_hash": flow_hash, "step_id": step_id,
                          "data": parsed}
                try:
                    computed = compute_hash(p_hash, fields)
                except (TypeError, ValueError):
                    return VerifyResult(False, checked, seq, "data cannot be hashed")
                if computed != hash_:
                    return VerifyResult(False, checked, seq, "hash mismatch: the entry was changed after writing")
                checked += 1
                expected_seq = seq + 1
                prev_hash = hash_
            last = rows[-1][0]

    def rebuild_call_index(self) -> None:
        """Recreate the derived call index from the entries (repair tool)."""
        with self._write():
            _migrations.rebuild_call_index(self.db)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()

    def __enter__(self) -> SQLiteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
