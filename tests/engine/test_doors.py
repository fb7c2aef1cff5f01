"""Rules checked at one door and not another (the review of the doors, after issue 8): each test
goes in through the door that let it through, on the real flows and a real journal file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callguide.engine.clock import FixedClock
from callguide.engine.commands import (
    Action,
    Answer,
    ChangeLanguage,
    Consent,
    EndCall,
    EngineError,
    Interrupt,
    Next,
    Note,
    SetOutcome,
    Withdraw,
)
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sqlite import SQLiteJournal
from tests.engine.test_gate import play

ROOT = Path(__file__).resolve().parents[2]
MONDAY = "2026-11-23T10:00:00+00:00"


@pytest.fixture(scope="module")
def lib():
    library, diags = load_library([ROOT / "flows"])
    assert not [d for d in diags if d.severity == "error"]
    return library


@pytest.fixture
def clock():
    return FixedClock(MONDAY, step_seconds=1)


def call(lib, store, clock, start="call-opening", account_id="D-1"):
    return CallSession.start(lib, store, Account(account_id, "Oliver Smith", "UK", "en", "1200.00"), "agent-7",
                             start_flow=start, clock=clock, auto_wrap_up=False)


def ended_outcomes(store, account_id="D-1"):
    return [e.data.get("outcome") for e in store.account_entries(account_id) if e.type == "call_ended"]


# ---------------------------------------------------------------------------- the outcome at the end

def test_an_outcome_chosen_before_a_dispute_is_not_the_one_the_call_ends_with(lib, store, clock):
    """`EndCall()` with no code ends the call with the outcome chosen earlier: the gate must ask about
    that one, as it does about an outcome given with the command."""
    s = call(lib, store, clock, start="wrap-up")
    assert s.apply(SetOutcome("promise_to_pay")).ok  # allowed then
    assert s.apply(Action("record_dispute", {"reason": "Says it is not their debt"})).ok
    res = s.apply(EndCall())
    assert not res.ok and res.rule == "dispute"
    assert not s.ended and "promise_to_pay" not in ended_outcomes(store)
    assert s.apply(EndCall("disputed")).ok
    assert ended_outcomes(store) == ["disputed"]


def test_a_resumed_call_does_not_end_with_a_payment_outcome_after_a_hold_on_another_call(lib, store, clock):
    s = call(lib, store, clock, start="wrap-up")
    assert s.apply(SetOutcome("promise_to_pay")).ok
    call_id = s.call_id  # killed here
    clock.advance(minutes=5)
    other = call(lib, store, clock, start="wrap-up")
    assert other.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok
    other.apply(EndCall("on_hold"))
    clock.advance(minutes=5)
    resumed = CallSession.resume(lib, store, call_id, clock=clock)
    assert resumed.state.hold_active
    res = resumed.apply(EndCall())
    assert not res.ok and res.rule == "hold-active"
    assert "promise_to_pay" not in ended_outcomes(store)


# ---------------------------------------------------------------------------- resume after a withdrawal

def test_a_consent_withdrawn_on_another_call_is_not_in_force_on_a_resumed_call(lib, store, clock):
    """A resumed call adds the protections recorded since it started; a consent withdrawn since (on a
    later call, or from the command line) must end on it too: no special-category value stored."""
    first = call(lib, store, clock, start="texas")
    play(first, [{"next": None}, {"next": None}, {"consent": "given"}])
    first.apply(EndCall("referred"))
    clock.advance(hours=1)
    killed = call(lib, store, clock, start="texas")
    play(killed, [{"next": None}])
    assert killed.top.step_id == "consent-in-force"  # the consent from the first call stands; killed here
    clock.advance(minutes=5)
    third = call(lib, store, clock, start="wrap-up")
    assert third.withdraw_consent("health_disclosure").ok
    third.apply(EndCall("referred"))
    clock.advance(minutes=5)
    resumed = CallSession.resume(lib, store, killed.call_id, clock=clock)
    assert resumed.consents_in_force() == [] and not resumed.facts.consent_in_force("health_disclosure")
    resumed.apply({"cmd": "next", "choice": "consent-stands"})
    resumed.apply({"cmd": "answer", "values": {"category": "health", "impact": "Cannot read letters"}})
    assert not [e for e in store.call_entries(killed.call_id)
                if e.type == "answer" and e.data.get("sensitivity") == "special"]


# ---------------------------------------------------------------------------- hostile params from the bar or a script

@pytest.mark.parametrize("name,params", [
    ("start_hold", {"days": 99999999999, "reason": "Lost their job"}),
    ("schedule_callback", {"in_days": 10**30, "reason": "Asked for a call"}),
    ("start_hold", {"days": -3, "reason": "Lost their job"}),
    ("start_hold", {"days": 10**400, "reason": "Lost their job"}),
    ("start_hold", {"days": float("inf"), "reason": "Lost their job"}),
    ("schedule_callback", {"in_days": "99999999999", "reason": "Asked for a call"}),
])
def test_a_number_of_days_out_of_its_range_is_refused_in_one_line_and_the_call_still_resumes(
        lib, store, clock, name, params):
    s = call(lib, store, clock)
    res = s.apply(Action(name, params))
    assert not res.ok and res.rule == "bad-param" and "\n" not in res.reason
    assert not [e for e in store.call_entries(s.call_id) if e.type in ("global_action", "hold_started", "callback")]
    assert not s.state.hold_active
    resumed = CallSession.resume(lib, store, s.call_id, clock=clock)
    assert resumed.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok


# ---------------------------------------------------------------------------- outcome codes spelt another way

@pytest.mark.parametrize("code", ["Promise_To_Pay", " promise_to_pay", "arrangement-agreed", "PAYMENT_TAKEN",
                                  "promise_to_pay\n", "x" * 500])
def test_an_outcome_code_spelt_another_way_is_not_a_way_round_the_payment_rule(lib, store, clock, code):
    s = call(lib, store, clock, start="wrap-up")
    assert s.apply(Action("record_dispute", {"reason": "Says it is not their debt"})).ok
    for cmd in (SetOutcome(code), EndCall(code), Action("set_outcome", {"code": code})):
        res = s.apply(cmd)
        assert not res.ok and res.rule in ("dispute", "bad-outcome") and "\n" not in res.reason
    assert not [e for e in store.call_entries(s.call_id) if e.type in ("outcome", "call_ended")]


# ---------------------------------------------------------------------------- a walk script that cannot be read

@pytest.mark.parametrize("bad", ["{frobnicate: 1}", "{cmd: teleport}", "{back: many}", "{cmd: next, choice: 5}",
                                 # a key next to the event's own was dropped: the note saved plain, the hold
                                 # started without its reason
                                 "{note: 'Letters by post only', purpose: health_disclosure}",
                                 "{action: start_hold, params: {days: 30}, reason: Lost their job}",
                                 "{next: null, params: {x: 1}}"])
def test_a_walk_script_with_an_unreadable_event_changes_nothing(tmp_path, bad):
    """Every event is read before the call starts: one line naming the event, and nothing journalled
    (not a call half-walked up to that event, left unfinished in the journal)."""
    from click.testing import CliRunner

    from callguide.cli import main

    script = tmp_path / "s.yaml"
    script.write_text("- {answer: {identity_check: confirmed}}\n- {next: null}\n- {next: null}\n- " + bad + "\n",
                      encoding="utf-8")
    db = tmp_path / "walk.db"
    res = CliRunner().invoke(main, ["walk", str(ROOT / "flows" / "call-opening.yaml"), "--script", str(script),
                                    "--db", str(db), "--now", MONDAY])
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1 and "event 4" in lines[0] and "Traceback" not in res.output
    if db.exists():
        s = SQLiteJournal.open(db)
        try:
            assert s.unfinished_calls() == []
        finally:
            s.close()


@pytest.mark.parametrize("name,reason", [
    ("block_collection", ["Customer has cancer"]),
    ("record_dispute", {"why": "Customer has cancer"}),
    ("start_hold", ["Customer has cancer"]),
    ("unblock_collection", 12),
])
def test_a_typed_reason_that_is_not_text_does_not_go_round_the_word_lists(lib, store, clock, name, reason):
    """A health word inside a list or a mapping was not read by the word check (it reads text) and was
    kept as it came: a collection block's label in clear."""
    s = call(lib, store, clock)
    params = {"reason": reason, **({"days": 30} if name == "start_hold" else {})}
    res = s.apply(Action(name, params))
    assert not res.ok and res.rule == "bad-text"
    assert not [e for e in store.call_entries(s.call_id) if e.type not in ("call_started", "protocol_started",
                                                                            "step_shown", "blocked")]
    raw = b"".join(p.read_bytes() for p in Path(store.path).parent.glob("journal.db*") if p.is_file())
    assert b"cancer" not in raw.lower()


