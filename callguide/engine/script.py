"""Drive a session from a list of events (the `walk` command, flow tests, practice
cases) and produce a JSON-able trace. No Qt, no printing."""

from __future__ import annotations

from typing import Any

from callguide.engine.session import CallSession, EngineError, Result

EVENT_KEYS = ("next", "answer", "consent", "interrupt", "action", "back", "withdraw", "note", "lang", "end",
              "flag")


class ScriptError(ValueError):
    """An event the runner cannot read (one line, names the event's index)."""


def apply_event(session: CallSession, event: Any, index: int = 0) -> Result:
    if not isinstance(event, dict):
        raise ScriptError(f"event {index + 1}: expected a mapping like {{next: null}}, got {event!r}")
    keys = [k for k in event if k in EVENT_KEYS]
    if len(keys) != 1:
        raise ScriptError(f"event {index + 1}: expected exactly one of {', '.join(EVENT_KEYS)}; got {sorted(event)}")
    key = keys[0]
    value = event[key]
    try:
        if key == "next":
            return session.next(None if value is None else str(value))
        if key == "answer":
            if not isinstance(value, dict):
                raise ScriptError(f"event {index + 1}: answer takes a mapping of field: value")
            return session.answer(value)
        if key == "consent":
            return session.consent(str(value))
        if key == "interrupt":
            return session.interrupt(str(value))
        if key == "action":
            params = event.get("params") or {}
            if isinstance(value, dict):
                (value, params), = value.items()
                params = params or {}
            return session.action(str(value), **params)
        if key == "back":
            return session.back(int(value or 1))
        if key == "withdraw":
            return session.withdraw_consent(str(value))
        if key == "note":
            return session.note(str(value))
        if key == "lang":
            return session.set_lang(str(value))
        if key == "flag":
            return session.flag_step(str(value))
        if key == "end":
            return session.end_call(None if value is None else str(value))
    except EngineError as e:
        return Result(False, "engine", str(e))
    raise ScriptError(f"event {index + 1}: unknown event {key!r}")


def public_record(r: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in r["data"].items() if k != "input"}
    return {"seq": r.get("seq"), "type": r["type"], "flow": r.get("flow"), "step": r.get("step"), **data}


def run_events(session: CallSession, events: list[Any]) -> dict[str, Any]:
    """Apply events in order; failures are collected, never raised (except unreadable events)."""
    errors: list[dict[str, Any]] = []
    for i, ev in enumerate(events or []):
        res = apply_event(session, ev, i)
        if not res.ok:
            errors.append({"event": i + 1, "input": ev, "rule": res.rule, "reason": res.reason,
                           "fields": res.errors})
    return trace(session, errors)


def trace(session: CallSession, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    top = session.top
    return {
        "call_id": session.call_id,
        "visited": list(session.visited),
        "records": [public_record(r) for r in session.records],
        "blocked": list(session.blocked),
        "outcome": session.root_outcome,
        "outcomes": list(session.outcomes),
        "call_outcome": session.state.call_outcome,
        "step": f"{top.flow.id}/{top.step_id}" if top else None,
        "stack": [f.flow.id for f in session.stack],
        "flows_complete": session.flows_complete,
        "ended": session.ended,
        "errors": errors or [],
    }
