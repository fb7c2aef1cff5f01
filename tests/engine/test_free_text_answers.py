"""Free-text answers follow the typed-text rule (`policy.typed_text`), like notes and reasons.

A `text` field that is not special-category itself (the care referral's note, TEXAS's adjustment
notes, BLAKE's location) used to be stored under the account's personal key whatever it said:
"Customer has cancer, on chemo" typed into the care referral's note was in the journal with no
consent. Now an answer the trainers' lists match is refused in an ordinary step (`answer-sensitive`),
kept under the lists' consent when it is in force (a withdrawal shreds it), and in a crisis protocol
or an escalation's note never refused but held back. Bundled flows, the real engine, a real SQLite
journal, its raw bytes and the command line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from callguide.cli import main
from callguide.engine.clock import FixedClock
from callguide.engine.commands import Answer, Consent, EndCall, Interrupt, Next, Withdraw
from callguide.engine.localtime import ContactRules
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sealing import REASON_HELD_BACK, Gone, is_sealed, purposes_of
from callguide.store.sqlite import SQLiteJournal

ROOT = Path(__file__).resolve().parents[2]
ANY_TIME = ContactRules.load(ROOT / "tests" / "contact_rules_any_time.yaml")
SECRET = "Customer has cancer, on chemo"
HEALTH = "health_disclosure"
NOW = "2026-11-23T10:00:00+00:00"


@pytest.fixture(scope="module")
def lib():
    library, diags = load_library([ROOT / "flows"])
    assert not [d for d in diags if d.severity == "error"], diags
    return library


def _raw(db: Path) -> bytes:
    """Every byte of the journal, its write-ahead log and its keys file."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def _start(lib, store, flow="texas", account="F-1") -> CallSession:
    return CallSession.start(lib, store, Account(account, "Jo Bloggs", "UK", "en", "100"), "agent-7",
                             start_flow=flow, clock=FixedClock(NOW, step_seconds=1), contact_rules=ANY_TIME,
                             auto_wrap_up=False)


def _texas_consent(s: CallSession, decision: str) -> None:
    s.apply(Next())
    s.apply(Next())
    assert s.apply(Consent(decision)).ok


def _entries(store, s, type_):
    return [e for e in store.call_entries(s.call_id) if e.type == type_]


def _opened(store, s) -> str:
    """Every entry of the call as the journal gives it back, sealed values opened."""
    return json.dumps([{"type": e.type, "data": s.sealer.open_data(s.account.id, e.data)}
                       for e in store.call_entries(s.call_id)], default=str, ensure_ascii=False)


def _to_referral_note(s: CallSession) -> None:
    assert s.apply(Interrupt("care-referral")).ok
    assert s.apply(Next()).ok
    assert s.top.step_id == "reason"


# ---------------------------------------------------------------------- the care referral: held back, never refused


def test_a_referral_note_with_health_words_and_no_consent_is_held_back_never_written(lib, store, db_path):
    s = _start(lib, store, flow="care-referral")
    assert s.apply(Next()).ok
    res = s.apply(Answer({"referral_reason": "agent_unsure", "referral_note": SECRET}))
    assert res.ok and res.rule == "answer-held-back", res  # never refused; told in one line
    assert "cancer" not in res.reason and "\n" not in res.reason and res.params == {"fields": ["referral_note"]}
    assert s.facts.values["referral_note"] == REASON_HELD_BACK
    assert s.view().fields[1].value.startswith("not saved")  # the window says it, never the code
    assert s.apply(Next()).ok and s.apply(Next("transfer")).ok and s.apply(Next()).ok
    esc = _entries(store, s, "escalation")[-1].data
    assert s.open_value(esc["reason"]) == f"agent_unsure: warm transfer: {REASON_HELD_BACK}"
    answer = [e.data for e in _entries(store, s, "answer") if e.data["field"] == "referral_note"][-1]
    assert "consent" not in answer and purposes_of(answer["value"]) == ["personal"]
    s.apply(EndCall("referred"))
    opened = _opened(store, s)
    assert "cancer" not in opened and "chemo" not in opened
    raw = _raw(db_path)
    assert b"cancer" not in raw and b"chemo" not in raw


