"""The local journal: one SQLite file via sqlite-utils (WAL, synchronous=FULL), append-only and
hash-chained. See docs/journal.md for the contract.

Concurrency: every append runs in `BEGIN IMMEDIATE`, so two processes writing the same file
serialise and never fork the chain. The last (seq, hash) is cached in memory and trusted only while
`PRAGMA data_version` shows no other connection has committed since our own last write.

Tamper evidence (docs/journal.md): every batch holding a `call_ended` entry, and every
`checkpoint_every` entries, also writes a signed checkpoint of the head in the same transaction,
then hands it to the witnesses (the anchor folder) from a background thread, in order, so the
caller never waits for the anchor's fsync (an anchor is only ever written after its checkpoint
committed; `close()` waits for the ones still queued). Opening checks the schema (append-only
triggers included), that the indexes count what the table holds, and that the journal still
matches its newest checkpoint and anchor; a journal failing any of these is refused with one line
naming `callguide audit verify`.

Every sqlite3 / OS failure leaving this module is a `StoreError` with a one-line message naming
the file.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import json
import os
import queue
import sqlite3
import threading
import urllib.parse
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database, Migrations

from . import entry_types as et
from . import integrity as _integrity
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
    hash_from_text,
)
from .checkpoints import AnchorFolder, Checkpoint, Witness, WitnessError, sign_checkpoint
from .derive import derive_account_state, relaxes
from .keys import KeyStore, PublicKey, SigningKey
from .sealing import SEALED, DataKeys, Sealer, auditor_data, has_sealed, is_sealed, keys_path, open_all

REDACTED = "[redacted]"
DEFAULT_BUSY_TIMEOUT = 5.0
DEFAULT_CHECKPOINT_EVERY = 50
#: Page size of a new journal file (existing files keep theirs). Every commit writes each page it
#: touched whole to the write-ahead log; a step touches a handful of pages with a few hundred bytes
#: in each, so smaller pages mean a smaller synced write.
PAGE_SIZE = 2048
#: Pages the write-ahead log may hold before a commit copies them back into the file (SQLite's
#: default is 1000). A step writes about six and a half pages, so with 1000 the log file grew for
#: its first 150 steps, and a synced write that makes a file longer also commits the file system's
#: own metadata (new blocks): those steps cost half as much again as later ones. With 250 pages
#: (500 KB at 2 KB pages) the log stops growing after about 40 steps and is then rewritten in place;
#: a checkpoint copies the few distinct pages the steps rewrote (docs/journal.md, "Durability").
WAL_AUTOCHECKPOINT = 250
_COLUMNS = "seq, ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, data, prev_hash, hash"
_BATCH = 2000
_SEALED_TYPES = frozenset(et.SEALED_TYPES)
_RELAXING = frozenset(et.RELAXING_TYPES)
_INSERT = ("INSERT INTO entries (seq, ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, data,"
           " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
_OPEN_JOURNALS: weakref.WeakSet[SQLiteJournal] = weakref.WeakSet()
_STATE_PREDICATE = _migrations.STATE_PREDICATE  # (repeated word for word: the account index is partial)


def _witness_all_at_exit() -> None:
    """A process that exits without closing its journal still hands over the queued checkpoints."""
    for journal in list(_OPEN_JOURNALS):
        with contextlib.suppress(Exception):
            journal.wait_for_witnesses()


atexit.register(_witness_all_at_exit)


def _disk_full(path: str | Path) -> bool:
    """True when the file system holding `path` has no room left for an unprivileged writer."""
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def classify_error(exc: BaseException, path: str | Path) -> StoreError:
    """Turn a sqlite3 / OS error into a one-line StoreError naming the journal file and what to do."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    low = msg.lower()
    where = f"journal {path}"
    if isinstance(exc, StoreError):
        return exc
    if "locked" in low or "busy" in low:
        return StoreError(f"The {where} is locked by another program (waited, still busy); close the other "
                          "program or try again.", "locked")
    if "not a database" in low or "malformed" in low or "corrupt" in low or "unsupported file format" in low:
        return StoreError(f"The {where} is not a CallGuide journal or is damaged ({msg}); run `callguide audit "
                          f"verify --db {path}` and restore it from a backup.", "corrupt")
    if ("disk is full" in low or "no space" in low or "disk full" in low
            or (isinstance(exc, OSError) and exc.errno == 28)
            or (("disk i/o error" in low or "unable to open" in low) and _disk_full(path))):
        return StoreError(f"The disk is full: the {where} cannot be written; free some space and try again.", "full")
    if ("readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low
            or isinstance(exc, PermissionError)):
        return StoreError(f"The {where} cannot be written here (read-only location or no permission); open it "
                          "where you may write, or ask for write access.", "readonly")
    if "append-only" in low or "immutable" in low:
        return StoreError(f"The {where} refused a change: {msg}.", "append_only")
    return StoreError(f"The {where} failed: {msg}.", "other")


