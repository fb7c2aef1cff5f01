"""pytest-qt fixtures for the live-call window: a real engine, the real flows, a real
SQLite journal in tmp_path. Modal dialogs are patched so they never block."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.qt.driver import CallDriver  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
SHOTS = Path(os.environ.get("CALLGUIDE_SHOTS") or ROOT / "tests" / "qt" / "screenshots")


@pytest.fixture(autouse=True)
def _english_ui():
    from callguide.qt import i18n

    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture(autouse=True)
def _contact_hours_any_time(monkeypatch):
    """The window runs on the wall clock: contact-time rules that allow every hour keep these tests
    the same at any time of day (the rules themselves are tested with a fixed clock in tests/engine)."""
    monkeypatch.setenv("CALLGUIDE_CONTACT_RULES", str(ROOT / "tests" / "contact_rules_any_time.yaml"))


@pytest.fixture(autouse=True)
def no_modal(monkeypatch):
    """Any message box would block an offscreen test: record it instead."""
    shown: list[str] = []
    monkeypatch.setattr("callguide.qt.app.show_message", lambda text, detail="": shown.append(text))
    return shown


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def library(db_path):
    from callguide.library.live import load_for_calls

    return load_for_calls(FLOWS, db_path)


@pytest.fixture
def store(db_path):
    from callguide.store.sqlite import SQLiteJournal

    s = SQLiteJournal.open(db_path)
    yield s
    s.close()


@pytest.fixture
def open_window(qtbot, library, store):
    """Start a call on `account` and show the real window; returns a CallDriver."""
    from callguide.engine.session import Account, CallSession
    from callguide.qt.call_window import CallWindow

    def _open(account_id="A-100", name="Jo Bloggs", country="UK", lang=None, balance="1234.50",
              large_text=False) -> CallDriver:
        session = CallSession.start(library, store, Account(account_id, name, country, lang, balance), "agent-7")
        w = CallWindow(session, large_text=large_text)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        return CallDriver(qtbot, w)

    return _open


@pytest.fixture
def shots_dir() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
