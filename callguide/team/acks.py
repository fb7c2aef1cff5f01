"""The agent's side of the console: who acknowledged, took or resolved the escalations of a call.

`acknowledgements(team, call_id)` reads them (an agent may read these of their own calls only:
policy `agent_reads_acknowledgements`, migration 0004). `AckWatcher` follows a running call: on
every notice about its account on the escalations channel (the team store sends one when a
console action arrives) it reads again and calls `on_ack(ack)` once per new action, on the
listener thread (the Qt layer marshals). The window shows "Supervisor acknowledged: NAME".
Never imports Qt.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from callguide.store import entry_types as et
from callguide.store.base import StoreError
from callguide.store.postgres import console as q
from callguide.store.postgres.journal import PostgresJournal

from .notify import Notice, TeamNotices

#: What an agent is told, by action: the i18n key's last part (ack.acknowledged, ...).
ACTIONS = {et.ESCALATION_ACKNOWLEDGED: "acknowledged", et.ESCALATION_ASSIGNED: "assigned",
           et.ESCALATION_RESOLVED: "resolved"}


@dataclass(frozen=True)
class Acknowledgement:
    key: str            # "desktop/seq" of the console's entry
    action: str         # acknowledged | assigned | resolved
    kind: str           # the escalation's kind (emergency, supervisor, care_team)
    ref: str            # the escalation it is about
    by: str
    name: str           # who acted (shown to the agent)
    role: str           # supervisor | care_team ("" when not said)
    to_name: str | None
    ts: str


def _ack(r: q.Row) -> Acknowledgement | None:
    action = ACTIONS.get(r.type)
    if action is None:
        return None
    d = r.data
    return Acknowledgement(r.ref, action, str(d.get("kind") or ""), str(d.get("ref") or ""), str(d.get("by") or r.agent),
                           str(d.get("name") or r.agent_name), str(d.get("role") or ""), d.get("to_name"), r.ts)


def acknowledgements(team: PostgresJournal, call_id: str) -> list[Acknowledgement]:
    """Every acknowledgement, assignment and resolution of the call's escalations, in order."""
    return [a for a in (_ack(r) for r in q.call_actions(team, call_id)) if a is not None]


class AckWatcher:
    """Follow one call's acknowledgements while it runs (see the module doc)."""

    def __init__(self, team: PostgresJournal, notices: TeamNotices, call_id: str, account_id: str,
                 on_ack: Callable[[Acknowledgement], None]) -> None:
        self.team = team
        self.notices = notices
        self.call_id = call_id
        self.account_id = account_id
        self.on_ack = on_ack
        self.seen: list[Acknowledgement] = []
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self._unsub: Callable[[], None] | None = None

    def start(self) -> AckWatcher:
        self._unsub = self.notices.subscribe(self.account_id, self._on_notice, channel="escalations")
        self.check()  # anything that arrived before we listened
        return self

    def _on_notice(self, notice: Notice) -> None:
        self.check()

    def check(self) -> list[Acknowledgement]:
        """Read again; call `on_ack` for each new one; returns the new ones."""
        try:
            acks = acknowledgements(self.team, self.call_id)
        except StoreError:
            return []
        with self._lock:
            new = [a for a in acks if a.key not in self._keys]
            self._keys.update(a.key for a in new)
            self.seen.extend(new)
        for a in new:
            with contextlib.suppress(Exception):  # the window's bug must not stop the watcher
                self.on_ack(a)
        return new

    def stop(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
