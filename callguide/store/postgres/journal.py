"""The central journal on PostgreSQL: `PostgresJournal` (reads, through row-level security as the
connected person) and `ingest` (a desktop's entries, pushed by the sync in order).

Each desktop's stream keeps its own hash chain: an entry is keyed by (desktop_id, seq) and
carries the `prev_hash`/`hash` it got in the desktop's own SQLite journal (docs/journal.md). The
server's `ingest()` function accepts a batch only if it continues the head it holds for that
desktop (no gap, no fork) and skips entries it already has (same hash), so re-sending is safe.

Special-category values: the server row holds the redacted data (`store.sqlite.redact_data`, the
same function as the local export); the full data goes to `entry_details`, readable only where
RLS allows (auditors; the care team for consented purposes). A reader who may not see a detail
gets the redacted form, from the same query.

Account state is derived with the SAME pure function as the local journal
(`callguide.store.derive.derive_account_state`). Across desktops there is no common seq, so an
account's rows are ordered by their time (`ts`), then desktop id and seq, and numbered 1..n in that
order for the deriver (`seq` in the derived items is that position). Never imports Qt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from callguide.store import entry_types as et
from callguide.store.base import (
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

from .connect import TeamStoreError, TeamTarget, classify, quote_ident, resolve

_COLS = ("e.desktop_id, e.seq, e.id, e.ts, e.type, e.call_id, e.account_id, e.agent, e.flow_id, e.flow_hash,"
         " e.step_id, coalesce(d.data, e.data)::text, e.prev_hash, e.hash")
_FROM = "entries e LEFT JOIN entry_details d ON d.desktop_id = e.desktop_id AND d.seq = e.seq"
_BATCH = 2000


@dataclass(frozen=True)
class TeamEntry(Entry):
    """An entry as the team store holds it: `seq` is the desktop's own seq, `desktop_id` names the
    desktop's journal, `server_id` is the server's arrival order."""

    desktop_id: str = ""
    server_id: int = 0


@dataclass(frozen=True)
class StateRow:
    """One row that account state is derived from, from the team store or a desktop's journal."""

    desktop_id: str
    seq: int
    ts: str
    type: str
    call_id: str
    data: dict[str, Any]

    @property
    def key(self) -> tuple[str, int]:
        return (self.desktop_id, self.seq)

    def order(self) -> tuple[dt.datetime, str, int]:
        return (parse_ts(self.ts), self.desktop_id, self.seq)


def parse_ts(ts: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)  # unreadable times sort last, never hide others
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def derive_team_state(account_id: str, rows: Iterable[StateRow], today: dt.date) -> AccountState:
    """Account state from rows of several desktops: de-duplicated by (desktop, seq), ordered by
    time then desktop and seq, and fed to the one deriver (`derive_account_state`)."""
    from callguide.store.derive import ANY, derive_account_state

    unique = {r.key: r for r in rows}
    ordered = sorted(unique.values(), key=StateRow.order)
    return derive_account_state(
        account_id, ((i, r.ts, r.type, r.call_id, r.data) for i, r in enumerate(ordered, 1)), today,
        # Every relaxing entry counts here, on purpose: the team store's trust is its own (rows ingested
        # from desktops under row-level security), not the desktop journal's signatures; the local
        # seq `i` is no journal seq anyway. docs/journal.md, "Relaxing entries are signed".
        counts=ANY)


def split_special(entry: Entry) -> tuple[str, str | None, str]:
    """(redacted data, full data or None when nothing is redacted, consent purposes as JSON)."""
    from callguide.store.derive import consent_purposes
    from callguide.store.sqlite import redact_data

    full = canonical_json(entry.data)
    redacted = canonical_json(redact_data(entry.type, entry.data))
    if redacted == full:
        return full, None, "[]"
    purposes = sorted(consent_purposes(entry.data.get("consent"))) if entry.type == et.VULNERABILITY else []
    return redacted, full, canonical_json(purposes)


def ingest(conn: Any, desktop_id: str, entries: Sequence[Entry], schema: str | None = None) -> tuple[int, str, int]:
    """Push `entries` (one desktop's, ascending seq) in the caller's transaction. Returns the
    server's new head (seq, hash) and how many entries it stored. Raises psycopg errors (the caller
    classifies them: CGG01 gap, CGF01/CGF02 fork, CGO01 not the owner). With `schema`, the
    function is called by its qualified name (no search_path needed)."""
    cols: list[list[Any]] = [[] for _ in range(14)]
    for e in entries:
        data, detail, purposes = split_special(e)
        for i, v in enumerate((e.seq, e.ts, e.type, e.call_id, e.account_id, e.agent, e.flow_id, e.flow_hash,
                               e.step_id, data, detail, purposes, e.prev_hash, e.hash)):
            cols[i].append(v)
    row = conn.execute(
        f"SELECT head_seq, head_hash, stored FROM {quote_ident(schema) + '.' if schema else ''}ingest(%s, %s::bigint[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::text[])", (desktop_id, *cols)).fetchone()
    return int(row[0]), str(row[1]), int(row[2])


