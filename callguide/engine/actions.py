"""The fixed registry of actions a flow (or the agent's escalation bar) may take.

Each executor gets an `ActionContext` (never the session) and journals what it did. Whether an
action may run at all is the gate's decision (`callguide.engine.gate.Gate.action`), taken before
anything happens. The names and parameter schemas the validator checks live in
`callguide.flow.actions.ACTION_SPECS`; a test keeps the two in step. No Qt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from callguide.engine.context import ActionContext
from callguide.flow.model import Action
from callguide.store import entry_types as et

Executor = Callable[[ActionContext, Action], Any]


def _days_from_today(ctx: ActionContext, a: Action, name: str, default: int) -> str:
    return (ctx.today() + dt.timedelta(days=ctx.int_param(a, name, default))).isoformat()


def _under(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """An entry with a reason the agent typed: `consent` names the consent it is sealed under, when
    the gate's word check found one needed and in force (`ActionContext.consent`)."""
    return {**data, "consent": [ctx.consent]} if ctx.consent else data


def _refer_care_team(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.ESCALATION, _under(ctx, {"kind": "care_team", "reason": ctx.param(a, "reason", "")}))


def _alert_supervisor(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.ESCALATION, _under(ctx, {"kind": "supervisor", "reason": ctx.param(a, "reason", "")}))


def _emergency(ctx: ActionContext, a: Action) -> None:
    em = ctx.signposts().get("emergency", {})
    ctx.open_crisis("emergency")
    ctx.emit(et.ESCALATION, _under(ctx, {"kind": "emergency", "number": em.get("phone"), "service": em.get("name"),
                                         "country": ctx.account.country, "reason": ctx.param(a, "reason", "")}))


def _start_hold(ctx: ActionContext, a: Action) -> None:
    days = ctx.int_param(a, "days", 30)
    until = (ctx.today() + dt.timedelta(days=days)).isoformat()
    ctx.start_hold(until)
    ctx.emit(et.HOLD_STARTED, _under(ctx, {"days": days, "until": until, "reason": ctx.param(a, "reason", "")}))


def _end_hold(ctx: ActionContext, a: Action) -> None:
    ctx.end_hold()
    ctx.emit(et.HOLD_ENDED, _under(ctx, {"reason": str(ctx.param(a, "reason", "")).strip(), "by": ctx.person.id}))


def _block_collection(ctx: ActionContext, a: Action) -> None:
    reason = str(ctx.param(a, "reason", "agent"))
    if reason == "crisis":
        ctx.open_crisis("crisis")
    else:
        ctx.state.manual_blocks.add(reason)
    ctx.emit(et.COLLECTION_BLOCKED, {"reason": reason})


def _unblock_collection(ctx: ActionContext, a: Action) -> None:
    ctx.state.manual_blocks.clear()
    ctx.emit(et.COLLECTION_UNBLOCKED, {"reason": ctx.param(a, "reason", "")})


def _schedule_callback(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.CALLBACK, _under(ctx, {"due": _days_from_today(ctx, a, "in_days", 1),
                                     "reason": ctx.param(a, "reason", "")}))


def _set_outcome(ctx: ActionContext, a: Action) -> None:
    code = str(ctx.param(a, "code", ""))
    ctx.set_outcome(code)
    ctx.emit(et.OUTCOME, {"code": code})


def _queue_sms_survey(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.SMS_SURVEY, {"queued": True})


def _start_protocol(ctx: ActionContext, a: Action) -> str:
    return str(a.params.get("flow"))


def _record_vulnerability(ctx: ActionContext, a: Action) -> None:
    fields = ctx.field_values(a)
    purposes = sorted({p for p in (ctx.consent_of(f) for f in fields) if p})
    data: dict[str, Any] = {"fields": fields, "review_date": _days_from_today(ctx, a, "review_in_days", 90),
                            "consent": purposes}
    if "category" in fields:
        data["category"] = fields["category"]
    ctx.emit(et.VULNERABILITY, data)


def _record_disclosure(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.DISCLOSURE, {"review_date": _days_from_today(ctx, a, "review_in_days", 90), "consent": "declined"})


def _record_adjustment(ctx: ActionContext, a: Action) -> None:
    fields = ctx.field_values(a)
    if fields:
        ctx.emit(et.ADJUSTMENT, {"fields": fields, "review_date": _days_from_today(ctx, a, "review_in_days", 365)})


def _flag_capacity_doubt(ctx: ActionContext, a: Action) -> None:
    ctx.state.capacity_doubt = True
    ctx.emit(et.CAPACITY_DOUBT, _under(ctx, {"reason": ctx.param(a, "reason", "")}))


def _clear_capacity_doubt(ctx: ActionContext, a: Action) -> None:
    """Only a care-team member (the gate checks the role) closes a capacity doubt, by recording a review."""
    ctx.state.capacity_doubt = False
    p = ctx.person
    ctx.emit(et.CAPACITY_REVIEW, _under(ctx, {"result": "confirmed", "by": p.id, "name": p.display_name,
                                             "role": "care_team", "note": ctx.param(a, "reason", "")}))


def _record_third_party(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.THIRD_PARTY, {"fields": ctx.field_values(a)})


def _record_arrangement(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.ARRANGEMENT, {"fields": ctx.field_values(a), "currency": ctx.account.currency})


def _signpost(ctx: ActionContext, a: Action) -> None:
    kind = str(a.params.get("kind", "debt_advice"))
    sp = ctx.signposts().get(kind, [])
    entries = [sp] if isinstance(sp, dict) else list(sp)
    shown = [{k: e.get(k) for k in ("name", "phone", "sms", "url") if e.get(k)} for e in entries]
    ctx.emit(et.SIGNPOST, {"kind": kind, "country": ctx.account.country, "entries": shown})


def _offer_debrief(ctx: ActionContext, a: Action) -> None:
    ctx.emit(et.DEBRIEF_OFFERED, {})


def _withdraw_consent(ctx: ActionContext, a: Action) -> None:
    purpose = str(a.params.get("purpose", ""))
    shredded = ctx.withdraw_consent(purpose)
    ctx.emit(et.CONSENT_WITHDRAWN, {"purpose": purpose, **shredded})


def _record_contact_reason(ctx: ActionContext, a: Action) -> None:
    reason = str(a.params.get("reason", ""))
    ctx.state.contact_reason = reason
    ctx.emit(et.CONTACT_REASON, {"reason": reason, "local_time": ctx.state.local_time,
                                "window": ctx.state.contact_window})


def _record_dispute(ctx: ActionContext, a: Action) -> None:
    ctx.state.dispute = True
    ctx.emit(et.DISPUTE, _under(ctx, {"reason": str(ctx.param(a, "reason", "")).strip()}))


EXECUTORS: dict[str, Executor] = {
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
    "record_contact_reason": _record_contact_reason,
    "record_dispute": _record_dispute,
}


def execute(ctx: ActionContext, action: Action) -> str | None:
    """Run one action; returns a protocol id when the action starts one."""
    return EXECUTORS[action.name](ctx, action)
