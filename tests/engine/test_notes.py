"""Notes that may hold health details (issue 10 §5): the rule in the core, tried at every door.

A note whose text mentions a word of the trainers' lists (resources/sensitive_words/) is saved only
under a consent in force (`Note(text, purpose)`), then marked special-category; otherwise it is
refused with a clear reason and nothing of its text reaches the journal file. The doors: the
command, `callguide walk` scripts, resume, a later call. Real word lists, real SQLite files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from callguide.cli import main
from callguide.engine import sensitive
from callguide.engine.commands import CommandError, Note, command_from_event
from callguide.engine.session import CallSession
from tests.engine.conftest import of_type

ROOT = Path(__file__).resolve().parents[2]
WORDS = ROOT / "resources" / "sensitive_words"
ENGINE_FLOWS = ROOT / "tests" / "engine" / "flows"


def _raw(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


# ---------------------------------------------------------------------- the word lists


@pytest.mark.parametrize("text, found", [
    ("Customer has cancer, starts chemotherapy in May", ["cancer", "chemotherapy"]),
    ("Her husband passed away last month", ["passed away"]),
    ("Kunden har KRÆFT og er indlagt", ["KRÆFT", "indlagt"]),
    ("kunden har kraeft", ["kraeft"]),           # æ typed as ae
    ("Kunden skal til begravelse, hendes mand er død", ["begravelse", "død"]),
    ("Zákazník má rakovinu", ["rakovinu"]),       # a Czech stem, any ending
    ("zakaznik je v nemocnici s rakovinou", ["nemocnici", "rakovinou"]),  # no diacritics at all
    ("Zákaznice je TĚHOTNÁ", ["TĚHOTNÁ"]),
])
def test_words_match_whole_words_and_stems_in_every_language(text, found):
    assert sensitive.load().find(text) == found


@pytest.mark.parametrize("text", [
    "Customer will pay the bill on Friday",   # "ill" only as a whole word
    "I'll call back after the illegal letter was withdrawn",
    "Kunden har ikke kraft til at tale nu",    # kraft (strength) is not kræft
    "Zákazník zaplatí zítra",
    "",
])
def test_ordinary_notes_match_nothing(text):
    assert sensitive.load().find(text) == []


def test_every_listed_word_matches_itself_with_and_without_diacritics():
    words = sensitive.load()
    assert words.purpose == "health_disclosure"
    assert {e.lang for e in words.entries} == {"en", "da", "cs"}
    for e in words.entries:
        sample = e.text.rstrip("*") + ("a" if e.stem else "")
        assert words.find(sample), f"{e.lang}: {e.text!r} does not match {sample!r}"
        assert words.find(sensitive.fold(sample)), f"{e.lang}: {e.text!r} without diacritics"


def test_the_lists_say_the_trainers_keep_them():
    for lang in ("en", "da", "cs"):
        head = (WORDS / f"{lang}.yaml").read_text(encoding="utf-8").split("purpose:")[0]
        assert "MAINTAINED BY THE TRAINERS" in head and "*" in head


@pytest.mark.parametrize("body, expect", [
    ("purpose: health_disclosure\nwords:\n  - cancer\n  - a*\n", "cs.yaml:4:5: sensitive words: 'a*': a stem needs"),
    ("purpose: health_disclosure\nwords:\n  - can*cer\n", "cs.yaml:3:5: sensitive words: 'can*cer': * only at the end"),
    ("purpose: health_disclosure\nwords: cancer\n", "cs.yaml:2:8: sensitive words: `words` must be a list"),
    ("purpose: health disclosure\nwords: [cancer]\n", "cs.yaml:1:10: sensitive words: `purpose` must be"),
    ("purpose: health_disclosure\nwords: [cancer]\nextra: 1\n", "cs.yaml:3:1: sensitive words: unknown key 'extra'"),
    ("purpose: health_disclosure\nwords: [cancer\n", "cs.yaml:"),
    ("purpose: sms_survey\nwords: [cancer]\n", "every word list must name the same consent purpose"),
])
def test_a_broken_list_is_one_line_with_its_place(tmp_path, body, expect):
    for lang in ("en", "da"):
        (tmp_path / f"{lang}.yaml").write_bytes((WORDS / f"{lang}.yaml").read_bytes())
    (tmp_path / "cs.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(sensitive.SensitiveWordsError) as e:
        sensitive.load(tmp_path)
    assert expect in str(e.value) and "\n" not in str(e.value)


def test_a_missing_list_stops_notes_from_being_saved_unchecked(start, tmp_path, monkeypatch):
    s = start()
    monkeypatch.setenv("CALLGUIDE_SENSITIVE_WORDS", str(tmp_path / "nowhere"))
    from callguide.engine.commands import EngineError

    with pytest.raises(EngineError, match=r"Notes cannot be checked: .*nowhere/en.yaml:1:1: .*cannot read"):
        s.apply(Note("Customer will pay on Friday"))
    assert of_type(s, "note") == []


# ---------------------------------------------------------------------- the command


def _consent(s, decision="given"):
    s.next()
    assert s.interrupt("disclose")
    assert s.consent(decision)


def test_a_note_with_health_words_is_refused_without_consent_and_nothing_of_it_is_written(start, db_path):
    s = start()
    s.next()
    res = s.apply(Note("Customer has cancer, very upset"))
    assert not res.ok and res.rule == "note-sensitive" and res.params == {"purpose": "health_disclosure"}
    assert "TEXAS" in res.reason and "cancer" not in res.reason
    assert of_type(s, "note") == []
    blocked = of_type(s, "blocked")[-1]["data"]
    assert blocked == {"action": "note", "rule": "note-sensitive", "reason": res.reason}
    res = s.apply(Note("Kunden har kræft", "health_disclosure"))   # "customer agreed", but no consent in force
    assert not res.ok and res.rule == "note-consent-missing"
    assert of_type(s, "note") == []
    s.end_call()
    raw = _raw(db_path)
    assert b"cancer" not in raw and "kræft".encode() not in raw and b"upset" not in raw


def test_under_a_consent_in_force_the_note_is_saved_as_special_category(start, db_path):
    s = start()
    _consent(s)
    res = s.apply(Note("Zákazník má rakovinu", "health_disclosure"))
    assert res.ok, res
    note = of_type(s, "note")[-1]["data"]
    assert note["text"] == "Zákazník má rakovinu"
    assert note["purpose"] == "health_disclosure" and note["special"] is True
    assert note["input"] == {"cmd": "note", "text": "Zákazník má rakovinu", "purpose": "health_disclosure"}
    # consent in force is not enough by itself: the agent says, for this note, that the customer agreed
    res = s.apply(Note("Also mentioned depression"))
    assert not res.ok and res.rule == "note-sensitive"
    # a plain note needs nothing and is not marked
    assert s.apply(Note("Prefers letters to phone calls"))
    assert of_type(s, "note")[-1]["data"] == {"text": "Prefers letters to phone calls",
                                              "input": {"cmd": "note", "text": "Prefers letters to phone calls",
                                                        "purpose": None}}


def test_a_health_note_needs_the_health_consent_not_another(start):
    s = start()
    _consent(s)
    res = s.apply(Note("Customer has cancer", "sms_survey"))
    assert not res.ok and res.rule == "note-consent-missing"
    assert of_type(s, "note") == []


def test_declined_and_withdrawn_consents_save_nothing(start, db_path):
    s = start()
    _consent(s, "declined")
    assert s.apply(Note("kræft", "health_disclosure")).rule == "note-consent-missing"
    s.next()
    s.interrupt("disclose")
    s.consent("given")
    assert s.apply(Note("cancer", "health_disclosure")).ok
    assert s.withdraw_consent("health_disclosure")
    res = s.apply(Note("rakovina and chemo", "health_disclosure"))
    assert not res.ok and res.rule == "note-consent-missing"
    # the note saved under the consent is shredded with it (issue 10): it reads as withdrawn
    assert [n["data"]["text"] for n in of_type(s, "note")] == ["withdrawn on 22 November 2026"]
    s.end_call()
    assert b"rakovina" not in _raw(db_path) and b"chemo" not in _raw(db_path) and b"cancer" not in _raw(db_path)


def test_a_consent_from_an_earlier_call_is_in_force_on_the_next(start, lib, store, clock):
    first = start(account_id="A9")
    _consent(first)
    first.end_call()
    later = start(account_id="A9")
    assert later.facts.consent_in_force("health_disclosure")
    assert later.apply(Note("Chemo finished, feels better", "health_disclosure")).ok
    assert of_type(later, "note")[-1]["data"]["special"] is True


# ---------------------------------------------------------------------- walk scripts


def test_walk_script_notes_go_through_the_same_rule(tmp_path):
    script = tmp_path / "s.yaml"
    script.write_text("""
