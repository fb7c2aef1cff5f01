"""An account's protections at call start, in team mode, with an offline fallback.

Online: the account's protection rows from the team store (as this person may see them; opening
the account is recorded there), plus this desktop's own entries the sync has not pushed yet, derived
by the one deriver (`derive_account_state`, via `derive_team_state`). The rows read are cached
locally with the time of the read.

Offline (the team store cannot be reached within the timeout, or the sync already knows it is
offline): the cached rows of the last read plus this desktop's own entries, and the result says so:
`source="cache"`, `as_of` = the time of that read ("offline: protections as of 14:02"), or
`source="local"` when this account was never read from the team store (only this desktop's
journal). Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callguide.store.base import AccountState, JournalStore, StoreError
from callguide.store.postgres.cache import ProtectionCache
from callguide.store.postgres.connect import TeamStoreError
from callguide.store.postgres.journal import PostgresJournal, StateRow, derive_team_state

from .desktop import desktop_id as derive_desktop_id
from .notify import Notice, TeamNotices


@dataclass(frozen=True)
class ProtectionsRead:
    state: AccountState
    source: str                    # "team" | "cache" | "local"
    as_of: dt.datetime | None      # when the team rows were read (now, for "team")
    reason: str | None = None      # why the team store was not used

    @property
    def offline(self) -> bool:
        return self.source != "team"


class TeamProtections:
    def __init__(self, local: JournalStore, team: PostgresJournal, cache: ProtectionCache, *,
                 offline_hint: Callable[[], bool] | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.local = local
        self.team = team
        self.cache = cache
        self.offline_hint = offline_hint
        self.clock = clock
        self._desktop: str | None = None

    def _local_rows(self, account_id: str, exclude_call: str | None = None) -> list[StateRow]:
        if self._desktop is None:
            self._desktop = derive_desktop_id(self.local)
        return own_rows(self.local, self._desktop, account_id, exclude_call)

    def read(self, account_id: str, today: dt.date, *, exclude_call: str | None = None) -> ProtectionsRead:
        """The account's protections (see the module doc). `exclude_call`: leave out that call's
        own entries (a running call re-reading what was raised elsewhere)."""
        local_rows = self._local_rows(account_id, exclude_call)
        reason: str | None = None
        if self.offline_hint is not None and self.offline_hint():
            reason = "the team store is offline"
        else:
            try:
                team_rows = self.team.state_rows(account_id)
            except TeamStoreError as e:
                if e.kind not in ("offline", "closed"):
                    raise
                reason = str(e)
            else:
                now = self.clock()
                self.cache.save(account_id, team_rows, now)
                team_rows = [r for r in team_rows if r.call_id != exclude_call]
                # This desktop's own rows win for its own entries (they carry what this person wrote).
                return ProtectionsRead(derive_team_state(account_id, [*team_rows, *local_rows], today), "team", now)
        cached, as_of = self.cache.load(account_id)
        cached = [r for r in cached if r.call_id != exclude_call]
        source = "cache" if as_of is not None else "local"
        return ProtectionsRead(derive_team_state(account_id, [*cached, *local_rows], today), source, as_of, reason)

    def follow(self, account_id: str, today: dt.date, notices: TeamNotices,
               callback: Callable[[ProtectionsRead, Notice], None]) -> Callable[[], None]:
        """While a call runs: on every notice about the account (or a resync), read the protections
        again and call `callback(read, notice)` on the listener thread. Returns unsubscribe."""

        def on_notice(notice: Notice) -> None:
            try:
                read = self.read(account_id, today)
            except StoreError:
                return
            callback(read, notice)

        return notices.subscribe(account_id, on_notice)


def own_rows(local: JournalStore, desktop: str | None, account_id: str, exclude_call: str | None) -> list[StateRow]:
    """This desktop's own rows of the account (they win over the team store's copies of them), its
    sealed values opened with its own keys and marked (`opened_own`); none without a desktop id."""
    from callguide.store.derive import STATE_TYPES

    if desktop is None:
        return []
    sealer = getattr(local, "sealer", None)
    return [StateRow(desktop, e.seq, e.ts, e.type, e.call_id, opened_own(sealer, account_id, e.seq, e.data))
            for e in local.account_entries(account_id) if e.type in STATE_TYPES and e.call_id != exclude_call]


def opened_own(sealer: object, account_id: str, seq: int, data: dict[str, Any]) -> dict[str, Any]:
    """This desktop's own entry with its sealed values opened for the agent, marked as the desktop
    journal marks them (`$sealed`: which keys were sealed; `$entry_seq`: the entry, since the merged
    rows renumber it), so a call's history snapshot refers to the entry, never copies the values
    (a withdrawal or an erasure later leaves nothing readable in the snapshot)."""
    from callguide.store.sealing import ENTRY_SEQ, SEALED, has_sealed, open_all

    sealed = [k for k, v in data.items() if has_sealed(v)]
    if not sealed:
        return data
    return {**open_all(sealer, account_id, data), SEALED: sealed, ENTRY_SEQ: seq}
