"""account_state, field by field (docs/journal.md, "Derived account state")."""

from __future__ import annotations

import datetime as dt

TODAY = dt.date(2026, 3, 10)


def test_empty_account(journal):
    state = journal.account_state("nobody", TODAY)
    assert state.account_id == "nobody"
    assert state.is_empty() and state.calls == 0 and not state.hold_active


def test_holds_expiring_and_ended(journal, make_entry):
    journal.append(make_entry("hold_started", {"days": 30, "until": "2026-03-09", "reason": "expired"}))
    journal.append(make_entry("hold_started", {"days": 30, "until": "2026-03-10", "reason": "last day"}))
    state = journal.account_state("A1", TODAY)
    assert [h["reason"] for h in state.holds] == ["last day"]
    assert state.hold_active
    assert state.holds[0]["seq"] == 2 and state.holds[0]["days"] == 30 and "ts" in state.holds[0]
    # The next day it has expired.
    assert not journal.account_state("A1", TODAY + dt.timedelta(days=1)).hold_active
    # hold_ended (even from another call) ends every earlier hold ...
    journal.append(make_entry("hold_ended", {"reason": "back in work"}, call_id="C2"))
    assert journal.account_state("A1", TODAY).holds == []
    # ... but not a later one.
    journal.append(make_entry("hold_started", {"days": 60, "until": "2026-05-01", "reason": "again"}, call_id="C3"))
    assert [h["reason"] for h in journal.account_state("A1", TODAY).holds] == ["again"]
    # Other accounts' hold_ended entries do not count.
    journal.append(make_entry("hold_ended", {"reason": "x"}, account_id="A2"))
    assert journal.account_state("A1", TODAY).hold_active


def test_vulnerability_review_date(journal, make_entry):
    journal.append(make_entry("vulnerability", {"fields": {"category": "health"}, "review_date": "2026-03-09",
                                                "consent": "health_disclosure"}))
    journal.append(make_entry("vulnerability", {"fields": {"category": "bereavement"}, "category": "life_event",
                                                "review_date": "2026-03-10", "consent": "health_disclosure"}))
    state = journal.account_state("A1", TODAY)
    assert [v["fields"] for v in state.vulnerabilities] == [{"category": "bereavement"}]
    v = state.vulnerabilities[0]
    assert (v["category"], v["review_date"], v["consent"], v["seq"]) == ("life_event", "2026-03-10",
                                                                          "health_disclosure", 2)
    assert journal.account_state("A1", dt.date(2026, 3, 11)).vulnerabilities == []


def test_consent_withdrawn_hides_vulnerability_detail(journal, make_entry):
    journal.append(make_entry("consent", {"purpose": "health_disclosure", "decision": "given",
                                          "wording_hash": "w1", "wording_lang": "en", "wording": "ok?"}))
    journal.append(make_entry("vulnerability", {"fields": {"condition": "x"}, "review_date": "2026-12-31",
                                                "consent": "health_disclosure"}))
    journal.append(make_entry("vulnerability", {"fields": {"needs": "large print"}, "review_date": "2026-12-31",
                                                "consent": "other_purpose"}))
    state = journal.account_state("A1", TODAY)
    assert len(state.vulnerabilities) == 2
    assert state.consents["health_disclosure"]["decision"] == "given"
    journal.append(make_entry("consent_withdrawn", {"purpose": "health_disclosure"}, call_id="C2"))
    state = journal.account_state("A1", TODAY)
    assert [v["consent"] for v in state.vulnerabilities] == ["other_purpose"]
    assert state.consents["health_disclosure"]["decision"] == "withdrawn"
    assert state.consents["health_disclosure"]["wording_hash"] == "w1"
    # Consent given again and a new record: the new record shows, the withdrawn one stays hidden.
    journal.append(make_entry("consent", {"purpose": "health_disclosure", "decision": "given",
                                          "wording_hash": "w2"}, call_id="C3"))
    journal.append(make_entry("vulnerability", {"fields": {"condition": "y"}, "review_date": "2026-12-31",
                                                "consent": "health_disclosure"}, call_id="C3"))
    state = journal.account_state("A1", TODAY)
    assert [v["fields"] for v in state.vulnerabilities] == [{"needs": "large print"}, {"condition": "y"}]
    assert state.consents["health_disclosure"]["decision"] == "given"


def test_disclosures(journal, make_entry):
    journal.append(make_entry("disclosure", {"review_date": "2026-03-01", "consent": "declined"}))
    journal.append(make_entry("disclosure", {"review_date": "2026-04-01", "consent": "declined"}))
    state = journal.account_state("A1", TODAY)
    assert [d["review_date"] for d in state.disclosures] == ["2026-04-01"]
    assert state.vulnerabilities == []