def _row_entry(row: Sequence[Any]) -> TeamEntry:
    desktop, seq, sid, ts, type_, call_id, account_id, agent, flow_id, flow_hash, step_id, data, prev, hash_ = row
    return TeamEntry(seq=seq, type=type_, call_id=call_id, account_id=account_id, agent=agent, flow_id=flow_id,
                     flow_hash=flow_hash, step_id=step_id, data=json.loads(data), ts=ts, prev_hash=prev, hash=hash_,
                     desktop_id=desktop, server_id=sid)


class PostgresJournal(JournalStore):
    """The team store's journal, read as the connected person (RLS decides what they see).

    Writing goes through a desktop's local journal and its sync (`callguide.team.sync`), never
    here: `append` refuses. Thread-safe (a small psycopg-pool pool)."""

    def __init__(self, target: TeamTarget, *, max_size: int = 4, timeout: float = 5.0) -> None:
        from psycopg_pool import ConnectionPool

        self.target = target
        self.timeout = timeout
        schema = quote_ident(target.schema)

        def configure(conn: Any) -> None:
            conn.execute(f"SET search_path TO {schema}, pg_catalog")
            conn.commit()

        self._pool = ConnectionPool(
            target.url, min_size=1, max_size=max_size, open=False, timeout=timeout, configure=configure,
            check=ConnectionPool.check_connection, reconnect_timeout=0,
            kwargs={"connect_timeout": max(2, int(timeout)), "application_name": "callguide-journal"},
            name=f"callguide-{target.schema}")
        self._pool.open(wait=False)
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, url: str | None = None, *, schema: str | None = None, prefix: str | None = None,
             **kwargs: Any) -> PostgresJournal:
        return cls(resolve(url, schema=schema, prefix=prefix), **kwargs)

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Any]:
        import psycopg
        import psycopg_pool

        if self._closed:
            raise StoreError(f"The team store {self.target.schema} is closed.", "closed")
        try:
            with self._pool.connection(timeout=self.timeout) as conn:
                yield conn
        except psycopg_pool.PoolTimeout:
            raise TeamStoreError(f"The team store {self.target.schema} cannot be reached "
                                 f"(no connection within {self.timeout:g} s).", "offline") from None
        except psycopg.Error as e:
            raise classify(e, self.target) from None

    # ---------------------------------------------------------------- writing (refused)

    def append(self, entry: NewEntry) -> Entry:
        raise StoreError("The team store is written by each desktop's sync, not directly: append to the "
                         "desktop's own journal.", "readonly")

    def save_flow_snapshot(self, flow_hash: str, flow_id: str, version: str, text: str) -> None:
        with self._conn() as conn:
            conn.execute("SELECT put_flow_snapshot(%s, %s, %s, %s)", (flow_hash, flow_id, str(version), text))

    # ---------------------------------------------------------------- reading

    def flow_snapshot(self, flow_hash: str) -> str | None:
        with self._conn() as conn:
            row = conn.execute("SELECT text FROM flow_snapshots WHERE flow_hash = %s", (flow_hash,)).fetchone()
        return row[0] if row else None

    def call_entries(self, call_id: str) -> list[Entry]:
        with self._conn() as conn:
            rows = conn.execute(f"SELECT {_COLS} FROM {_FROM} WHERE e.call_id = %s"
                                " ORDER BY e.at, e.desktop_id, e.seq", (call_id,)).fetchall()
        return [_row_entry(r) for r in rows]

    def account_entries(self, account_id: str) -> list[Entry]:
        """Every entry of the account the person may see (opening the account is recorded)."""
        with self._conn() as conn:
            conn.execute("SELECT open_account(%s)", (account_id,))
            rows = conn.execute(f"SELECT {_COLS} FROM {_FROM} WHERE e.account_id = %s"
                                " ORDER BY e.at, e.desktop_id, e.seq", (account_id,)).fetchall()
        return [_row_entry(r) for r in rows]

    def state_rows(self, account_id: str) -> list[StateRow]:
        """The account's rows that protections derive from, as this person may see them. Opening the
        account is recorded first (`account_reads`), in the same transaction."""
        from callguide.store.derive import STATE_TYPES

        with self._conn() as conn:
            conn.execute("SELECT open_account(%s)", (account_id,))
            rows = conn.execute(
                "SELECT e.desktop_id, e.seq, e.ts, e.type, e.call_id, coalesce(d.data, e.data)::text"
                f" FROM {_FROM} WHERE e.account_id = %s AND e.type = ANY(%s)"
                " ORDER BY e.at, e.desktop_id, e.seq", (account_id, list(STATE_TYPES))).fetchall()
        return [StateRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def account_state(self, account_id: str, today: dt.date) -> AccountState:
        return derive_team_state(account_id, self.state_rows(account_id), today)

    def unfinished_calls(self) -> list[CallSummary]:
        """Calls this person may see with a `call_started` and no `call_ended`."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT s.call_id, s.account_id, s.agent, s.ts, s.data::text,"
                " (SELECT max(x.ts) FROM entries x WHERE x.call_id = s.call_id),"
                " (SELECT count(*) FROM entries x WHERE x.call_id = s.call_id)"
                f" FROM entries s WHERE s.type = {et.sql(et.CALL_STARTED)} AND NOT EXISTS"
                f" (SELECT 1 FROM entries f WHERE f.call_id = s.call_id AND f.type = {et.sql(et.CALL_ENDED)})"
                " ORDER BY s.at, s.desktop_id, s.seq").fetchall()
        return [CallSummary(call_id=r[0], account_id=r[1], agent=r[2], started=r[3], last_ts=r[5] or r[3],
                            entries=r[6], data=json.loads(r[4])) for r in rows]

    def iter_entries(self, after_seq: int = 0) -> Iterator[Entry]:
        """Every entry this person may see with server arrival id > after_seq, in arrival order
        (`TeamEntry.server_id`; `seq` stays the desktop's own)."""
        last = after_seq
        while True:
            with self._conn() as conn:
                rows = conn.execute(f"SELECT {_COLS} FROM {_FROM} WHERE e.id > %s ORDER BY e.id LIMIT %s",
                                    (last, _BATCH)).fetchall()
            if not rows:
                return
            for r in rows:
                yield _row_entry(r)
            last = rows[-1][2]

    def export_redacted(self, call_id: str) -> list[dict[str, Any]]:
        from callguide.store.sqlite import redact_data

        out = []
        for e in self.call_entries(call_id):
            assert isinstance(e, TeamEntry)
            out.append({"desktop_id": e.desktop_id, "seq": e.seq, "ts": e.ts, "type": e.type, "call_id": e.call_id,
                        "account_id": e.account_id, "agent": e.agent, "flow_id": e.flow_id,
                        "flow_hash": e.flow_hash, "step_id": e.step_id, "data": redact_data(e.type, e.data),
                        "prev_hash": e.prev_hash, "hash": e.hash})
        return out

    def latest(self, desktop_id: str) -> tuple[int, str, dt.datetime | None]:
        """The witness: the latest head the server stored for a desktop's journal, as
        (seq, hash, when the server stored it); (0, genesis, None) when it never synced."""
        with self._conn() as conn:
            row = conn.execute("SELECT seq, hash, ts FROM latest(%s)", (desktop_id,)).fetchone()
        return (int(row[0]), str(row[1]), row[2]) if row else (0, GENESIS_HASH, None)

    def counts(self) -> dict[str, int]:
        with self._conn() as conn:
            rows = conn.execute("SELECT desktop_id, count(*) FROM entries GROUP BY desktop_id").fetchall()
        return {d: int(n) for d, n in rows}

    def verify(self) -> VerifyResult:
        """Recompute every desktop's chain from seq 1 (gap, broken link, changed entry) and compare
        its end with the head the server stored. Needs the auditor role: others cannot see every
        entry or the special-category details the hashes cover. `first_bad_seq` is the desktop's
        seq; `reason` names the desktop."""
        with self._conn() as conn:
            auditor = conn.execute("SELECT pg_has_role(caller(), %s, 'MEMBER')",
                                   (self.target.role("auditor"),)).fetchone()[0]
            heads = conn.execute("SELECT desktop_id, head_seq, head_hash FROM desktops ORDER BY desktop_id").fetchall()
        if not auditor:
            raise TeamStoreError("verifying the team store needs the auditor role (every entry and detail).",
                                 "denied")
        checked = 0
        for desktop, head_seq, head_hash in heads:
            expected, prev = 1, GENESIS_HASH
            last = 0
            while True:
                with self._conn() as conn:
                    rows = conn.execute(f"SELECT {_COLS} FROM {_FROM} WHERE e.desktop_id = %s AND e.seq > %s"
                                        " ORDER BY e.seq LIMIT %s", (desktop, last, _BATCH)).fetchall()
                if not rows:
                    break
                for r in rows:
                    e = _row_entry(r)
                    if e.seq != expected:
                        return VerifyResult(False, checked, e.seq,
                                            f"desktop {desktop}: gap, expected seq {expected}, found {e.seq}")
                    if e.prev_hash != prev:
                        return VerifyResult(False, checked, e.seq, f"desktop {desktop}: broken link at seq {e.seq}")
                    fields = {"ts": e.ts, "type": e.type, "call_id": e.call_id, "account_id": e.account_id,
                              "agent": e.agent, "flow_id": e.flow_id, "flow_hash": e.flow_hash,
                              "step_id": e.step_id, "data": e.data}
                    if compute_hash(e.prev_hash, fields) != e.hash:
                        return VerifyResult(False, checked, e.seq,
                                            f"desktop {desktop}: hash mismatch at seq {e.seq} (changed after writing)")
                    checked += 1
                    expected, prev = e.seq + 1, e.hash
                last = rows[-1][1]
            if (expected - 1, prev) != (head_seq, head_hash):
                return VerifyResult(False, checked, expected - 1,
                                    f"desktop {desktop}: entries end at {expected - 1} but the stored head is {head_seq}")
        return VerifyResult(ok=True, checked=checked)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.close()

    def __enter__(self) -> PostgresJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
