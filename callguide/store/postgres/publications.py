"""Trainers' publications and the triage of agents' flags in the team store: `PostgresPublications`
implements `callguide.store.publications.PublicationStore` on the tables of migration 0005, so
the library (`callguide.library.publish`, `flags`, `live`) works unchanged against
`--db postgresql://…`. The connected person is who writes (the server checks `by_person` and
the roles); the publication log's hash chain is computed here exactly as for SQLite
(`log_hash`), and the server refuses an entry that does not continue the head it holds.

Agents' flags are the `flag` entries the desktops' syncs pushed: `flag_entries` reads them as
row-level security lets the person (trainers and reviewers read every flag; agents their own).
A flag's `seq` (its `#N` reference) is the entry's arrival id in the team store. Never imports Qt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from callguide.store import entry_types as et
from callguide.store.base import GENESIS_HASH, StoreError, VerifyResult, canonical_json
from callguide.store.publications import (
    EVENTS,
    FLAG_STATES,
    FlagDecision,
    FlagEntry,
    FlowVersion,
    LogEntry,
    LogRecord,
    Release,
    _log_fields,
    log_hash,
)
from callguide.store.publications import _now as now_iso

from .connect import TeamTarget, classify, connect, resolve

_VCOLS = ("id, flow_id, version_label, content_hash, file_name, text, review_needed, origin, created_by, "
          "created_at, note, evidence::text")
_LCOLS = ("seq, ts, flow_id, version_id, version_label, event, by_person, roles::text, note, diff_hash, "
          "effective_at, data::text, prev_hash, hash")
_FCOLS = "seq, flag_id, flow_id, step_id, state, reason, fixed_version, by_person, ts"


def _version(row: tuple[Any, ...]) -> FlowVersion:
    vid, flow_id, label, chash, file_name, text, mark, origin, by, at, note, evidence = row
    return FlowVersion(int(vid), flow_id, label, chash, file_name, text, mark, origin, by, at, note,
                       json.loads(evidence or "{}"))


def _entry(row: tuple[Any, ...]) -> LogEntry:
    seq, ts, flow_id, vid, label, event, by, roles, note, diff_hash, eff, data, prev, h = row
    return LogEntry(int(seq), ts, flow_id, vid, label, event, by, json.loads(roles or "[]"), note, diff_hash, eff,
                    json.loads(data or "{}"), prev, h)


class PostgresPublications:
    """The publications in a team store, as the connected person. Open with `open(url)`."""

    def __init__(self, target: TeamTarget, *, timeout: float = 5.0) -> None:
        self.target = target
        self.timeout = timeout
        self.conn = connect(target, timeout=timeout, app="callguide-publications")

    def _limit(self) -> None:
        """Every read and write waits at most `timeout` (a table locked by a migration or a stuck
        session): set for the transaction only (`SET LOCAL`, so a pooler in transaction mode keeps
        no session state); a statement cut short is a one-line StoreError, never a hang."""
        self.conn.execute(f"SET LOCAL statement_timeout = {max(1, int(self.timeout * 1000))}")

    @classmethod
    def open(cls, url: str | None = None, **kwargs: Any) -> PostgresPublications:
        return cls(resolve(url), **kwargs)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> PostgresPublications:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        import psycopg

        try:
            self._limit()
            yield self.conn
            self.conn.rollback()
        except psycopg.Error as e:
            with contextlib.suppress(Exception):
                self.conn.rollback()
            raise classify(e, self.target) from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        import psycopg

        try:
            with self.conn.transaction():
                self._limit()
                yield self.conn
        except psycopg.errors.UniqueViolation as e:
            raise StoreError(f"publications: {str(e).splitlines()[0]}", "invalid") from None
        except psycopg.Error as e:
            raise classify(e, self.target) from None

    # ------------------------------------------------------------------ versions

    def versions(self, flow_id: str | None = None) -> list[FlowVersion]:
        with self._read() as c:
            if flow_id is None:
                rows = c.execute(f"SELECT {_VCOLS} FROM flow_versions ORDER BY id").fetchall()
            else:
                rows = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE flow_id = %s ORDER BY id",
                                 (flow_id,)).fetchall()
        return [_version(r) for r in rows]

    def version(self, version_id: int) -> FlowVersion | None:
        with self._read() as c:
            row = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE id = %s", (version_id,)).fetchone()
        return _version(row) if row else None

    def version_by_label(self, flow_id: str, label: str) -> FlowVersion | None:
        with self._read() as c:
            row = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE flow_id = %s AND version_label = %s",
                            (flow_id, label)).fetchone()
        return _version(row) if row else None

    def log(self, flow_id: str | None = None) -> list[LogEntry]:
        with self._read() as c:
            if flow_id is None:
                rows = c.execute(f"SELECT {_LCOLS} FROM publication_log ORDER BY seq").fetchall()
            else:
                rows = c.execute(f"SELECT {_LCOLS} FROM publication_log WHERE flow_id = %s ORDER BY seq",
                                 (flow_id,)).fetchall()
        return [_entry(r) for r in rows]

    def _insert_version(self, c: Any, v: FlowVersion) -> FlowVersion:
        row = c.execute(
            "INSERT INTO flow_versions (flow_id, version_label, content_hash, file_name, text, review_needed, origin,"
            " created_by, created_at, note, evidence) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id", (v.flow_id, v.version_label, v.content_hash, v.file_name, v.text, v.review_needed,
                              v.origin, v.created_by, v.created_at, v.note, canonical_json(v.evidence))).fetchone()
        return dataclasses.replace(v, id=int(row[0]))

    def _append(self, c: Any, records: tuple[LogRecord, ...] | list[LogRecord]) -> list[LogEntry]:
        # The same lock the server's trigger takes: read the head and continue it without a race.
        c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.target.schema}.publication_log",))
        row = c.execute("SELECT hash FROM publication_log ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS_HASH
        out = []
        for r in records:
            if r.event not in EVENTS:
                raise StoreError(f"unknown publication event {r.event!r}", "invalid")
            ts = r.ts or now_iso()
            f = _log_fields(r, ts)
            h = log_hash(prev, f)
            got = c.execute(
                "INSERT INTO publication_log (ts, flow_id, version_id, version_label, event, by_person, roles, note,"
                " diff_hash, effective_at, data, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                f" %s, %s, %s) RETURNING {_LCOLS}",
                (ts, r.flow_id, r.version_id, r.version_label, r.event, r.by_person, canonical_json(f["roles"]),
                 r.note, r.diff_hash, r.effective_at, canonical_json(r.data), prev, h)).fetchone()
            out.append(_entry(got))
            prev = h
        return out

    def add_version(self, v: FlowVersion, first: LogRecord) -> tuple[FlowVersion, LogEntry]:
        with self._write() as c:
            if c.execute("SELECT 1 FROM flow_versions WHERE flow_id = %s AND version_label = %s",
                         (v.flow_id, v.version_label)).fetchone():
                raise StoreError(f"{v.flow_id} {v.version_label} already exists", "invalid")
            nv = self._insert_version(c, v)
            entry = self._append(c, [dataclasses.replace(first, version_id=nv.id)])[0]
        return nv, entry

    def append(self, *records: LogRecord) -> list[LogEntry]:
        with self._write() as c:
            return self._append(c, records)

    # ------------------------------------------------------------------ releases

    def release(self, manifest_hash: str) -> Release | None:
        with self._read() as c:
            row = c.execute("SELECT manifest_hash, release, adopted_at, result::text FROM releases"
                            " WHERE manifest_hash = %s", (manifest_hash,)).fetchone()
        return Release(row[0], row[1], row[2], json.loads(row[3])) if row else None

    def releases(self) -> list[Release]:
        with self._read() as c:
            rows = c.execute("SELECT manifest_hash, release, adopted_at, result::text FROM releases"
                             " ORDER BY adopted_at, manifest_hash").fetchall()
        return [Release(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def adopt_release(self, release: Release, versions: list[tuple[FlowVersion, LogRecord]],
                      records: list[LogRecord]) -> bool:
        with self._write() as c:
            c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.target.schema}.releases",))
            if c.execute("SELECT 1 FROM releases WHERE manifest_hash = %s", (release.manifest_hash,)).fetchone():
                return False  # another desktop adopted it first
            for v, first in versions:
                existing = c.execute(f"SELECT {_VCOLS} FROM flow_versions WHERE flow_id = %s AND version_label = %s",
                                     (v.flow_id, v.version_label)).fetchone()
                if existing is not None and existing[3] == v.content_hash:
                    vid = int(existing[0])
                elif existing is not None:
                    v = dataclasses.replace(v, version_label=f"{v.version_label}+release.{release.manifest_hash[:8]}")
                    vid = self._insert_version(c, v).id
                else:
                    vid = self._insert_version(c, v).id
                self._append(c, [dataclasses.replace(first, version_id=vid, version_label=v.version_label)])
            self._append(c, records)
            c.execute("INSERT INTO releases (manifest_hash, release, adopted_at, result) VALUES (%s, %s, %s, %s)",
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

    def flag_entries(self, flow_id: str | None = None) -> list[FlagEntry]:
        out: list[FlagEntry] = []
        with self._read() as c:
            rows = c.execute("SELECT id, hash, ts, agent, call_id, flow_id, flow_hash, step_id, data::text"
                             f" FROM entries WHERE type = {et.sql(et.FLAG)} ORDER BY id").fetchall()
        for sid_, h, ts, agent, call_id, fid, fhash, sid, data in rows:
            try:
                d = json.loads(data)
            except (TypeError, ValueError):
                continue
            fid = str(d.get("flow_id") or fid or "")
            sid = str(d.get("step_id") or sid or "")
            if not fid or not sid or (flow_id is not None and fid != flow_id):
                continue
            out.append(FlagEntry(h, int(sid_), ts, agent, call_id, fid, sid, str(d.get("flow_version") or ""),
                                 fhash or "", " ".join(str(d.get("comment") or "").split())))
        return out

    def flag_decisions(self) -> list[FlagDecision]:
        with self._read() as c:
            rows = c.execute(f"SELECT {_FCOLS} FROM flag_decisions ORDER BY seq").fetchall()
        return [FlagDecision(int(r[0]), *r[1:]) for r in rows]

    def add_flag_decision(self, d: FlagDecision) -> FlagDecision:
        if d.state not in FLAG_STATES:
            raise StoreError(f"unknown flag state {d.state!r}", "invalid")
        with self._write() as c:
            row = c.execute(f"INSERT INTO flag_decisions ({_FCOLS.split(', ', 1)[1]}) VALUES"
                            " (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq",
                            (d.flag_id, d.flow_id, d.step_id, d.state, d.reason, d.fixed_version, d.by_person,
                             d.ts)).fetchone()
        return dataclasses.replace(d, seq=int(row[0]))

    def call_start(self, agent: str, call_id: str) -> tuple[int, str | None] | None:
        """The arrival id of the call's `call_started` in the team store, and when `agent` started
        the call before it (as far as this person may read calls)."""
        with self._read() as c:
            row = c.execute(f"SELECT id, at FROM entries WHERE call_id = %s AND type = {et.sql(et.CALL_STARTED)}"
                            " ORDER BY id LIMIT 1", (call_id,)).fetchone()
            if row is None:
                return None
            prev = c.execute(f"SELECT ts FROM entries WHERE agent = %s AND type = {et.sql(et.CALL_STARTED)}"
                             " AND at < %s ORDER BY at DESC LIMIT 1", (agent, row[1])).fetchone()
        return int(row[0]), (prev[0] if prev else None)

    def latest_call_start(self, agent: str, call_id: str) -> str | None:
        """When `agent` last started a call other than `call_id`, on any desktop that synced, as
        row-level security lets the connected person read calls (an agent their own; a trainer
        none): the desktop's own `call_started` may not have arrived yet, so the current call is
        excluded by id rather than looked up. Latest by the server's `at` (the start's own time),
        the arrival id breaking ties."""
        with self._read() as c:
            row = c.execute(f"SELECT ts FROM entries WHERE agent = %s AND type = {et.sql(et.CALL_STARTED)}"
                            " AND call_id <> %s ORDER BY at DESC, id DESC LIMIT 1", (agent, call_id)).fetchone()
        return row[0] if row else None
