"""The cross-protocol call stories (flows/tests/stories.test.yaml), run through the
real engine on a real journal file, then checked against what the file holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguide.engine.testing import run_case
from callguide.flow.loader import load_library
from callguide.flow.yamlsafe import read_yaml
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parent.parent
STORIES = ROOT / "flows" / "tests" / "stories.test.yaml"


@pytest.fixture(scope="module")
def lib():
    library, diags = load_library([ROOT / "flows"])
    assert not [d for d in diags if d.severity == "error"]
    return library


@pytest.fixture(scope="module")
def spec():
    data, _, _, diags = read_yaml(STORIES)
    assert not diags
    return data


def run_story(lib, spec, tmp_path, fragment):
    case = next(c for c in spec["cases"] if fragment in c["name"])
    db = tmp_path / "story.db"
    res, trace = run_case(lib, lambda: SQLiteJournal.open(db), spec, case, str(STORIES))
    assert res.ok, res.failures
    store = SQLiteJournal.open(db)
    entries = store.call_entries(trace["call_id"])
    assert store.verify().ok
    store.close()
    return trace, entries, db


def test_disclosure_during_budget_returns_to_the_same_step(lib, spec, tmp_path):
    trace, entries, _ = run_story(lib, spec, tmp_path, "disclosure during the budget")
    interrupted = next(e for e in entries if e.type == "interrupt")
    resumed = [e for e in entries if e.type == "protocol_ended" and e.data["protocol"] == "texas"][-1]
    assert resumed.data["resumes"] == {"flow": interrupted.data["from_flow"], "step": interrupted.data["from_step"]}
    shown_again = entries[entries.index(resumed) + 1]
    assert shown_again.type == "step_shown" and shown_again.data.get("resumed")
    assert (shown_again.flow_id, shown_again.step_id) == ("affordability", interrupted.data["from_step"])


def test_bruce_doubt_blocks_payment_in_the_journal(lib, spec, tmp_path):
    trace, entries, _ = run_story(lib, spec, tmp_path, "BRUCE doubt remains")
    blocked = [e for e in entries if e.type == "blocked"]
    assert blocked and blocked[0].data["rule"] == "capacity-doubt"
    assert not [e for e in entries if e.type == "arrangement"]
    assert [e for e in entries if e.type == "escalation" and e.data["kind"] == "care_team"]


def test_blake_immediate_danger_escalates_and_nothing_is_collected(lib, spec, tmp_path):
    trace, entries, _ = run_story(lib, spec, tmp_path, "BLAKE with immediate danger")
    kinds = [(e.type, e.data.get("kind")) for e in entries]
    assert ("escalation", "emergency") in kinds and ("escalation", "supervisor") in kinds
    emergency = next(e for e in entries if e.type == "escalation" and e.data["kind"] == "emergency")
    assert emergency.data["number"] == "112"
    assert any(e.type == "hold_started" for e in entries)
    after = entries[entries.index(emergency):]
    assert not [e for e in after if e.type == "arrangement"]
    assert not [e for e in after if e.type == "step_shown" and e.flow_id == "payment-arrangement"]


def test_declined_consent_leaves_no_health_detail_in_the_file(lib, spec, tmp_path):
    trace, entries, db = run_story(lib, spec, tmp_path, "TEXAS consent declined")
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("story.db-*"))
    assert b"should never be stored" not in raw
    assert not [e for e in entries if e.type == "vulnerability"]
    assert not [e for e in entries if e.type == "answer" and e.data.get("sensitivity") == "special"]
    disclosure = next(e for e in entries if e.type == "disclosure")
    assert set(disclosure.data) == {"review_date", "consent"}


def test_unemployed_danish_negative_budget_gets_a_danish_hold(lib, spec, tmp_path):
    trace, entries, _ = run_story(lib, spec, tmp_path, "unemployed Danish customer")
    hold = next(e for e in entries if e.type == "hold_started")
    assert hold.data["days"] == 30
    signpost = next(e for e in entries if e.type == "signpost" and e.data["kind"] == "debt_advice")
    assert signpost.data["country"] == "DK"
    assert any("Forbrugerrådet Tænk" in x["name"] for x in signpost.data["entries"])
    shown = [e for e in entries if e.type == "step_shown" and e.data.get("say")]
    assert shown and all(e.data["lang"] == "da" for e in shown)


def test_blake_on_the_payment_terms_never_returns_to_them(lib, spec, tmp_path):
    """Issue 8, failure 2: after BLAKE the call does not go back into the terms, and no answer to
    them is taken; the journal shows the refusal and the route taken instead."""
    trace, entries, _ = run_story(lib, spec, tmp_path, "BLAKE pressed on the payment terms")
    blake_end = next(e for e in entries if e.type == "protocol_ended" and e.data["protocol"] == "blake")
    after = entries[entries.index(blake_end):]
    assert not [e for e in after if e.type == "step_shown" and e.step_id == "terms"]
    assert not [e for e in after if e.type == "answer"]
    blocked = next(e for e in after if e.type == "blocked")
    assert (blocked.data["rule"], blocked.data["rerouted"]) == ("crisis", "payment-arrangement/stopped")
    assert not [e for e in entries if e.type == "arrangement"]