@pytest.mark.parametrize("reason,kept", [(["Customer has cancer"], None), (12, "12"), ({"a": "b"}, '{"a": "b"}')])
def test_an_escalation_goes_whatever_its_reason_came_as_and_keeps_it_as_checked_text(lib, store, clock, reason,
                                                                                     kept):
    from callguide.store.sealing import REASON_HELD_BACK

    s = call(lib, store, clock)
    assert s.apply(Action("refer_care_team", {"reason": reason})).ok
    esc = [e for e in store.call_entries(s.call_id) if e.type == "escalation"][-1]
    assert s.open_value(esc.data["reason"]) == (kept if kept is not None else REASON_HELD_BACK)
    raw = b"".join(p.read_bytes() for p in Path(store.path).parent.glob("journal.db*") if p.is_file())
    assert b"cancer" not in raw.lower()


# ---------------------------------------------------------------------------- the SMS survey from the bar

def test_no_sms_survey_from_the_bar_after_a_crisis_even_with_its_consent_in_force(lib, store, clock):
    """Wrap-up never asks for the survey after a crisis or with a capacity doubt (`survey-check`); the
    bar's `queue_sms_survey` with the consent given on an earlier call went round that."""
    first = call(lib, store, clock, start="wrap-up")
    play(first, [{"next": None}, {"next": "no-agreement"}, {"next": None}, {"next": "none"}])
    assert first.top.step_id == "survey-consent"
    first.apply({"cmd": "consent", "decision": "given"})
    first.apply(EndCall("no_agreement"))
    clock.advance(days=1)
    s = call(lib, store, clock)
    assert s.facts.consent_in_force("sms_survey")
    assert s.apply(Action("emergency", {"reason": "Said they would harm themselves"})).ok
    res = s.apply(Action("queue_sms_survey", {}))
    assert not res.ok and res.rule == "survey-not-now"
    assert not [e for e in store.call_entries(s.call_id) if e.type == "sms_survey"]