def test_with_consent_a_referral_note_is_sealed_under_it_and_a_withdrawal_shreds_it(lib, store, db_path):
    s = _start(lib, store)
    _texas_consent(s, "given")
    _to_referral_note(s)
    res = s.apply(Answer({"referral_reason": "vulnerability", "referral_note": SECRET}))
    assert res.ok and res.rule is None, res
    answer = [e.data for e in _entries(store, s, "answer") if e.data["field"] == "referral_note"][-1]
    assert answer["consent"] == [HEALTH] and answer["sensitivity"] == "special"
    assert purposes_of(answer["value"]) == [HEALTH] and purposes_of(answer["input"]) == [HEALTH]
    assert s.open_value(answer["value"]) == SECRET
    assert s.apply(Next()).ok and s.apply(Next("transfer")).ok and s.apply(Next()).ok
    esc = _entries(store, s, "escalation")[-1].data
    assert purposes_of(esc["reason"]) == [HEALTH]  # the escalation quoting it: under the consent too
    assert b"cancer" not in _raw(db_path)
    assert s.apply(Withdraw(HEALTH)).ok
    assert isinstance(s.open_value(answer["value"]), Gone) and isinstance(s.open_value(esc["reason"]), Gone)
    assert "referral_note" not in s.facts.values
    assert "cancer" not in _opened(store, s)


def test_privacy_withdraw_outside_the_call_shreds_a_consented_free_text_answer(lib, store, db_path, tmp_path,
                                                                              monkeypatch):
    s = _start(lib, store)
    _texas_consent(s, "given")
    assert s.apply(Answer({"category": "health", "impact": "Tired"})).ok and s.apply(Next()).ok
    res = s.apply(Answer({"adjustments_wanted": True, "adjustment_notes": SECRET}))
    assert res.ok, res
    answer = [e.data for e in _entries(store, s, "answer") if e.data["field"] == "adjustment_notes"][-1]
    assert purposes_of(answer["value"]) == [HEALTH]
    s.apply(EndCall("other"))
    store.close()
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  bo: {name: Bo Nielsen, roles: [care_team]}\n", encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_PEOPLE", str(people))
    out = CliRunner().invoke(main, ["privacy", "withdraw", "--account", "F-1", "--purpose", HEALTH, "--by", "bo",
                                    "--db", str(db_path)])
    assert out.exit_code == 0, out.output
    again = SQLiteJournal.open(db_path)
    try:
        entries = again.call_entries(s.call_id)
        note = [e.data for e in entries if e.type == "answer" and e.data["field"] == "adjustment_notes"][-1]
        assert isinstance(again.sealer.open("F-1", note["value"]), Gone)
        dumped = json.dumps([again.sealer.open_data("F-1", e.data) for e in entries], default=str)
        assert "cancer" not in dumped
    finally:
        again.close()
    assert b"cancer" not in _raw(db_path)


# ---------------------------------------------------------------------- an ordinary step: refused


def test_an_ordinary_steps_free_text_with_health_words_is_refused_and_nothing_else_lost(lib, store, db_path):
    s = _start(lib, store)
    _texas_consent(s, "declined")
    assert s.top.step_id == "ask-adjustments"
    res = s.apply(Answer({"adjustments_wanted": True, "adjustment_notes": SECRET}))
    assert not res.ok and res.rule == "answer-sensitive", res
    assert res.error_codes["adjustment_notes"] == ("answer-sensitive", {"field": "adjustment_notes",
                                                                         "purpose": HEALTH})
    assert "cancer" not in res.reason and "\n" not in res.reason
    assert s.facts.values.get("adjustments_wanted") is True  # the other answer is kept
    assert "adjustment_notes" not in s.facts.values
    blocked = _entries(store, s, "blocked")[-1].data
    assert blocked["rule"] == "answer-sensitive" and blocked["action"] == "answer:adjustment_notes"
    assert s.apply(Answer({"adjustment_notes": "Letters by post only, after 17:00"})).ok  # rephrased: saved
    assert b"cancer" not in _raw(db_path) and "cancer" not in _opened(store, s)


