"""Where flow versions, their review decisions and the triage of agents' flags are kept.

Everything about *what is live* is SQL, and all of that SQL is here (the library decides, this
module stores). The interface is `PublicationStore`; `SQLitePublications` keeps it in the journal
database file (its own sqlite-utils migration set, `callguide.publications`, next to the
journal's tables), so one file holds calls, snapshots and publications for backup and audit. A
PostgreSQL implementation for team mode implements the same protocol.

Tables (see docs/workbench.md, "Publishing"):

- `flow_versions`: one immutable row per submitted version (flow id, semantic version label,
  sha256 of the exact text, the text, its `review_needed` mark, where it came from, who, when, the
  change note and the gate evidence as JSON). `(flow_id, version_label)` is unique.
- `publication_log`: every decision about a version (submitted, approved, rejected, live,
  practice, rollback, withdrawn, cancelled), append-only and hash-chained like the journal:
  who, with which roles, when, the note, the hash of the semantic diff the reviewer saw, and
  for go-live events the moment they take effect.
- `releases`: each shipped flows manifest adopted (once), with what was done per flow.
- `flag_decisions`: trainers' triage of agents' flags (open, accepted, rejected, fixed), append-only.
- `publications` (migration 0001): the rows written before reviews existed; kept untouched and
  copied into the tables above by migration 0002.

Agents' flags themselves are `flag` entries of the journal; `flag_entries` reads them here.
Triggers refuse UPDATE and DELETE on every table. Never imports Qt, the engine or the flow model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database, Migrations

from . import entry_types as et
from .base import GENESIS_HASH, StoreError, VerifyResult, canonical_json

MIGRATION_SET = "callguide.publications"

#: Decisions in the publication log. `live`, `rollback` and `withdrawn` move a flow's live pointer
#: (from their `effective_at`); `cancelled` voids a go-live that has not happened yet.
EVENTS = ("submitted", "approved", "rejected", "live", "practice", "rollback", "withdrawn", "cancelled")
POINTER_EVENTS = ("live", "rollback", "withdrawn")
FLAG_STATES = ("open", "accepted", "rejected", "fixed")
ORIGINS = ("workspace", "shipped", "legacy")

# The fields covered by a log entry's hash, besides `prev_hash` (which is prepended).
LOG_HASHED = ("ts", "flow_id", "version_id", "version_label", "event", "by_person", "roles", "note",
              "diff_hash", "effective_at", "data")

migrations = Migrations(MIGRATION_SET)


def _strict(db: Database) -> str:
    return " STRICT" if db.supports_strict else ""


def _immutable(db: Database, table: str, what: str) -> None:
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""
            CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
            BEGIN SELECT RAISE(ABORT, '{what}'); END
        """)


@migrations(name="0001_publications")
def _m0001(db: Database) -> None:
    db.execute(f"""
        CREATE TABLE publications (
            seq INTEGER PRIMARY KEY,
            flow_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            version_label TEXT NOT NULL,
            published_by TEXT NOT NULL,
            published_at TEXT NOT NULL,
            note TEXT NOT NULL,
            file_name TEXT NOT NULL,
            text TEXT NOT NULL
        ){_strict(db)}
    """)
    db.execute("CREATE INDEX idx_publications_flow ON publications (flow_id, seq)")
    _immutable(db, "publications", "publications are immutable")


_REVIEW_NEEDED = re.compile(r"^review_needed:[ \t]*(.*?)[ \t]*$", re.M)


def review_mark(text: str) -> str | None:
    """The top-level `review_needed:` of a flow text (for rows written before the mark was stored)."""
    m = _REVIEW_NEEDED.search(text)
    if not m:
        return None
    value = m.group(1).strip()
    if value[:1] in ("'", '"') and value[-1:] == value[:1]:
        value = value[1:-1]
    return None if value.lower() in ("", "null", "~", "false") else value


