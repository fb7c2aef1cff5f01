"""Drive a session from a list of events (the `walk` command, flow tests, practice cases) and
produce a JSON-able trace. Events are commands: `{cmd: next, choice: yes}` (the journal's own
JSON) or the short forms `{next: yes}`, `{answer: {...}}`, `{consent: given}`, `{interrupt: texas}`,
`{action: end_hold, params: {reason: ...}}`, `{back: 1}`, `{withdraw: purpose}`, `{note: ...}`,
`{lang: da}`, `{flag: ...}`, `{outcome: code}`, `{end: code}`. No Qt, no printing.
"""

from __future__ import annotations

from typing import Any

from callguide.engine.commands import (
    EVENT_KEYS,
    Command,
    CommandError,
    EngineError,
    Result,
    command_from_event,
)
from callguide.engine.session import CallSession

__all__ = ["EVENT_KEYS", "ScriptError", "apply_event", "public_record", "read_events", "run_events", "trace"]


class ScriptError(ValueError):
    """An event the runner cannot read (one line, names the event's index)."""


def read_events(events: list[Any] | None) -> list[Any]:
    """Every event of a script as its command, read before any is applied: ScriptError (one line, naming
    the event) for the first that cannot be read, so a script is never half carried out."""
    try:
        return [command_from_event(ev, i) for i, ev in enumerate(events or [])]
    except CommandError as e:
        raise ScriptError(str(e)) from None


def apply_event(session: CallSession, event: Any, index: int = 0) -> Result:
    try:
        command = event if isinstance(event, Command) else command_from_event(event, index)
    except CommandError as e:
        raise ScriptError(str(e)) from None
    try:
        return session.apply(command)
    except EngineError as e:
        return Result(False, "engine", str(e))


def public_record(r: dict[str, Any], open_value: Any = None) -> dict[str, Any]:
    """A record as a trace shows it: without the command, sealed values opened by `open_value`."""
    data = {k: (open_value(v) if open_value is not None else v) for k, v in r["data"].items() if k != "input"}
    return {"seq": r.get("seq"), "type": r["type"], "flow": r.get("flow"), "step": r.get("step"), **data}


def run_events(session: CallSession, events: list[Any]) -> dict[str, Any]:
    """Apply events in order; failures are collected, never raised (except unreadable events)."""
    errors: list[dict[str, Any]] = []
    commands = read_events(events)  # all of them first: an unreadable one changes nothing
    for i, (ev, command) in enumerate(zip(events or [], commands, strict=True)):
        res = apply_event(session, command, i)
        if not res.ok:
            errors.append({"event": i + 1, "input": ev, "rule": res.rule, "reason": res.reason,
                           "fields": res.errors})
    return trace(session, errors)


def trace(session: CallSession, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    top = session.top
    return {
        "call_id": session.call_id,
        "visited": list(session.visited),
        "records": [public_record(r, session.open_value) for r in session.records],
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