def test_choices_numbers_dates_and_yes_no_are_not_word_checked(lib, store):
    s = _start(lib, store, flow="care-referral")
    s.apply(Next())
    res = s.apply(Answer({"referral_reason": "other"}))  # a choice: its value is the flow's own word
    assert res.ok and res.rule is None


def test_a_live_answer_may_not_name_a_consent_that_is_not_in_force(lib, store):
    s = _start(lib, store)
    _texas_consent(s, "declined")
    res = s.apply(Answer({"adjustments_wanted": True, "adjustment_notes": SECRET}, purpose=HEALTH))
    assert not res.ok and res.rule == "consent-missing-for"
    assert "adjustment_notes" not in s.facts.values


# ---------------------------------------------------------------------- BLAKE: never refused


def test_blakes_free_text_is_never_refused_and_counts_as_given(lib, store, db_path):
    s = _start(lib, store, flow="blake")
    s.apply(Next())
    s.apply(Next())
    assert s.apply(Next("immediate-danger")).ok and s.top.step_id == "location"
    res = s.apply(Answer({"crisis_location": "At home, took her medication all at once"}))
    assert res.ok and res.rule == "answer-held-back", res
    assert s.apply(Next()).ok and s.top.step_id != "location"  # the required answer counts as given
    assert b"all at once" not in _raw(db_path) and "all at once" not in _opened(store, s)


# ---------------------------------------------------------------------- every door: walk, resume


def test_a_walk_script_and_a_resume_give_the_same_result(lib, store, db_path, tmp_path):
    events = [{"next": None}, {"next": None}, {"consent": "given"}, {"interrupt": "care-referral"},
              {"next": None}, {"answer": {"referral_reason": "vulnerability", "referral_note": SECRET}},
              {"answer": {"referral_note": f"{SECRET} (again)"}}]
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump(events), encoding="utf-8")
    walked = tmp_path / "walk.db"
    out = CliRunner().invoke(main, ["walk", "texas", "--script", str(script), "--db", str(walked), "--now", NOW,
                                    "--no-wrap-up"])
    assert out.exit_code == 0, out.output
    trace = json.loads(out.output)
    assert not trace["errors"], trace["errors"]
    notes = [r for r in trace["records"] if r["type"] == "answer" and r["field"] == "referral_note"]
    assert [n["consent"] for n in notes] == [[HEALTH], [HEALTH]]
    assert b"cancer" not in _raw(walked)

    s = _start(lib, store)
    from callguide.engine.script import run_events

    run_events(s, events[:-1])
    assert s.facts.value_purpose == {"referral_note": HEALTH}
    r = CallSession.resume(lib, store, s.call_id, clock=FixedClock("2026-11-23T10:30:00+00:00"))
    assert r.facts.values == s.facts.values and r.facts.value_purpose == s.facts.value_purpose
    assert (r.top.flow.id, r.top.step_id) == (s.top.flow.id, s.top.step_id)
    assert r.apply(Next()).ok and r.apply(Next("transfer")).ok and r.apply(Next()).ok
    esc = _entries(store, r, "escalation")[-1].data
    assert purposes_of(esc["reason"]) == [HEALTH]  # a resumed call seals what quotes it as the live one did


def test_a_resume_after_a_held_back_note_and_a_withdrawal_is_the_same_call(lib, store):
    s = _start(lib, store)
    _texas_consent(s, "given")
    _to_referral_note(s)
    assert s.apply(Answer({"referral_reason": "vulnerability", "referral_note": SECRET})).ok
    assert s.apply(Withdraw(HEALTH)).ok
    res = s.apply(Answer({"referral_note": SECRET}))  # no consent now: held back
    assert res.ok and res.rule == "answer-held-back"
    r = CallSession.resume(lib, store, s.call_id, clock=FixedClock("2026-11-23T10:30:00+00:00"))
    assert r.facts.values == s.facts.values and r.facts.values["referral_note"] == REASON_HELD_BACK
    assert not r.facts.value_purpose and not s.facts.value_purpose
    assert not [e for e in store.call_entries(s.call_id) if e.type == "blocked"]


