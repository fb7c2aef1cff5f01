from __future__ import annotations

from pathlib import Path

import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sqlite import SQLiteJournal

FLOWS = Path(__file__).parent / "flows"
SIGNPOSTS = {"countries": {
    "UK": {"name": "United Kingdom", "emergency": {"name": "Emergency services", "phone": "999"},
           "crisis": [{"name": "Samaritans", "phone": "116 123"}],
           "debt_advice": [{"name": "National Debtline"}]},
    "DK": {"name": "Danmark", "emergency": {"name": "Alarmcentralen", "phone": "112"},
           "crisis": [{"name": "Livslinien", "phone": "70 201 201"}],
           "debt_advice": [{"name": "Forbrugerrådet Tænk"}]},
    "CZ": {"name": "Česko", "emergency": {"name": "Tísňová linka", "phone": "112"},
           "crisis": [{"name": "Linka první psychické pomoci", "phone": "116 123"}],
           "debt_advice": [{"name": "Člověk v tísni"}]},
}}


@pytest.fixture
def lib():
    library, diags = load_library([FLOWS], signposts=False)
    assert not [d for d in diags if d.severity == "error"], diags
    library.signposts = SIGNPOSTS
    return library


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def store(db_path):
    s = SQLiteJournal.open(db_path)
    yield s
    s.close()


@pytest.fixture
def clock():
    return FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1)


@pytest.fixture
def start(lib, store, clock):
    def _start(flow="main", country="UK", account_id="A1", **kw):
        return CallSession.start(lib, store, Account(account_id, "Jo Bloggs", country), "agent-7",
                                 start_flow=flow, clock=clock, auto_wrap_up=False, **kw)
    return _start


def types(session):
    return [r["type"] for r in session.records]


def of_type(session, t):
    """The call's records of type `t`, their sealed values opened (the journal holds them sealed)."""
    return [{**r, "data": {k: session.open_value(v) for k, v in r["data"].items()}}
            for r in session.records if r["type"] == t]