- {next: null}
- {note: "Customer mentioned her cancer"}
- {note: {text: "Customer mentioned her cancer", purpose: health_disclosure}}
- {interrupt: disclose}
- {consent: given}
- {note: {text: "Kunden har kræft", purpose: health_disclosure}}
- {cmd: note, text: "Customer has depression"}
- {note: "Prefers letters"}
""", encoding="utf-8")
    db = tmp_path / "walk.db"
    res = CliRunner().invoke(main, ["walk", str(ENGINE_FLOWS / "main.yaml"), "--script", str(script), "--db", str(db)],
                             env={"CALLGUIDE_SIGNPOSTS": str(ROOT / "tests" / "engine" / "signposts.yaml")},
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    trace = json.loads(res.output)
    assert [(e["event"], e["rule"]) for e in trace["errors"]] == [
        (2, "note-sensitive"), (3, "note-consent-missing"), (7, "note-sensitive")]
    notes = [r for r in trace["records"] if r["type"] == "note"]
    assert [(n["text"], n.get("purpose"), n.get("special")) for n in notes] == [
        ("Kunden har kræft", "health_disclosure", True), ("Prefers letters", None, None)]
    raw = _raw(db)
    assert b"her cancer" not in raw and b"depression" not in raw


def test_a_note_event_names_its_keys():
    assert command_from_event({"note": {"text": "x", "purpose": "p"}}) == Note("x", "p")
    with pytest.raises(CommandError, match="event 1: note: unknown key 'consent'"):
        command_from_event({"note": {"text": "x", "consent": "p"}})


# ---------------------------------------------------------------------- resume


def test_resume_replays_a_consented_note_and_keeps_the_rule(start, lib, store, db_path):
    s = start()
    _consent(s)
    assert s.apply(Note("Diagnosed with cancer in May", "health_disclosure"))
    r = CallSession.resume(lib, store, s.call_id)   # the window was killed: the call goes on
    assert [n["data"]["text"] for n in of_type(r, "note")] == ["Diagnosed with cancer in May"]
    assert r.apply(Note("kræft")).rule == "note-sensitive"
    assert r.withdraw_consent("health_disclosure")
    assert r.apply(Note("kræft", "health_disclosure")).rule == "note-consent-missing"
    assert len(of_type(r, "note")) == 1


def test_resume_of_a_note_saved_before_its_word_was_listed(start, lib, store, tmp_path, monkeypatch):
    """A trainer added a word after a plain note with it was saved: the call still resumes (the old
    note is not replayed as a new save), and from then on the word needs consent."""
    old = tmp_path / "old"
    old.mkdir()
    for lang in ("en", "da", "cs"):
        text = (WORDS / f"{lang}.yaml").read_text(encoding="utf-8")
        (old / f"{lang}.yaml").write_text(text.replace("  - dementia\n", ""), encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_SENSITIVE_WORDS", str(old))
    s = start()
    s.next()
    assert s.apply(Note("Mother has dementia, son helps"))
    monkeypatch.delenv("CALLGUIDE_SENSITIVE_WORDS")
    r = CallSession.resume(lib, store, s.call_id)
    assert (r.top.flow.id, r.top.step_id) == (s.top.flow.id, s.top.step_id)
    assert r.apply(Note("Mother has dementia")).rule == "note-sensitive"


# ---------------------------------------------------------------------- with the privacy work's sealing


def test_a_consented_note_is_sealed_under_its_purpose_and_shredded_by_withdrawal(start, store, db_path):
    """The note saved under the consent is special-category data for that purpose: sealed under its
    key, so withdrawing the consent makes it unreadable (journal.md, "Sealed values")."""
    sealer = getattr(store, "sealer", None)
    if sealer is None:
        pytest.skip("this journal keeps no data keys")
    from callguide.store.sealing import is_sealed, purposes_of

    s = start()
    _consent(s)
    text = "Chemotherapy until March QX-5512"
    assert s.apply(Note(text, "health_disclosure")).ok
    raw = store.call_entries(s.call_id)[-1].data
    assert is_sealed(raw["text"]) and purposes_of(raw["text"]) == ["health_disclosure"]
    assert of_type(s, "note")[-1]["data"]["text"] == text
    assert s.withdraw_consent("health_disclosure")
    assert of_type(s, "note")[-1]["data"]["text"] != text  # "withdrawn on DATE" in its place
    s.end_call()
    assert b"QX-5512" not in _raw(db_path)


def test_a_broken_list_never_stops_a_resume_but_stops_new_notes(start, lib, store, tmp_path, monkeypatch):
    s = start()
    s.next()
    assert s.apply(Note("Prefers letters"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for lang in ("en", "da", "cs"):
        (broken / f"{lang}.yaml").write_text("purpose: health_disclosure\nwords: [a*]\n", encoding="utf-8")
    monkeypatch.setenv("CALLGUIDE_SENSITIVE_WORDS", str(broken))
    r = CallSession.resume(lib, store, s.call_id)  # killed mid-call: it comes back whatever the lists say
    assert (r.top.flow.id, r.top.step_id) == (s.top.flow.id, s.top.step_id)
    from callguide.engine.commands import EngineError

    with pytest.raises(EngineError, match=r"Notes cannot be checked: .*en.yaml:2:9: sensitive words: 'a\*'"):
        r.apply(Note("Prefers calls after 5pm"))


# ---------------------------------------------------------------------- flags: for the trainers, never health details


def test_a_flag_comment_with_health_words_is_refused_and_never_written(start, db_path):
    from callguide.engine.commands import Flag

    s = start()
    s.next()
    res = s.apply(Flag("Customer said her cancer came back and this wording upset her"))
    assert not res.ok and res.rule == "flag-sensitive" and "cancer" not in res.reason
    assert of_type(s, "flag") == []
    assert s.apply(Flag("This wording sounds cold"))  # about the wording: fine
    assert [f["data"]["comment"] for f in of_type(s, "flag")] == ["This wording sounds cold"]
    s.end_call()
    assert b"came back" not in _raw(db_path)