def test_a_held_back_answer_is_sealed_and_has_no_text(lib, store):
    s = _start(lib, store, flow="care-referral")
    s.apply(Next())
    s.apply(Answer({"referral_note": "Her carer speaks for her"}))  # "carer": on the trainers' list
    answer = [e.data for e in _entries(store, s, "answer") if e.data["field"] == "referral_note"][-1]
    assert is_sealed(answer["value"]) and s.open_value(answer["value"]) == REASON_HELD_BACK
    assert "carer" not in _opened(store, s)


# ---------------------------------------------------------------------- word lists that cannot be read


def test_unreadable_word_lists_never_block_a_crisis_or_an_escalation(lib, store, db_path, tmp_path, monkeypatch):
    """Fail closed, but a crisis is never blocked by a word list, even one that cannot be read: BLAKE's
    answer and a bar escalation's reason are held back (nothing unchecked is kept); an ordinary step's
    answer stops with one line, as a note does."""
    from callguide.engine.commands import Action, EngineError

    s = _start(lib, store, flow="blake")
    s.apply(Next())
    s.apply(Next())
    assert s.apply(Next("immediate-danger")).ok
    monkeypatch.setenv("CALLGUIDE_SENSITIVE_WORDS", str(tmp_path / "nowhere"))
    res = s.apply(Answer({"crisis_location": "At home, took her medication all at once"}))
    assert res.ok and res.rule == "answer-held-back", res
    assert s.apply(Next()).ok  # the required answer counts as given: BLAKE goes on
    assert s.apply(Action("alert_supervisor", {"reason": "Took zopiclone, the whole box"})).ok
    esc = _entries(store, s, "escalation")[-1].data
    assert s.open_value(esc["reason"]) == REASON_HELD_BACK
    o = _start(lib, store, account="F-2")
    _texas_consent(o, "declined")
    with pytest.raises(EngineError, match=r"Notes cannot be checked: .*nowhere/en.yaml:1:1"):
        o.apply(Answer({"adjustments_wanted": True, "adjustment_notes": "Letters by post only"}))
    assert "adjustment_notes" not in [e.data["field"] for e in _entries(store, o, "answer")]
    raw = _raw(db_path)
    assert b"all at once" not in raw and b"zopiclone" not in raw


@pytest.mark.parametrize("hidden", [
    "Customer has can\u200bcer",      # a zero-width space inside the word
    "Customer has ca\u00adncer",      # a soft hyphen (shows nothing mid-line)
    "Customer has c\u0430ncer",       # a Cyrillic а that looks like a Latin a
    "CUSTOMER HAS C\u0410NCER",       # the same, in capitals
    "Customer has \u2060cancer\u200d",  # a word joiner and a zero-width joiner around it
    "Kunden har kr\u00e6\u200bft",              # Danish, with a zero-width space
    "Z\u00e1kazn\u00edk m\u00e1 rakov\u0456nu",  # Czech, with a Cyrillic і
    "Customer has_cancer",            # an underscore or a digit joined to the word (one token with \w)
    "Customer has 2cancer",
    "kunden_har_kr\u00e6ft",
])
def test_a_word_hidden_with_invisible_or_lookalike_characters_is_found_at_every_door(lib, store, db_path, hidden):
    """Text pasted or typed to read as "cancer" is read as "cancer" by every person who sees it, so the
    word lists find it too: an ordinary answer is refused, a note is refused, a referral note is held
    back. Before, every one of these was stored as typed (under the personal key, with no consent)."""
    from callguide.engine.commands import Note

    s = _start(lib, store)
    _texas_consent(s, "declined")
    res = s.apply(Answer({"adjustments_wanted": True, "adjustment_notes": hidden}))
    assert not res.ok and res.rule == "answer-sensitive", res
    assert not s.apply(Note(hidden)).ok
    assert "adjustment_notes" not in s.facts.values
    assert hidden not in _opened(store, s) and hidden.encode() not in _raw(db_path)