def busy_timeout_default() -> float:
    """Seconds to wait for another program's lock: `CALLGUIDE_BUSY_TIMEOUT`, else 5."""
    try:
        return max(0.0, float(os.environ.get("CALLGUIDE_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT)))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT


def _loads(data: str, seq: int, path: Path) -> Any:
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        raise StoreError(f"The journal {path} is damaged: entry {seq} has unreadable data.", "corrupt") from None


_scan_json = json.JSONDecoder().scan_once


def _read_back(text: str) -> Any:
    """`json.loads(text)` of a text `canonical_json` spelt (no white space around it, no byte-order
    mark): the decoder's scanner called directly, without `json.loads`' two white-space matches and
    three Python calls (about half of the read-back's cost); anything it does not read whole goes
    to `json.loads`, which reads it the same way or raises the same error."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        end = -1
    return value if end == len(text) else json.loads(text)


def _row_to_entry(row: tuple[Any, ...], path: Path) -> Entry:
    seq, ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, data, prev_hash, hash_ = row
    return Entry(seq=seq, type=type_, call_id=call_id, account_id=account_id, agent=agent, flow_id=flow_id,
                 flow_hash=flow_hash, step_id=step_id, data=_loads(data, seq, path), ts=ts, prev_hash=prev_hash,
                 hash=hash_)


def _row_hash_ok(row: Sequence[Any]) -> bool:
    """Whether a row (`_COLUMNS`) hashes to its stored hash: spelt around its stored data text (the
    append path's canonical text), else by the definition (`compute_hash`), as `verify` does."""
    seq, ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, data, prev_hash, hash_ = row
    try:
        if hash_from_text(prev_hash, ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id,
                          data) == hash_:
            return True
        fields = {"ts": ts, "type": type_, "call_id": call_id, "account_id": account_id, "agent": agent,
                  "flow_id": flow_id, "flow_hash": flow_hash, "step_id": step_id, "data": json.loads(data)}
        return compute_hash(prev_hash, fields) == hash_
    except (TypeError, ValueError):
        return False


def check_rows(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]], path: Path) -> None:
    """The rule every reader of entries follows (history, a resume, the exports, the list of
    unfinished calls, the sync): an entry is shown only if it is what was written. Each row must hash
    to its stored hash and link to its neighbours (its `prev_hash` is the hash of the entry before, and
    the entry after names its hash), so a row edited, edited with its hash recomputed, or moved is
    refused (StoreError, kind `tampered`), not shown as right. Opening checks the head, the signed
    checkpoints and the counts, not every hash (too slow for every start); a rewrite of every later
    hash too is left to those. Run inside the read that fetched `rows` (`_COLUMNS`, any order)."""
    if not rows:
        return
    links = {r[0]: (r[10], r[11]) for r in rows}
    wanted = sorted({s + d for s in links for d in (-1, 1)} - links.keys() - {0})
    for i in range(0, len(wanted), 500):
        part = wanted[i:i + 500]
        for seq, prev_hash, hash_ in conn.execute(
                f"SELECT seq, prev_hash, hash FROM entries WHERE seq IN ({','.join('?' * len(part))})", part):
            links[seq] = (prev_hash, hash_)
    how = f"nothing from it is shown; run `callguide audit verify --db {path}`"
    for row in rows:
        seq, prev_hash, hash_ = row[0], row[10], row[11]
        if not _row_hash_ok(row):
            _loads(row[9], seq, path)  # data that is not JSON at all says so (damaged, kind `corrupt`)
            raise StoreError(f"The journal {path} was changed after it was written: entry {seq} does not match its "
                             f"hash; {how}.", "tampered")
        before = GENESIS_HASH if seq == 1 else links.get(seq - 1, (None, None))[1]
        after = links.get(seq + 1)
        if prev_hash != before or (after is not None and after[0] != hash_):
            raise StoreError(f"The journal {path} was changed after it was written: entry {seq} is not linked to "
                             f"entry {seq - 1 if prev_hash != before else seq + 1} (moved or rewritten); {how}.",
                             "tampered")


def _entry_dict(entry: Entry) -> dict[str, Any]:
    return {"seq": entry.seq, "ts": entry.ts, "type": entry.type, "call_id": entry.call_id,
            "account_id": entry.account_id, "agent": entry.agent, "flow_id": entry.flow_id,
            "flow_hash": entry.flow_hash, "step_id": entry.step_id, "data": entry.data,
            "prev_hash": entry.prev_hash, "hash": entry.hash}


def _redact_leaves(value: Any) -> Any:
    if is_sealed(value):
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_leaves(v) for v in value]
    return REDACTED


def _redact(value: Any) -> Any:
    if is_sealed(value):
        return REDACTED
    return _redact_leaves(value) if isinstance(value, dict) else REDACTED


def redact_data(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """Special-category values replaced by "[redacted]", as `entry_types` declares them: an entry
    whose data says `sensitivity: special` (an answer to a special field) loses its `value` and every
    value inside its `input` (keys kept), and a type with `redacted_keys` (a `vulnerability`: consented
    special fields only, by contract) loses those keys' values (a mapping keeps its keys). Field ids,
    review dates and consent purposes stay."""
    out = dict(data)
    keys = et.REDACTED_KEYS.get(type_, ())
    if out.get("sensitivity") == "special":
        keys = (*et.FIELD_REDACTED_KEYS, *keys)
    for k in keys:
        if k in out:
            out[k] = _redact(out[k])
    return out


def verify_chain(fetch: Any) -> VerifyResult:
    """Walk the chain through `fetch(after_seq) -> rows` (batches of `_COLUMNS`, in seq order)."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    last = 0
    while True:
        rows = fetch(last)
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


@contextlib.contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every query inside sees the same committed state."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")


def _uri(path: Path, **params: str) -> str:
    return f"file:{urllib.parse.quote(str(path.absolute()))}?{urllib.parse.urlencode(params)}"


def _newer(conn: sqlite3.Connection, migrations: Migrations, schema_version: int | None) -> str | None:
    """Why this file comes from a newer CallGuide, or None. Reads only."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if schema_version is not None and version > schema_version:
        return f"its schema version is {version}, this CallGuide knows up to {schema_version}"
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (Migrations.migrations_table,)).fetchone() is None:
        return None
    try:
        names = [r[0] for r in conn.execute(f"SELECT name FROM {Migrations.migrations_table} WHERE migration_set = ?",
                                            (migrations.name,))]
    except sqlite3.OperationalError:
        return None
    known = {m.name for m in migrations._migrations}
    unknown = [n for n in names if n not in known]
    return f"it has a schema change this CallGuide does not know ({unknown[0]})" if unknown else None


def _connect_readonly(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Read-only: `mode=ro`; in a read-only folder where SQLite cannot make its shared-memory file,
    `immutable=1`, which is safe only when no write-ahead log holds committed changes (else refuse)."""
    if not path.exists():
        raise StoreError(f"There is no journal at {path}.", "missing")
    conn = sqlite3.connect(_uri(path, mode="ro"), uri=True, timeout=busy_timeout, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise
        # Otherwise: no shared-memory file and no way to make one (read-only folder or mount, full disk).
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(f"The journal {path} is in a read-only folder with unsaved changes in {wal.name}; copy the "
                         "folder somewhere writable and open the copy.", "readonly")
    conn = sqlite3.connect(_uri(path, mode="ro", immutable="1"), uri=True, check_same_thread=False)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def open_database(path: Path, migrations: Migrations, *, busy_timeout: float | None = None,
                  readonly: bool = False, schema_version: int | None = None,
                  sign: Callable[[bytes], bytes] | None = None) -> Database:
    """Open the SQLite file at `path` with the journal's durability settings (WAL,
    synchronous=FULL, foreign keys, a busy timeout) and apply `migrations` under one write lock,
    so two processes opening a new file never migrate it twice. Other tables kept in the same
    file (publications) open through here too.

    A file from a newer CallGuide (a migration of this set it does not know, or a user_version
    above `schema_version`; for another set, the journal's own rule too) is refused before anything
    is written to it. `readonly=True` opens
    without writing anything (see `_connect_readonly`) and refuses a file that still needs
    migrating. `sign` (the journal's signing key) signs the grandfathering point of relaxing entries
    when migration 0006 runs, in the same transaction (`migrations.record_relaxing_from`); without it
    nothing is recorded there and the register stays strict. Raises StoreError with a one-line message."""
    conn: sqlite3.Connection | None = None
    timeout = busy_timeout_default() if busy_timeout is None else busy_timeout
    try:
        if readonly:
            conn = _connect_readonly(path, timeout)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        newer = _newer(conn, migrations, schema_version)
        if not newer and migrations is not _migrations.migrations:
            # Other tables kept in the journal's file (publications): the file is the journal's, so a
            # journal from a newer CallGuide is refused by every opener, before anything is written.
            newer = _newer(conn, _migrations.migrations, _migrations.SCHEMA_VERSION)
        if newer:
            raise StoreError(f"The journal {path} was written by a newer version of CallGuide ({newer}); update "
                             "CallGuide to open it. Nothing was changed.", "newer")
        db = Database(conn, execute_plugins=False)
        if readonly:
            if migrations.pending(db):
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                    # An empty file (emptied by a crash or by someone): no journal to read, and not one to
                    # make here either: a reading command would otherwise create one and say "no history".
                    raise StoreError(f"There is no journal at {path} (the file is empty).", "missing")
                raise StoreError(f"The journal {path} was written by an older CallGuide and needs an upgrade, which "
                                 "a read-only opening cannot write; open it once where it can be written.",
                                 "upgrade")
            return db
        if conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new file: small pages, so each commit's few touched pages make a small write-ahead log
            # write (docs/journal.md, "Durability"). Only settable before the first table exists.
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"The journal {path} cannot use WAL mode (got {mode}).", "other")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
        conn.execute("PRAGMA foreign_keys = ON")
        if migrations.pending(db) or (schema_version is not None and
                                      conn.execute("PRAGMA user_version").fetchone()[0] < schema_version):
            conn.execute("BEGIN IMMEDIATE")
            try:
                due = {m.name for m in migrations.pending(db)}
                migrations.apply(db)  # re-checks pending under the write lock
                if sign is not None and migrations is _migrations.migrations and _migrations.M0006 in due:
                    _migrations.record_relaxing_from(conn, sign, "0003_checkpoints_meta_account_index" in due)
                if schema_version is not None:
                    conn.execute(f"PRAGMA user_version = {int(schema_version)}")
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

    def __init__(self, path: Path, db: Database, *, readonly: bool = False, signing: SigningKey | None = None,
                 witnesses: Sequence[Witness] = (), checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                 witness_in_background: bool = True) -> None:
        self.path = path
        self.db = db
        self._conn = db.conn
        #: One cursor for the statements every step runs (`conn.execute` makes and frees a cursor
        #: each time: four a step), used only under `_lock`.
        self._cur = db.conn.cursor()
        self._lock = threading.RLock()
        self._last: tuple[int, str] | None = None  # (seq, hash) after our last write/read
        self._data_version: int | None = None
        self._last_checkpoint: int | None = None  # newest checkpoint's seq, valid with `_last`
        self._closed = False
        self.readonly = readonly
        self.signing = signing
        self.witnesses = tuple(witnesses)
        self.checkpoint_every = max(1, int(checkpoint_every))
        #: The last witness failure (the entries were committed; the next checkpoint retries), or None.
        self.witness_problem: str | None = None
        self.witness_in_background = witness_in_background
        self._witness_queue: queue.Queue[Checkpoint | None] | None = None
        self._witness_thread: threading.Thread | None = None
        self.journal_id = ""
        #: The key relaxing entries' signatures are checked with (`check_on_open` sets it): the signing
        #: key's public half, or the machine's public key for a read-only opening; None: none counts.
        self.trusted: PublicKey | None = signing.public if signing is not None else None
        self._verified: dict[tuple[Any, ...], Any] = {}  # checkpoint rows and G already verified
        #: Seals and opens special-category and personal values; its keys live in their own file
        #: next to the journal (`store.sealing`, docs/journal.md "Sealed values").
        self.sealer: Sealer | None = Sealer(DataKeys(keys_path(path), readonly=readonly))

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout: float | None = None, readonly: bool = False,
             keys: KeyStore | None = None, witnesses: Sequence[Witness] | None = None,
             checkpoint_every: int | None = None) -> SQLiteJournal:
        """Open the journal at `path` for normal use, after checking it (see `check_on_open`).

        Writable (the default): creates the file and its folders if needed, migrates it, and loads
        (or creates, on first use) the signing key from `keys` (default: the user's key folder).
        `readonly=True` writes nothing, works in a read-only folder or mount, and needs no key.
        `witnesses` (default: the user's anchor folder) receive every checkpoint; pass `()` for a
        throw-away journal. `checkpoint_every` (default: `CALLGUIDE_CHECKPOINT_EVERY`, else 50):
        a checkpoint at least every N entries, besides one at every call end."""
        path = Path(path)
        keys = keys if keys is not None else KeyStore()
        signing = None if readonly else keys.signing_key()
        db = open_database(path, _migrations.migrations, busy_timeout=busy_timeout, readonly=readonly,
                           schema_version=_migrations.SCHEMA_VERSION, sign=signing.sign if signing else None)
        try:
            if checkpoint_every is None:
                try:
                    checkpoint_every = int(os.environ.get("CALLGUIDE_CHECKPOINT_EVERY", DEFAULT_CHECKPOINT_EVERY))
                except ValueError:
                    checkpoint_every = DEFAULT_CHECKPOINT_EVERY
            journal = cls(path, db, readonly=readonly, signing=signing,
                          witnesses=(AnchorFolder(),) if witnesses is None else witnesses,
                          checkpoint_every=checkpoint_every)
            journal.check_on_open(signing.public if signing else keys.public_key())
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.conn.close()
            raise
        return journal

    def check_on_open(self, public: PublicKey | None) -> None:
        """Refuse (StoreError, one line) a journal that is not whole: a missing append-only
        trigger or table, a changed definition, indexes that do not count what the table holds,
        or a head that no longer matches its newest checkpoint or anchor."""
        how = f"run `callguide audit verify --db {self.path}` to see what changed"
        self.trusted = public
        with self._guard() as conn:
            missing = _integrity.missing_append_only_triggers(conn)
            if missing:
                raise StoreError(f"The journal {self.path} has lost its append-only protection (trigger "
                                 f"{missing[0]} is missing), so it may have been changed; {how}.", "tampered")
            problems = _integrity.schema_problems(conn)
            if problems:
                raise StoreError(f"The journal {self.path} is damaged or was tampered with: {problems[0]}; {how}.",
                                 "tampered")
            self.journal_id = _integrity.meta(conn).get("journal_id", "")
            # The witnesses first: what they hold was committed before our snapshot begins.
            anchored = [w.latest(self.journal_id) for w in self.witnesses] if self.journal_id else []
            with read_snapshot(conn):
                problems = _integrity.consistency_problems(conn)
                if not self.journal_id:
                    problems.append("it has no journal id")
                else:
                    problems += _integrity.head_problems(conn, self.journal_id, public, anchored)
        if not problems and self.journal_id and public is not None:
            problems += self._replaced(public)
        if problems:
            raise StoreError(f"The journal {self.path} is damaged or was tampered with: {problems[0]}; {how}.",
                             "tampered")

    def _replaced(self, public: PublicKey) -> list[str]:
        """Another journal, anchored under this machine's key, was last seen at this path: this file
        was deleted, emptied or replaced and a journal started afresh in its place (its history would
        read as none). Refused like a rollback; moving that journal's anchor file aside (a deliberate
        fresh start) lets it open."""
        out = []
        for w in self.witnesses:
            if isinstance(w, AnchorFolder):
                for other, cp in w.others_at(str(self.path.absolute()), self.journal_id).items():
                    if cp.seq > 0 and cp.valid_for(public):
                        out.append(f"the anchor of {cp.when()} saw another journal here ({other}, {cp.seq} entries): "
                                   "the file was deleted, emptied or replaced, and this one started afresh in its "
                                   f"place (if that was meant, move {w.file_for(other)} aside)")
        return out

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
    def _prepare(entry: NewEntry) -> tuple[Any, ...]:
        """(ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, data text, data as read
        back): the entry checked and its data spelt once, canonically."""
        head = ts, type_, call_id, account_id, agent = (entry.ts, entry.type, entry.call_id, entry.account_id,
                                                       entry.agent)
        opt = flow_id, flow_hash, step_id = (entry.flow_id, entry.flow_hash, entry.step_id)
        if not (str is type(ts) is type(type_) is type(call_id) is type(account_id) is type(agent)
                and (flow_id is None or type(flow_id) is str) and (flow_hash is None or type(flow_hash) is str)
                and (step_id is None or type(step_id) is str)):
            for key, value in zip(("ts", "type", "call_id", "account_id", "agent"), head, strict=True):
                if not isinstance(value, str):
                    raise StoreError(f"Journal entry field {key!r} must be text, got {value!r}.", "invalid")
            for key, value in zip(("flow_id", "flow_hash", "step_id"), opt, strict=True):
                if value is not None and not isinstance(value, str):
                    raise StoreError(f"Journal entry field {key!r} must be text or None, got {value!r}.",
                                     "invalid")
        try:
            data_text = canonical_json(entry.data)
            data = _read_back(data_text)  # hash and keep exactly what will be read back
            if data != entry.data:
                # It reads back differently (keys that are not text, tuples): spell what is read back,
                # which reads back as itself.
                data_text = canonical_json(data)
            if not data_text.isascii():  # (ASCII text always encodes)
                data_text.encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise StoreError(f"Journal entry data for {entry.type!r} is not plain JSON: {exc}.", "invalid") from None
        return (*head, *opt, data_text, data)

    def _seal(self, entry: NewEntry) -> NewEntry:
        """Every door: what `sealing.sealed_keys` names and is still plain is sealed here (under the
        account's personal key); the engine seals before this, under the consent purposes."""
        if entry.type not in _SEALED_TYPES or self.readonly or self.sealer is None:
            return entry
        data = self.sealer.seal_data(entry.type, entry.account_id, entry.data)
        return entry if data is entry.data else dataclasses.replace(entry, data=data)

    def append(self, entry: NewEntry) -> Entry:
        """Append one entry; committed with synchronous=FULL (durable) when this returns."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Iterable[NewEntry]) -> list[Entry]:
        """Append several entries in one transaction (all or none, one sync), chained in order.
        A batch holding `call_ended`, or reaching `checkpoint_every` entries since the last
        checkpoint, also writes a signed checkpoint of its last entry in the same transaction and
        then gives it to the witnesses (after the commit; a witness failure never fails the append)."""
        prepared = [self._prepare(self._seal(e)) for e in entries]
        if not prepared:
            return []
        if self.readonly or self.signing is None:
            raise StoreError(f"The journal {self.path} is open read-only.", "readonly")
        ends_call = et.CALL_ENDED in [p[1] for p in prepared]
        checkpoint: Checkpoint | None = None
        with self._lock:  # what `_guard` does, without its generator (this runs every step)
            if self._closed:
                raise StoreError(f"The journal {self.path} is closed.", "closed")
            try:
                written, checkpoint = self._append_prepared(prepared, ends_call)
            except (sqlite3.Error, OSError) as exc:
                raise classify_error(exc, self.path) from None
            if checkpoint is not None and self.witness_in_background:
                self._witness(checkpoint)  # queued while the lock is held: in commit order
        if checkpoint is not None and not self.witness_in_background:
            self._witness(checkpoint)
        return written

    def _append_prepared(self, prepared: list[tuple[Any, ...]],
                         ends_call: bool) -> tuple[list[Entry], Checkpoint | None]:
        """Inside the lock: the chained entries written in one transaction (tried again once with the
        tail read afresh when the cached one was stale), and the checkpoint written with them if one
        was due (committed, not yet given to the witnesses)."""
        conn = self._conn
        cur = self._cur if self._cur.connection is conn else self._cursor()
        checkpoint: Checkpoint | None = None
        for attempt in (1, 2):
            cur.execute("BEGIN IMMEDIATE")
            try:
                version = cur.execute("PRAGMA data_version").fetchone()[0]
                if attempt == 1 and self._last is not None and self._last_checkpoint is not None \
                        and self._data_version == version:  # (what `_tail` and `_checkpointed` would return)
                    (seq, prev_hash), last_cp = self._last, self._last_checkpoint
                else:
                    cached = version if attempt == 1 else None
                    seq, prev_hash = self._tail(conn, cached)
                    last_cp = self._checkpointed(conn, cached)
                written: list[Entry] = []
                rows = []
                for ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, text, data in prepared:
                    seq += 1
                    hash_ = hash_from_text(prev_hash, ts, type_, call_id, account_id, agent, flow_id, flow_hash,
                                           step_id, text)
                    # An explicit seq: a stale cached tail hits the primary key instead of forking.
                    rows.append((seq, ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, text,
                                 prev_hash, hash_))
                    written.append(Entry(seq, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, data,
                                         ts, prev_hash, hash_))
                    prev_hash = hash_
                if len(rows) == 1:
                    cur.execute(_INSERT, rows[0])
                else:
                    cur.executemany(_INSERT, rows)  # one statement for the operation's entries
                # Every relaxing entry is signed at its own seq (docs/journal.md, "Relaxing entries are
                # signed"); the last row's own checkpoint is the batch's (witnessed) one.
                relaxing = [r for r in rows if r[2] in _RELAXING]
                own: Checkpoint | None = None
                for r in relaxing:
                    if r[0] != seq:
                        own = self._insert_checkpoint(conn, r[0], r[11])
                checkpoint = self._checkpoint_if_due(conn, seq, prev_hash,
                                                     ends_call or (bool(relaxing) and relaxing[-1][0] == seq),
                                                     own.seq if own is not None else last_cp) or own
                cur.execute("COMMIT")
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
            self._last_checkpoint = checkpoint.seq if checkpoint is not None else last_cp
            self._data_version = version
            break
        return written, checkpoint

    def _cursor(self) -> sqlite3.Cursor:
        """A new step cursor, on the connection the journal holds now."""
        self._cur = self._conn.cursor()
        return self._cur

    def _checkpointed(self, conn: sqlite3.Connection, version: int | None) -> int:
        """Inside the write transaction: the newest checkpoint's seq (cached while no other
        connection has committed, like the tail)."""
        if self._last_checkpoint is not None and version is not None and self._data_version == version:
            return self._last_checkpoint
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM checkpoints").fetchone()[0])

    def _checkpoint_if_due(self, conn: sqlite3.Connection, seq: int, head: str, ends_call: bool,
                           last: int | None = None) -> Checkpoint | None:
        """Inside the write transaction: sign and insert a checkpoint of `seq` when it is due."""
        if last is None:
            last = self._checkpointed(conn, None)
        if not ends_call and seq - last < self.checkpoint_every:
            return None
        return self._insert_checkpoint(conn, seq, head)

    def _insert_checkpoint(self, conn: sqlite3.Connection, seq: int, head: str) -> Checkpoint:
        assert self.signing is not None
        cp = sign_checkpoint(self.signing, self.journal_id, seq, head)
        conn.execute("INSERT INTO checkpoints (seq, ts, head, key, sig) VALUES (?,?,?,?,?)",
                     (cp.seq, cp.ts, cp.head, cp.key, cp.sig))
        return cp

    def _witness(self, cp: Checkpoint) -> None:
        """Hand a committed checkpoint to every witness: queued for the background thread (in
        order), or now when `witness_in_background` is off. Never raises."""
        if not self.witnesses:
            return
        if not self.witness_in_background:
            self._record_witnesses(cp)
            return
        if self._witness_thread is None or not self._witness_thread.is_alive():
            self._witness_queue = queue.Queue()
            self._witness_thread = threading.Thread(target=self._witness_worker, args=(self._witness_queue,),
                                                    name=f"witness {self.path.name}", daemon=True)
            self._witness_thread.start()
            _OPEN_JOURNALS.add(self)
        assert self._witness_queue is not None
        self._witness_queue.put(cp)

    def _witness_worker(self, q: queue.Queue[Checkpoint | None]) -> None:
        while True:
            cp = q.get()
            try:
                if cp is None:
                    return
                self._record_witnesses(cp)
            except Exception as exc:  # noqa: BLE001 (the thread must live on for the next checkpoints)
                self.witness_problem = f"{type(exc).__name__}: {exc}"
            finally:
                q.task_done()

    def wait_for_witnesses(self) -> None:
        """Return once every checkpoint committed so far is with the witnesses."""
        q = self._witness_queue
        if q is not None and self._witness_thread is not None and self._witness_thread.is_alive():
            q.join()

    def _record_witnesses(self, cp: Checkpoint) -> None:
        """Give a committed checkpoint to every witness; remember, never raise, a failure."""
        problem = None
        for w in self.witnesses:
            try:
                w.record(cp, str(self.path.absolute()))
            except (WitnessError, StoreError, OSError) as exc:
                problem = f"{w.name}: {exc}"
        self.witness_problem = problem

    def checkpoint(self) -> Checkpoint | None:
        """Write a checkpoint of the current head now (if it has none yet) and witness it."""
        if self.readonly or self.signing is None:
            raise StoreError(f"The journal {self.path} is open read-only.", "readonly")
        with self._lock:
            with self._write() as conn:
                end, head = self._tail(conn, None)
                last = self._checkpointed(conn, None)
                cp = self._checkpoint_if_due(conn, end, head, True, last) if end > last else None
            self._last_checkpoint = None  # read again by the next append
            if cp is not None and self.witness_in_background:
                self._witness(cp)  # committed; queued while the lock is held: in commit order
        if cp is not None and not self.witness_in_background:
            self._witness(cp)
        self.wait_for_witnesses()
        return cp

    def _rollback(self, conn: sqlite3.Connection) -> None:
        self._last = None
        self._last_checkpoint = None
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

    def data_version(self) -> int:
        """A number that changes when another connection (another process: the care team's
        `review`, `privacy withdraw`, another window) has committed to the file; this journal's own
        writes never change it. A running call reads the account's register again when it does."""
        with self._lock:  # (what `_guard` does, without its generator: this runs before every command)
            if self._closed:
                raise StoreError(f"The journal {self.path} is closed.", "closed")
            try:
                cur = self._cur if self._cur.connection is self._conn else self._cursor()
                return cur.execute("PRAGMA data_version").fetchone()[0]
            except (sqlite3.Error, OSError) as exc:
                raise classify_error(exc, self.path) from None

    def flow_snapshot(self, flow_hash: str) -> str | None:
        with self._guard() as conn:
            row = conn.execute("SELECT text FROM flow_snapshots WHERE flow_hash = ?", (flow_hash,)).fetchone()
        return row[0] if row else None

    def call_entries(self, call_id: str) -> list[Entry]:
        """The call's entries through the call index, checked against the table of calls (a
        damaged index must not resume a call at the wrong step)."""
        with self._guard() as conn, read_snapshot(conn):
            rows = conn.execute(f"SELECT {_COLUMNS} FROM entries INDEXED BY idx_entries_call_seq"
                                " WHERE call_id = ? ORDER BY seq", (call_id,)).fetchall()
            row = conn.execute("SELECT entries FROM call_index WHERE call_id = ?", (call_id,)).fetchone()
            check_rows(conn, rows, self.path)
        counted = row[0] if row else 0
        if len(rows) != counted:
            raise StoreError(f"The journal {self.path} is damaged: its index finds {len(rows)} entries for call "
                             f"{call_id} but the journal counts {counted}; run `callguide audit verify --db "
                             f"{self.path}`.", "corrupt")
        return [_row_to_entry(r, self.path) for r in rows]

    def account_entries(self, account_id: str) -> list[Entry]:
        """Every entry of the account, oldest first: its calls' entries through the call indexes (an
        account's entries are not indexed by account, `account_state`), plus strays (an entry whose
        account is not its call's, which `account_index` counts) read from the table when there are
        any. Refused (StoreError) when the indexes find fewer or more than the counts say."""
        with self._guard() as conn, read_snapshot(conn):
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM entries INDEXED BY idx_entries_call_seq WHERE call_id IN"
                " (SELECT call_id FROM call_index INDEXED BY idx_call_index_account WHERE account_id = ?)"
                " AND account_id = ? ORDER BY seq", (account_id, account_id)).fetchall()
            own, strays = conn.execute(
                "SELECT (SELECT coalesce(sum(own), 0) FROM call_index INDEXED BY idx_call_index_account"
                " WHERE account_id = ?), coalesce((SELECT entries FROM account_index WHERE account_id = ?), 0)",
                (account_id, account_id)).fetchone()
            if len(rows) != own:
                raise StoreError(f"The journal {self.path} is damaged: its indexes find {len(rows)} entries for "
                                 f"account {account_id} but the journal counts {own}; run `callguide audit verify "
                                 f"--db {self.path}`.", "corrupt")
            if strays:  # (rare: read from the table itself)
                rows = conn.execute(f"SELECT {_COLUMNS} FROM entries NOT INDEXED WHERE account_id = ? ORDER BY seq",
                                    (account_id,)).fetchall()
            check_rows(conn, rows, self.path)
        return [_row_to_entry(r, self.path) for r in rows]

    def account_state(self, account_id: str, today: dt.date) -> AccountState:
        """Derived from the account's entries of the types the register reads, through the account
        index (which holds only those: migration 0005). Refused (StoreError) when the index does not
        find as many of them as the table of calls and the strays count: a damaged index must not
        turn into "no history"."""
        with self._guard() as conn:
            with read_snapshot(conn):
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM entries INDEXED BY idx_entries_account_state"
                    f" WHERE account_id = ? AND {_STATE_PREDICATE} ORDER BY seq", (account_id,)).fetchall()
                counted = conn.execute(
                    "SELECT (SELECT coalesce(sum(state), 0) FROM call_index INDEXED BY idx_call_index_account"
                    " WHERE account_id = ?) + coalesce((SELECT state FROM account_index WHERE account_id = ?), 0)",
                    (account_id, account_id)).fetchone()[0]
                check_rows(conn, rows, self.path)
                counted_relaxing = self._relaxing_counted(conn, [(r[0], r[11]) for r in rows if r[2] in _RELAXING])
        found = len(rows)
        if found != counted:
            raise StoreError(f"The journal {self.path} is damaged: its index finds {found} entries for account "
                             f"{account_id} but the journal counts {counted}, so its history cannot be shown; run "
                             f"`callguide audit verify --db {self.path}`.", "corrupt")
        return derive_account_state(
            account_id, ((r[0], r[1], r[2], r[3], self._opened(account_id, _loads(r[9], r[0], self.path)))
                         for r in rows),
            today, counts=counted_relaxing.__contains__)

    def unsigned_relaxing(self, entries: Sequence[Entry]) -> list[Entry]:
        """Those of `entries` that would lift a protection (`derive.relaxes`) but do not count: written
        into the file without the journal's key. The team sync never sends them (another desktop
        would count them: the team store trusts what its desktops send)."""
        relaxing = [e for e in entries if e.type in _RELAXING and relaxes(e.type, e.data)]
        if not relaxing:
            return []
        with self._guard() as conn:
            with read_snapshot(conn):
                counted = self._relaxing_counted(conn, [(e.seq, e.hash) for e in relaxing])
        return [e for e in relaxing if e.seq not in counted]

    def _relaxing_counted(self, conn: sqlite3.Connection, relaxing: list[tuple[int, str]]) -> set[int]:
        """Inside the read snapshot: of the relaxing entries `relaxing` ((seq, hash) pairs), the seqs
        that count (docs/journal.md, "Relaxing entries are signed"): at or before the signed
        grandfathering point G, or signed by a checkpoint at their own seq under the trusted key."""
        if not relaxing:
            return set()
        meta = _integrity.meta(conn)
        key = ("G", self.journal_id, self.trusted.fingerprint if self.trusted else None,
               meta.get(_migrations.RELAXING_FROM), meta.get(_migrations.RELAXING_FROM_SIG))
        g = self._verified.get(key)
        if g is None:
            g = self._verified[key] = _integrity.relaxing_from(meta, self.journal_id, self.trusted)
        old = {s for s, _ in relaxing if s <= g}
        return old | _integrity.signed_at_own_seq(conn, self.journal_id, self.trusted,
                                                  [(s, h) for s, h in relaxing if s > g], self._verified)

    def _opened(self, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with its sealed values opened (a destroyed key: a `sealing.Gone`), and which keys
        were sealed under `$sealed` (a history snapshot refers to those, never copies them)."""
        sealed = [k for k, v in data.items() if has_sealed(v)]
        if not sealed:
            return data
        return {**open_all(self.sealer, account_id, data), SEALED: sealed}

    def unfinished_calls(self) -> list[CallSummary]:
        with self._guard() as conn:
            rows = conn.execute(
                "SELECT c.call_id, c.account_id, c.agent, c.started, c.last_ts, c.entries, "
                + ", ".join(f"e.{c.strip()}" for c in _COLUMNS.split(",")) +
                " FROM call_index c JOIN entries e ON e.seq = c.start_seq"
                " WHERE c.ended = 0 AND c.start_seq IS NOT NULL ORDER BY c.start_seq").fetchall()
            check_rows(conn, [r[6:] for r in rows], self.path)
        return [CallSummary(call_id=r[0], account_id=r[1], agent=r[2], started=r[3], last_ts=r[4],
                            entries=r[5], data=open_all(self.sealer, r[1], _loads(r[15], r[6], self.path)))
                for r in rows]

    def iter_entries(self, after_seq: int = 0) -> Iterator[Entry]:
        """Every entry with seq > after_seq, in order, read in batches (no long-held lock)."""
        last = after_seq
        while True:
            with self._guard() as conn:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (last, _BATCH)).fetchall()
                check_rows(conn, rows, self.path)
            if not rows:
                return
            for row in rows:
                yield _row_to_entry(row, self.path)
            last = rows[-1][0]

    def export_redacted(self, call_id: str) -> list[dict[str, Any]]:
        """The call's entries as plain dicts for auditors, every entry type, special-category values
        replaced by "[redacted]" (`sealing.auditor_data`). `hash` stays the hash of the entry."""
        return [{**_entry_dict(e), "data": auditor_data(self.sealer, e.type, e.account_id, e.data)}
                for e in self.call_entries(call_id)]

    def count(self) -> int:
        with self._guard() as conn:
            return conn.execute("SELECT count(*) FROM entries").fetchone()[0]

    def verify(self) -> VerifyResult:
        """Recompute the whole chain; name the first bad seq (gap, broken link, hash mismatch).
        The hash chain only: `store.audit.audit_journal` adds checkpoints, anchors, triggers and
        SQLite's integrity check."""

        def fetch(last: int) -> list[tuple[Any, ...]]:
            with self._guard() as conn:
                return conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (last, _BATCH)).fetchall()

        return verify_chain(fetch)

    def rebuild_call_index(self) -> None:
        """Recreate the derived call index from the entries (repair tool)."""
        with self._write():
            _migrations.rebuild_call_index(self.db)

    def close(self) -> None:
        """Close the file, after the witnesses have every checkpoint written so far."""
        if self._witness_thread is not None and self._witness_queue is not None:
            if self._witness_thread.is_alive():
                self._witness_queue.put(None)
                self._witness_thread.join()
            self._witness_thread = None
            _OPEN_JOURNALS.discard(self)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            if self.sealer is not None:
                self.sealer.close()

    def __enter__(self) -> SQLiteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
