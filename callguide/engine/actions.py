"""The fixed registry of actions a flow (or the agent's escalation bar) may take.

Each executor journals what it did; `refusal()` says, before anything happens,
whether the engine's rules forbid it. The names and parameter schemas that the
validator checks live in `callguide.flow.actions.ACTION_SPECS`; a test keeps the two
in step. No Qt, no I/O except through the session's journal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from callguide.engine.policy import Refusal, payment_refusal, protocol_refusal
from callguide.engine.values import to_json
from callguide.flow import expr
from callguide.flow.model import Action

if TYPE_CHECKING:
    from callguide.engine.session import CallSession, Frame


def _param(session: CallSession, action: Action, name: str, default: Any = None) -> Any:
    value = action.params.get(name, default)
    if isinstance(value, str) and "{" in value:
        try:
            return expr.render(value, session.namespace())
        except expr.ExprError:
            return value
    return value


def _int(session: CallSession, action: Action, name: str, default: int) -> int:
    value = action.params.get(name, default)
    if isinstance(value, str):
        try:
            value = expr.evaluate(value, session.namespace())
        except expr.ExprError:
            return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _today(session: CallSession) -> dt.date:
    return session.clock.now().date()


def _field_values(session: CallSession, action: Action, only_allowed: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fid in action.params.get("fields", []) or []:
        f = session._fields.get(fid)
        value = session.values.get(fid)
        if value is None or f is None:
            continue
        if only_allowed and f.sensitivity == "special" and session.consents.get(f.consent or "") is not True:
            continue  # PROTOCOLS.md §3 rule 2: no special-category detail without consent
        out[fid] = to_json(value)
    return out


def _emit(session: CallSession, frame: Frame | None, type_: str, data: dict[str, Any]) -> None:
    session._emit(type_, data, frame)


# --------------------------------------------------------------------------- executors

def _refer_care_team(s: CallSession, fr: Frame | None, a: Action) -> None:
    _emit(s, fr, "escalation", {"kind": "care_team", "reason": _param(s, a, "reason", "")})


def _alert_supervisor(s: CallSession, fr: Frame | None, a: Action) -> None:
    _emit(s, fr, "escalation", {"kind": "supervisor", "reason": _param(s, a, "reason", "")})


def _emergency(s: CallSession, fr: Frame | None, a: Action) -> None:
    em = s.signposts().get("emergency", {})
    s.state.crisis = True
    _emit(s, fr, "escalation", {"kind": "emergency", "number": em.get("phone"), "service": em.get("name"),
                                "country": s.account.country, "reason": _param(s, a, "reason", "")})


def _start_hold(s: CallSession, fr: Frame | None, a: Action) -> None:
    days = _int(s, a, "days", 30)
    until = (_today(s) + dt.timedelta(days=days)).isoformat()
    s.state.hold_active = True
    s.state.hold_until = max(filter(None, [s.state.hold_until, until]))
    _emit(s, fr, "hold_started", {"days": days, "until": until, "reason": _param(s, a, "reason", "")})


def _end_hold(s: CallSession, fr: Frame | None, a: Action) -> None:
    s.state.hold_active = False
    s.state.hold_until = None
    _emit(s, fr, "hold_ended", {"reason": _param(s, a, "reason", "")})


def _block_collection(s: CallSession, fr: Frame | None, a: Action) -> None:
    reason = str(_param(s, a, "reason", "agent"))
    if reason == "crisis":
        s.state.crisis = True
    else:
        s.state.manual_blocks.add(reason)
    _emit(s, fr, "collection_blocked", {"reason": reason})


def _unblock_collection(s: CallSession, fr: Frame | None, a: Action) -> None:
    s.state.manual_blocks.clear()
    _emit(s, fr, "collection_unblocked", {"reason": _param(s, a, "reason", "")})


def _schedule_callback(s: CallSession, fr: Frame | None, a: Action) -> None:
    due = (_today(s) + dt.timedelta(days=_int(s, a, "in_days", 1))).isoformat()
    _emit(s, fr, "callback", {"due": due, "reason": _param(s, a, "reason", "")})


def _set_outcome(s: CallSession, fr: Frame | None, a: Action) -> None:
    code = str(_param(s, a, "code", ""))
    s.state.call_outcome = code
    _emit(s, fr, "outcome", {"code": code})


def _queue_sms_survey(s: CallSession, fr: Frame | None, a: Action) -> None:
    _emit(s, fr, "sms_survey", {"queued": True})


def _start_protocol(s: CallSession, fr: Frame | None, a: Action) -> str:
    return str(a.params.get("flow"))


def _record_vulnerability(s: CallSession, fr: Frame | None, a: Action) -> None:
    fields = _field_values(s, a)
    review = (_today(s) + dt.timedelta(days=_int(s, a, "review_in_days", 90))).isoformat()
    purposes = sorted({s._fields[f].consent for f in fields if s._fields[f].consent})
    data: dict[str, Any] = {"fields": fields, "review_date": review, "consent": purposes}
    if "category" in fields:
        data["category"] = fields["category"]
    _emit(s, fr, "vulnerability", data)


def _record_disclosure(s: CallSession, fr: Frame | None, a: Action) -> None:
    review = (_today(s) + dt.timedelta(days=_int(s, a, "review_in_days", 90))).isoformat()
    _emit(s, fr, "disclosure", {"review_date": review, "consent": "declined"})


def _record_adjustment(s: CallSession, fr: Frame | None, a: Action) -> None:
    fields = _field_values(s, a)
    if fields:
        _emit(s, fr, "adjustment", {"fields": fields})


def _flag_capacity_doubt(s: CallSession, fr: Frame | None, a: Action) -> None:
    s.state.capacity_doubt = True
    _emit(s, fr, "capacity_doubt", {"reason": _param(s, a, "reason", "")})


def _clear_capacity_doubt(s: CallSession, fr: Frame | None, a: Action) -> None:
    s.state.capacity_doubt = False
    _emit(s, fr, "capacity_doubt_cleared", {"reason": _param(s, a, "reason", "")})


def _record_third_party(s: CallSession, fr: Frame | None, a: Action) -> None:
    _emit(s, fr, "third_party", {"fields": _field_values(s, a)})


def _record_arrangement(s: CallSession, fr: Frame | None, a: Action) -> None:
    _emit(s, fr, "arrangement", {"fields": _field_values(s, a), "currency": s.account.currency})


def _signpost(s: CallSession, fr: Frame | None, a: Action) -> None:
    kind = str(a.params.get("kind", "debt_advice"))
    sp = s.signposts().get(kind, [])
    entries = [sp] if isinstance(sp, dict) else list(sp)
    shown = [{k: e.get(k) for k in ("name", "phone", "sms", "url") if e.get(k)} for e in entries]
    _emit(s, fr, "signpost", {"kind": kind, "country": s.account.country, "entries": shown})


def _offer_debrief(s: CallSession, fr: Frame | None, a: Action) -> None:
    _emit(s, fr, "debrief_offered", {})


def _withdraw_consent(s: CallSession, fr: Frame | None, a: Action) -> None:
    purpose = str(a.params.get("purpose", ""))
    s.consents[purpose] = False
    s.consent_decisions[purpose] = "withdrawn"
    s._drop_special(purpose)
    _emit(s, fr, "consent_withdrawn", {"purpose": purpose})


EXECUTORS: dict[str, Callable[..., Any]] = {
    "refer_care_team": _refer_care_team,
    "alert_supervisor": _alert_supervisor,
    "emergency": _emergency,
    "start_hold": _start_hold,
    "end_hold": _end_hold,
    "block_collection": _block_collection,
    "unblock_collection": _unblock_collection,
    "schedule_callback": _schedule_callback,
    "set_outcome": _set_outcome,
    "queue_sms_survey": _queue_sms_survey,
    "start_protocol": _start_protocol,
    "record_vulnerability": _record_vulnerability,
    "record_disclosure": _record_disclosure,
    "record_adjustment": _record_adjustment,
    "flag_capacity_doubt": _flag_capacity_doubt,
    "clear_capacity_doubt": _clear_capacity_doubt,
    "record_third_party": _record_third_party,
    "record_arrangement": _record_arrangement,
    "signpost": _signpost,
    "offer_debrief": _offer_debrief,
    "withdraw_consent": _withdraw_consent,
}


def refusal(session: CallSession, action: Action) -> Refusal | None:
    """Would the engine's rules forbid this action now?"""
    name = action.name
    if name not in EXECUTORS:
        return Refusal("unknown-action", f"No action {name!r}.", {"action": name})
    if name == "record_arrangement":
        return payment_refusal(session.state)
    if name == "start_protocol":
        flow = session.flows.get(str(action.params.get("flow")))
        if flow is None:
            return Refusal("unknown-flow", f"No protocol {action.params.get('flow')!r}.",
                           {"flow": action.params.get("flow")})
        return protocol_refusal(flow, session.state)
    if name == "queue_sms_survey" and session.consents.get("sms_survey") is not True:
        return Refusal("consent-missing", "The customer has not agreed to an SMS survey.", {"purpose": "sms_survey"})
    if name == "unblock_collection" and (session.state.hold_active or session.state.crisis):
        return Refusal("hold-active" if session.state.hold_active else "crisis",
                       "Collection stays blocked while a hold or a crisis is active.")
    return None


def execute(session: CallSession, frame: Frame | None, action: Action) -> str | None:
    """Run one action; returns a protocol id when the action starts one."""
    return EXECUTORS[action.name](session, frame, action)