def test_adjustments_merged_later_wins(journal, make_entry):
    journal.append(make_entry("adjustment", {"fields": {"contact": "email", "pace": "slow"}}))
    journal.append(make_entry("adjustment", {"fields": {"contact": "letter"}}, call_id="C2"))
    journal.append(make_entry("adjustment", {"fields": {"contact": "phone"}}, account_id="A2"))
    assert journal.account_state("A1", TODAY).adjustments == {"contact": "letter", "pace": "slow"}


def test_consents_latest_decision_per_purpose(journal, make_entry):
    journal.append(make_entry("consent", {"purpose": "sms_survey", "decision": "declined", "wording_hash": "a"}))
    journal.append(make_entry("consent", {"purpose": "health_disclosure", "decision": "given",
                                          "wording_hash": "b"}))
    journal.append(make_entry("consent", {"purpose": "sms_survey", "decision": "given", "wording_hash": "c"},
                              call_id="C2"))
    consents = journal.account_state("A1", TODAY).consents
    assert {p: c["decision"] for p, c in consents.items()} == {"sms_survey": "given", "health_disclosure": "given"}
    assert consents["sms_survey"]["wording_hash"] == "c" and consents["sms_survey"]["ts"]


def test_capacity_doubt_stays_open_until_a_specialist_review_confirms_capacity(journal, make_entry):
    journal.append(make_entry("capacity_doubt", {"reason": "confused"}, call_id="C1"))
    # the old in-call clearing does not close it, and neither does a hold ending
    journal.append(make_entry("capacity_doubt_cleared", {"reason": "resolved"}, call_id="C1"))
    journal.append(make_entry("hold_ended", {"reason": "back at work"}, call_id="C2"))
    st = journal.account_state("A1", TODAY)
    assert [(f["call_id"], f["reason"]) for f in st.capacity_doubts] == [("C1", "confused")]
    assert st.capacity_flags == st.capacity_doubts and st.payment_blocked
    # a review that does not confirm capacity keeps it open
    journal.append(make_entry("capacity_review", {"result": "not_confirmed", "by": "bo", "role": "care_team"},
                              call_id="R1"))
    assert journal.account_state("A1", TODAY).capacity_doubt_open
    journal.append(make_entry("capacity_review", {"result": "confirmed", "by": "bo", "role": "care_team"},
                              call_id="R2"))
    st = journal.account_state("A1", TODAY)
    assert not st.capacity_doubts and [r["result"] for r in st.capacity_reviews] == ["not_confirmed", "confirmed"]
    # a new doubt on a later call opens again
    journal.append(make_entry("capacity_doubt", {"reason": "repeats"}, call_id="C3"))
    assert [f["reason"] for f in journal.account_state("A1", TODAY).capacity_doubts] == ["repeats"]


def test_crisis_until_its_review_date_or_a_recorded_review(journal, make_entry):
    journal.append(make_entry("crisis", {"reason": "crisis", "review_date": "2026-04-09"}, call_id="C1"))
    journal.append(make_entry("collection_blocked", {"reason": "crisis"}, call_id="C1"))
    st = journal.account_state("A1", TODAY)
    assert [c["review_date"] for c in st.crises] == ["2026-04-09"] and st.collection_paused
    assert not journal.account_state("A1", dt.date(2026, 4, 10)).crises  # the review date passed
    journal.append(make_entry("crisis_review", {"result": "continue", "review_date": "2026-05-01", "by": "bo"},
                              call_id="R1"))
    assert journal.account_state("A1", dt.date(2026, 4, 20)).crises
    journal.append(make_entry("crisis_review", {"result": "resolved", "by": "bo"}, call_id="R2"))
    assert not journal.account_state("A1", TODAY).crises
    # a journal from before crises had their own entry: an emergency escalation counts, for 30 days
    journal.append(make_entry("escalation", {"kind": "emergency", "number": "999"}, call_id="C2"))
    assert journal.account_state("A1", TODAY).crisis_open


def test_disputes_pause_collection_until_the_evidence_is_reviewed(journal, make_entry):
    journal.append(make_entry("dispute", {"reason": "Says it was paid in 2024"}, call_id="C1"))
    assert journal.account_state("A1", TODAY).dispute_open
    journal.append(make_entry("dispute_review", {"result": "upheld", "by": "sv"}, call_id="R1"))
    assert journal.account_state("A1", TODAY).dispute_open   # upheld: collection stays paused
    journal.append(make_entry("dispute_review", {"result": "debt_confirmed", "by": "sv"}, call_id="R2"))
    st = journal.account_state("A1", TODAY)
    assert not st.disputes and [r["kind"] for r in st.reviews] == ["dispute", "dispute"]


