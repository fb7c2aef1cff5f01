"""Calls that were killed and never resumed: listed, and closed as "abandoned" after a while.

A call with `call_started` and no `call_ended` is unfinished (the app or the machine died). It can
be resumed exactly (`CallSession.resume`, `callguide walk --resume`). One that has had no activity
for longer than the configured age (`CALLGUIDE_ABANDON_AFTER_HOURS`, default 72) is closed with a
journalled `call_ended` (outcome `abandoned`, with the reason), so the resume list does not grow
for ever. The call's protections stay in the journal as they were. Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
import os

from callguide.engine.clock import iso
from callguide.store import entry_types as et
from callguide.store.base import CallSummary, JournalStore, NewEntry

DEFAULT_ABANDON_AFTER_HOURS = 72.0
#: The longest wait that can be given (about a century); more, a negative or a non-number is refused.
MAX_ABANDON_AFTER_HOURS = 1_000_000.0


def hours_delta(hours: float) -> dt.timedelta:
    """`hours` as a wait: ValueError (one line) unless it is a number from 0 to MAX_ABANDON_AFTER_HOURS."""
    if not 0.0 <= hours <= MAX_ABANDON_AFTER_HOURS:  # also NaN and infinity
        raise ValueError(f"a number of hours from 0 to {MAX_ABANDON_AFTER_HOURS:g}")
    return dt.timedelta(hours=hours)


def abandon_after() -> dt.timedelta:
    """How long an unfinished call waits for a resume before it is closed as abandoned (an unreadable
    CALLGUIDE_ABANDON_AFTER_HOURS: the default)."""
    raw = os.environ.get("CALLGUIDE_ABANDON_AFTER_HOURS")
    try:
        return hours_delta(max(float(raw), 0.0)) if raw else hours_delta(DEFAULT_ABANDON_AFTER_HOURS)
    except ValueError:
        return hours_delta(DEFAULT_ABANDON_AFTER_HOURS)


def _ts(value: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def close_abandoned(store: JournalStore, *, older_than: dt.timedelta | None = None, now: dt.datetime | None = None,
                    by: str = "system") -> list[CallSummary]:
    """Close every unfinished call idle for at least `older_than`; returns the calls closed."""
    age = abandon_after() if older_than is None else older_than
    when = now or dt.datetime.now(dt.UTC)
    closed = []
    for c in store.unfinished_calls():
        idle = when - _ts(c.last_ts)
        if idle < age:
            continue
        hours = age.total_seconds() / 3600
        reason = (f"No activity since {c.last_ts}; not resumed within {hours:g} hours, so closed as abandoned. "
                  "Everything recorded on the call stays in the journal.")
        store.append(NewEntry(type=et.CALL_ENDED, call_id=c.call_id, account_id=c.account_id, agent=by,
                              flow_id=None, flow_hash=None, step_id=None,
                              data={"outcome": "abandoned", "abandoned": True, "reason": reason,
                                    "last_activity": c.last_ts, "summary": {}, "open_protocols": []},
                              ts=iso(when)))
        closed.append(c)
    return closed