# ---------------------------------------------------------------------------- an arrangement from the bar

def test_an_arrangement_is_never_recorded_from_the_bar_straight_after_hello(lib, store, clock):
    """The bar's (or a script's) `record_arrangement` recorded an arrangement at the identity check, with
    no budget and no terms, and then the call could end as `arrangement_agreed`."""
    s = call(lib, store, clock)
    res = s.apply(Action("record_arrangement", {"fields": ["arrangement_amount"]}))
    assert not res.ok and res.rule == "step-only"
    res = s.apply(EndCall("arrangement_agreed"))
    assert not res.ok and res.rule == "outcome-unsupported"
    assert not [e for e in store.call_entries(s.call_id) if e.type in ("arrangement", "call_ended")]


# ---------------------------------------------------------------------------- calls --unfinished

@pytest.mark.parametrize("hours", ["1e400", "nan", "-1", "99999999999"])
def test_calls_unfinished_refuses_an_impossible_wait_in_one_line_and_closes_nothing(tmp_path, lib, clock, hours):
    from click.testing import CliRunner

    from callguide.cli import main

    db = tmp_path / "journal.db"
    store = SQLiteJournal.open(db)
    call(lib, store, clock)  # killed
    store.close()
    res = CliRunner().invoke(main, ["calls", "--unfinished", "--db", str(db), "--abandon-after", hours])
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1 and "--abandon-after" in lines[0], res.output
    store = SQLiteJournal.open(db)
    try:
        assert len(store.unfinished_calls()) == 1
    finally:
        store.close()


