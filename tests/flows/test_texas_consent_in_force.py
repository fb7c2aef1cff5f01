"""TEXAS on a later call sees a health-disclosure consent still in force: it is not asked again;
the step says when it was given and reminds the customer they can withdraw it (every language).
Real flows, real engine, a real SQLite journal shared by the calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.commands import Answer, Consent, EndCall, Next
from callguide.engine.localtime import ContactRules
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parents[2]
ANY_TIME = ContactRules.load(ROOT / "tests" / "contact_rules_any_time.yaml")
GIVEN_ON = {"en": "23 November 2026", "da": "23. november 2026", "cs": "23. listopadu 2026"}


@pytest.fixture(scope="module")
def library():
    lib, diags = load_library([ROOT / "flows"])
    assert not [d for d in diags if d.severity == "error"], diags
    return lib


def _call(library, store, clock, lang):
    return CallSession.start(library, store, Account("TC-9", "Petr Svoboda", "CZ", lang, "9200.00"), "agent-7",
                             start_flow="texas", clock=clock, contact_rules=ANY_TIME, auto_wrap_up=False)


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_consent_in_force_from_an_earlier_call_is_not_asked_again(library, tmp_path, lang):
    clock = FixedClock("2026-11-23T10:00:00+00:00", step_seconds=1)
    store = SQLiteJournal.open(tmp_path / "journal.db")
    try:
        first = _call(library, store, clock, lang)
        first.apply(Next())
        first.apply(Next())
        assert first.top.step_id == "consent"          # never asked before: asked now
        assert first.apply(Consent("given")).ok
        first.apply(EndCall("referred"))

        clock.advance(days=7)
        later = _call(library, store, clock, lang)
        later.apply(Next())                             # thank
        view = later.view()
        assert view.step_id == "consent-in-force", view.step_id
        assert GIVEN_ON[lang] in view.say and GIVEN_ON[lang] in view.guidance
        assert [c.id for c in view.choices if c.enabled] == ["consent-stands", "withdraw"]
        assert later.apply(Next("consent-stands")).ok
        assert later.top.step_id == "ask"
        assert later.apply(Answer({"category": "health", "impact": "Physiotherapy until January"})).ok
        assert later.facts.values["impact"] == "Physiotherapy until January"  # held under the consent in force
        types = [e.type for e in store.call_entries(later.call_id)]
        assert "consent" not in types
        later.apply(EndCall("referred"))
    finally:
        store.close()
