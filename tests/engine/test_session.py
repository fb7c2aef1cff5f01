"""The engine on real flows (tests/engine/flows) and a real SQLite journal."""

from __future__ import annotations

from callguide.engine.session import CallSession, EngineError
from tests.engine.conftest import of_type, types


def _to_offer(s):
    assert s.next()
    assert s.answer({"income": "1000", "spend": "400"})
    assert s.next()


def test_start_journals_the_call_and_renders_the_first_step(start, store):
    s = start()
    v = s.view()
    assert v.say == "Hello Jo Bloggs"
    assert v.breadcrumbs == [("main", "Main")]
    assert types(s)[:3] == ["call_started", "protocol_started", "step_shown"]
    first = store.call_entries(s.call_id)
    assert all(e.flow_hash == s.flows["main"].content_hash for e in first[1:])
    assert "Jo Bloggs" not in str(first[2].data)  # sealed: the customer's name is personal data
    assert s.open_value(first[2].data["say"]) == "Hello Jo Bloggs"  # what the agent was shown
    assert store.flow_snapshot(s.flows["main"].content_hash) == s.flows["main"].source_text


def test_field_errors_are_plain_and_nothing_invalid_is_stored(start):
    s = start()
    s.next()
    res = s.answer({"income": "lots", "spend": "-5"})
    assert not res.ok
    assert res.errors["income"].startswith("Enter an amount")
    assert res.errors["spend"] == "Must be at least 0."
    assert of_type(s, "answer") == []
    missing = s.next()
    assert not missing.ok and set(missing.errors) == {"income", "spend"}
    assert s.top.step_id == "income"


def test_money_is_read_in_the_call_language(start):
    s = start()
    s.next()
    assert s.answer({"income": "1,234.50", "spend": "1000"})
    assert str(s.values["income"]) == "1234.50" and str(s.values["spend"]) == "1000.00"
    res = s.answer({"income": "1.234,50"})  # a Danish spelling on an English call is not guessed at
    assert not res.ok and res.error_codes["income"][0] == "enter_amount"
    s.set_lang("da")
    assert s.answer({"income": "1.234,50", "spend": "12,50"})
    assert str(s.values["income"]) == "1234.50" and str(s.values["spend"]) == "12.50"
    for bad in ("NaN", "Infinity", "1e999999", "{{7*7}}"):
        res = s.answer({"income": bad})
        assert not res.ok and str(s.values["income"]) == "1234.50", bad


def test_hidden_field_is_cleared_and_not_required(start):
    s = start()
    s.next()
    s.answer({"income": "100", "spend": "10", "employer": "ACME"})
    assert s.values["employer"] == "ACME"
    s.answer({"income": "0"})
    s.next()
    assert "employer" not in s.values


def test_decision_step_advances_by_itself(start):
    s = start()
    _to_offer(s)
    assert s.visited[-2:] == ["main/route", "main/offer"]
    assert s.taken[-1] == ("main", "route", 0)


def test_negative_budget_goes_to_hold_and_hold_blocks_payment(start):
    s = start()
    s.next()
    s.answer({"income": "100", "spend": "400"})
    s.next()
    assert s.top.step_id == "hold-it"
    s.next()
    hold = of_type(s, "hold_started")[0]
    assert hold["data"]["until"] == "2026-12-22" and hold["data"]["days"] == 30
    assert of_type(s, "signpost")[0]["data"]["entries"] == [{"name": "National Debtline"}]
    assert s.state.hold_active
    assert not s.interrupt("pay").ok  # pay is not an interrupt-able protocol while on hold
    assert of_type(s, "blocked")[-1]["data"]["rule"] == "hold-active"


def test_interrupt_resumes_the_exact_step_with_breadcrumbs(start):
    s = start()
    s.next()
    s.answer({"income": "1000"})
    assert s.interrupt("disclose")
    assert [b[0] for b in s.view().breadcrumbs] == ["main", "disclose"]
    s.consent("declined")
    s.next()
    assert s.top.flow.id == "main" and s.top.step_id == "income"
    assert s.values["income"] == 1000  # the answer given before the interrupt survives
    ended = of_type(s, "protocol_ended")[-1]["data"]
    assert ended["resumes"] == {"flow": "main", "step": "income"}


def test_declined_consent_stores_no_special_detail(start, db_path):
    s = start()
    s.next()
    s.interrupt("disclose")
    s.consent("declined")
    assert s.top.step_id == "declined"
    s.next()
    # not even reachable now; and a special field refuses a value without consent
    assert of_type(s, "disclosure")[0]["data"] == {"review_date": "2027-02-20", "consent": "declined"}
    assert of_type(s, "vulnerability") == []
    s.end_call()
    assert b"cancer" not in db_path.read_bytes()


