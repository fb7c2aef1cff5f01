"""Typed commands: the one vocabulary for every change to a call.

Every change to a call is a frozen `Command` handed to `CallSession.apply(command) -> Result`.
The same JSON form (`to_json` / `command_from_json`) is what the journal keeps as an entry's
`data.input`, what replay reads back, what flow tests and walk scripts may write, and what the Qt
bridge sends. Old walk-script events (`{next: yes}`, `{answer: {...}}`, ...) and old journal
inputs (`{"op": "next", ...}`) are read into the same commands.

No Qt, no I/O: data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar


class CommandError(ValueError):
    """A command that cannot be read (one plain line)."""


class EngineError(Exception):
    """The session cannot do what was asked (one plain line). `code` and `params`, where given, let a
    window say it in its own language (the line itself is English, for scripts and logs)."""

    def __init__(self, message: str, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass
class Result:
    """What a command did. `ok=False` carries a rule id and a plain reason, or field errors.

    `rerouted=True` (with ok) means the command was carried out but the call did not land on the
    step it would have: that step is not allowed now, and the flow's `when_blocked` route was
    taken instead; `rule`/`reason`/`params` say why."""

    ok: bool = True
    rule: str | None = None
    reason: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # details of `rule`, for translation
    error_codes: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # field -> (code, params)
    rerouted: bool = False

    @classmethod
    def refused(cls, refusal: Any) -> Result:
        return cls(False, refusal.rule, refusal.reason, params=dict(refusal.params))

    def __bool__(self) -> bool:
        return self.ok


def _frozen(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Command:
    """Base of every command. `kind` is the JSON name (`{"cmd": kind, ...}`)."""

    kind: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cmd": self.kind}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = dict(v) if isinstance(v, Mapping) else v
        return out

    @staticmethod
    def from_json(data: Any) -> Command:
        return command_from_json(data)


@dataclass(frozen=True)
class Answer(Command):
    """Field values on the current step (each valid value is journalled at once). `purpose`: the
    consent a free-text answer is sealed under (the journal's input says which, so a resume gives the
    same state; a live command may name one only while it is in force): `policy.typed_text`."""

    values: Mapping[str, Any] = field(default_factory=dict)
    purpose: str | None = None
    kind: ClassVar[str] = "answer"

    def __post_init__(self) -> None:
        if not isinstance(self.values, Mapping):
            raise CommandError("answer takes a mapping of field: value")
        object.__setattr__(self, "values", _frozen(self.values))

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if out.get("purpose") is None:
            out.pop("purpose", None)  # as every answer was journalled before (most name no consent)
        return out


@dataclass(frozen=True)
class Next(Command):
    """Commit the current step and move on; `choice` picks an answer on an ask step."""

    choice: str | None = None
    kind: ClassVar[str] = "next"


@dataclass(frozen=True)
class Back(Command):
    """Go back `steps` steps within the running protocol."""

    steps: int = 1
    kind: ClassVar[str] = "back"


@dataclass(frozen=True)
class Consent(Command):
    """The customer's answer on a consent step: given or declined."""

    decision: str = ""
    kind: ClassVar[str] = "consent"


@dataclass(frozen=True)
class Withdraw(Command):
    """Withdraw a consent in force (given on this call or any earlier one)."""

    purpose: str = ""
    kind: ClassVar[str] = "withdraw"


@dataclass(frozen=True)
class Interrupt(Command):
    """Suspend the running protocol and run `protocol`; resume where it was after."""

    protocol: str = ""
    kind: ClassVar[str] = "interrupt"


@dataclass(frozen=True)
class Action(Command):
    """A global action from the always-visible bar (escalations, holds, reasons)."""

    name: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "action"

    def __post_init__(self) -> None:
        if not isinstance(self.params, Mapping):
            raise CommandError("action params must be a mapping")
        object.__setattr__(self, "params", _frozen(self.params))


@dataclass(frozen=True)
class SetOutcome(Command):
    """Set the call's outcome code (wrap-up)."""

    code: str = ""
    kind: ClassVar[str] = "set_outcome"


@dataclass(frozen=True)
class ChangeLanguage(Command):
    """Switch the call's language (en, da, cs)."""

    lang: str = ""
    kind: ClassVar[str] = "change_language"


@dataclass(frozen=True)
class Note(Command):
    """A free-text note on the call. `purpose`: the agent says the customer agreed to record it under
    that consent (which must be in force); a note that may hold health or life-event details is
    refused without one (`policy.note_refusal`), and saved with one as special-category data."""

    text: str = ""
    purpose: str | None = None
    kind: ClassVar[str] = "note"


@dataclass(frozen=True)
class Flag(Command):
    """Flag the current step's wording for the trainers."""

    comment: str = ""
    kind: ClassVar[str] = "flag"


@dataclass(frozen=True)
class EndCall(Command):
    """The agent confirmed wrap-up: the call is closed (with an outcome code, optionally)."""

    outcome: str | None = None
    kind: ClassVar[str] = "end_call"


COMMANDS: dict[str, type[Command]] = {c.kind: c for c in (
    Answer, Next, Back, Consent, Withdraw, Interrupt, Action, SetOutcome, ChangeLanguage, Note, Flag, EndCall)}

