"""The console's reads on the team store (migration 0004): escalations, the actions taken on them,
who is who, and an account's entries as the reader may see them. Every query runs as the connected
person, so row-level security decides what comes back (supervisors: every escalation and action;
the care team: the accounts referred to it, with the details consented for it; an agent: the
acknowledgements of their own calls). Writing goes through the console's own journal and its sync.
Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from callguide.store import entry_types as et

from .journal import PostgresJournal, StateRow

#: The console's own entry types, in the order an item goes through them.
ACTION_TYPES: tuple[str, ...] = (et.ESCALATION_ACKNOWLEDGED, et.ESCALATION_ASSIGNED, et.ESCALATION_NOTE,
                                 et.ESCALATION_RESOLVED)
#: What an agent reads about their own calls' escalations (not the notes).
AGENT_VISIBLE: tuple[str, ...] = (et.ESCALATION_ACKNOWLEDGED, et.ESCALATION_ASSIGNED, et.ESCALATION_RESOLVED)


@dataclass(frozen=True)
class Row:
    """One entry as the console reads it."""

    desktop_id: str
    seq: int
    server_id: int
    at: dt.datetime
    ts: str
    type: str
    call_id: str
    account_id: str
    agent: str
    agent_name: str
    flow_id: str | None
    step_id: str | None
    data: dict[str, Any]
    hash: str

    @property
    def ref(self) -> str:
        return f"{self.desktop_id}/{self.seq}"


_COLS = ("e.desktop_id, e.seq, e.id, e.at, e.ts, e.type, e.call_id, e.account_id, e.agent,"
         " coalesce(nullif(p.name, ''), e.agent), e.flow_id, e.step_id, coalesce(d.data, e.data)::text, e.hash")
_FROM = ("entries e LEFT JOIN entry_details d ON d.desktop_id = e.desktop_id AND d.seq = e.seq"
         " LEFT JOIN people p ON p.person_id = e.agent")


def _row(r: Any) -> Row:
    return Row(r[0], int(r[1]), int(r[2]), r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], json.loads(r[12]),
               r[13])


def whoami(team: PostgresJournal) -> tuple[str, str, tuple[str, ...], str | None] | None:
    """(person id, name, roles, team) of the connected person, or None if they are not a person here."""
    with team._conn() as conn:
        r = conn.execute("SELECT person_id, name, roles, team FROM people WHERE login_role = caller()").fetchone()
    return None if r is None else (r[0], r[1] or r[0], tuple(r[2]), r[3])


def people(team: PostgresJournal) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    with team._conn() as conn:
        rows = conn.execute("SELECT person_id, name, roles, team FROM people ORDER BY person_id").fetchall()
    return [(r[0], r[1] or r[0], tuple(r[2]), r[3]) for r in rows]


def escalations(team: PostgresJournal, since: dt.datetime, open_since: dt.datetime | None = None) -> list[Row]:
    """The escalations the person may see that were raised since `since`, and those raised since
    `open_since` (earlier) that are not resolved. Both bounds use the partial index on `at`, so a
    read costs what the recent weeks hold, not the store's whole history."""
    open_since = min(open_since or since, since)
    with team._conn() as conn:
        rows = conn.execute(
            f"SELECT {_COLS} FROM {_FROM} WHERE e.type = {et.sql(et.ESCALATION)} AND e.at >= %s AND (e.at >= %s"
            f" OR NOT EXISTS (SELECT 1 FROM entries r WHERE r.type = {et.sql(et.ESCALATION_RESOLVED)}"
            "   AND r.data->>'ref' = e.desktop_id || '/' || e.seq))"
            " ORDER BY e.at, e.desktop_id, e.seq", (open_since, since)).fetchall()
    return [_row(r) for r in rows]


def actions(team: PostgresJournal, refs: list[str]) -> list[Row]:
    """The console actions on these escalations (`data.ref`), as the person may see them, in order."""
    if not refs:
        return []
    types = ", ".join(et.sql(t) for t in ACTION_TYPES)
    with team._conn() as conn:
        rows = conn.execute(f"SELECT {_COLS} FROM {_FROM} WHERE e.type IN ({types}) AND e.data->>'ref' = ANY(%s)"
                            " ORDER BY e.at, e.desktop_id, e.seq", (refs,)).fetchall()
    return [_row(r) for r in rows]


def call_actions(team: PostgresJournal, call_id: str) -> list[Row]:
    """What the console did about a call's escalations, as the person may see it (an agent: their
    own calls' acknowledgements, assignments and resolutions)."""
    types = ", ".join(et.sql(t) for t in ACTION_TYPES)
    with team._conn() as conn:
        rows = conn.execute(f"SELECT {_COLS} FROM {_FROM} WHERE e.call_id = %s AND e.type IN ({types})"
                            " ORDER BY e.at, e.desktop_id, e.seq", (call_id,)).fetchall()
    return [_row(r) for r in rows]


def account_rows(team: PostgresJournal, account_id: str) -> list[Row]:
    """Every entry of the account the person may see (details only where consented for them).
    Opening the account is recorded first (`account_reads`), in the same transaction."""
    with team._conn() as conn:
        conn.execute("SELECT open_account(%s)", (account_id,))
        rows = conn.execute(f"SELECT {_COLS} FROM {_FROM} WHERE e.account_id = %s ORDER BY e.at, e.desktop_id, e.seq",
                            (account_id,)).fetchall()
    return [_row(r) for r in rows]


def withdrawals(team: PostgresJournal, accounts: list[str]) -> list[tuple[str, str, dt.datetime, str]]:
    """(account, purpose, when it reached the team store, its ts) of every consent withdrawal the
    person may see on `accounts` (row-level security: a protection row of an account they opened)."""
    with team._conn() as conn:
        rows = conn.execute("SELECT account_id, data->>'purpose', at, ts FROM entries WHERE type = %s"
                            " AND account_id = ANY(%s)", (et.CONSENT_WITHDRAWN, accounts)).fetchall()
    return [(str(a), str(p), at, str(ts)) for a, p, at, ts in rows]


def state_rows(rows: list[Row]) -> list[StateRow]:
    from callguide.store.derive import STATE_TYPES

    wanted = set(STATE_TYPES)
    return [StateRow(r.desktop_id, r.seq, r.ts, r.type, r.call_id, r.data) for r in rows if r.type in wanted]