def test_consents_in_force_across_calls_with_expiry(journal, make_entry):
    journal.append(make_entry("consent", {"purpose": "sms_survey", "decision": "given", "wording_hash": "s",
                                          "by": "anna", "expires": "2026-03-31"}, call_id="C1"))
    journal.append(make_entry("consent", {"purpose": "health_disclosure", "decision": "given", "wording_hash": "h",
                                          "by": "anna"}, call_id="C1"))
    st = journal.account_state("A1", TODAY)
    assert [(c["purpose"], c["by"], c["call_id"], c["expires"]) for c in st.consents_in_force] == [
        ("health_disclosure", "anna", "C1", None), ("sms_survey", "anna", "C1", "2026-03-31")]
    later = journal.account_state("A1", dt.date(2026, 4, 1))
    assert [c["purpose"] for c in later.consents_in_force] == ["health_disclosure"]
    assert later.consents["sms_survey"]["decision"] == "expired"
    journal.append(make_entry("consent_withdrawn", {"purpose": "health_disclosure"}, call_id="C3"))
    assert journal.account_state("A1", TODAY).consents_in_force[0]["purpose"] == "sms_survey"


def test_adjustments_carry_review_dates(journal, make_entry):
    journal.append(make_entry("adjustment", {"fields": {"channel": "letter"}, "review_date": "2026-03-01"}))
    journal.append(make_entry("adjustment", {"fields": {"format": "large_print"}, "review_date": "2027-03-01"}))
    recs = journal.account_state("A1", TODAY).adjustment_records
    assert [(r["fields"], r["review_due"]) for r in recs] == [({"channel": "letter"}, True),
                                                              ({"format": "large_print"}, False)]


def test_callbacks_not_yet_past(journal, make_entry):
    journal.append(make_entry("callback", {"due": "2026-03-09", "reason": "old"}))
    journal.append(make_entry("callback", {"due": "2026-03-10T15:00:00Z", "reason": "today"}))
    journal.append(make_entry("callback", {"due": "2026-04-01", "reason": "later"}))
    assert [c["reason"] for c in journal.account_state("A1", TODAY).callbacks] == ["today", "later"]


def test_last_outcome_and_calls(journal, make_entry):
    journal.append(make_entry("call_started", {}, call_id="C1"))
    journal.append(make_entry("outcome", {"code": "PROMISE"}, call_id="C1"))
    journal.append(make_entry("call_ended", {"outcome": "PROMISE_TO_PAY", "summary": "s"}, call_id="C1"))
    state = journal.account_state("A1", TODAY)
    assert state.last_outcome["code"] == "PROMISE_TO_PAY" and state.last_outcome["call_id"] == "C1"
    journal.append(make_entry("call_started", {}, call_id="C2"))
    journal.append(make_entry("outcome", {"code": "HOLD"}, call_id="C2"))  # killed before call_ended
    state = journal.account_state("A1", TODAY)
    assert state.last_outcome["code"] == "HOLD" and state.last_outcome["call_id"] == "C2"
    assert state.calls == 2


def test_third_parties(journal, make_entry):
    journal.append(make_entry("third_party", {"fields": {"name": "Jo", "relation": "daughter", "poa": True}}))
    tp = journal.account_state("A1", TODAY).third_parties
    assert tp[0]["fields"]["name"] == "Jo" and tp[0]["seq"] == 1


def test_account_state_ignores_other_types_and_accounts(journal, make_entry):
    for i in range(20):
        journal.append(make_entry("step_shown", {"kind": "ask", "say": f"s{i}"}))
    journal.append(make_entry("hold_started", {"days": 1, "until": "2027-01-01", "reason": "other"},
                              account_id="A2"))
    assert journal.account_state("A1", TODAY).is_empty()
    assert journal.account_state("A2", TODAY).hold_active


def test_withdrawal_with_engine_style_purpose_list(journal, make_entry):
    """The engine writes `consent` as the sorted list of purposes covering the recorded fields."""
    journal.append(make_entry("vulnerability", {"fields": {"condition": "x", "needs": "y"}, "review_date": "2026-12-31",
                                                "consent": ["health_disclosure", "needs_disclosure"]}))
    journal.append(make_entry("vulnerability", {"fields": {"needs": "z"}, "review_date": "2026-12-31",
                                                "consent": ["needs_disclosure"]}))
    journal.append(make_entry("vulnerability", {"fields": {}, "review_date": "2026-12-31", "consent": []}))
    assert len(journal.account_state("A1", TODAY).vulnerabilities) == 3
    journal.append(make_entry("consent_withdrawn", {"purpose": "health_disclosure"}))
    remaining = journal.account_state("A1", TODAY).vulnerabilities
    assert [v["fields"] for v in remaining] == [{"needs": "z"}, {}]