@migrations(name="0002_reviews_and_flags")
def _m0002(db: Database) -> None:
    strict = _strict(db)
    db.execute(f"""
        CREATE TABLE flow_versions (
            id INTEGER PRIMARY KEY,
            flow_id TEXT NOT NULL,
            version_label TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            file_name TEXT NOT NULL,
            text TEXT NOT NULL,
            review_needed TEXT,
            origin TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            note TEXT NOT NULL,
            evidence TEXT NOT NULL,
            UNIQUE (flow_id, version_label)
        ){strict}
    """)
    db.execute("CREATE INDEX idx_flow_versions_hash ON flow_versions (content_hash)")
    _immutable(db, "flow_versions", "flow versions are immutable")
    db.execute(f"""
        CREATE TABLE publication_log (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            version_id INTEGER,
            version_label TEXT NOT NULL,
            event TEXT NOT NULL,
            by_person TEXT NOT NULL,
            roles TEXT NOT NULL,
            note TEXT NOT NULL,
            diff_hash TEXT,
            effective_at TEXT,
            data TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        ){strict}
    """)
    db.execute("CREATE INDEX idx_publication_log_flow ON publication_log (flow_id, seq)")
    _immutable(db, "publication_log", "the publication log is append-only")
    db.execute(f"""
        CREATE TABLE releases (
            manifest_hash TEXT PRIMARY KEY,
            release TEXT NOT NULL,
            adopted_at TEXT NOT NULL,
            result TEXT NOT NULL
        ){strict}
    """)
    _immutable(db, "releases", "adopted releases are immutable")
    db.execute(f"""
        CREATE TABLE flag_decisions (
            seq INTEGER PRIMARY KEY,
            flag_id TEXT NOT NULL,
            flow_id TEXT NOT NULL,
            step_id TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT NOT NULL,
            fixed_version TEXT,
            by_person TEXT NOT NULL,
            ts TEXT NOT NULL
        ){strict}
    """)
    db.execute("CREATE INDEX idx_flag_decisions_flag ON flag_decisions (flag_id, seq)")
    _immutable(db, "flag_decisions", "flag decisions are append-only")
    _migrate_legacy(db)


def _migrate_legacy(db: Database) -> None:
    """Copy the rows published before reviews existed: each becomes a version (a repeated label
    with a different text gets `+legacy.SEQ`, semver build metadata) and a `live` decision at its
    original time. A flow whose live text is marked `review_needed` is then withdrawn from live
    calls (practice only), because such a version may never be live."""
    conn = db.conn
    rows = conn.execute("SELECT seq, flow_id, content_hash, version_label, published_by, published_at, note, "
                        "file_name, text FROM publications ORDER BY seq").fetchall()
    if not rows:
        return
    now = _now()
    prev = GENESIS_HASH
    ids: dict[tuple[str, str], tuple[int, str]] = {}
    live: dict[str, tuple[int, str, str | None]] = {}
    for seq, flow_id, chash, label, by, at, note, file_name, text in rows:
        key = (flow_id, label)
        if key in ids and ids[key][1] != chash:
            label = f"{label}+legacy.{seq}"
            key = (flow_id, label)
        mark = review_mark(text)
        if key not in ids:
            origin = "shipped" if by == "system" else "legacy"
            cur = conn.execute(
                "INSERT INTO flow_versions (flow_id, version_label, content_hash, file_name, text, review_needed, "
                "origin, created_by, created_at, note, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (flow_id, label, chash, file_name, text, mark, origin, by, at, note,
                 canonical_json({"migrated_from_publication": seq})))
            ids[key] = (int(cur.lastrowid or 0), chash)
        vid = ids[key][0]
        prev = _insert_log(conn, prev, LogRecord(
            flow_id=flow_id, version_id=vid, version_label=label, event="live", by_person=by, roles=[],
            note=f"published before reviews existed: {note}", effective_at=at, ts=at,
            data={"migrated_from_publication": seq}))
        live[flow_id] = (vid, label, mark)
    for flow_id, (vid, label, mark) in sorted(live.items()):
        if mark:
            prev = _insert_log(conn, prev, LogRecord(
                flow_id=flow_id, version_id=vid, version_label=label, event="withdrawn", by_person="system",
                roles=[], note=f"marked review_needed ({mark}): practice only until a reviewed version removes "
                               "the mark", effective_at=now, ts=now, data={"reason": "review_needed"}))


