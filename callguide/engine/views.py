"""Read-only views of a session for a UI: everything a screen needs to paint the
current step, already rendered in the call's language, with every disabled control's
reason. Plain dataclasses; no Qt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callguide.engine import actions as action_registry
from callguide.engine.policy import interrupt_refusal, protocol_refusal
from callguide.engine.values import to_json

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


def build_view(s: CallSession) -> StepView:
    ns = s.namespace()
    frame = s.top
    interrupts = []
    running = [f.flow for f in s.stack]
    suppressed = set(frame.step.suppress_interrupts) if frame else set()
    for i in s.library.interrupts.values():
        flow = s.flows.get(i.protocol)
        refusal = None
        if flow is not None:
            refusal = protocol_refusal(flow, s.state) or interrupt_refusal(flow, running)
        enabled = flow is not None and refusal is None and i.id not in suppressed and not s.ended
        interrupts.append(InterruptView(i.id, i.protocol, s.render(i.label, ns=ns), i.hotkey, enabled,
                                        refusal.reason if refusal else None, refusal.rule if refusal else None,
                                        dict(refusal.params) if refusal else {}))
    if frame is None:
        return StepView(s.call_id, None, "", None, None, "", "", [], [], None, None, None, [], None,
                        False, None, None, False, [], interrupts, s.state.as_namespace(), s.flows_complete,
                        s.ended, s.lang)
    step = frame.step
    fields = []
    for f in step.fields:
        visible = s.condition(f.visible_when, ns)
        reason = None
        if f.sensitivity == "special" and s.consents.get(f.consent or "") is not True:
            reason = "Needs the customer's explicit consent first."
        value = s.values.get(f.id, s.prefill.get(f.id))
        fields.append(FieldView(f.id, f.type, s.render(f.label, ns=ns), s.render(f.help, ns=ns) if f.help else "",
                                f.required, f.sensitivity, visible, reason is None, reason,
                                to_json(value) if value is not None else None,
                                [(c.value, s.render(c.label, ns=ns)) for c in f.choices],
                                "needs-consent" if reason else None))
    choices = []
    for t in step.choices:
        ok = s.condition(t.when, ns)
        refusal = s.entry_refusal(frame.flow.step(t.to)) if ok else None
        choices.append(ChoiceView(t.id or "", s.render(t.label, ns=ns), ok and refusal is None,
                                  (refusal.reason if refusal else (None if ok else "Does not apply to these answers.")),
                                  refusal.rule if refusal else (None if ok else "choice-not-apply"),
                                  dict(refusal.params) if refusal else {}))
    acts = []
    for a in step.actions:
        r = action_registry.refusal(s, a)
        acts.append(ActionView(a.name, dict(a.params), r.reason if r else None, r.rule if r else None,
                               dict(r.params) if r else {}))
    next_enabled, next_reason, next_rule = True, None, None
    next_params: dict[str, Any] = {}
    blocked_act = next((a for a in acts if a.blocked_reason), None)
    if blocked_act is not None:
        next_enabled, next_reason, next_rule = False, blocked_act.blocked_reason, blocked_act.rule
        next_params = dict(blocked_act.reason_params)
    elif step.kind == "consent" and step.consent and s.consents.get(step.consent.purpose) is None:
        next_enabled, next_reason, next_rule = False, "Record the customer's answer first.", "consent-needed"
    elif step.kind == "ask":
        next_enabled, next_reason, next_rule = False, "Choose one of the answers.", "choose"
    elif step.kind not in ("action", "outcome"):
        picked = s.select(step, None, ns)
        if not isinstance(picked, tuple):
            if step.kind != "capture":
                next_enabled, next_reason, next_rule = False, picked.reason, picked.rule
        else:
            r = s.entry_refusal(frame.flow.step(picked[1].to))
            if r is not None:
                next_enabled, next_reason, next_rule = False, r.reason, r.rule
                next_params = dict(r.params)
    consent = step.consent
    return StepView(
        call_id=s.call_id, flow_id=frame.flow.id, flow_title=s.render(frame.flow.title, ns=ns), step_id=step.id,
        kind=step.kind, say=s.render(step.say, ns=ns), guidance=s.render(step.guidance, ns=ns), fields=fields,
        choices=choices, consent_wording=s.render(consent.wording, ns=ns) if consent else None,
        consent_purpose=consent.purpose if consent else None,
        consent_decision=s.consent_decisions.get(consent.purpose) if consent else None,
        actions=acts, outcome=step.outcome, next_enabled=next_enabled, next_reason=next_reason,
        next_rule=next_rule, can_back=bool(frame.history), breadcrumbs=s.breadcrumbs(), interrupts=interrupts,
        state=s.state.as_namespace(), flows_complete=s.flows_complete, ended=s.ended, lang=s.lang,
        next_params=next_params,
    )