def test_special_field_refused_without_consent(lib, store, clock):
    # Start the disclosure flow and try to answer on the capture step without having consent.
    s = CallSession.start(lib, store, __import__("callguide.engine.session", fromlist=["Account"]).Account("A2"),
                          "a", start_flow="disclose", clock=clock, auto_wrap_up=False)
    s.consent("given")
    s.withdraw_consent("health_disclosure")
    res = s.answer({"condition": "cancer"})
    assert not res.ok and "consent" in res.errors["condition"]
    assert s.view().fields[0].enabled is False


def test_consent_given_records_hash_of_wording_and_detail(start):
    s = start()
    s.next()
    s.interrupt("disclose")
    s.consent("given")
    c = of_type(s, "consent")[0]["data"]
    import hashlib
    assert c["wording_hash"] == hashlib.sha256(b"May I record that?").hexdigest()
    assert c["decision"] == "given" and c["purpose"] == "health_disclosure"
    s.answer({"condition": "cancer", "contact_pref": "email"})
    s.next()
    s.next()
    v = of_type(s, "vulnerability")[0]["data"]
    assert v["fields"] == {"condition": "cancer"} and v["consent"] == ["health_disclosure"]
    assert of_type(s, "adjustment")[0]["data"]["fields"] == {"contact_pref": "email"}


def test_capacity_doubt_blocks_payment_visibly(start):
    s = start()
    _to_offer(s)
    s.interrupt("doubt")
    s.next("remains")
    s.next()
    assert s.top.step_id == "offer"
    view = s.view()
    yes = next(c for c in view.choices if c.id == "yes")
    assert not yes.enabled and yes.rule == "capacity-doubt"
    res = s.next("yes")
    assert not res.ok and res.rule == "capacity-doubt"
    assert s.top.step_id == "offer"
    blocked = of_type(s, "blocked")[-1]["data"]
    assert blocked["rule"] == "capacity-doubt" and "capacity" in blocked["reason"]
    assert of_type(s, "escalation")[0]["data"]["kind"] == "care_team"


def test_payment_runs_as_a_nested_protocol_and_returns(start):
    s = start()
    _to_offer(s)
    assert s.next("yes")  # the hand-over step only starts `pay`: it runs by itself, no dead screen
    assert [b[0] for b in s.view().breadcrumbs] == ["main", "pay"]
    assert "main/pay" in s.visited and s.top.step_id == "terms"
    handover = [r for r in of_type(s, "step_committed") if r["step"] == "pay"]
    assert handover and handover[0]["data"]["auto"] is True and "input" not in handover[0]["data"]
    s.answer({"instalment": "50"})
    s.next()
    s.next()
    assert of_type(s, "arrangement")[0]["data"]["fields"] == {"instalment": "50.00"}
    assert s.top.step_id == "done"
    s.next()
    assert s.root_outcome == "paid" and s.flows_complete


def test_crisis_blocks_collection_and_uses_the_country_number(start):
    s = start(country="DK")
    _to_offer(s)
    assert s.interrupt("crisis")
    assert s.state.crisis
    assert "112" not in s.view().say  # only the UK text of this test flow mentions the number
    s.set_lang("en")
    assert "Emergency: 112" in s.view().say
    s.next("danger")
    s.next()
    esc = [r["data"] for r in of_type(s, "escalation")]
    assert {"kind": "emergency", "number": "112"}.items() <= esc[0].items()
    assert esc[1]["kind"] == "supervisor"
    s.next()  # crisis outcome: hold pending review
    assert s.state.hold_active
    assert not s.next("yes").ok  # back at the offer: payment is refused
    assert of_type(s, "blocked")[-1]["data"]["rule"] == "crisis"


def test_priority_refuses_lower_interrupts_during_crisis(start):
    s = start()
    s.interrupt("crisis")
    res = s.interrupt("disclose")
    assert not res.ok and res.rule == "priority"
    assert not s.interrupt("crisis").ok  # already running
    view = s.view()
    assert {i.protocol: i.enabled for i in view.interrupts}["disclose"] is False


def test_back_retracts_answers_keeps_side_effects_and_is_journalled(start):
    s = start()
    s.next()
    s.answer({"income": "100", "spend": "400"})
    s.next()
    s.next()  # hold-it committed: hold started
    assert s.top.step_id == "held"
    assert s.back(1)
    assert s.top.step_id == "hold-it"
    assert s.back(1)
    assert s.top.step_id == "income"
    back = of_type(s, "back")[-1]["data"]
    assert back["to"] == "income"
    assert of_type(s, "back")[0]["data"]["side_effects_kept"] == []
    assert s.values["income"] == 100  # the step returned to keeps its answers as they were
    s.next()
    s.next()  # hold-it again: the hold is not started twice
    assert len(of_type(s, "hold_started")) == 1
    assert not s.back(5).ok


def test_back_cannot_leave_the_protocol(start):
    s = start()
    res = s.back()
    assert not res.ok and res.rule == "back-limit"


