"""Read-only views of a session for a UI: everything a screen needs to paint the
current step, already rendered in the call's language, with every disabled control's
reason. Plain dataclasses; no Qt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callguide.engine.values import to_json
from callguide.flow.guards import PAYMENT_OUTCOMES
from callguide.store import entry_types as et
from callguide.store.sealing import is_held_back, say

if TYPE_CHECKING:
    from callguide.engine.session import CallSession


@dataclass
class FieldView:
    id: str
    type: str
    label: str
    help: str
    required: bool
    sensitivity: str
    visible: bool
    enabled: bool
    disabled_reason: str | None
    value: Any
    choices: list[tuple[str, str]] = field(default_factory=list)
    disabled_rule: str | None = None  # "needs-consent"


@dataclass
class ChoiceView:
    id: str
    label: str
    enabled: bool
    reason: str | None = None
    rule: str | None = None
    reason_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActionView:
    name: str
    params: dict[str, Any]
    blocked_reason: str | None = None
    rule: str | None = None
    reason_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class InterruptView:
    id: str
    protocol: str
    label: str
    hotkey: str | None
    enabled: bool
    reason: str | None = None
    rule: str | None = None
    reason_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConsentView:
    """A consent in force on the account (given on this call or an earlier one): the window offers
    Withdraw for each."""

    purpose: str
    given_at: str | None
    by: str | None
    call_id: str | None
    expires: str | None
    this_call: bool


@dataclass
class NoticeView:
    """Something the agent must know now, by rule code (translated by the window)."""

    code: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutcomeView:
    """A call outcome the agent may choose at wrap-up, or why not."""

    code: str
    enabled: bool
    rule: str | None = None
    reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepView:
    call_id: str
    flow_id: str | None
    flow_title: str
    step_id: str | None
    kind: str | None
    say: str
    guidance: str
    fields: list[FieldView]
    choices: list[ChoiceView]
    consent_wording: str | None
    consent_purpose: str | None
    consent_decision: str | None
    actions: list[ActionView]
    outcome: str | None
    next_enabled: bool
    next_reason: str | None
    next_rule: str | None
    can_back: bool
    breadcrumbs: list[tuple[str, str]]
    interrupts: list[InterruptView]
    state: dict[str, Any]
    flows_complete: bool
    ended: bool
    lang: str
    next_params: dict[str, Any] = field(default_factory=dict)
    consents_in_force: list[ConsentView] = field(default_factory=list)
    notices: list[NoticeView] = field(default_factory=list)
    outcomes: list[OutcomeView] = field(default_factory=list)
    local_time: str = ""
    agent_name: str = ""
    #: the outcome the call reached (recorded, else what its own records show), for the wrap-up's
    #: outcome box to start on; never one the gate refuses now (then None: the agent chooses)
    reached_outcome: str | None = None


#: Outcome codes offered at wrap-up (the window's list); payment ones go through the gate.
OUTCOME_CODES = ("arrangement_agreed", "on_hold", "referred", "no_agreement", "crisis", "callback", "no_contact",
                 "wrong_party", "not_verified", "disputed", "other")


def consents_in_force(s: CallSession) -> list[ConsentView]:
    out = []
    for p in sorted(s.facts.consent_records):
        if not s.facts.consent_in_force(p):
            continue
        r = s.facts.consent_records[p]
        out.append(ConsentView(p, r.get("given_at"), r.get("by"), r.get("call_id"), r.get("expires"),
                               bool(r.get("this_call"))))
    return out


def notices(s: CallSession) -> list[NoticeView]:
    """What is in force now, most urgent first (the state strip / banner reads these)."""
    st = s.facts.state
    out = []
    if st.crisis:
        out.append(NoticeView("crisis", "Crisis protection: no collection.",
                              {"until": st.crisis_review} if st.crisis_review else {}))
    if st.capacity_doubt:
        out.append(NoticeView("capacity-doubt", "Capacity doubt open: no payment decision until a specialist review."))
    if st.dispute:
        out.append(NoticeView("dispute", "Debt disputed: collection paused until the evidence is reviewed."))
    if st.hold_active:
        out.append(NoticeView("hold-active", f"On hold until {st.hold_until}: no collection.",
                              {"until": st.hold_until} if st.hold_until else {}))
    if st.out_of_hours:
        if st.contact_reason:
            out.append(NoticeView("contact-reason", f"Outside the permitted contact hours ({st.contact_window}); "
                                  f"reason recorded: {st.contact_reason}.",
                                  {"local_time": st.local_time, "window": st.contact_window,
                                   "reason": st.contact_reason}))
        else:
            out.append(NoticeView("contact-hours", f"It is {st.local_time} for the customer, outside the permitted "
                                  f"contact hours ({st.contact_window}): no collection unless an allowed reason is "
                                  "recorded.", {"local_time": st.local_time, "window": st.contact_window}))
    return out


#: What a call's own records say it reached, most serious first: (entry type, data it must hold, outcome).
REACHED = ((et.CRISIS, {}, "crisis"), (et.ESCALATION, {"kind": "emergency"}, "crisis"),
           (et.HOLD_STARTED, {}, "on_hold"), (et.DISPUTE, {}, "disputed"),
           (et.ESCALATION, {"kind": "care_team"}, "referred"), (et.ARRANGEMENT, {}, "arrangement_agreed"))


def reached_outcome(s: CallSession, offered: list[OutcomeView]) -> str | None:
    """The outcome the call reached: the one recorded (`set_outcome`, a wrap-up choice), else the most
    serious its records show (a crisis, a hold, a dispute, a referral, an arrangement); None when it
    shows none, or when the gate refuses that outcome now (the rule is the gate's, not this default's)."""
    code = s.facts.state.call_outcome
    if not code:
        seen = {(r["type"], r["data"].get("kind")) for r in s.journal.records if r["type"] in _REACHED_TYPES}
        code = next((c for t, want, c in REACHED if (t, want.get("kind")) in seen), None)
    return code if any(o.code == code and o.enabled for o in offered) else None


_REACHED_TYPES = frozenset(t for t, _, _ in REACHED)


def outcomes(s: CallSession) -> list[OutcomeView]:
    codes = list(OUTCOME_CODES)
    if s.facts.state.call_outcome and s.facts.state.call_outcome not in codes:
        codes.insert(0, s.facts.state.call_outcome)
    out = []
    for code in codes:
        r = s.gate.outcome(code) if code in PAYMENT_OUTCOMES else None
        out.append(OutcomeView(code, r is None, r.rule if r else None, r.reason if r else None,
                               dict(r.params) if r else {}))
    return out


def build_view(s: CallSession) -> StepView:
    facts = s.facts
    ns = facts.namespace()
    frame = s.top
    interrupts = []
    suppressed = set(frame.step.suppress_interrupts) if frame else set()
    for i in s.library.interrupts.values():
        flow = s.flows.get(i.protocol)
        refusal = s.gate.interrupt(flow) if flow is not None else None
        enabled = flow is not None and refusal is None and i.id not in suppressed and not s.ended
        interrupts.append(InterruptView(i.id, i.protocol, facts.render(i.label, ns=ns), i.hotkey, enabled,
                                        refusal.reason if refusal else None, refusal.rule if refusal else None,
                                        dict(refusal.params) if refusal else {}))
    offered = outcomes(s)
    extra = {"consents_in_force": consents_in_force(s), "notices": notices(s), "outcomes": offered,
             "local_time": str(ns.get("local_time", "")), "agent_name": s.person.display_name,
             "reached_outcome": reached_outcome(s, offered)}
    if frame is None:
        return StepView(s.call_id, None, "", None, None, "", "", [], [], None, None, None, [], None,
                        False, None, None, False, [], interrupts, s.state.as_namespace(), s.flows_complete,
                        s.ended, s.lang, **extra)
    step = frame.step
    fields = []
    for f in step.fields:
        visible = facts.condition(f.visible_when, ns)
        reason = None if facts.may_hold(f) else "Needs the customer's explicit consent first."
        value = facts.values.get(f.id, facts.prefill.get(f.id))
        if is_held_back(value):  # a free-text answer held back (`policy.typed_text`): said, never the code
            value = say("privacy.answer_held_back", s.lang)
        fields.append(FieldView(f.id, f.type, facts.render(f.label, ns=ns),
                                facts.render(f.help, ns=ns) if f.help else "",
                                f.required, f.sensitivity, visible, reason is None, reason,
                                to_json(value) if value is not None else None,
                                [(ch.value, facts.render(ch.label, ns=ns)) for ch in f.choices],
                                "needs-consent" if reason else None))
    choices = []
    for t in step.choices:
        ok = facts.condition(t.when, ns)
        refusal = s.gate.landing(frame.flow, frame.flow.step(t.to)) if ok else None
        choices.append(ChoiceView(t.id or "", facts.render(t.label, ns=ns), ok and refusal is None,
                                  (refusal.reason if refusal else (None if ok else "Does not apply to these answers.")),
                                  refusal.rule if refusal else (None if ok else "choice-not-apply"),
                                  dict(refusal.params) if refusal else {}))
    acts = []
    for a in step.actions:
        r = s.gate.action(a)
        acts.append(ActionView(a.name, dict(a.params), r.reason if r else None, r.rule if r else None,
                               dict(r.params) if r else {}))
    next_enabled, next_reason, next_rule = True, None, None
    next_params: dict[str, Any] = {}
    blocked_act = next((a for a in acts if a.blocked_reason), None)
    if blocked_act is not None:
        next_enabled, next_reason, next_rule = False, blocked_act.blocked_reason, blocked_act.rule
        next_params = dict(blocked_act.reason_params)
    elif step.kind == "consent" and step.consent and step.consent.purpose not in facts.consent_decisions:
        next_enabled, next_reason, next_rule = False, "Record the customer's answer first.", "consent-needed"
    elif step.kind == "ask":
        next_enabled, next_reason, next_rule = False, "Choose one of the answers.", "choose"
    elif step.kind not in ("action", "outcome"):
        picked = s.nav.select(step, None)
        if not isinstance(picked, tuple):
            if step.kind != "capture":
                next_enabled, next_reason, next_rule = False, picked.reason, picked.rule
        else:
            target = frame.flow.step(picked[1].to)
            r = s.gate.landing(frame.flow, target)
            if r is not None and frame.flow.route_when_blocked(target) is None:
                next_enabled, next_reason, next_rule = False, r.reason, r.rule
                next_params = dict(r.params)
    consent = step.consent
    return StepView(
        call_id=s.call_id, flow_id=frame.flow.id, flow_title=facts.render(frame.flow.title, ns=ns), step_id=step.id,
        kind=step.kind, say=facts.render(step.say, ns=ns), guidance=facts.render(step.guidance, ns=ns),
        fields=fields, choices=choices, consent_wording=facts.render(consent.wording, ns=ns) if consent else None,
        consent_purpose=consent.purpose if consent else None,
        consent_decision=facts.consent_decisions.get(consent.purpose) if consent else None,
        actions=acts, outcome=step.outcome, next_enabled=next_enabled, next_reason=next_reason,
        next_rule=next_rule, can_back=bool(frame.history), breadcrumbs=s.breadcrumbs(), interrupts=interrupts,
        state=s.state.as_namespace(), flows_complete=s.flows_complete, ended=s.ended, lang=s.lang,
        next_params=next_params, **extra,
    )