def test_an_unreadable_abandon_after_setting_falls_back_to_the_default(monkeypatch):
    import datetime as dt

    from callguide.engine.lifecycle import abandon_after

    for raw in ("1e400", "nan", "soon"):
        monkeypatch.setenv("CALLGUIDE_ABANDON_AFTER_HOURS", raw)
        assert abandon_after() == dt.timedelta(hours=72)


@pytest.mark.parametrize("now", ["9999-12-31T12:00:00+00:00", "0001-01-01T00:30:00+00:00"])
def test_walk_refuses_a_clock_no_date_can_be_worked_out_from_in_one_line(tmp_path, now):
    """`--now 9999-12-31…` and a hold: its end date overflowed, a traceback, and a journal whose
    resume crashed the same way."""
    from click.testing import CliRunner

    from callguide.cli import main

    script = tmp_path / "s.yaml"
    script.write_text("- {action: start_hold, params: {days: 30, reason: Lost their job}}\n", encoding="utf-8")
    db = tmp_path / "walk.db"
    res = CliRunner().invoke(main, ["walk", str(ROOT / "flows" / "call-opening.yaml"), "--script", str(script),
                                    "--db", str(db), "--now", now])
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1 and "--now" in lines[0] and "Traceback" not in res.output


# ---------------------------------------------------------------------------- a withdrawal from the bar

@pytest.mark.parametrize("purpose", ["personal", "health_disclosure", "anything"])
def test_the_bar_cannot_destroy_a_key_no_consent_in_force_names(lib, store, clock, purpose):
    """`Withdraw` needs a consent in force; the bar's `withdraw_consent` did not, so any agent could
    destroy the account's personal key (an erasure, without the role or a tombstone): every earlier
    note, name and answer then read "withdrawn"."""
    first = call(lib, store, clock)
    assert first.apply({"cmd": "note", "text": "Customer prefers email"}).ok
    first.apply(EndCall("referred"))
    s = call(lib, store, clock)
    res = s.apply(Action("withdraw_consent", {"purpose": purpose}))
    assert not res.ok and res.rule == "no-consent"
    assert not [e for e in store.account_entries("D-1") if e.type == "consent_withdrawn"]
    note = next(e for e in store.account_entries("D-1") if e.type == "note")
    assert s.open_value(note.data["text"]) == "Customer prefers email"


def test_a_consent_in_force_is_still_withdrawn_from_the_bar_and_on_texas_own_step(lib, store, clock):
    first = call(lib, store, clock, start="texas")
    play(first, [{"next": None}, {"next": None}, {"consent": "given"}])
    assert first.apply(Action("withdraw_consent", {"purpose": "health_disclosure"})).ok
    first.apply(EndCall("referred"))
    second = call(lib, store, clock, start="texas")
    play(second, [{"next": None}, {"next": None}, {"consent": "given"}])
    third = call(lib, store, clock, start="texas")
    play(third, [{"next": None}])
    assert third.top.step_id == "consent-in-force"
    play(third, [{"next": "withdraw"}, {"next": None}])
    assert not third.facts.consent_in_force("health_disclosure")
    assert len([e for e in store.account_entries("D-1") if e.type == "consent_withdrawn"]) == 2


