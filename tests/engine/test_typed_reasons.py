"""Reasons the agent types (a hold's, a dispute's, an escalation's) follow the notes' rule.

The free-text params of the escalation bar's actions are declared once (`flow.actions`, "free_text");
the gate checks what the agent typed there with the trainers' word lists and the note's rule: a
reason that may hold health or life-event details is refused unless the health consent is in
force, then sealed under it (a withdrawal shreds it). Escalations always go: a matching reason
without consent is held back. Bundled flows, the real engine, a real SQLite journal and its raw bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from callguide.cli import main
from callguide.engine.clock import FixedClock
from callguide.engine.commands import Action, Consent, Next, Withdraw
from callguide.engine.localtime import ContactRules
from callguide.engine.session import Account, CallSession
from callguide.flow.actions import ACTION_SPECS, ESCALATIONS, free_text_params
from callguide.flow.loader import load_library
from callguide.store.sealing import REASON_HELD_BACK, Gone, is_sealed, purposes_of
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parents[2]
ANY_TIME = ContactRules.load(ROOT / "tests" / "contact_rules_any_time.yaml")
SECRET = "Chemotherapy until March"
HEALTH = "health_disclosure"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    d = tmp_path_factory.mktemp("lib") / "flows"
    shutil.copytree(ROOT / "flows", d, ignore=shutil.ignore_patterns("tests", "practice"))
    library, diags = load_library([d])
    assert not [x for x in diags if x.severity == "error"], diags
    return library


@pytest.fixture
def db(tmp_path):
    return tmp_path / "journal.db"


@pytest.fixture
def store(db):
    s = SQLiteJournal.open(db)
    yield s
    s.close()


def _raw(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def _start(lib, store, account="R-1", consent=False) -> CallSession:
    s = CallSession.start(lib, store, Account(account, "Jo Bloggs", "UK", "en", "100"), "agent-7",
                          start_flow="texas", clock=FixedClock("2026-11-23T10:00:00+00:00", step_seconds=1),
                          contact_rules=ANY_TIME, auto_wrap_up=False)
    if consent:
        s.apply(Next())
        s.apply(Next())
        assert s.apply(Consent("given")).ok
        assert s.facts.consent_in_force(HEALTH)
    return s


def _entries(store, s, type_):
    return [e for e in store.call_entries(s.call_id) if e.type == type_]


def _history(db: Path, account: str) -> str:
    res = CliRunner().invoke(main, ["history", "--account", account, "--db", str(db)])
    assert res.exit_code == 0, res.output
    return res.output


# ---------------------------------------------------------------------- declared once


def test_every_typed_reason_is_declared_and_a_reason_key_is_not():
    for name, spec in ACTION_SPECS.items():
        props = spec["params"]["properties"]
        for p, schema in props.items():
            typed = schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema
            assert (p in free_text_params(name)) == typed, f"{name}.{p}: declare it as free text (or not)"
        assert set(free_text_params(name)) <= set(props), name
    assert free_text_params("start_hold") == ("reason",)
    assert free_text_params("record_contact_reason") == ()  # a key of contact_rules.yaml, not free text
    assert ESCALATIONS <= {n for n in ACTION_SPECS if free_text_params(n)}


# ---------------------------------------------------------------------- refused without consent


@pytest.mark.parametrize("name, params", [
    ("start_hold", {"days": 30}), ("record_dispute", {}), ("schedule_callback", {"in_days": 3}),
    ("flag_capacity_doubt", {}), ("block_collection", {}),
])
def test_a_typed_reason_with_health_words_is_refused_without_consent_and_never_written(lib, store, db, name,
                                                                                      params):
    s = _start(lib, store)
    res = s.apply(Action(name, {**params, "reason": SECRET}))
    assert not res.ok and res.rule == "reason-sensitive", res
    assert res.params == {"action": name, "purpose": HEALTH}
    assert "Chemo" not in res.reason and "\n" not in res.reason
    assert not _entries(store, s, "global_action")
    assert not s.facts.state.hold_active and not s.facts.state.dispute and not s.facts.state.manual_blocks
    assert s.apply(Action(name, {**params, "reason": "Customer asked for time to sort post"})).ok  # plain: goes
    s.end_call()
    assert b"Chemotherapy" not in _raw(db)


# ---------------------------------------------------------------------- saved under the consent, shredded with it


def test_with_consent_a_hold_reason_is_sealed_under_it_and_a_withdrawal_shreds_it(lib, store, db):
    s = _start(lib, store, consent=True)
    assert s.apply(Action("start_hold", {"days": 30, "reason": SECRET})).ok
    hold = _entries(store, s, "hold_started")[-1].data
    assert is_sealed(hold["reason"]) and purposes_of(hold["reason"]) == [HEALTH]
    assert s.open_value(hold["reason"]) == SECRET
    ga = _entries(store, s, "global_action")[-1].data
    assert purposes_of(ga["input"]) == [HEALTH] and purposes_of(ga["params"]) == [HEALTH]
    assert b"Chemotherapy" not in _raw(db)
    assert SECRET in _history(db, "R-1")
    assert s.apply(Withdraw(HEALTH)).ok
    assert isinstance(s.open_value(hold["reason"]), Gone)
    assert s.facts.state.hold_active  # the hold itself stands: only its words are gone
    s.end_call()
    out = _history(db, "R-1")
    assert SECRET not in out and "withdrawn on" in out, out
    assert b"Chemotherapy" not in _raw(db)


def test_a_plain_reason_stays_under_the_personal_key(lib, store):
    s = _start(lib, store, consent=True)
    assert s.apply(Action("record_dispute", {"reason": "Says the debt was paid in June"})).ok
    d = _entries(store, s, "dispute")[-1].data
    assert is_sealed(d["reason"]) and purposes_of(d["reason"]) == ["personal"]
    assert s.apply(Withdraw(HEALTH)).ok
    assert s.open_value(d["reason"]) == "Says the debt was paid in June"


def test_a_collection_block_label_takes_no_health_words_even_with_consent(lib, store):
    s = _start(lib, store, consent=True)  # its label is kept in clear and repeated by every refusal
    res = s.apply(Action("block_collection", {"reason": SECRET}))
    assert not res.ok and res.rule == "reason-sensitive"


# ---------------------------------------------------------------------- escalations always go


@pytest.mark.parametrize("name", sorted(ESCALATIONS))
def test_an_escalation_goes_through_and_its_matching_reason_is_held_back(lib, store, db, name):
    s = _start(lib, store)
    res = s.apply(Action(name, {"reason": SECRET}))
    assert res.ok, res
    esc = _entries(store, s, "escalation")[-1].data
    assert s.open_value(esc["reason"]) == REASON_HELD_BACK
    s.end_call()
    assert b"Chemotherapy" not in _raw(db)


def test_with_consent_an_escalation_keeps_its_reason_under_the_consent(lib, store, db):
    s = _start(lib, store, consent=True)
    assert s.apply(Action("refer_care_team", {"reason": SECRET})).ok
    esc = _entries(store, s, "escalation")[-1].data
    assert purposes_of(esc["reason"]) == [HEALTH] and s.open_value(esc["reason"]) == SECRET
    assert b"Chemotherapy" not in _raw(db)


# ---------------------------------------------------------------------- resume


def test_a_resume_replays_saved_and_held_back_reasons_without_refusing(lib, store, db):
    s = _start(lib, store, consent=True)
    assert s.apply(Action("start_hold", {"days": 30, "reason": SECRET})).ok
    assert s.apply(Withdraw(HEALTH)).ok
    assert s.apply(Action("alert_supervisor", {"reason": SECRET})).ok  # no consent now: held back
    n = len(store.call_entries(s.call_id))
    r = CallSession.resume(lib, store, s.call_id, clock=FixedClock("2026-11-23T11:00:00+00:00"))
    assert r.facts.state.hold_active and r.facts.state.hold_until == "2026-12-23"
    assert not [e for e in store.call_entries(s.call_id)[n:] if e.type == "blocked"]
    assert len(_entries(store, r, "hold_started")) == 1 and len(_entries(store, r, "escalation")) == 1
    assert (r.top.flow.id, r.top.step_id) == (s.top.flow.id, s.top.step_id)
    r.end_call()
    assert b"Chemotherapy" not in _raw(db)


def test_what_the_agent_types_is_never_run_as_a_template_or_an_expression(lib, store):
    """A reason typed by a person is text: `{{ … }}` in it is kept as typed, never rendered with the
    call's namespace (the account, the answers); a typed number is a number, never an expression."""
    s = _start(lib, store)
    typed = "Says {{ account.balance }} is wrong {% for i in range(3) %}x{% endfor %}"
    assert s.apply(Action("record_dispute", {"reason": typed})).ok
    d = _entries(store, s, "dispute")[-1].data
    assert s.open_value(d["reason"]) == typed
    assert s.apply(Action("schedule_callback", {"in_days": "2 + 5", "reason": "asked for {{ 1 + 1 }}"})).ok
    cb = _entries(store, s, "callback")[-1].data
    assert s.open_value(cb["reason"]) == "asked for {{ 1 + 1 }}"
    assert cb["due"] == "2026-11-24"  # not a number: the default day, never 2 + 5 worked out


def test_the_json_outputs_say_a_held_back_reason_in_words():
    from callguide.store.sealing import held_back_text, readable

    out = readable({"reason": REASON_HELD_BACK, "other": ["$reason-held-back-not", 1]})
    assert out["reason"] == held_back_text(REASON_HELD_BACK, "en") and out["reason"].startswith("reason held back")
    assert out["other"] == ["$reason-held-back-not", 1]