# ---------------------------------------------------------------------- records


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    """The content hash the engine pins calls to (sha256 of the UTF-8 text)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FlowVersion:
    id: int
    flow_id: str
    version_label: str
    content_hash: str
    file_name: str
    text: str
    review_needed: str | None
    origin: str
    created_by: str
    created_at: str
    note: str
    evidence: dict[str, Any]

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


@dataclass(frozen=True)
class LogRecord:
    """A decision to append to the publication log."""

    flow_id: str
    version_id: int | None
    version_label: str
    event: str
    by_person: str
    roles: list[str]
    note: str = ""
    diff_hash: str | None = None
    effective_at: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ts: str | None = None  # default: now (UTC)


@dataclass(frozen=True)
class LogEntry:
    seq: int
    ts: str
    flow_id: str
    version_id: int | None
    version_label: str
    event: str
    by_person: str
    roles: list[str]
    note: str
    diff_hash: str | None
    effective_at: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Release:
    manifest_hash: str
    release: str
    adopted_at: str
    result: dict[str, Any]


@dataclass(frozen=True)
class FlagEntry:
    """An agent's flag, as the journal holds it (`flag` entries)."""

    id: str          # the journal entry's hash: stable across copies of the journal
    seq: int         # its number in this journal file (for `callguide flags … #SEQ`)
    ts: str
    agent: str
    call_id: str
    flow_id: str
    step_id: str
    flow_version: str
    flow_hash: str
    comment: str


@dataclass(frozen=True)
class FlagDecision:
    seq: int
    flag_id: str
    flow_id: str
    step_id: str
    state: str
    reason: str
    fixed_version: str | None
    by_person: str
    ts: str


def _log_fields(r: LogRecord, ts: str) -> dict[str, Any]:
    return {"ts": ts, "flow_id": r.flow_id, "version_id": r.version_id, "version_label": r.version_label,
            "event": r.event, "by_person": r.by_person, "roles": sorted(r.roles), "note": r.note,
            "diff_hash": r.diff_hash, "effective_at": r.effective_at, "data": r.data}


def log_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = canonical_json({k: fields[k] for k in LOG_HASHED})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _insert_log(conn: sqlite3.Connection, prev: str, r: LogRecord) -> str:
    if r.event not in EVENTS:
        raise StoreError(f"unknown publication event {r.event!r}", "invalid")
    ts = r.ts or _now()
    f = _log_fields(r, ts)
    h = log_hash(prev, f)
    conn.execute(
        "INSERT INTO publication_log (ts, flow_id, version_id, version_label, event, by_person, roles, note, "
        "diff_hash, effective_at, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ts, r.flow_id, r.version_id, r.version_label, r.event, r.by_person, canonical_json(f["roles"]), r.note,
         r.diff_hash, r.effective_at, canonical_json(r.data), prev, h))
    return h


# ---------------------------------------------------------------------- the interface


class PublicationStore(Protocol):
    """What the library needs from wherever publications live (SQLite today, PostgreSQL for teams)."""

    def versions(self, flow_id: str | None = None) -> list[FlowVersion]:
        """Versions (of one flow, or all), oldest first."""

    def version(self, version_id: int) -> FlowVersion | None: ...

    def version_by_label(self, flow_id: str, label: str) -> FlowVersion | None: ...

    def log(self, flow_id: str | None = None) -> list[LogEntry]:
        """Decisions (about one flow, or all), in order."""

    def add_version(self, v: FlowVersion, first: LogRecord) -> tuple[FlowVersion, LogEntry]:
        """Insert a version and its first decision in one transaction (the id of `v` is ignored)."""

    def append(self, *records: LogRecord) -> list[LogEntry]:
        """Append decisions in one transaction."""

    def release(self, manifest_hash: str) -> Release | None: ...

    def releases(self) -> list[Release]: ...

    def adopt_release(self, release: Release, versions: list[tuple[FlowVersion, LogRecord]],
                      records: list[LogRecord]) -> bool:
        """Record an adopted manifest with its new versions and decisions, once (False: already adopted)."""

    def verify(self) -> VerifyResult: ...

    def flag_entries(self, flow_id: str | None = None) -> list[FlagEntry]: ...

    def flag_decisions(self) -> list[FlagDecision]: ...

    def add_flag_decision(self, d: FlagDecision) -> FlagDecision: ...

    def call_start(self, agent: str, call_id: str) -> tuple[int, str | None] | None:
        """(the seq of `call_id`'s call_started entry, when `agent` started the call before it, or None)."""

    def latest_call_start(self, agent: str, call_id: str) -> str | None:
        """When `agent` last started a call other than `call_id` (its `call_started` time as
        journalled), or None: whether or not this store holds `call_id` yet. The team store's answer
        covers the agent's calls on every desktop that synced (as far as the connected person may
        read them); `call_start` needs the current call to be there."""

    def close(self) -> None: ...