@pytest.mark.parametrize("name,params", [
    ("record_vulnerability", {"fields": 5}),
    ("record_vulnerability", {"fields": [["category"]]}),
    ("record_contact_reason", {"reason": ["customer_request"]}),
    ("record_adjustment", {"fields": "contact_times"}),
])
def test_an_action_param_of_the_wrong_shape_is_refused_before_anything_is_journalled(lib, store, clock, name, params):
    """`fields: 5` crashed the executor with a traceback after `global_action` was journalled: the
    call, and every resume of it, crashed the same way."""
    s = call(lib, store, clock)
    res = s.apply(Action(name, params))
    assert not res.ok and res.rule == "bad-value"
    assert not [e for e in store.call_entries(s.call_id) if e.type == "global_action"]
    assert CallSession.resume(lib, store, s.call_id, clock=clock).top is not None


@pytest.mark.parametrize("name,params", [
    ("start_hold", {"days": 30, "reason": "Lost their job", "extra": "Customer has cancer"}),
    ("signpost", {"kind": "crisis", "note": "She has cancer"}),
    ("offer_debrief", {"why": "Customer has cancer"}),
    ("refer_care_team", {"reason": "Call back", "detail": "Customer has cancer"}),
])
def test_a_param_the_action_does_not_declare_is_refused_and_never_journalled(lib, store, clock, name, params):
    """The executor never reads a param its action does not declare, but the command was journalled
    with it: a health word there went round the word lists and was kept under the personal key (a
    withdrawal never shreds it), with no consent."""
    s = call(lib, store, clock)
    res = s.apply(Action(name, params))
    assert not res.ok and res.rule == "bad-value"
    assert not [e for e in store.call_entries(s.call_id) if e.type not in ("call_started", "protocol_started",
                                                                            "step_shown", "blocked")]
    opened = json.dumps([{k: s.open_value(v) for k, v in e.data.items()} for e in store.call_entries(s.call_id)],
                        default=str)
    assert "cancer" not in opened.lower()
    assert s.apply(Action(name, {k: v for k, v in params.items() if "cancer" not in str(v)})).ok


# ---------------------------------------------------------------------------- what a person typed, refused

@pytest.mark.parametrize("cmd", [SetOutcome("customer_has_cancer"), EndCall("terminal_cancer_diagnosis"),
                                 Action("set_outcome", {"code": "customer_has_cancer"})])
def test_an_outcome_the_call_does_not_offer_is_refused_and_never_kept_as_typed(lib, store, clock, cmd):
    """Any lowercase id was taken as the call's outcome and kept in clear in `outcome`, `call_ended`
    and the summary: an outcome code that said what the customer has."""
    s = call(lib, store, clock, start="wrap-up")
    res = s.apply(cmd)
    assert not res.ok and res.rule == "outcome-unknown" and not s.ended
    raw = b"".join(p.read_bytes() for p in Path(store.path).parent.glob("journal.db*") if p.is_file())
    assert b"cancer" not in raw.lower()
    assert s.apply(EndCall("referred")).ok


@pytest.mark.parametrize("cmd", [
    Interrupt("Customer has cancer"), Withdraw("her cancer"), SetOutcome("Customer has cancer"),
    ChangeLanguage("cancer"), Action("Customer has cancer"), Answer({"identity_check": "confirmed"}, "her cancer"),
    Note("Call back Tuesday", "her cancer"), Action("start_hold", {"days": 3, "her cancer": 1}),
    Action("offer_debrief", {"Customer has cancer": "x"}),
])
def test_a_refused_command_never_keeps_what_was_typed_in_its_blocked_entry(lib, store, clock, cmd):
    """A refused command's `blocked` entry named what it named, in clear: a protocol, a consent purpose,
    an outcome, a language, an action or a param's name typed as 'Customer has cancer' was journalled
    as typed (`blocked {action: "interrupt:Customer has cancer", reason: "No protocol 'Customer has
    cancer'."}`). Only what the library knows is named there; the caller still hears the reason."""
    s = call(lib, store, clock)
    res = s.apply(cmd)
    assert not res.ok
    blocked = [e.data for e in store.call_entries(s.call_id) if e.type == "blocked"]
    assert blocked and blocked[-1]["rule"] == res.rule
    raw = b"".join(p.read_bytes() for p in Path(store.path).parent.glob("journal.db*") if p.is_file())
    assert b"cancer" not in raw.lower()


