"""Key escrow in the team store (migration 0006, docs/team.md "Key escrow").

A desktop seals special-category values under its own data keys (`store.sealing`); the team store
holds a copy of the keys whose consent purpose admits some reader (`consent_scopes`), so that the
care team can read what the customer consented to share with it. Two sides:

- `deposits(...)` and `deposit_keys(...)`: what a desktop's sync sends after the entries that use
  the keys, in the same transaction (kids found in the batch's sealed values; the local tombstones
  of accounts the batch withdraws, erases or purges). Never the account's `personal` key.
- `catch_up_deposits(...)`: the keys of entries the team store already holds that were never
  deposited (pushed before 0006, or before their purpose was admitted in `consent_scopes`); the
  sync's escrow catch-up sends them with their first use's journal time.
- `TeamKeys`: a read-only key source with the interface `Sealer` opens with (`get`, `aead`,
  `checked`), reading `data_keys` through the reader's own connection, so row-level security
  decides which keys come back. A destroyed key gives its tombstone (`Gone`: "withdrawn on DATE");
  a live key whose bytes the reader may not select (auditors) gives "withheld"; a key this reader
  may not see at all gives "missing".

Never imports Qt; owns the escrow's SQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callguide.store import entry_types as et
from callguide.store.base import Entry
from callguide.store.sealing import PERSONAL, SEALED, DataKeys, _aesgcm

from .connect import quote_ident

#: Entry types whose arrival destroys escrowed keys (the server does it, 0006 `shred_for_entry`).
DESTROYING_TYPES: tuple[str, ...] = (et.CONSENT_WITHDRAWN, et.ERASURE, et.RETENTION_PURGE)


@dataclass(frozen=True)
class Deposit:
    """One key as a desktop deposits it: live (`key`) or a tombstone (`destroyed`, `how`, `reason`)."""

    kid: str
    account_id: str
    purpose: str
    key: bytes | None
    created: str                 # the journal ts of the first entry sealed under it
    destroyed: str | None = None
    how: str | None = None
    reason: str | None = None


def sealed_kids(value: Any) -> Iterator[tuple[str, str]]:
    """(key id, purpose) of every sealed value inside `value` (an entry's data)."""
    if isinstance(value, dict):
        env = value.get(SEALED) if len(value) == 1 else None
        if isinstance(env, dict):
            kids, purposes = env.get("k") or [], env.get("p") or []
            if isinstance(kids, list) and isinstance(purposes, list) and len(kids) == len(purposes):
                for k, p in zip(kids, purposes, strict=True):
                    yield str(k), str(p)
            return
        for v in value.values():
            yield from sealed_kids(v)
    elif isinstance(value, list):
        for v in value:
            yield from sealed_kids(v)


def admitted_purposes(conn: Any, schema: str) -> frozenset[str] | None:
    """The purposes `consent_scopes` admits to some reader, or None when the team store has no key
    escrow yet (an older schema: nothing is deposited, the sync goes on)."""
    s = quote_ident(schema)
    row = conn.execute("SELECT to_regprocedure(%s)",
                       (f"{s}.deposit_keys(text, text[], text[], text[], bytea[], text[], text[], text[], text[])",)
                       ).fetchone()
    if row is None or row[0] is None:
        return None
    return frozenset(r[0] for r in conn.execute(f"SELECT DISTINCT purpose FROM {s}.consent_scopes").fetchall())


def deposits(keys: DataKeys, batch: Sequence[Entry], admitted: Iterable[str]) -> list[Deposit]:
    """What to deposit with `batch`: each key its sealed values use whose purpose is admitted (live,
    or its tombstone when the desktop destroyed it already), and the tombstones of the admitted keys
    of every account the batch withdraws, erases or purges. Never the personal key."""
    allowed = set(admitted) - {PERSONAL}
    if not allowed:
        return []
    first: dict[str, tuple[str, str, str]] = {}
    for e in batch:
        for kid, purpose in sealed_kids(e.data):
            if purpose in allowed and kid not in first:
                first[kid] = (e.account_id, purpose, e.ts)
    out = _as_deposits(keys, first)
    for account in dict.fromkeys(e.account_id for e in batch if e.type in DESTROYING_TYPES):
        for r in keys.rows(account):
            if r["destroyed"] and r["purpose"] in allowed and r["kid"] not in first:
                out.append(Deposit(r["kid"], account, r["purpose"], None, str(r["created"]), r["destroyed"],
                                   r["how"], r["reason"]))
    return out


def _as_deposits(keys: DataKeys, first: dict[str, tuple[str, str, str]]) -> list[Deposit]:
    """Each kid (account, purpose, journal ts of its first use) as this journal's key file holds it:
    live, or its tombstone (a destroyed key is never sent live again). Kids the file does not hold,
    or holds for another account or purpose than the value says, are left out."""
    out: list[Deposit] = []
    with keys.checked():
        for kid, (account, purpose, ts) in first.items():
            key, info = keys.get(kid)
            if info.get("how") == "missing" or info.get("account_id") != account or info.get("purpose") != purpose:
                continue  # not this journal's key (or not what the value says): nothing to deposit
            out.append(Deposit(kid, account, purpose, key, ts, info.get("destroyed"), info.get("how"),
                               info.get("reason")))
    return out


def catch_up_deposits(keys: DataKeys, entries: Iterable[Entry], covered: Mapping[str, int],
                      seen: set[str]) -> list[Deposit]:
    """The escrow catch-up (`TeamSync`): the keys first used in `entries` (already in the team store,
    read in seq order) whose purpose is in `covered` and whose use lies after the seq `covered` gives
    for that purpose (every earlier use of it was deposited already). `seen` holds the kids met in
    earlier chunks of the same catch-up (they are skipped, and this chunk's are added), so each key
    goes once, with the journal time of its first use as `created`, like `deposits()`. Live, or the
    tombstone when the desktop destroyed it. Never the personal key."""
    first: dict[str, tuple[str, str, str]] = {}
    for e in entries:
        for kid, purpose in sealed_kids(e.data):
            after = covered.get(purpose)
            if after is None or purpose == PERSONAL or e.seq <= after or kid in seen:
                continue
            seen.add(kid)
            first[kid] = (e.account_id, purpose, e.ts)
    return _as_deposits(keys, first) if first else []


def deposit_keys(conn: Any, desktop_id: str, rows: Sequence[Deposit], schema: str) -> int:
    """Send `rows` in the caller's transaction (after the entries that use them). Idempotent.
    Returns how many rows the team store stored or destroyed."""
    if not rows:
        return 0
    cols: list[list[Any]] = [[] for _ in range(8)]
    for r in rows:
        for i, v in enumerate((r.kid, r.account_id, r.purpose, r.key, r.created, r.destroyed, r.how, r.reason)):
            cols[i].append(v)
    row = conn.execute(f"SELECT {quote_ident(schema)}.deposit_keys(%s, %s::text[], %s::text[], %s::text[],"
                       " %s::bytea[], %s::text[], %s::text[], %s::text[], %s::text[])", (desktop_id, *cols)).fetchone()
    return int(row[0])


class TeamKeys:
    """The team store's escrowed keys as one reader may read them: a read-only key source for
    `Sealer` (`get(kid)` like `DataKeys.get`). `load(kids)` fetches what a read needs in one query
    and forgets what it held before (a key destroyed since is never served from memory); `local`
    (the reader's own journal keys) answers first for the reader's own values."""

    readonly = True

    def __init__(self, team: Any, local: DataKeys | None = None) -> None:
        self.team = team          # a PostgresJournal (its pool connects as the reader)
        self.local = local
        self._rows: dict[str, tuple[bytes | None, dict[str, Any]]] = {}
        self._aead: dict[bytes, Any] = {}
        self._columns: str | None = None   # what this reader may select (None: not asked yet)

    def _select(self, conn: Any) -> str:
        if self._columns is None:
            can_table, can_key = conn.execute(
                "SELECT has_table_privilege('data_keys', 'SELECT') OR has_column_privilege('data_keys', 'kid', 'SELECT'),"
                " has_column_privilege('data_keys', 'key', 'SELECT')").fetchone() \
                if conn.execute("SELECT to_regclass('data_keys') IS NOT NULL").fetchone()[0] else (False, False)
            self._columns = "" if not can_table else ("key" if can_key else "NULL::bytea")
        return self._columns

    def load(self, kids: Iterable[str]) -> None:
        """Fetch these keys (as the reader may see them), replacing whatever was held."""
        wanted = sorted({k for k in kids if not (self.local is not None and self._local(k) is not None)})
        self._rows = {}
        self._aead = {}
        if not wanted or self._columns == "":  # nothing to fetch, or this reader may read no key
            return
        with self.team._conn() as conn:
            key_col = self._select(conn)
            if not key_col:
                return
            rows = conn.execute(f"SELECT kid, {key_col}, account_id, purpose, created, destroyed, how, reason"
                                " FROM data_keys WHERE kid = ANY(%s)", (wanted,)).fetchall()
        for kid, key, account, purpose, created, destroyed, how, reason in rows:
            self._rows[kid] = (bytes(key) if key is not None else None,
                               {"account_id": account, "purpose": purpose,
                                "created": created.isoformat() if created else None,
                                "destroyed": destroyed.isoformat() if destroyed else None,
                                # a live key whose bytes this reader may not select (an auditor): withheld
                                "how": how or (("withheld" if key_col != "key" else "missing") if key is None
                                               else None), "reason": reason})

    def _local(self, kid: str) -> tuple[bytes | None, dict[str, Any]] | None:
        if self.local is None:
            return None
        hit = self.local.get(kid)
        return None if hit[1].get("how") == "missing" else hit

    def get(self, kid: str) -> tuple[bytes | None, dict[str, Any]]:
        hit = self._local(kid)
        if hit is not None:
            return hit
        return self._rows.get(kid) or (None, {"how": "missing"})

    def aead(self, key: bytes) -> Any:
        cipher = self._aead.get(key)
        if cipher is None:
            cipher = self._aead[key] = _aesgcm(key)
        return cipher

    @contextlib.contextmanager
    def checked(self) -> Iterator[None]:
        yield

    def forget(self) -> None:
        self._rows = {}
        self._aead = {}

    def close(self) -> None:
        self.forget()


__all__ = ["DESTROYING_TYPES", "Deposit", "TeamKeys", "admitted_purposes", "catch_up_deposits", "deposit_keys", "deposits",
           "sealed_kids"]
