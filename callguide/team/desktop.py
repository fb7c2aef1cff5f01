"""A desktop in team mode: its local journal, the background sync, protections read through the
team store, and live protections while a call runs. Qt-free (the Qt layer's `qt/team_link.py`
maps the callbacks here to signals); the window and `callguide walk --db postgresql://…` use it.

- `desktop_id(journal)`: the stable id of a desktop's local journal, the key of its stream.
- `TeamJournal`: the local journal as the engine's store. Every write goes to the local SQLite
  journal (the click is acknowledged when the entry is durable there, never waiting for the
  network) and wakes the sync; `account_state` (call start, resume) reads the account's
  protections through the team store, falling back to the local cache when offline, and keeps
  that read (`last_read`: source and as-of time) for the banner.
- `TeamDesktop`: owns the sync thread, the LISTEN connection, the reader pool and the cache.
  `follow(session)` re-reads the account's protections whenever the team store says something
  was raised on it; `apply_protections(session, read)` (on the caller's thread, the Qt thread in
  the window) puts them into the call: `add_newer_protections` (the same function a resumed call
  uses: protections are added, never removed), the banner's history, and the gate's re-check of
  the step on screen, all in one operation of the call.
- `EscrowedDetails`: for the screen only, the account's register with the sealed special-category
  details this person may read opened, with the keys the team store escrows (`TeamKeys`, read
  through this person's own connection: row-level security decides, the care team on accounts
  referred to it; every other role gets no key and sees exactly what it saw before). Opened from
  the rows of the latest online read (kept sealed, as read: the local cache never holds them
  open), never put into the call: the call's register, and so the `call_started` snapshot, stays
  as before, so nothing opened here is ever copied into a journal.

About ids: the journal's own id when it has one (`journal.journal_id`). Until then the id is
derived from the journal itself: "j" + the first 32 hex digits of the hash of entry 1. That hash
covers the first entry's time, call id and agent, so it is unique per journal file in practice,
never changes, and needs no new column. A journal with no entries and no id has no id yet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from callguide.engine.protections import receive_register
from callguide.store.base import (
    AccountState,
    CallSummary,
    Entry,
    JournalStore,
    NewEntry,
    StoreError,
    VerifyResult,
)


def desktop_id(journal: JournalStore) -> str | None:
    own = getattr(journal, "journal_id", None)
    if isinstance(own, str) and own:
        return own
    for entry in journal.iter_entries(0):
        return "j" + entry.hash[:32]
    return None


def default_cache_path(journal_path: str | Path) -> Path:
    p = Path(journal_path)
    return p.with_name(p.name + ".team-cache")


class TeamJournal:
    """The local journal, with protections read through the team store (see the module doc)."""

    def __init__(self, local: Any, protections: Any, *, on_append: Callable[[], None] | None = None,
                 team_target: Any = None) -> None:
        self.local = local
        self.protections = protections
        # The team store (its TeamTarget): where this desktop's live flows and the trainers'
        # publications come from (`callguide.library.live.publications_of`).
        self.team_target = team_target
        self.on_append = on_append
        self.last_read: Any = None          # the latest ProtectionsRead (source, as_of)
        self._listeners: list[Callable[[Any], None]] = []

    # ---------------------------------------------------------------- writing: local first
    def append(self, entry: NewEntry) -> Entry:
        out = self.local.append(entry)
        self._wake()
        return out

    def append_many(self, entries: list[NewEntry]) -> list[Entry]:
        out = self.local.append_many(entries)
        self._wake()
        return out

    def _wake(self) -> None:
        if self.on_append is not None:
            with contextlib.suppress(Exception):
                self.on_append()

    # ---------------------------------------------------------------- protections: the team store
    def account_state(self, account_id: str, today: dt.date) -> AccountState:
        read = self.protections.read(account_id, today)
        self.last_read = read
        for fn in list(self._listeners):
            with contextlib.suppress(Exception):
                fn(read)
        return read.state

    def on_read(self, listener: Callable[[Any], None]) -> None:
        self._listeners.append(listener)

    # ---------------------------------------------------------------- everything else: the local journal
    def call_entries(self, call_id: str) -> list[Entry]:
        return self.local.call_entries(call_id)

    def account_entries(self, account_id: str) -> list[Entry]:
        return self.local.account_entries(account_id)

    def unfinished_calls(self) -> list[CallSummary]:
        return self.local.unfinished_calls()

    def save_flow_snapshot(self, flow_hash: str, flow_id: str, version: str, text: str) -> None:
        self.local.save_flow_snapshot(flow_hash, flow_id, version, text)

    def flow_snapshot(self, flow_hash: str) -> str | None:
        return self.local.flow_snapshot(flow_hash)

    def verify(self) -> VerifyResult:
        return self.local.verify()

    def iter_entries(self, after_seq: int = 0) -> Iterator[Entry]:
        return self.local.iter_entries(after_seq)

    def export_redacted(self, call_id: str) -> list[dict[str, Any]]:
        return self.local.export_redacted(call_id)

    def close(self) -> None:
        self.local.close()

    def __getattr__(self, name: str) -> Any:  # journal_id, path, count, ... of the local journal
        if name == "local":
            raise AttributeError(name)
        return getattr(self.local, name)


class _TappedReader:
    """The team store's reader as `TeamProtections` uses it; hands each account's rows, as read
    (sealed), to `on_rows` as well."""

    def __init__(self, reader: Any, on_rows: Callable[[str, list[Any]], None]) -> None:
        self.reader = reader
        self.on_rows = on_rows

    def state_rows(self, account_id: str) -> list[Any]:
        rows = self.reader.state_rows(account_id)
        self.on_rows(account_id, rows)
        return rows

    def __getattr__(self, name: str) -> Any:
        if name == "reader":
            raise AttributeError(name)
        return getattr(self.reader, name)


class EscrowedDetails:
    """The sealed details of an account's register that this person may read (see the module doc).
    `remember(account, rows)` keeps the rows of the latest online read; `readable_state(...)` opens
    them with the escrowed keys the team store serves this person, or gives None when it serves
    none of the keys they need (every role but the care team, an account not referred to it, the
    team store out of reach): then the window shows what it showed before."""

    def __init__(self, reader: Any, local: JournalStore) -> None:
        from callguide.store.postgres.keys import TeamKeys

        self.keys = TeamKeys(reader)
        self.local = local
        self._rows: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    def remember(self, account_id: str, rows: list[Any]) -> None:
        with self._lock:
            self._rows[account_id] = list(rows)

    def readable_state(self, account_id: str, today: dt.date, *, exclude_call: str | None = None,
                       lang: str | None = None) -> AccountState | None:
        """The register of the latest online read (this call's own rows left out with `exclude_call`)
        with the values the escrowed keys open; a destroyed key reads "withdrawn on DATE" in `lang`.
        None when no key was served for any sealed value."""
        from callguide.engine.protections import localize_history
        from callguide.store.postgres.journal import derive_team_state
        from callguide.store.postgres.keys import sealed_kids
        from callguide.store.sealing import Sealer, has_sealed, open_all

        with self._lock:
            rows = [r for r in self._rows.get(account_id, []) if r.call_id != exclude_call]
            sealed = {id(r) for r in rows if any(has_sealed(v) for v in r.data.values())}
            if not sealed:
                return None
            try:
                self.keys.load(kid for r in rows if id(r) in sealed for kid, _ in sealed_kids(r.data))
            except StoreError:
                return None  # out of reach now: the values stay "not readable here"
            try:
                sealer = Sealer(self.keys)
                opened: list[Any] = []
                served = False
                for r in rows:
                    if id(r) in sealed and self._served(r):
                        served = True
                        r = dataclasses.replace(r, data=open_all(sealer, account_id, r.data))
                    opened.append(r)
            finally:
                self.keys.forget()  # nothing held after the read (a key destroyed since is never reused)
        if not served:
            return None
        state = derive_team_state(account_id, [*opened, *self._local_rows(account_id, exclude_call)], today)
        return localize_history(state, lang)

    def _served(self, row: Any) -> bool:
        """A key of the row's sealed values came back: its bytes, or its tombstone."""
        from callguide.store.postgres.keys import sealed_kids

        for kid, _ in sealed_kids(row.data):
            key, info = self.keys.get(kid)
            if key is not None or info.get("destroyed"):
                return True
        return False

    def _local_rows(self, account_id: str, exclude_call: str | None) -> list[Any]:
        """This desktop's own rows (they win over the team store's copies of them), opened with its
        own keys, as `TeamProtections` reads them."""
        from .protections import own_rows

        return own_rows(self.local, desktop_id(self.local), account_id, exclude_call)

    def close(self) -> None:
        with self._lock:
            self._rows.clear()
            self.keys.close()


class TeamDesktop:
    """One desktop in team mode. `start()` the threads, `store` is what calls write to, `close()`."""

    def __init__(self, journal_path: str | Path, target: Any, *, cache_path: str | Path | None = None,
                 read_timeout: float = 2.0, poll: float = 0.25, backoff: tuple[float, float] = (0.2, 10.0),
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        from callguide.store.postgres.cache import ProtectionCache
        from callguide.store.postgres.journal import PostgresJournal
        from callguide.store.sqlite import SQLiteJournal

        from .notify import TeamNotices
        from .protections import TeamProtections
        from .sync import TeamSync

        self.journal_path = Path(journal_path)
        self.target = target
        self.local = SQLiteJournal.open(self.journal_path)
        try:
            self.sync = TeamSync(self.journal_path, target, poll=poll, backoff=backoff)
            self.reader = PostgresJournal(target, timeout=read_timeout)
            self.cache = ProtectionCache(cache_path or default_cache_path(self.journal_path))
        except BaseException:
            self.local.close()
            raise
        kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
        self.escrowed = EscrowedDetails(self.reader, self.local)
        tapped = cast(PostgresJournal, _TappedReader(self.reader, self.escrowed.remember))  # the reader, as read
        self.protections = TeamProtections(self.local, tapped, self.cache,
                                           offline_hint=lambda: self.sync.status.state == "offline", **kwargs)
        self.notices = TeamNotices(target, backoff=backoff)
        self.store = TeamJournal(self.local, self.protections, on_append=self.sync.wake, team_target=target)
        self._follows: list[Callable[[], None]] = []
        self._closed = False
        self._lock = threading.Lock()

    def start(self) -> TeamDesktop:
        self.sync.start()
        self.notices.start()
        return self

    @property
    def status(self) -> Any:
        return self.sync.status

    def add_status_listener(self, listener: Callable[[Any], None]) -> None:
        """`listener(SyncStatus)`, called from the sync thread on every change."""
        self.sync.add_listener(listener)

    def wait_synced(self, timeout: float) -> bool:
        return self.sync.wait_synced(timeout)

    def whoami(self) -> str | None:
        """The person id the team store knows this login as (the calls' agent in team mode); None
        when it cannot be reached or the login is no person there."""
        try:
            with self.reader._conn() as conn:
                row = conn.execute("SELECT person()").fetchone()
        except StoreError:
            return None
        return str(row[0]) if row and row[0] else None

    def follow(self, session: Any, callback: Callable[[Any, Any], None]) -> Callable[[], None]:
        """While `session` runs: on every notice about its account (and after a reconnect) read the
        account's protections again (this call's own entries left out: they are already in the call)
        and call `callback(read, notice)` on the listener thread. Returns unsubscribe."""
        account_id = session.account.id
        call_id = session.call_id

        def on_notice(notice: Any) -> None:
            try:
                read = self.protections.read(account_id, session.facts.today(), exclude_call=call_id)
            except StoreError:
                return
            callback(read, notice)

        unsubscribe = self.notices.subscribe(account_id, on_notice)
        self._follows.append(unsubscribe)
        return unsubscribe

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for unsubscribe in self._follows:
            unsubscribe()
        self.notices.stop(timeout)
        self.sync.stop(timeout)
        with contextlib.suppress(StoreError):
            self.reader.close()
        self.cache.close()
        self.escrowed.close()
        with contextlib.suppress(StoreError):
            self.local.close()


def apply_protections(session: Any, read_state: AccountState) -> list[str]:
    """Put protections raised elsewhere (the team store's register) into a running call, on the
    session's own thread: `engine.protections.receive_register`, which a desktop's call also uses
    when another process wrote to its journal. Consents are left to the call (the team store may not
    hold this call's own consents yet). Returns what was newly raised (empty: nothing written)."""
    return receive_register(session, read_state)


def team_witness(journal_path: str | Path, target: Any, journal_id: str = "", *, timeout: float = 5.0) -> Any:
    """The team store as a witness for `audit verify`: the head it stored for this desktop's
    journal (what the sync pushed, chain-checked on ingest) must still be in the file, with the
    same hash. Reads the file read-only with plain SQL (the audit's own checks come first and may
    already have refused it). Returns a `store.audit.Finding`: BROKEN when the file was cut short,
    rolled back or replaced; UNCHECKED when the team store cannot say (unreachable, never synced)."""
    import sqlite3

    from callguide.store.audit import BROKEN, OK, UNCHECKED, Finding
    from callguide.store.postgres.connect import TeamStoreError
    from callguide.store.postgres.journal import PostgresJournal

    try:
        conn = sqlite3.connect(f"{Path(journal_path).resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
        try:
            first = conn.execute("SELECT hash FROM entries WHERE seq = 1").fetchone()
            last = int(conn.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0])
            did = journal_id or (f"j{first[0][:32]}" if first else "")
            if not did:
                return Finding(UNCHECKED, "the team store: the journal has no entries, nothing to compare")
            try:
                with PostgresJournal(target, timeout=timeout) as reader:
                    seq, head, at = reader.latest(did)
            except TeamStoreError as e:
                return Finding(UNCHECKED, f"the team store: {e}")
            row = conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone() if seq else None
        finally:
            conn.close()
    except sqlite3.Error as e:
        return Finding(UNCHECKED, f"the team store: the journal cannot be read ({e})")
    if seq == 0:
        return Finding(UNCHECKED, f"the team store holds no entry of this journal ({did}): never synced")
    when = at.isoformat(timespec="seconds") if at is not None else "?"
    if row is None:
        return Finding(BROKEN, f"the team store holds entries 1-{seq} of this journal (stored {when}), but the "
                               f"file ends at entry {last}: it was cut short or replaced by an older copy")
    if row[0] != head:
        return Finding(BROKEN, f"entry {seq} differs from the one the team store holds (stored {when}): the "
                               "file was replaced or rewritten")
    waiting = f"; entries {seq + 1}-{last} not in the team store yet" if last > seq else ""
    return Finding(OK, f"the team store holds entries 1-{seq} of this journal (stored {when}) and the file "
                       f"still has them{waiting}")