def test_a_refused_command_naming_what_the_library_knows_still_says_so_in_its_blocked_entry(lib, store, clock):
    s = call(lib, store, clock, start="wrap-up")
    assert s.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok
    assert not s.apply(SetOutcome("promise_to_pay")).ok
    assert not s.apply(Withdraw("health_disclosure")).ok
    blocked = [e.data for e in store.call_entries(s.call_id) if e.type == "blocked"]
    assert [(b["action"], b["rule"]) for b in blocked[-2:]] == [("outcome:promise_to_pay", "hold-active"),
                                                                ("withdraw:health_disclosure", "no-consent")]


@pytest.mark.parametrize("action", ["record_adjustment", "record_third_party"])
def test_a_special_yes_no_copied_into_a_record_is_sealed_under_its_consent_and_shredded_with_it(lib, store, clock,
                                                                                                 action):
    """A record's special-category values were sealed under their consent only when their text was found
    in the entry (a string of three characters or more): IDEA's `episodic` (yes/no, health consent) in
    an adjustment recorded from the bar was sealed under the personal key and stayed readable after
    the customer withdrew the consent. The third-party record declared its `fields` personal only
    (entry_types): the same value in it stayed under the personal key too."""
    from callguide.store.sealing import Gone

    s = call(lib, store, clock, start="idea")
    assert s.top.step.kind == "consent" and s.apply(Consent("given")).ok
    while s.top.step_id != "episodes":
        step = s.top.step
        values = {f.id: "Finds letters hard" if f.type == "text" else f.choices[0].value for f in step.fields}
        assert (not values or s.apply(Answer(values)).ok) and s.apply(Next()).ok
    assert s.apply(Answer({"episodic": "yes"})).ok
    assert s.apply(Action(action, {"fields": ["episodic"]})).ok
    assert s.apply(Withdraw("health_disclosure")).ok
    record = [e for e in store.call_entries(s.call_id) if e.type == action.removeprefix("record_")][-1]
    assert isinstance(s.open_value(record.data["fields"])["episodic"], Gone)


@pytest.mark.parametrize("reason", ["{{ paid_in_full }}", "{% if x %}paid{% endif %}", "Paid {in full}"])
def test_a_typed_reason_with_braces_is_text_at_every_check(lib, store, clock, reason):
    """What a person typed is text (the action keeps it as typed), but the gate's check that ending a
    hold has a reason worked it out as a template: refused as no reason at all, with a `flow_problem`
    journalled that quoted what was typed."""
    s = call(lib, store, clock, start="wrap-up")
    assert s.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok
    assert s.apply(Action("end_hold", {"reason": reason})).ok
    ended = [e for e in store.call_entries(s.call_id) if e.type == "hold_ended"]
    assert [s.open_value(e.data["reason"]) for e in ended] == [reason]
    assert not [e for e in store.call_entries(s.call_id) if e.type == "flow_problem"]


# ---------------------------------------------------------------------------- who goes on with a resumed call

def test_an_agent_who_resumes_a_care_team_members_call_does_not_get_the_care_teams_roles(lib, store, clock):
    """A resumed call ran every later command under the roles of the person who started it: an agent
    who resumed a care-team member's killed call could close the account's capacity doubt
    (`clear_capacity_doubt`, care team only), journalled under the care-team member's id."""
    from callguide.identity import Person

    care = Person("bo", "Bo Nielsen", frozenset({"care_team"}))
    agent = Person("anna", "Anna Jensen", frozenset({"agent"}))
    first = call(lib, store, clock, start="wrap-up")
    assert first.apply(Action("flag_capacity_doubt", {"reason": "Confused about dates"})).ok
    first.apply(EndCall("referred"))
    s = CallSession.start(lib, store, Account("D-1", "Oliver Smith", "UK", "en", "1200.00"), "bo",
                          start_flow="wrap-up", clock=clock, auto_wrap_up=False, person=care)
    call_id = s.call_id  # killed here
    resumed = CallSession.resume(lib, store, call_id, clock=clock, person=agent)
    res = resumed.apply(Action("clear_capacity_doubt", {"reason": "Seems fine now"}))
    assert not res.ok and res.rule == "review-role"
    assert resumed.state.capacity_doubt
    assert resumed.apply(Action("refer_care_team", {"reason": "Capacity review"})).ok
    assert [e.agent for e in store.call_entries(call_id) if e.type == "escalation"] == ["anna"]
    again = CallSession.resume(lib, store, call_id, clock=clock, person=care)  # replayed as it was accepted
    assert again.state.capacity_doubt and len(again.records) == len(store.call_entries(call_id))
    assert again.apply(Action("clear_capacity_doubt", {"reason": "Reviewed with the customer"})).ok


