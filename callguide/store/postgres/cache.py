"""The desktop's local copy of the protection rows it last read from the team store, per
account, with the time of that read: what a call starts from while the team store is out of
reach ("offline: protections as of 14:02"). A cache (rows are replaced on each read), never the
journal; it holds only what this person was allowed to read (redacted details). Never imports Qt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path

from callguide.store.base import StoreError, canonical_json

from .journal import StateRow


class ProtectionCache:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=5.0, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = WAL")
            with self._conn:
                self._conn.execute("""CREATE TABLE IF NOT EXISTS account_rows (
                    account_id TEXT NOT NULL, desktop_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL,
                    type TEXT NOT NULL, call_id TEXT NOT NULL, data TEXT NOT NULL,
                    PRIMARY KEY (account_id, desktop_id, seq))""")
                self._conn.execute("""CREATE TABLE IF NOT EXISTS account_reads (
                    account_id TEXT PRIMARY KEY, as_of TEXT NOT NULL)""")
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"The protection cache {self.path} cannot be opened ({e}).", "other") from None

    def save(self, account_id: str, rows: list[StateRow], as_of: dt.datetime) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error), self._conn:
            self._conn.execute("DELETE FROM account_rows WHERE account_id = ?", (account_id,))
            self._conn.executemany(
                "INSERT OR REPLACE INTO account_rows VALUES (?,?,?,?,?,?,?)",
                [(account_id, r.desktop_id, r.seq, r.ts, r.type, r.call_id, canonical_json(r.data)) for r in rows])
            self._conn.execute("INSERT OR REPLACE INTO account_reads VALUES (?, ?)", (account_id, as_of.isoformat()))

    def load(self, account_id: str) -> tuple[list[StateRow], dt.datetime | None]:
        """The cached rows and when they were read; ([], None) when this account was never read."""
        try:
            with self._lock:
                row = self._conn.execute("SELECT as_of FROM account_reads WHERE account_id = ?",
                                         (account_id,)).fetchone()
                rows = self._conn.execute(
                    "SELECT desktop_id, seq, ts, type, call_id, data FROM account_rows WHERE account_id = ?",
                    (account_id,)).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"The protection cache {self.path} cannot be read ({e}).", "other") from None
        if row is None:
            return [], None
        return ([StateRow(d, s, ts, t, c, json.loads(data)) for d, s, ts, t, c, data in rows],
                dt.datetime.fromisoformat(row[0]))

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()