def test_resume_replays_to_the_same_step_and_state(start, lib, store):
    s = start()
    _to_offer(s)
    s.interrupt("disclose")
    s.consent("given")
    s.answer({"condition": "asthma"})
    r = CallSession.resume(lib, store, s.call_id)
    assert (r.top.flow.id, r.top.step_id) == ("disclose", "details")
    assert r.values == s.values and r.consents == s.consents
    assert r.visited == s.visited
    assert [b[0] for b in r.view().breadcrumbs] == ["main", "disclose"]
    assert store.call_entries(s.call_id)[-1].type == "call_resumed"
    r.next()
    r.next()
    assert r.top.step_id == "offer"


def test_resume_uses_the_pinned_version_even_if_the_file_changed(start, lib, store):
    import dataclasses

    s = start()
    s.next()
    changed = dict(lib.flows)
    changed["main"] = dataclasses.replace(lib.flows["main"], content_hash="0" * 64)
    newer = type(lib)(flows=changed, signposts=lib.signposts)
    r = CallSession.resume(newer, store, s.call_id)
    assert r.flows["main"].content_hash == s.flows["main"].content_hash
    assert r.top.step_id == "income"


def test_resume_refuses_ended_or_unknown_calls(start, lib, store):
    s = start()
    s.end_call()
    import pytest
    with pytest.raises(EngineError):
        CallSession.resume(lib, store, s.call_id)
    with pytest.raises(EngineError):
        CallSession.resume(lib, store, "nope")


def test_listeners_hear_every_change(start):
    s = start()
    heard = []
    s.subscribe(lambda ev, payload: heard.append(ev))
    s.next()
    assert "entries_written" in heard and "step_entered" in heard and heard[-1] == "changed"
    heard.clear()
    s.back()
    s.next()
    s.answer({"income": "1000", "spend": "400"})
    s.next()
    s.interrupt("doubt")
    s.next("remains")
    s.next()
    s.next("yes")
    assert "blocked" in heard


def test_a_later_call_sees_the_hold_and_vulnerability(start, lib, store, clock):
    s = start()
    s.next()
    s.interrupt("disclose")
    s.consent("given")
    s.answer({"condition": "asthma", "contact_pref": "letter"})
    s.next()
    s.next()
    s.answer({"income": "1", "spend": "5"})
    s.next()
    s.next()
    s.end_call("hold")
    clock.advance(days=3)
    later = start()
    h = later.history
    assert len(h.holds) == 1 and h.holds[0]["until"] == "2026-12-22"
    assert h.vulnerabilities[0]["fields"] == {"condition": "asthma"}
    assert h.adjustments == {"contact_pref": "letter"}
    assert h.consents["health_disclosure"]["decision"] == "given"
    assert later.state.hold_active
    assert later.call_id != s.call_id


def test_end_call_summarises_what_was_recorded(start):
    s = start()
    s.next()
    s.answer({"income": "1", "spend": "5"})
    s.next()
    s.next()
    s.end_call("hold")
    ended = of_type(s, "call_ended")[0]["data"]
    assert ended["outcome"] == "hold"
    assert ended["summary"]["items"]["hold_started"][0]["days"] == 30
    assert ended["open_protocols"] == ["main"]
    with __import__("pytest").raises(EngineError):
        s.next()


def test_unknown_country_is_a_clear_error(lib, store, clock):
    import pytest

    from callguide.engine.session import Account
    with pytest.raises(EngineError, match="No signposts for country 'SE'"):
        CallSession.start(lib, store, Account("X", country="SE"), "a", start_flow="main", clock=clock)


def test_one_operation_is_one_durable_transaction(start, store):
    s = start()
    before = store.count()
    s.next()
    entries = store.call_entries(s.call_id)
    assert store.count() == before + 1  # a plain Next: one entry (docs/journal.md, "What a step writes")
    assert entries[-1].type == "step_shown" and entries[-1].data["input"] == {"cmd": "next", "choice": None}
    assert entries[-1].data["committed"] == entries[-2].step_id


def test_refusals_and_field_errors_carry_codes_and_params_for_translation(start):
    s = start()
    s.next()
    res = s.answer({"income": "-3", "spend": "abc"})
    assert res.error_codes == {"income": ("at_least", {"n": "0"}), "spend": ("enter_amount", {"example": "1,234.50"})}
    assert s.next().error_codes == {"income": ("required", {}), "spend": ("required", {})}
    s.answer({"income": "1", "spend": "5"})
    s.next()
    s.next()
    res = s.interrupt("pay")
    assert res.rule == "hold-active" and res.params == {"until": "2026-12-22"}
    s.interrupt("crisis")
    res = s.interrupt("doubt")
    assert res.rule == "priority" and res.params == {"running": "crisis", "requested": "doubt"}
    views = {i.protocol: i for i in s.view().interrupts}
    assert views["doubt"].rule == "priority" and views["doubt"].reason_params["running"] == "crisis"


def test_the_engine_executes_exactly_the_actions_the_validator_accepts():
    from callguide.engine.actions import EXECUTORS
    from callguide.flow.actions import ACTION_SPECS

    assert set(EXECUTORS) == set(ACTION_SPECS)