# ---------------------------------------------------------------------------- contact hours on a resume

def test_a_call_resumed_outside_the_customers_contact_hours_is_refused_collection_as_a_new_call_is(lib, store):
    """The contact-time rule was asked only when a call started: a call started at 21:50 in Prague,
    killed and resumed at 22:40, could go on to a payment outcome, when a new call at 22:40 could not."""
    import datetime as dt

    clock = FixedClock("2026-11-23T20:50:00+00:00", step_seconds=1)  # 21:50 in Prague
    s = CallSession.start(lib, store, Account("C-1", "Jana Nováková", "CZ", "cs", "24000,00"), "agent-7",
                          start_flow="wrap-up", clock=clock, auto_wrap_up=False)
    assert not s.state.out_of_hours
    clock.set(dt.datetime.fromisoformat("2026-11-23T21:40:00+00:00"))  # 22:40: killed, resumed
    resumed = CallSession.resume(lib, store, s.call_id, clock=clock)
    res = resumed.apply(SetOutcome("promise_to_pay"))
    assert not res.ok and res.rule == "contact-hours"
    again = CallSession.resume(lib, store, s.call_id, clock=clock)  # the refusal is journalled: replayed alike
    assert again.state.contact_refused and again.apply(EndCall("promise_to_pay")).rule == "contact-hours"
    assert again.apply(Action("record_contact_reason", {"reason": "customer_request"})).ok
    assert again.apply(SetOutcome("promise_to_pay")).ok
    clock.set(dt.datetime.fromisoformat("2026-11-23T21:50:00+00:00"))  # killed again: called again at 22:50
    later = CallSession.resume(lib, store, s.call_id, clock=clock)
    assert later.state.contact_refused and later.apply(EndCall()).rule == "contact-hours"
    clock.set(dt.datetime.fromisoformat("2026-11-24T06:30:00+00:00"))  # in the morning: never lifted by a resume
    morning = CallSession.resume(lib, store, s.call_id, clock=clock)  # (it may be the same phone call)
    assert morning.state.contact_refused and morning.apply(EndCall()).rule == "contact-hours"
    assert [e.data["allowed"] for e in store.call_entries(s.call_id) if e.type == "contact_time"] == [False, False]


# ---------------------------------------------------------------------------- written elsewhere while the call runs

def test_a_consent_withdrawn_in_another_window_ends_on_the_running_call(lib, store, clock, tmp_path):
    """Another process (another window, the command line) withdraws the consent while a call that
    relies on it is running: the call's next command sees it (the journal changed under it), the
    consent ends there too, journalled, and no special-category value is stored under it."""
    first = call(lib, store, clock, start="texas")
    play(first, [{"next": None}, {"next": None}, {"consent": "given"}])
    first.apply(EndCall("referred"))
    clock.advance(hours=1)
    live = call(lib, store, clock, start="texas")
    play(live, [{"next": None}])
    assert live.top.step_id == "consent-in-force" and live.facts.consent_in_force("health_disclosure")
    other = SQLiteJournal.open(tmp_path / "journal.db")  # its own connection, like another process
    try:
        elsewhere = CallSession.start(lib, other, Account("D-1", "Dana", "UK"), "agent-8", start_flow="wrap-up",
                                      clock=clock, auto_wrap_up=False)
        assert elsewhere.withdraw_consent("health_disclosure").ok
        elsewhere.apply(EndCall("referred"))
    finally:
        other.close()
    live.apply({"cmd": "next", "choice": "consent-stands"})
    live.apply({"cmd": "answer", "values": {"category": "health", "impact": "Cannot read letters"}})
    assert not live.facts.consent_in_force("health_disclosure") and live.consents_in_force() == []
    entries = store.call_entries(live.call_id)
    assert not [e for e in entries if e.type == "answer" and e.data.get("sensitivity") == "special"]
    received = [e for e in entries if e.type == "protections_received"]
    assert [e.data.get("consents_ended") for e in received] == [["health_disclosure"]]
    # Resumed, it is the same call: the ending replayed at the same point.
    again = CallSession.resume(lib, store, live.call_id, clock=clock)
    assert (again.top.flow.id, again.top.step_id) == (live.top.flow.id, live.top.step_id)
    assert again.consents_in_force() == [] and again.values == live.values
    assert store.verify().ok


