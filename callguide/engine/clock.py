"""The engine's injected clock. Tests and replays pass their own; nothing in the
core reads the wall clock directly. No threads, no Qt timers."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """An aware UTC datetime."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that only moves when told to (tests, replays, walk scripts)."""

    def __init__(self, start: dt.datetime | str = "2026-11-22T10:00:00+00:00", step_seconds: float = 0.0):
        if isinstance(start, str):
            start = dt.datetime.fromisoformat(start)
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        self._now = start
        self._step = dt.timedelta(seconds=step_seconds)

    def now(self) -> dt.datetime:
        current = self._now
        self._now = self._now + self._step
        return current

    def advance(self, **kwargs: float) -> None:
        self._now = self._now + dt.timedelta(**kwargs)

    def set(self, when: dt.datetime) -> None:
        self._now = when


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat(timespec="milliseconds")
