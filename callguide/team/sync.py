"""Offline-first sync: push the desktop's local journal into the team store, in order, forever.

The desktop always writes its local SQLite journal first (the agent's click is acknowledged when
the entry is durable there); this background thread copies entries to the team store and never
blocks a call. The protocol:

1. Connect (own connection, `application_name=callguide-sync`). Read the head the server holds
   for this desktop (`desktops.head_seq/head_hash`; 0 and genesis for a new desktop).
2. Check the local journal against it: the local entry at that seq must have that hash (else the
   local file forked or was replaced), and the local journal must reach that far (else it was
   truncated or rolled back: the server saw more). Either is REFUSED and reported, never pushed.
3. Push the entries after the server's head in batches, each batch in one transaction through
   the server's `ingest()` (which checks again: no gap, no fork; skips what it already has), with
   the flow snapshots the batch's calls ran. The server's answer is the new head. In the same
   transaction, after the entries, the data keys their sealed values use whose consent purpose
   admits some reader (key escrow, migration 0006: never the `personal` key), and the tombstones
   of keys the batch's withdrawals, erasures and purges destroyed; the server also destroys its
   copies itself when such an entry arrives. Idempotent like the entries.
   Escrow catch-up: keys of entries pushed before the team store escrowed their purpose (before
   0006, or before `consent_scopes` admitted it) are deposited afterwards, when there is nothing to
   push, a chunk of the journal per round (`EscrowProgress`, `<journal>.escrow`, remembers how far
   each purpose is covered, so a connect with nothing to catch up reads no entry). A failure is
   logged and retried at the next connect; the push goes on.
4. Nothing new: wait for `wake()` or the poll interval; every `heartbeat` seconds of idling, a
   `SELECT 1` on the connection, so a lost server shows as offline without waiting for a push. Any failure (connection refused, killed,
   server restart, timeout): close, mark "offline since T", retry with exponential backoff and
   jitter, and start again at 1. Nothing is kept on the desktop about what was sent: the server's
   head is the only truth, so a crash anywhere loses nothing and sends nothing twice (the escrow
   catch-up's `<journal>.escrow` only saves reading the journal again; lost, it reads it once more).

Status (`TeamSync.status`, and listeners called from the sync thread): "synced", "sending"
(connected, N waiting), "offline" (since T, N waiting), "refused" (the server or the check refused,
with the reason; retried slowly), "stopped". Never imports Qt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from callguide.store import entry_types as et
from callguide.store.base import GENESIS_HASH, Entry, StoreError
from callguide.store.postgres.connect import TeamStoreError, TeamTarget, classify, connect, quote_ident
from callguide.store.postgres.journal import ingest
from callguide.store.postgres.keys import (
    Deposit,
    admitted_purposes,
    catch_up_deposits,
    deposit_keys,
    deposits,
)
from callguide.store.sealing import PERSONAL

from .desktop import desktop_id as derive_desktop_id

SyncListener = Callable[["SyncStatus"], None]
log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class SyncStatus:
    """What the window shows: "team store: connected", "offline since 14:02, 37 entries waiting",
    "synced". `state` is one of starting, synced, sending, offline, refused, stopped."""

    state: str = "starting"
    waiting: int = 0
    local_seq: int = 0
    server_seq: int = 0
    offline_since: dt.datetime | None = None
    last_synced: dt.datetime | None = None
    error: str | None = None
    desktop_id: str | None = None

    @property
    def connected(self) -> bool:
        return self.state in ("synced", "sending")


class EscrowProgress:
    """How far the key escrow covers this journal, per team store, desktop and consent purpose: for
    each purpose, the seq up to which every key first used by an entry is deposited in the team store
    (by the push, or by the catch-up). A small JSON file beside the journal (`<journal>.escrow`; the
    journal's own tables are append-only and not the sync's to write). It holds no key and no
    customer data; a missing or unreadable file means "nothing covered yet" (the catch-up reads the
    journal once more and deposits nothing twice: the team store keeps the first copy of a kid)."""

    def __init__(self, journal_path: Path, scope: str) -> None:
        self.path = journal_path.with_name(journal_path.name + ".escrow")
        self.scope = scope

    def _all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("key escrow progress %s unreadable (%s): the catch-up reads the journal again", self.path, e)
            return {}
        return data if isinstance(data, dict) else {}

    def load(self) -> dict[str, int]:
        mine = self._all().get(self.scope)
        if not isinstance(mine, dict):
            return {}
        return {str(p): int(n) for p, n in mine.items() if isinstance(n, int) and not isinstance(n, bool) and n > 0}

    def save(self, covered: dict[str, int]) -> None:
        data = self._all()
        data[self.scope] = dict(sorted(covered.items()))
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:  # only costs a second read of the journal at the next connect
            log.warning("key escrow progress %s not saved: %s", self.path, e)


@dataclass
class _CatchUp:
    """One escrow catch-up under way: the purposes to cover, each from the seq it is covered to
    (`since`), up to `upto` (the team store's head when it was planned); the seq read up to
    (`after`), and the kids met so far."""

    since: dict[str, int]
    upto: int
    after: int
    seen: set[str]


def _scope(target: TeamTarget, desktop: str) -> str:
    """The team store (host, port, database, schema) and desktop the progress is about."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(target.url)
        where = f"{info.get('host') or ''}:{info.get('port') or ''}/{info.get('dbname') or ''}"
    except Exception:  # noqa: BLE001 (an unparsable URL never connects anyway)
        where = target.url
    return f"{where}/{target.schema}/{desktop}"


class TeamSync:
    """The background sync of one desktop journal (a file) into one team store."""

    def __init__(self, journal_path: str | Path, target: TeamTarget, *, batch: int = 500, poll: float = 0.25,
                 backoff: tuple[float, float] = (0.2, 10.0), refused_backoff: float = 30.0,
                 connect_timeout: float = 3.0, heartbeat: float = 5.0) -> None:
        self.journal_path = Path(journal_path)
        self.target = target
        self.batch = batch
        self.poll = poll
        self.backoff = backoff
        self.refused_backoff = refused_backoff
        self.connect_timeout = connect_timeout
        self.heartbeat = heartbeat  # idle and synced: ask the server this often, so "synced" is never stale
        self._contact = 0.0         # time.monotonic() of the last exchange with the server
        self._status = SyncStatus()
        self._status_lock = threading.Lock()
        self._listeners: list[SyncListener] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._local: Any = None
        self._conn: Any = None
        self._desktop: str | None = None
        self._snapshots_sent: set[str] = set()
        self._escrow: frozenset[str] | None = None  # purposes the team store escrows keys of (None: no escrow)
        self.keys_deposited = 0
        self.batches = 0  # batches the server accepted (for benchmarks)
        self.catchup_batch = 2000   # entries the escrow catch-up reads per round
        self.catchup_keys = 500     # keys it deposits per transaction
        self._progress: EscrowProgress | None = None
        self._covered: dict[str, int] = {}  # purpose -> seq its keys are deposited up to (see EscrowProgress)
        self._catchup: _CatchUp | None = None
        self._confirmed = 0
        self._caught_up = threading.Event()
        self.catchup_read = 0       # entries the escrow catch-up read (tests, benchmarks)
        self.catchup_deposited = 0  # keys it stored or destroyed in the team store
        self.catchup_error: str | None = None
        self._rounds = 0  # completed rounds (each reads the local journal's head afresh)

    # ---------------------------------------------------------------- API

    def start(self) -> TeamSync:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"callguide-sync-{self.journal_path.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close_conn()
        if self._local is not None:
            with contextlib.suppress(StoreError):
                self._local.close()
            self._local = None
        self._set(state="stopped")

    def wake(self) -> None:
        """Something was appended: push it now rather than at the next poll."""
        self._wake.set()

    @property
    def status(self) -> SyncStatus:
        with self._status_lock:
            return self._status

    @property
    def desktop_id(self) -> str | None:
        return self._desktop

    def add_listener(self, listener: SyncListener) -> None:
        """`listener(status)` is called from the sync thread on every change of status."""
        self._listeners.append(listener)

    def wait_synced(self, timeout: float, *, at_least: int = 0) -> bool:
        """Wait until the team store holds everything the local journal had when this was called
        (and at least seq `at_least`), or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._changed:
            first = self._rounds + 2  # a round under way may have read the head before this call
        self.wake()
        with self._changed:
            while True:
                s = self._status
                if s.state == "synced" and s.server_seq >= at_least and self._rounds >= first:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
                self.wake()

    def wait_caught_up(self, timeout: float) -> bool:
        """Wait until the escrow catch-up planned at the last connect (or change of the admitted
        purposes) has finished, or failed (`catchup_error`), or `timeout` seconds pass."""
        self.wake()
        return self._caught_up.wait(timeout)

    # ---------------------------------------------------------------- the loop

    def _set(self, **changes: Any) -> None:
        with self._status_lock:
            new = replace(self._status, **changes)
            if new == self._status:
                return
            self._status = new
        with self._changed:
            self._changed.notify_all()
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a listener's bug must not stop the sync
                listener(new)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                progressed = self._step()
                with self._changed:
                    self._rounds += 1
                    self._changed.notify_all()
                failures = 0
                if not progressed:
                    self._wake.wait(self.poll)
                    self._wake.clear()
            except TeamStoreError as e:
                self._close_conn()
                failures += 1
                if e.kind in ("refused", "denied", "schema", "config"):
                    self._set(state="refused", error=str(e), offline_since=None)
                    self._sleep(self.refused_backoff)
                else:
                    s = self.status
                    self._set(state="offline", error=str(e),
                              offline_since=s.offline_since if s.state == "offline" else _now())
                    self._sleep(self._delay(failures))
            except StoreError as e:  # the local journal (locked for a long time, damaged, ...)
                failures += 1
                if e.kind in ("tampered", "corrupt", "newer", "missing"):
                    # Not a passing problem: a journal refused on open is never pushed.
                    self._set(state="refused", error=str(e), offline_since=None)
                    self._sleep(self.refused_backoff)
                    continue
                self._set(state="offline" if self.status.state != "refused" else "refused", error=str(e))
                self._sleep(self._delay(failures))

    def _delay(self, failures: int) -> float:
        low, high = self.backoff
        return min(high, low * 2 ** min(failures - 1, 16)) * random.uniform(0.7, 1.0)  # noqa: S311 (jitter)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _close_conn(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _open_local(self) -> Any:
        if self._local is None:
            from callguide.store.sqlite import SQLiteJournal

            self._local = SQLiteJournal.open(self.journal_path)
        return self._local

    def _local_head(self, local: Any) -> int:
        """The local journal's last seq: at first its entry count (seqs run 1..n without gaps in a
        chained journal), then incrementally (only entries not seen before)."""
        seq = self.status.local_seq
        if seq == 0 and hasattr(local, "count"):
            seq = int(local.count())
        for entry in local.iter_entries(seq):
            seq = entry.seq
        return seq

    def _step(self) -> bool:
        """One round: returns True when it pushed something (go again at once)."""
        import psycopg

        local = self._open_local()
        if self._desktop is None:
            self._desktop = derive_desktop_id(local)
            if self._desktop is None:
                self._set(state="synced", waiting=0)
                return False
            self._set(desktop_id=self._desktop)
        local_seq = self._local_head(local)
        if self._conn is None:
            self._set(local_seq=local_seq, waiting=max(0, local_seq - self.status.server_seq))
            self._connect(local, local_seq)
        server_seq = self.status.server_seq
        if local_seq <= server_seq:
            if self.status.state != "synced":
                self._set(state="synced", local_seq=local_seq, waiting=0, offline_since=None, error=None,
                          last_synced=_now())
            elif self.heartbeat and time.monotonic() - self._contact > self.heartbeat:
                try:  # nothing to push for a while: is the team store still there (and what does it escrow)?
                    admitted = admitted_purposes(self._conn, self.target.schema)
                    self._conn.commit()
                except psycopg.Error as e:
                    raise classify(e, self.target) from None
                self._contact = time.monotonic()
                if admitted != self._escrow:  # consent_scopes changed: escrow (and catch up) what it admits now
                    self._scopes_changed(admitted, server_seq)
                self._confirmed = server_seq
            if self._catchup is not None:
                return self._catch_up(local)
            return False
        self._set(state="sending", local_seq=local_seq, waiting=local_seq - server_seq, offline_since=None,
                  error=None)
        batch = self._sendable(local, list(itertools.islice(local.iter_entries(server_seq), self.batch)))
        keys = self._key_deposits(local, batch)  # read before the transaction: a local problem retries
        try:
            with self._conn.transaction():
                self._conn.execute("SET LOCAL statement_timeout = '60s'")
                sent = self._push_snapshots(local, batch)
                head_seq, _head_hash, _stored = ingest(self._conn, self._desktop, batch, self.target.schema)
                deposited = deposit_keys(self._conn, self._desktop, keys, self.target.schema)
        except psycopg.Error as e:
            raise classify(e, self.target) from None
        self._snapshots_sent |= sent
        self.keys_deposited += deposited
        self.batches += 1
        self._advance(server_seq, head_seq)
        self._contact = time.monotonic()
        self._set(server_seq=head_seq, waiting=max(0, local_seq - head_seq))
        return True

    @staticmethod
    def _sendable(local: Any, batch: list[Entry]) -> list[Entry]:
        """`batch` up to the first entry that would lift a protection but was written into the local file
        without the journal's key (`SQLiteJournal.unsigned_relaxing`): the team store counts what its
        desktops send, so a review forged on one desktop would lift the protection on every other one.
        Such an entry stops the sync there, refused with one line, until the journal is looked at."""
        check = getattr(local, "unsigned_relaxing", None)
        forged = check(batch) if check is not None else []
        if not forged:
            return batch
        first = forged[0]
        kept = [e for e in batch if e.seq < first.seq]
        if kept:
            return kept
        raise StoreError(f"The journal {getattr(local, 'path', '')} holds an entry that would lift a protection "
                         f"({first.type}, entry {first.seq}) but was written without the journal's key: it and "
                         "what follows are not sent to the team store; run `callguide audit verify`.", "tampered")

    def _connect(self, local: Any, local_seq: int) -> None:
        import psycopg

        # Every name qualified and no session settings: works direct or through a transaction-pooling
        # pgbouncer (one transaction per batch).
        conn = connect(self.target, autocommit=False, timeout=self.connect_timeout, app="callguide-sync",
                       search_path=False, keepalives=1, keepalives_idle=10, keepalives_interval=5,
                       keepalives_count=3)
        try:
            row = conn.execute(f"SELECT head_seq, head_hash FROM {quote_ident(self.target.schema)}.desktops"
                               " WHERE desktop_id = %s", (self._desktop,)).fetchone()
            self._escrow = admitted_purposes(conn, self.target.schema)
            conn.commit()
        except psycopg.Error as e:
            conn.close()
            raise classify(e, self.target) from None
        server_seq, server_hash = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
        if server_seq > local_seq:
            conn.close()
            raise TeamStoreError(
                f"the local journal {self.journal_path} ends at entry {local_seq} but the team store holds "
                f"{server_seq} entries of it: the file was truncated or replaced by an older copy", "refused")
        if server_seq > 0:
            mine = next(iter(local.iter_entries(server_seq - 1)), None)
            if mine is None or mine.seq != server_seq or mine.hash != server_hash:
                conn.close()
                raise TeamStoreError(
                    f"the local journal {self.journal_path} differs from the team store at entry {server_seq}: "
                    "the file forked or was replaced", "refused")
        self._conn = conn
        self._contact = time.monotonic()
        self._set(server_seq=server_seq)
        self._confirmed = server_seq  # the head when the admitted purposes were last read
        self._plan_catchup(server_seq)

    def _key_deposits(self, local: Any, batch: list[Entry]) -> list[Deposit]:
        """The keys to deposit with the batch (after its entries, same transaction); none when the
        team store has no escrow or the journal no keys."""
        sealer = getattr(local, "sealer", None)
        if not self._escrow or sealer is None:
            return []
        return deposits(sealer.keys, batch, self._escrow)

    # ---------------------------------------------------------------- escrow catch-up

    def _plan_catchup(self, server_seq: int) -> None:
        """After a connect (or a change of what `consent_scopes` admits): which admitted purposes'
        keys of entries 1..server_seq may be missing from the team store, per `<journal>.escrow`."""
        self._catchup = None
        self._caught_up.clear()
        try:
            if self._progress is None and self._desktop is not None:
                self._progress = EscrowProgress(self.journal_path, _scope(self.target, self._desktop))
            # what the store holds of this desktop is its head at most (a store restored from a backup)
            self._covered = {p: min(n, server_seq) for p, n in (self._progress.load() if self._progress else {}).items()}
            wanted = {p: self._covered.get(p, 0) for p in (self._escrow or ()) if p != PERSONAL}
            todo = {p: n for p, n in wanted.items() if n < server_seq}
            if todo:
                self._catchup = _CatchUp(todo, server_seq, min(todo.values()), set())
                log.info("key escrow catch-up of %s: entries %d..%d", self.journal_path, min(todo.values()) + 1,
                         server_seq)
        except Exception as e:  # noqa: BLE001 (never stops the push)
            self._catchup_failed(e)
        if self._catchup is None:
            self._caught_up.set()

    def _scopes_changed(self, admitted: frozenset[str] | None, server_seq: int) -> None:
        """`consent_scopes` changed while connected. A purpose no longer admitted: the batches pushed
        since it was last seen admitted may have had its keys skipped by the server, so it counts as
        covered only up to then (a later re-admission catches up from there). Then plan a catch-up
        for the purposes admitted now."""
        if self._progress is not None:
            for p in (self._escrow or frozenset()) - (admitted or frozenset()):
                if self._covered.get(p, 0) > self._confirmed:
                    self._covered[p] = self._confirmed
            self._progress.save(self._covered)
        self._escrow = admitted
        self._plan_catchup(server_seq)

    def _advance(self, before: int, head: int) -> None:
        """A batch (entries before+1..head) was pushed with the keys of the purposes escrowed now:
        those purposes covered up to `before` are covered up to `head`."""
        if not self._escrow or self._progress is None:
            return
        moved = False
        for p in self._escrow - {PERSONAL}:
            if self._covered.get(p, 0) >= before and self._covered.get(p, 0) < head:
                self._covered[p] = head
                moved = True
        if moved:
            self._progress.save(self._covered)

    def _catch_up(self, local: Any) -> bool:
        """One round of the escrow catch-up (the push has nothing waiting): read the next chunk of
        entries the team store holds, deposit the keys first used there that it may not hold (live,
        or the tombstone of a key the desktop destroyed: the server never revives one), in
        transactions of `catchup_keys`. Returns True while there is more to do."""
        import psycopg

        plan = self._catchup
        assert plan is not None
        try:
            sealer = getattr(local, "sealer", None)
            if sealer is None:  # a journal without keys: nothing sealed, nothing to deposit
                self._finish_catchup()
                return False
            chunk = [e for e in itertools.islice(local.iter_entries(plan.after), self.catchup_batch)
                     if e.seq <= plan.upto]
            self.catchup_read += len(chunk)
            rows = catch_up_deposits(sealer.keys, chunk, plan.since, plan.seen)
            deposited = 0
            for i in range(0, len(rows), self.catchup_keys):
                with self._conn.transaction():
                    self._conn.execute("SET LOCAL statement_timeout = '60s'")
                    deposited += deposit_keys(self._conn, self._desktop, rows[i:i + self.catchup_keys],
                                              self.target.schema)
                self._contact = time.monotonic()
            self.catchup_deposited += deposited
            self.keys_deposited += deposited
            plan.after = chunk[-1].seq if len(chunk) == self.catchup_batch and chunk[-1].seq < plan.upto \
                else plan.upto
            for p in plan.since:
                self._covered[p] = max(self._covered.get(p, 0), plan.after)
            if plan.after >= plan.upto:
                self._finish_catchup()
                return False
            if self._progress is not None:
                self._progress.save(self._covered)
            return True
        except psycopg.Error as e:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._catchup = None  # planned again at the reconnect
                raise classify(e, self.target) from None
            self._catchup_failed(e)
        except Exception as e:  # noqa: BLE001 (a local problem or a bug: the push goes on)
            self._catchup_failed(e)
        return False

    def _finish_catchup(self) -> None:
        plan = self._catchup
        self._catchup = None
        if plan is not None:
            # entries pushed since the plan carried these purposes' keys (they are escrowed now)
            head = self.status.server_seq
            for p in plan.since:
                if self._escrow and p in self._escrow:
                    self._covered[p] = max(self._covered.get(p, 0), head)
            if self._progress is not None:
                self._progress.save(self._covered)
            log.info("key escrow catch-up of %s done: %d entries read, %d keys deposited", self.journal_path,
                     self.catchup_read, self.catchup_deposited)
        self.catchup_error = None
        self._caught_up.set()

    def _catchup_failed(self, e: BaseException) -> None:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        self.catchup_error = msg
        self._catchup = None
        log.warning("key escrow catch-up of %s failed (retried at the next connect): %s", self.journal_path, msg)
        self._caught_up.set()

    def _push_snapshots(self, local: Any, batch: list[Entry]) -> set[str]:
        """The flow texts the batch's calls ran, once per hash (the server ignores repeats)."""
        sent: set[str] = set()
        for entry in batch:
            if entry.type != et.CALL_STARTED:
                continue
            flows = entry.data.get("flows")
            if not isinstance(flows, dict):
                continue
            for flow_id, flow_hash in flows.items():
                if not isinstance(flow_hash, str) or flow_hash in self._snapshots_sent or flow_hash in sent:
                    continue
                text = local.flow_snapshot(flow_hash)
                if text is not None:
                    self._conn.execute(f"SELECT {quote_ident(self.target.schema)}.put_flow_snapshot(%s, %s, %s, %s)",
                                       (flow_hash, str(flow_id), _flow_version(text), text))
                sent.add(flow_hash)
        return sent


def _flow_version(text: str) -> str:
    """The `version:` of a flow text (the local API keeps it but returns only the text)."""
    for line in text.splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    return ""
