"""What each command does, once the gate has let it through (`CallSession.apply` dispatches here).

One function per command type. Each runs inside one journal operation, journals its command as the
`input` of the entry that records it (so a resume replays it), and moves the call only through
the `Navigator`, which asks the gate about every step it lands on. No Qt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from callguide.engine import commands as c
from callguide.engine.actions import execute
from callguide.engine.clock import iso
from callguide.engine.commands import Result
from callguide.engine.context import ActionContext
from callguide.engine.policy import Refusal
from callguide.engine.values import FieldValueError, coerce, to_json
from callguide.flow.model import Action, Step
from callguide.store import entry_types as et

if TYPE_CHECKING:
    from callguide.engine.session import CallSession
    from callguide.engine.stack import Frame


def answer(s: CallSession, cmd: c.Answer) -> Result:
    """Set field values on the current step. Each valid value is journalled at once.

    A free-text answer goes through the typed-text rule (`Gate.typed_answer`): refused when it may hold
    health or life-event details without the lists' consent in force (`answer-sensitive`: that answer
    is not stored, the others are), sealed under that consent when it is (the entry says
    `consent: [purpose]`), or, in a crisis protocol or an escalation's note, held back
    (`REASON_HELD_BACK` stored, the answer counts as given: `answer-held-back`, told in one line)."""
    frame = s.require_frame()
    step = frame.step
    by_id = {f.id: f for f in step.fields}
    errors: dict[str, str] = {}
    codes: dict[str, tuple[str, dict[str, Any]]] = {}
    facts = s.facts
    refused: Refusal | None = None
    held_back: list[str] = []
    with s.journal.operation("answer"):
        ns = facts.namespace()
        order = {f.id: i for i, f in enumerate(step.fields)}
        for fid, raw in sorted(cmd.values.items(), key=lambda kv: order.get(kv[0], -1)):
            f = by_id.get(fid)
            if f is None:
                errors[fid], codes[fid] = "This question is not on the current step.", ("not_on_step", {})
                continue
            if not facts.condition(f.visible_when, ns):
                errors[fid], codes[fid] = "This question does not apply now.", ("not_apply", {})
                continue
            if not facts.may_hold(f):
                errors[fid] = "Needs the customer's explicit consent first; nothing was recorded."
                codes[fid] = ("needs_consent", {"purpose": f.consent})
                continue
            try:
                value = coerce(f, raw, facts.lang)
            except FieldValueError as e:
                errors[fid], codes[fid] = str(e), (e.code, dict(e.params))
                continue
            purpose = None
            if f.type == "text" and f.sensitivity != "special" and isinstance(value, str):
                kept = s.gate.typed_answer(frame.flow, f, value, cmd.purpose)
                if kept.refusal is not None:  # never the text: the rule and the field
                    refused = refused or kept.refusal
                    errors[fid], codes[fid] = kept.refusal.reason, (kept.refusal.rule, dict(kept.refusal.params))
                    s.nav.refuse(frame, f"answer:{fid}", kept.refusal)
                    continue
                value, purpose = kept.text, kept.purpose
                if kept.held_back:
                    held_back.append(fid)
            facts.set_value(fid, value, (frame.serial, step.id), purpose)
            ns[fid] = value
            data = {"field": fid, "value": to_json(value), "sensitivity": "special" if purpose else f.sensitivity,
                    **({"consent": [purpose]} if purpose else {})}
            s.emit(et.ANSWER, data, frame, input=c.Answer({fid: to_json(value)}, purpose).to_json())
    if refused is not None:
        return Result(False, refused.rule, refused.reason, errors, dict(refused.params), error_codes=codes)
    if held_back and not errors:
        return Result(True, "answer-held-back", "The details were not saved: they may hold health or life-event "
                      "details and no consent for them is in force. Pass them on by phone.",
                      params={"fields": held_back})
    return Result(not errors, "invalid" if errors else None,
                  "Some answers need attention." if errors else None, errors, error_codes=codes)


def missing_required(s: CallSession, frame: Frame) -> dict[str, str]:
    ns = s.facts.namespace()
    out: dict[str, str] = {}
    for f in frame.step.fields:
        if not s.facts.condition(f.visible_when, ns) or not s.facts.may_hold(f):
            continue  # hidden, or not allowed: never required
        if f.required and s.facts.values.get(f.id) is None:
            out[f.id] = "Required."
    return out


def _clear_hidden(s: CallSession, step: Step) -> None:
    ns = s.facts.namespace()
    for f in step.fields:
        if f.id in s.facts.values and not s.facts.condition(f.visible_when, ns):
            s.facts.clear_value(f.id)


def next_(s: CallSession, cmd: c.Next) -> Result:
    """Commit the current step (answers, actions) and move on."""
    frame = s.require_frame()
    step = frame.step
    choice = cmd.choice
    nav = s.nav
    with s.journal.operation("next"):
        if step.kind == "consent" and step.consent and step.consent.purpose not in s.facts.consent_decisions:
            return Result(False, "consent-needed", "Record the customer's answer (given or declined) first.")
        if step.kind == "capture":
            _clear_hidden(s, step)
            missing = missing_required(s, frame)
            if missing:
                return Result(False, "invalid", "Some answers are still needed.", missing,
                              error_codes={fid: ("required", {}) for fid in missing})
        if step.kind in ("action", "outcome"):
            refusal = s.gate.actions(step.actions)
            if refusal is not None:
                nav.refuse(frame, f"commit:{frame.flow.id}/{step.id}", refusal)
                return Result.refused(refusal)
        if step.kind == "outcome":
            s.emit(et.STEP_COMMITTED, {"choice": choice, "to": None}, frame, input=cmd.to_json())
            handovers = nav.run_actions(frame, step.actions, key_step=step.id)
            frame.outcome = step.outcome
            nav.pop(frame)
            nav.after_pop(handovers)
            return Result()
        picked = None
        if step.kind != "action":
            got = nav.select(step, choice)
            if isinstance(got, Result):
                return got
            picked = got
            if choice is not None:  # an explicit answer leading onto a step not allowed now is refused
                target = frame.flow.step(got[1].to)
                refusal = s.gate.landing(frame.flow, target)
                if refusal is not None:
                    nav.refuse(frame, f"enter:{frame.flow.id}/{target.id}", refusal)
                    return Result.refused(refusal)
        s.emit(et.STEP_COMMITTED, {"choice": choice}, frame, input=cmd.to_json())
        if step.kind == "action":
            pushes = nav.run_actions(frame, step.actions, key_step=step.id)
            if pushes:  # one protocol per step (validator rule one-protocol-per-step)
                frame.pending_choice = choice
                frame.waiting_on_child = True
                nav.push(pushes[0], cause=f"{frame.flow.id}/{step.id}")
                return Result()
        return nav.advance(frame, choice, picked)


def consent(s: CallSession, cmd: c.Consent) -> Result:
    """Record given / declined on a consent step, with the hash of the wording shown."""
    frame = s.require_frame()
    step = frame.step
    if step.kind != "consent" or step.consent is None:
        return Result(False, "not-consent", "This step does not ask for consent.")
    if cmd.decision not in ("given", "declined"):
        return Result(False, "bad-decision", "Consent is either 'given' or 'declined'.")
    with s.journal.operation("consent"):
        wording = s.facts.render(step.consent.wording)
        purpose = step.consent.purpose
        digest = hashlib.sha256(wording.encode("utf-8")).hexdigest()
        expires = None
        if step.consent.expires_in_days and cmd.decision == "given":
            expires = (s.facts.today() + dt.timedelta(days=step.consent.expires_in_days)).isoformat()
        record = {"purpose": purpose, "given_at": iso(s.journal.now()), "by": s.person.id, "call_id": s.call_id,
                  "wording_hash": digest, "expires": expires}
        s.facts.set_consent(purpose, cmd.decision, record)
        s.emit(et.CONSENT, {"purpose": purpose, "decision": cmd.decision, "wording": wording, "wording_hash": digest,
                           "wording_lang": s.facts.lang, "covers": list(step.consent.covers), "by": s.person.id,
                           **({"expires": expires} if expires else {})}, frame, input=cmd.to_json())
        s.journal.notify("consent_recorded", {"purpose": purpose, "decision": cmd.decision})
        return s.nav.advance(frame, None)


def withdraw(s: CallSession, cmd: c.Withdraw) -> Result:
    with s.journal.operation("withdraw"):
        given_on = (s.facts.consent_records.get(cmd.purpose) or {}).get("call_id")
        s.facts.set_consent(cmd.purpose, "withdrawn")
        s.emit(et.CONSENT_WITHDRAWN, {"purpose": cmd.purpose, "given_on_call": given_on, **s.shred(cmd.purpose)},
               s.stack.top, input=cmd.to_json())
    return Result()


def interrupt(s: CallSession, cmd: c.Interrupt) -> Result:
    """Suspend the running protocol, run `protocol`, then resume exactly where it was."""
    with s.journal.operation("interrupt"):
        top = s.stack.top
        s.emit(et.INTERRUPT, {"protocol": cmd.protocol, "from_flow": top.flow.id if top else None,
                             "from_step": top.step_id if top else None}, top, input=cmd.to_json())
        s.flows_complete = False
        s.nav.push(cmd.protocol, cause="interrupt")
    return Result()


def action(s: CallSession, cmd: c.Action) -> Result:
    """A global action from the always-visible bar (escalations, blocks, reasons)."""
    params, consent = s.gate.typed_reason_params(cmd)  # a typed reason: under its consent, or held back
    if params != dict(cmd.params):
        cmd = c.Action(cmd.name, params)
    act = Action(cmd.name, params)
    with s.journal.operation("action"):
        s.emit(et.GLOBAL_ACTION, {"name": cmd.name, "params": params, **({"consent": [consent]} if consent else {})},
               s.stack.top, input=cmd.to_json())
        execute(ActionContext(s, s.stack.top, consent, typed=True), act)
        s.order.acted(cmd.name)
        s.nav.recheck()  # the protections may have changed under the step on screen
    return Result()


def back(s: CallSession, cmd: c.Back) -> Result:
    """Go back within the running protocol. Answers after the target are retracted (kept as
    prefill); side effects already committed stay, and are not repeated going forward."""
    frame = s.require_frame()
    steps = cmd.steps
    if steps < 1 or len(frame.history) < steps:
        return Result(False, "back-limit",
                      "Back cannot go before the start of this protocol; finish it with an outcome instead.")
    target = frame.history[-steps]
    with s.journal.operation("back"):
        refusal = s.gate.landing(frame.flow, frame.flow.step(target))
        if refusal is not None:
            s.nav.refuse(frame, f"enter:{frame.flow.id}/{target}", refusal)
            return Result.refused(refusal)
        later = set(frame.history[-steps:][1:]) | {frame.step_id}
        del frame.history[-steps:]
        facts = s.facts
        retracted = [fid for fid, (serial, sid) in facts.value_origin.items()
                     if serial == frame.serial and sid in later]
        for fid in retracted:
            facts.clear_value(fid, keep_as_prefill=True)
        kept = sorted({f"{st}#{i}" for (serial, st, i) in s.done_actions if serial == frame.serial and st in later})
        s.emit(et.BACK, {"steps": steps, "from": frame.step_id, "to": target, "retracted": retracted,
                        "side_effects_kept": kept}, frame, input=cmd.to_json())
        s.stack.set_step(frame, target)
        s.nav.show(frame, frame.flow.step(target), resumed=True)
    return Result()


def set_outcome(s: CallSession, cmd: c.SetOutcome) -> Result:
    with s.journal.operation("outcome"):
        s.facts.state.call_outcome = cmd.code
        s.emit(et.OUTCOME, {"code": cmd.code}, s.stack.top, input=cmd.to_json())
    return Result()


def change_language(s: CallSession, cmd: c.ChangeLanguage) -> Result:
    with s.journal.operation("lang"):
        s.facts.lang = cmd.lang
        s.emit(et.LANGUAGE_CHANGED, {"lang": cmd.lang}, s.stack.top, input=cmd.to_json())
    return Result()


def note(s: CallSession, cmd: c.Note) -> Result:
    text = (cmd.text or "").strip()
    if not text:
        return Result(False, "empty", "The note is empty.")
    data: dict[str, Any] = {"text": text}
    if cmd.purpose:  # saved under a consent in force (the gate checked): special-category data
        data.update(purpose=cmd.purpose, special=True)
    with s.journal.operation("note"):
        s.emit(et.NOTE, data, s.stack.top, input=cmd.to_json())
    return Result()


def flag(s: CallSession, cmd: c.Flag) -> Result:
    """An agent flags the current step's wording for the trainers."""
    frame = s.require_frame()
    with s.journal.operation("flag"):
        s.emit(et.FLAG, {"comment": (cmd.comment or "").strip(), "flow_id": frame.flow.id,
                        "step_id": frame.step_id, "flow_version": frame.flow.version}, frame, input=cmd.to_json())
    return Result()


def end_call(s: CallSession, cmd: c.EndCall) -> Result:
    """The agent confirmed wrap-up: the call is closed."""
    with s.journal.operation("end"):
        if cmd.outcome:
            s.facts.state.call_outcome = cmd.outcome
        summary = s.journal_summary()
        s.emit(et.CALL_ENDED, {"outcome": s.facts.state.call_outcome, "summary": summary,
                              "open_protocols": s.stack.ids()}, s.stack.top, input=cmd.to_json())
        s.ended = True
    s.journal.notify("call_ended", {"outcome": s.facts.state.call_outcome})
    return Result()


HANDLERS: dict[type[c.Command], Callable[[Any, Any], Result]] = {
    c.Answer: answer, c.Next: next_, c.Consent: consent, c.Withdraw: withdraw, c.Interrupt: interrupt,
    c.Action: action, c.Back: back, c.SetOutcome: set_outcome, c.ChangeLanguage: change_language, c.Note: note,
    c.Flag: flag, c.EndCall: end_call,
}
