from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from callguide.store import NewEntry, SQLiteJournal


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "journal" / "journal.db"


@pytest.fixture
def journal(db_path: Path) -> Iterator[SQLiteJournal]:
    j = SQLiteJournal.open(db_path)
    yield j
    j.close()


@pytest.fixture
def make_entry() -> Callable[..., NewEntry]:
    clock = itertools.count(1)

    def make(type_: str, data: dict[str, Any] | None = None, *, call_id: str = "C1", account_id: str = "A1",
             agent: str = "agent1", step_id: str | None = "s1", ts: str | None = None) -> NewEntry:
        n = next(clock)
        return NewEntry(type=type_, call_id=call_id, account_id=account_id, agent=agent, flow_id="texas",
                        flow_hash="f" * 64, step_id=step_id, data=data or {},
                        ts=ts or f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}Z")

    return make


@pytest.fixture(autouse=True)
def own_keys_and_anchors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own signing key and anchor folder (never the user's)."""
    monkeypatch.setenv("CALLGUIDE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("CALLGUIDE_ANCHORS_DIR", str(tmp_path / "anchors"))
