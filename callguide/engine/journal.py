"""`JournalWriter`: how a call's entries reach the journal.

One operation (a command, the call's start, a resume) is one scope: every entry emitted inside it
is stamped with the operation's time (read once from the clock, so the gate and the journal agree
on "now", and a replay sees the same time) and written in one durable transaction when the scope
closes. If the journal refuses (locked, disk full), the entries stay pending, in order, and go
with the next operation or `retry()`; the error goes to the caller. Listeners hear what changed.

A plain Next is one entry (docs/journal.md, "What a step writes"): the `step_committed` that
carries the agent's command is held back for a moment, and when the very next entry of the same
operation is the `step_shown` of a step of the same flow (version), the two are one `step_shown`
carrying the command (`input`) and the step it committed (`committed`); anything else in between
(actions, a block, a protocol ending) writes the `step_committed` as it was, before it. A resume
replays the command of either form at the same point (`engine.replay`).

Never imports Qt; never decides anything about the call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from callguide.engine.clock import Clock, iso
from callguide.store import entry_types as et
from callguide.store.base import Entry, JournalStore, NewEntry

_STEP_COMMITTED = et.STEP_COMMITTED
_STEP_SHOWN = et.STEP_SHOWN

Listener = Callable[[str, dict[str, Any]], None]


def entry_dict(e: Entry | NewEntry) -> dict[str, Any]:
    """The plain form of an entry kept in `records` (and shown in traces)."""
    return {"seq": getattr(e, "seq", None), "type": e.type, "flow": e.flow_id, "step": e.step_id,
            "data": e.data, "ts": e.ts}


class JournalWriter:
    """Operation scopes, pending entries and listeners of one call."""

    #: Fold a plain Next into the `step_shown` after it (False: the two entries journals held before
    #: stop 19, which tests write to check that such journals still replay and resume the same).
    fold_next = True

    def __init__(self, store: JournalStore, call_id: str, account_id: str, agent: str, clock: Clock) -> None:
        self.store = store
        self.call_id = call_id
        self.account_id = account_id
        self.agent = agent
        self.clock = clock
        self.recording = True          # False while a resume replays the journal
        self.records: list[dict[str, Any]] = []
        self._pending: list[NewEntry] = []
        self._held: NewEntry | None = None  # a Next's `step_committed`, folded into the `step_shown` after it
        self._listeners: list[Listener] = []
        self._depth = 0
        self.aborted = False           # an operation raised part-way: the call's memory is ahead of its journal
        self._now: dt.datetime | None = None
        self._now_iso = ""

    # ------------------------------------------------------------------ time

    def now(self) -> dt.datetime:
        """The current operation's time (read once per operation); the clock outside one."""
        return self._now if self._now is not None else self.clock.now()

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def keep_listeners(self, before: JournalWriter) -> None:
        """Take over the listeners of the writer this one replaces (a call rebuilt in place), the same
        list, so an unsubscribe handed out before still works."""
        self._listeners = before._listeners

    def notify(self, event: str, payload: dict[str, Any]) -> None:
        if not self.recording:
            return
        for fn in list(self._listeners):
            fn(event, payload)

    # ------------------------------------------------------------------ scopes

    def operation(self, name: str = "op") -> _Operation:
        return _Operation(self, name)

    def emit(self, type_: str, data: dict[str, Any], flow_id: str | None = None, flow_hash: str | None = None,
             step_id: str | None = None, input: dict[str, Any] | None = None) -> None:
        if not self.recording:
            return
        held = self._held
        if held is not None:
            self._held = None
            if type_ == _STEP_SHOWN and flow_hash == held.flow_hash and flow_id == held.flow_id \
                    and "resumed" not in data and "committed" not in data:
                data = {**data, "committed": held.step_id, "input": held.data["input"]}
            else:
                self._pending.append(held)
        if input is not None:
            data = {**data, "input": input}
        entry = NewEntry(type=type_, call_id=self.call_id, account_id=self.account_id, agent=self.agent,
                         flow_id=flow_id, flow_hash=flow_hash, step_id=step_id, data=data,
                         ts=self._now_iso if self._depth else iso(self.clock.now()))
        if type_ == _STEP_COMMITTED and input is not None and self._depth and flow_hash is not None \
                and data.keys() == {"choice", "input"} and self.fold_next:
            self._held = entry  # a plain Next: the `step_shown` that follows may carry it
        else:
            self._pending.append(entry)

    def _release(self) -> None:
        """The held `step_committed` goes in as it is (nothing folded it in)."""
        if self._held is not None:
            self._pending.append(self._held)
            self._held = None

    def flush(self) -> None:
        self._release()
        if not self._pending:
            return
        pending = list(self._pending)
        append_many = getattr(self.store, "append_many", None)
        if append_many is not None:
            written: list[Entry] = list(append_many(pending))
            self._pending = []
        else:
            written = []
            for e in pending:
                written.append(self.store.append(e))
                self._pending.pop(0)
        self.records.extend([entry_dict(e) for e in written])
        self.notify("entries_written", {"entries": written})

    @property
    def unsaved(self) -> int:
        return len(self._pending) + (self._held is not None)


class _Operation:
    """One operation scope (nested scopes join the outer one)."""

    __slots__ = ("w", "name", "outer", "mark")

    def __init__(self, writer: JournalWriter, name: str) -> None:
        self.w = writer
        self.name = name
        self.outer = False
        self.mark = 0

    def __enter__(self) -> None:
        w = self.w
        self.outer = w._depth == 0
        if self.outer:
            w._now = w.clock.now()
            w._now_iso = iso(w._now)
            self.mark = len(w._pending)  # what an earlier failed write left pending: whole operations
            w.aborted = False  # (says only what became of the latest operation)
        w._depth += 1

    def __exit__(self, exc_type: object, *exc: object) -> None:
        w = self.w
        w._depth -= 1
        if self.outer:
            w._now = None
            if exc_type is not None:  # unexpected: the command did not finish, so none of its entries is
                del w._pending[self.mark:]  # written (a resume replays whole commands only)
                w._held = None  # (a Next held for the step_shown that never came: part of it too)
                w.aborted = True  # (the session rebuilds itself from the journal: `CallSession.apply`)
                w.notify("changed", {"op": self.name})
                return
            try:
                w.flush()
            finally:
                w.notify("changed", {"op": self.name})