def test_a_hold_started_in_another_window_blocks_payment_on_the_running_call(lib, store, clock, tmp_path):
    live = call(lib, store, clock, start="wrap-up")
    other = SQLiteJournal.open(tmp_path / "journal.db")
    try:
        elsewhere = CallSession.start(lib, other, Account("D-1", "Dana", "UK"), "agent-8", start_flow="wrap-up",
                                      clock=clock, auto_wrap_up=False)
        assert elsewhere.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok
        elsewhere.apply(EndCall("on_hold"))
    finally:
        other.close()
    res = live.apply(SetOutcome("promise_to_pay"))
    assert not res.ok and res.rule == "hold-active" and live.state.hold_active
    received = [e for e in store.call_entries(live.call_id) if e.type == "protections_received"]
    assert [e.data["raised"] for e in received] == [["hold"]]
    assert live.apply(EndCall("on_hold")).ok


# ---------------------------------------------------------------------------- the account a call is about

@pytest.mark.parametrize("account_id", ["", "   ", " D-1", "D-1 ", "D-1\n", "D\x00-1", "D-1\u00a0", "x" * 129])
def test_a_call_for_an_account_id_with_space_around_it_is_refused_in_one_line(lib, store, clock, account_id):
    """" D-1" is not "D-1": a call started for it would see none of D-1's protections (a hold, a
    dispute, a capacity doubt). Refused before anything is written."""
    held = call(lib, store, clock, start="wrap-up")
    assert held.apply(Action("start_hold", {"days": 30, "reason": "Lost their job"})).ok
    held.apply(EndCall("on_hold"))
    before = store.verify().checked
    with pytest.raises(EngineError) as err:
        call(lib, store, clock, start="wrap-up", account_id=account_id)
    assert "\n" not in str(err.value) and "ccount id" in str(err.value)
    assert store.verify().checked == before


@pytest.mark.parametrize("args", [
    ["walk", str(ROOT / "flows" / "wrap-up.yaml"), "--script", "SCRIPT", "--account", " D-1", "--db", "DB"],
    ["history", "--account", " D-1", "--db", "DB"],
    ["review", "dispute", "--account", "D-1 ", "--result", "debt_confirmed", "--by", "sam", "--db", "DB"],
    ["privacy", "withdraw", "--account", "", "--purpose", "health_disclosure", "--db", "DB"],
])
def test_every_account_option_refuses_an_id_with_space_around_it_in_one_line(tmp_path, args):
    """`history --account " D-1"` would say "nothing recorded" of an account on hold: wrong information
    shown as right. Every `--account` of the command line applies the engine's rule, in one line."""
    from click.testing import CliRunner

    from callguide.cli import main

    db = tmp_path / "j.db"
    script = tmp_path / "s.yaml"
    script.write_text("- {next: null}\n", encoding="utf-8")
    args = [str(db) if a == "DB" else str(script) if a == "SCRIPT" else a for a in args]
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "ccount id" in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert not db.exists() or SQLiteJournal.open(db).verify().checked == 0