# ---------------------------------------------------------------------- SQLite


_VCOLS = ("id, flow_id, version_label, content_hash, file_name, text, review_needed, origin, created_by, "
          "created_at, note, evidence")
_LCOLS = ("seq, ts, flow_id, version_id, version_label, event, by_person, roles, note, diff_hash, effective_at, "
          "data, prev_hash, hash")
_FCOLS = "seq, flag_id, flow_id, step_id, state, reason, fixed_version, by_person, ts"


def _version(row: tuple[Any, ...]) -> FlowVersion:
    vid, flow_id, label, chash, file_name, text, mark, origin, by, at, note, evidence = row
    return FlowVersion(vid, flow_id, label, chash, file_name, text, mark, origin, by, at, note,
                       json.loads(evidence or "{}"))


def _entry(row: tuple[Any, ...]) -> LogEntry:
    seq, ts, flow_id, vid, label, event, by, roles, note, diff_hash, eff, data, prev, h = row
    return LogEntry(seq, ts, flow_id, vid, label, event, by, json.loads(roles or "[]"), note, diff_hash, eff,
                    json.loads(data or "{}"), prev, h)


class SQLitePublications:
    """The publications kept in one SQLite file (normally the journal). Open with `open(path)`."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    @classmethod
    def open(cls, path: str | Path) -> SQLitePublications:
        from .sqlite import open_database

        path = Path(path)
        return cls(path, open_database(path, migrations).conn)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> SQLitePublications:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self.conn
        except sqlite3.IntegrityError as e:
            raise StoreError(f"{self.path}: publications: {str(e).splitlines()[0]}", "invalid") from None
        except (sqlite3.Error, OSError) as e:
            from .sqlite import classify_error

            raise classify_error(e, self.path) from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._guard() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise

    def _last_hash(self, c: sqlite3.Connection) -> str:
        row = c.execute("SELECT hash FROM publication_log ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS_HASH

    # ------------------------------------------------------------------ versions

    def versions(self, flow_id: str | None = None) -> list[FlowVersion]:
        with self._guard() as c:
            if flow_id is None:
                rows = c.execute(f"SELECT {_VCOLS} FROM flow_versions ORDER BY id").fetchall()
            else:
                rows = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE flow_id = ? ORDER BY id",
                                 (flow_id,)).fetchall()
        return [_version(r) for r in rows]

    def version(self, version_id: int) -> FlowVersion | None:
        with self._guard() as c:
            row = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE id = ?", (version_id,)).fetchone()
        return _version(row) if row else None

    def version_by_label(self, flow_id: str, label: str) -> FlowVersion | None:
        with self._guard() as c:
            row = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE flow_id = ? AND version_label = ?",
                            (flow_id, label)).fetchone()
        return _version(row) if row else None

    def log(self, flow_id: str | None = None) -> list[LogEntry]:
        with self._guard() as c:
            if flow_id is None:
                rows = c.execute(f"SELECT {_LCOLS} FROM publication_log ORDER BY seq").fetchall()
            else:
                rows = c.execute(f"SELECT {_LCOLS} FROM publication_log WHERE flow_id = ? ORDER BY seq",
                                 (flow_id,)).fetchall()
        return [_entry(r) for r in rows]

    def _insert_version(self, c: sqlite3.Connection, v: FlowVersion) -> FlowVersion:
        cur = c.execute(
            "INSERT INTO flow_versions (flow_id, version_label, content_hash, file_name, text, review_needed, "
            "origin, created_by, created_at, note, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (v.flow_id, v.version_label, v.content_hash, v.file_name, v.text, v.review_needed, v.origin,
             v.created_by, v.created_at, v.note, canonical_json(v.evidence)))
        return dataclasses.replace(v, id=int(cur.lastrowid or 0))

    def _append(self, c: sqlite3.Connection, records: tuple[LogRecord, ...] | list[LogRecord]) -> list[LogEntry]:
        out = []
        prev = self._last_hash(c)
        for r in records:
            prev = _insert_log(c, prev, r)
            row = c.execute(f"SELECT {_LCOLS} FROM publication_log WHERE hash = ?", (prev,)).fetchone()
            out.append(_entry(row))
        return out

    def add_version(self, v: FlowVersion, first: LogRecord) -> tuple[FlowVersion, LogEntry]:
        with self._write() as c:
            if c.execute("SELECT 1 FROM flow_versions WHERE flow_id = ? AND version_label = ?",
                         (v.flow_id, v.version_label)).fetchone():
                raise StoreError(f"{v.flow_id} {v.version_label} already exists", "invalid")
            nv = self._insert_version(c, v)
            entry = self._append(c, [LogRecord(**{**first.__dict__, "version_id": nv.id})])[0]
        return nv, entry

    def append(self, *records: LogRecord) -> list[LogEntry]:
        with self._write() as c:
            return self._append(c, records)

    # ------------------------------------------------------------------ releases

    def release(self, manifest_hash: str) -> Release | None:
        with self._guard() as c:
            row = c.execute("SELECT manifest_hash, release, adopted_at, result FROM releases WHERE manifest_hash = ?",
                            (manifest_hash,)).fetchone()
        return Release(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def releases(self) -> list[Release]:
        with self._guard() as c:
            rows = c.execute("SELECT manifest_hash, release, adopted_at, result FROM releases "
                             "ORDER BY adopted_at, rowid").fetchall()
        return [Release(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def adopt_release(self, release: Release, versions: list[tuple[FlowVersion, LogRecord]],
                      records: list[LogRecord]) -> bool:
        with self._write() as c:
            if c.execute("SELECT 1 FROM releases WHERE manifest_hash = ?", (release.manifest_hash,)).fetchone():
                return False  # another process adopted it first
            for v, first in versions:
                existing = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE flow_id = ? AND version_label = ?",
                                     (v.flow_id, v.version_label)).fetchone()
                if existing is not None and existing[3] == v.content_hash:
                    vid = existing[0]  # the same text came with an earlier release
                elif existing is not None:
                    v = dataclasses.replace(v, version_label=f"{v.version_label}+release.{release.manifest_hash[:8]}")
                    vid = self._insert_version(c, v).id
                else:
                    vid = self._insert_version(c, v).id
                self._append(c, [LogRecord(**{**first.__dict__, "version_id": vid,
                                              "version_label": v.version_label})])
            self._append(c, records)
            c.execute("INSERT INTO releases (manifest_hash, release, adopted_at, result) VALUES (?, ?, ?, ?)",
                      (release.manifest_hash, release.release, release.adopted_at, canonical_json(release.result)))
        return True

    # ------------------------------------------------------------------ integrity

    def verify(self) -> VerifyResult:
        """Recompute the publication log's hash chain; name the first bad entry."""
        prev = GENESIS_HASH
        n = 0
        for e in self.log():
            n += 1
            f = {"ts": e.ts, "flow_id": e.flow_id, "version_id": e.version_id, "version_label": e.version_label,
                 "event": e.event, "by_person": e.by_person, "roles": e.roles, "note": e.note,
                 "diff_hash": e.diff_hash, "effective_at": e.effective_at, "data": e.data}
            if e.prev_hash != prev:
                return VerifyResult(False, n, e.seq, "prev_hash does not match the previous entry")
            if log_hash(prev, f) != e.hash:
                return VerifyResult(False, n, e.seq, "hash does not match the entry's content")
            prev = e.hash
        return VerifyResult(True, n)

    # ------------------------------------------------------------------ flags

    def _has_entries(self, c: sqlite3.Connection) -> bool:
        return c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").fetchone() is not None

    def flag_entries(self, flow_id: str | None = None) -> list[FlagEntry]:
        """The journal's flag entries, each checked as every reader of entries checks them
        (`sqlite.check_rows`: a flag changed in the file is refused, not listed)."""
        from .sqlite import _COLUMNS, check_rows, read_snapshot

        out: list[FlagEntry] = []
        with self._guard() as c:
            if not self._has_entries(c):
                return out
            with read_snapshot(c):
                full = c.execute(f"SELECT {_COLUMNS} FROM entries WHERE type = {et.sql(et.FLAG)} ORDER BY seq").fetchall()
                check_rows(c, full, self.path)
        rows = [(r[0], r[11], r[1], r[5], r[3], r[6], r[7], r[8], r[9]) for r in full]
        for seq, h, ts, agent, call_id, fid, fhash, sid, data in rows:
            try:
                d = json.loads(data)
            except (TypeError, ValueError):
                continue
            fid = str(d.get("flow_id") or fid or "")
            sid = str(d.get("step_id") or sid or "")
            if not fid or not sid or (flow_id is not None and fid != flow_id):
                continue
            out.append(FlagEntry(h, seq, ts, agent, call_id, fid, sid, str(d.get("flow_version") or ""),
                                 fhash or "", " ".join(str(d.get("comment") or "").split())))
        return out

    def flag_decisions(self) -> list[FlagDecision]:
        with self._guard() as c:
            rows = c.execute(f"SELECT {_FCOLS} FROM flag_decisions ORDER BY seq").fetchall()
        return [FlagDecision(*r) for r in rows]

    def add_flag_decision(self, d: FlagDecision) -> FlagDecision:
        if d.state not in FLAG_STATES:
            raise StoreError(f"unknown flag state {d.state!r}", "invalid")
        with self._write() as c:
            cur = c.execute(f"INSERT INTO flag_decisions ({_FCOLS.split(', ', 1)[1]}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (d.flag_id, d.flow_id, d.step_id, d.state, d.reason, d.fixed_version, d.by_person, d.ts))
            seq = int(cur.lastrowid or 0)
        return FlagDecision(seq, d.flag_id, d.flow_id, d.step_id, d.state, d.reason, d.fixed_version, d.by_person,
                            d.ts)

    def call_start(self, agent: str, call_id: str) -> tuple[int, str | None] | None:
        with self._guard() as c:
            if not self._has_entries(c):
                return None
            row = c.execute(f"SELECT seq FROM entries WHERE call_id = ? AND type = {et.sql(et.CALL_STARTED)} ORDER BY seq LIMIT 1",
                            (call_id,)).fetchone()
            if row is None:
                return None
            prev = c.execute(f"SELECT ts FROM entries WHERE agent = ? AND type = {et.sql(et.CALL_STARTED)} AND seq < ? "
                             "ORDER BY seq DESC LIMIT 1", (agent, row[0])).fetchone()
        return int(row[0]), (prev[0] if prev else None)

    def latest_call_start(self, agent: str, call_id: str) -> str | None:
        """The journal's call index: the agent's last call started here other than `call_id`."""
        with self._guard() as c:
            if not self._has_entries(c):
                return None
            row = c.execute(f"SELECT ts FROM entries WHERE agent = ? AND type = {et.sql(et.CALL_STARTED)}"
                            " AND call_id <> ? ORDER BY seq DESC LIMIT 1", (agent, call_id)).fetchone()
        return row[0] if row else None


def open_publications(location: Any) -> PublicationStore:
    """The publication store at `location`: a SQLite file, or a team store (a PostgreSQL URL or
    libpq conninfo: `callguide.store.postgres.publications`). Raises StoreError (one line)."""
    if hasattr(location, "schema") and hasattr(location, "url"):  # a TeamTarget
        from .postgres.publications import PostgresPublications

        return PostgresPublications(location)  # type: ignore[arg-type]
    if isinstance(location, str):
        from .postgres.connect import is_team_url

        if is_team_url(location):
            from .postgres.publications import PostgresPublications

            return PostgresPublications.open(location)
    return SQLitePublications.open(location)