#: Old journal inputs (`{"op": ...}`) and their command names.
_LEGACY_OPS = {"answer": "answer", "next": "next", "back": "back", "consent": "consent", "withdraw": "withdraw",
               "interrupt": "interrupt", "action": "action", "lang": "change_language", "note": "note",
               "flag": "flag", "end": "end_call", "outcome": "set_outcome"}

_TYPES: dict[str, tuple[type, ...]] = {"choice": (str, type(None)), "steps": (int,), "decision": (str,),
                                       "purpose": (str, type(None)), "protocol": (str,), "name": (str,), "code": (str,),
                                       "lang": (str,), "text": (str,), "comment": (str,),
                                       "outcome": (str, type(None)), "values": (Mapping,),
                                       "params": (Mapping, type(None))}


def command_from_json(data: Any) -> Command:
    """A command from its JSON form (or an old journal input); CommandError, one line, if unreadable."""
    if isinstance(data, Command):
        return data
    if not isinstance(data, Mapping):
        raise CommandError(f"a command is a mapping like {{cmd: next}}, got {data!r}"[:160])
    kind = data.get("cmd")
    if kind is None and "op" in data:
        kind = _LEGACY_OPS.get(str(data["op"]))
    cls = COMMANDS.get(str(kind)) if kind is not None else None
    if cls is None:
        raise CommandError(f"unknown command {kind!r}; known: {', '.join(COMMANDS)}")
    kwargs: dict[str, Any] = {}
    names = {f.name for f in fields(cls)}
    for key, value in data.items():
        if key in ("cmd", "op"):
            continue
        if key not in names:
            raise CommandError(f"{cls.kind}: unknown key {key!r} (keys: {', '.join(sorted(names)) or 'none'})")
        want = _TYPES.get(key)
        if want and not isinstance(value, want) or (key == "steps" and isinstance(value, bool)):
            raise CommandError(f"{cls.kind}: {key} {value!r} has the wrong type"[:160])
        kwargs[key] = value if value is not None or key not in ("params",) else {}
    return cls(**kwargs)


#: The keys of a walk-script event (one per event).
EVENT_KEYS = ("next", "answer", "consent", "interrupt", "action", "back", "withdraw", "note", "lang", "end",
              "flag", "outcome", "cmd")


def command_from_event(event: Any, index: int = 0) -> Command:
    """A walk-script / flow-test event (`{next: yes}`, `{answer: {...}}`, `{action: end_hold, params:
    {...}}`, or a command's JSON `{cmd: ...}`) as a command. CommandError names the event."""
    where = f"event {index + 1}"
    if not isinstance(event, Mapping):
        raise CommandError(f"{where}: expected a mapping like {{next: null}}, got {event!r}"[:160])
    if "cmd" in event:
        try:
            return command_from_json(event)
        except CommandError as e:
            raise CommandError(f"{where}: {e}") from None
    keys = [k for k in event if k in EVENT_KEYS]
    if len(keys) != 1:
        raise CommandError(f"{where}: expected exactly one of {', '.join(EVENT_KEYS)}; got {sorted(map(str, event))}")
    key = keys[0]
    value = event[key]
    extra = sorted(str(k) for k in event if k != key and not (key == "action" and k == "params"))
    if extra:  # (read before: silently dropped, so `{note: …, purpose: health_disclosure}` saved a plain note)
        raise CommandError(f"{where}: unknown key {extra[0]!r} next to {key!r}"
                           + (" (its params go in params: {…})" if key == "action" else
                              " (a note's purpose: {note: {text: …, purpose: …}})" if key == "note" else ""))
    try:
        if key == "next":
            return Next(None if value is None else str(value))
        if key == "answer":
            if not isinstance(value, Mapping):
                raise CommandError("answer takes a mapping of field: value")
            return Answer(value)
        if key == "consent":
            return Consent(str(value))
        if key == "interrupt":
            return Interrupt(str(value))
        if key == "action":
            params = event.get("params") or {}
            if isinstance(value, Mapping):
                if len(value) != 1:
                    raise CommandError("action takes NAME or {NAME: {params}}")
                (value, params), = value.items()
                params = params or {}
            return Action(str(value), params)
        if key == "back":
            steps = 1 if value is None else value
            if isinstance(steps, bool) or not isinstance(steps, int):
                raise CommandError(f"back takes a number of steps, got {value!r}")
            return Back(steps)
        if key == "withdraw":
            return Withdraw(str(value))
        if key == "note":  # {note: TEXT} or {note: {text: TEXT, purpose: health_disclosure}}
            if isinstance(value, Mapping):
                unknown = sorted(set(map(str, value)) - {"text", "purpose"})
                if unknown:
                    raise CommandError(f"note: unknown key {unknown[0]!r} (keys: text, purpose)")
                purpose = value.get("purpose")
                return Note(str(value.get("text") or ""), None if purpose is None else str(purpose))
            return Note(str(value))
        if key == "lang":
            return ChangeLanguage(str(value))
        if key == "flag":
            return Flag(str(value))
        if key == "end":
            return EndCall(None if value is None else str(value))
        if key == "outcome":
            return SetOutcome(str(value))
    except CommandError as e:
        raise CommandError(f"{where}: {e}") from None
    raise CommandError(f"{where}: unknown event {key!r}")  # pragma: no cover
