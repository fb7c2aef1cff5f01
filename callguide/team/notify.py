"""LISTEN/NOTIFY: hear, within a second or two, that the team store received a protection (or an
escalation) on an account.

The server's `ingest()` sends `pg_notify(<schema>_protections, {"account", "desktop", "seq"})`
for every account a batch adds protection entries to, and `<schema>_escalations` for every
escalation entry, at commit. Payloads carry ids only (NOTIFY is not subject to row-level
security); a subscriber reads what it may see through its own connection (for example
`TeamProtections.read`).

`TeamNotices` keeps one autocommit connection LISTENing in a plain thread, reconnects with backoff
after any failure, and after a reconnect calls every subscriber once with `resync=True` (a
notification may have been missed while disconnected). Callbacks run on the listener thread: the
Qt layer marshals them to its own thread. Never imports Qt.

Note for pgbouncer: LISTEN needs a session; point this connection at PostgreSQL directly or at a
session-pooled pgbouncer database (docs/team.md).
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callguide.store.postgres.connect import TeamStoreError, TeamTarget, connect, quote_ident

CHANNELS = ("protections", "escalations")


@dataclass(frozen=True)
class Notice:
    channel: str                  # "protections" | "escalations"
    account: str | None
    desktop: str | None = None
    seq: int | None = None
    received: float = 0.0         # time.monotonic() when the listener got it
    resync: bool = False          # after a reconnect: something may have been missed, read again


Callback = Callable[[Notice], None]


class TeamNotices:
    """Subscriptions to the team store's notifications, over one LISTEN connection."""

    def __init__(self, target: TeamTarget, *, channels: tuple[str, ...] = CHANNELS,
                 backoff: tuple[float, float] = (0.2, 10.0)) -> None:
        unknown = set(channels) - set(CHANNELS)
        if unknown:
            raise TeamStoreError(f"unknown notification channel(s): {', '.join(sorted(unknown))}", "config")
        self.target = target
        self.channels = channels
        self.backoff = backoff
        self._subs: dict[str | None, list[tuple[str, Callback]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self.connected = threading.Event()
        self.error: str | None = None

    def subscribe(self, account: str | None, callback: Callback, *, channel: str = "protections") -> Callable[[], None]:
        """Call `callback(notice)` for notices about `account` (None: every account) on `channel`.
        Returns a function that unsubscribes."""
        item = (channel, callback)
        with self._lock:
            self._subs.setdefault(account, []).append(item)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subs.get(account, []).remove(item)

        return unsubscribe

    def start(self) -> TeamNotices:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="callguide-notices", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    # ---------------------------------------------------------------- the loop

    def _close(self) -> None:
        self.connected.clear()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _run(self) -> None:
        import psycopg

        failures = 0
        first = True
        names = {self.target.channel(c): c for c in self.channels}
        while not self._stop.is_set():
            try:
                self._conn = connect(self.target, autocommit=True, app="callguide-notices",
                                     keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
                for name in names:
                    self._conn.execute(f"LISTEN {quote_ident(name)}")
                self.connected.set()
                self.error = None
                failures = 0
                if not first:
                    self._resync()
                first = False
                while not self._stop.is_set():
                    for n in self._conn.notifies(timeout=0.5):
                        self._dispatch(names.get(n.channel, n.channel), n.payload)
            except (TeamStoreError, psycopg.Error) as e:
                self.error = str(e).splitlines()[0] if str(e) else type(e).__name__
                self._close()
                failures += 1
                low, high = self.backoff
                self._stop.wait(min(high, low * 2 ** min(failures - 1, 16)) * random.uniform(0.7, 1.0))  # noqa: S311
        self._close()

    def _targets(self, channel: str, account: str | None) -> list[Callback]:
        with self._lock:
            subs = list(self._subs.get(account, [])) + (list(self._subs.get(None, [])) if account is not None else [])
        return [cb for ch, cb in subs if ch == channel]

    def _call(self, callbacks: list[Callback], notice: Notice) -> None:
        for cb in callbacks:
            with contextlib.suppress(Exception):  # a subscriber's bug must not stop the listener
                cb(notice)

    def _dispatch(self, channel: str, payload: str) -> None:
        received = time.monotonic()
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        account = data.get("account")
        notice = Notice(channel, str(account) if account is not None else None, data.get("desktop"),
                        data.get("seq"), received)
        self._call(self._targets(channel, notice.account), notice)

    def _resync(self) -> None:
        with self._lock:
            subs = {acc: list(items) for acc, items in self._subs.items()}
        now = time.monotonic()
        for account, items in subs.items():
            for channel, cb in items:
                self._call([cb], Notice(channel, account, received=now, resync=True))
