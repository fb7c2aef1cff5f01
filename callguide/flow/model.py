"""The typed model of a flow: what the loader builds and the engine runs.

Plain frozen dataclasses, no behaviour beyond lookups. Must never import Qt,
the engine or the store. Every node keeps its source position (`Pos`) so that
diagnostics and the workbench can point at the YAML line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

LANGUAGES = ("en", "da", "cs")
STEP_KINDS = ("say", "ask", "capture", "consent", "decision", "action", "outcome")
FIELD_TYPES = ("text", "number", "money", "date", "choice", "yesno")
SENSITIVITIES = ("none", "personal", "special")
CATEGORIES = ("payment", "collection")
#: What a step may need from the call's state (`requires:`); the engine's gate checks them on every
#: way into the step, and skips a step whose requirement does not hold along its `when_blocked` route.
REQUIREMENTS = ("collection_allowed", "payment_allowed")
#: Built-in invariants: they hold for every flow without being declared (a flow may waive one,
#: with a reason, in `waivers:`).
BUILTIN_INVARIANTS = ("consent_before_special", "ends_in_outcome", "one_action_away", "collection_state")

#: Protocol priorities (PROTOCOLS.md §3 rule 1). Higher wins.
PRIORITIES = {
    "blake": 100,
    "harmed": 90,
    "bruce": 80,
    "hold": 70,
    "texas": 60,
    "idea": 60,
    "affordability": 50,
    "payment": 40,
    "general": 0,
}


@dataclass(frozen=True)
class Pos:
    """A place in a source file (1-based line and column)."""

    file: str = "<memory>"
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Text:
    """A translatable text: a stable id and one template string per language."""

    id: str
    by_lang: dict[str, str]
    pos: Pos = Pos()
    #: True when the file gave the id; False when it was derived as <flow>.<step>.<slot>.
    explicit_id: bool = False

    def get(self, lang: str, fallback: str = "en") -> str:
        return self.by_lang.get(lang) or self.by_lang.get(fallback) or next(iter(self.by_lang.values()), "")


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text
    pos: Pos = Pos()


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    label: Text
    help: Text | None = None
    required: bool = True
    sensitivity: str = "none"
    consent: str | None = None
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    visible_when: str | None = None
    pos: Pos = Pos()


@dataclass(frozen=True)
class Action:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: Pos = Pos()


@dataclass(frozen=True)
class Transition:
    to: str
    id: str | None = None
    label: Text | None = None
    when: str | None = None
    pos: Pos = Pos()


@dataclass(frozen=True)
class Consent:
    purpose: str
    wording: Text
    covers: tuple[str, ...] = ()
    #: days the consent stays in force once given (None: until withdrawn)
    expires_in_days: int | None = None
    pos: Pos = Pos()


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    say: Text | None = None
    guidance: Text | None = None
    fields: tuple[Field, ...] = ()
    consent: Consent | None = None
    actions: tuple[Action, ...] = ()
    transitions: tuple[Transition, ...] = ()
    outcome: str | None = None
    category: str | None = None
    suppress_interrupts: tuple[str, ...] = ()
    #: requirements on the call's state (REQUIREMENTS), besides what `category` implies
    requires: tuple[str, ...] = ()
    #: where the call goes instead when this step is not allowed now (else the flow's `when_blocked`)
    when_blocked: str | None = None
    pos: Pos = Pos()

    @property
    def is_terminal(self) -> bool:
        return self.kind == "outcome"

    @property
    def choices(self) -> tuple[Transition, ...]:
        """Labelled transitions, shown as a column of answer buttons."""
        return tuple(t for t in self.transitions if t.label is not None)


@dataclass(frozen=True)
class Interrupt:
    id: str
    protocol: str
    label: Text
    hotkey: str | None = None
    pos: Pos = Pos()


@dataclass(frozen=True)
class Invariant:
    id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: Pos = Pos()


@dataclass(frozen=True)
class Waiver:
    """A flow opts out of a built-in invariant, with the reason (printed as a note)."""

    invariant: str
    reason: str
    pos: Pos = Pos()


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    ref: str | None = None
    steps: tuple[str, ...] = ()
    pos: Pos = Pos()


@dataclass(frozen=True)
class Flow:
    id: str
    version: str
    priority: str
    title: Text
    description: Text
    start: str
    steps: tuple[Step, ...]
    languages: tuple[str, ...] = LANGUAGES
    sources: tuple[Source, ...] = ()
    review_needed: str | None = None
    on_start: tuple[Action, ...] = ()
    interrupts: tuple[Interrupt, ...] = ()
    invariants: tuple[Invariant, ...] = ()
    #: the default route for this flow's steps that are not allowed now (a step id of this flow)
    when_blocked: str | None = None
    waivers: tuple[Waiver, ...] = ()
    #: sha256 of the file's bytes: what calls are pinned to and the journal records.
    content_hash: str = ""
    #: the exact source text (kept so a journal can snapshot what the agent was shown).
    source_text: str = ""
    path: str = "<memory>"
    pos: Pos = Pos()
    #: where the `start:` value is (for diagnostics about the start step).
    start_pos: Pos = Pos()

    @cached_property
    def _by_id(self) -> dict[str, Step]:
        out: dict[str, Step] = {}
        for s in self.steps:
            out.setdefault(s.id, s)
        return out

    def step(self, step_id: str) -> Step:
        s = self._by_id.get(step_id)
        if s is None:
            raise KeyError(f"{self.id}: no step {step_id!r}")
        return s

    def has_step(self, step_id: str) -> bool:
        return step_id in self._by_id

    def waived(self, invariant: str) -> Waiver | None:
        return next((w for w in self.waivers if w.invariant == invariant), None)

    def route_when_blocked(self, step: Step) -> str | None:
        """Where the call goes instead of `step` when the gate does not allow it now."""
        return step.when_blocked or self.when_blocked

    @property
    def priority_rank(self) -> int:
        return PRIORITIES.get(self.priority, 0)

    def fields(self) -> dict[str, Field]:
        return {f.id: f for s in self.steps for f in s.fields}

    def texts(self) -> list[Text]:
        """Every translatable text of the flow, in file order."""
        out: list[Text] = [self.title, self.description]
        for i in self.interrupts:
            out.append(i.label)
        for s in self.steps:
            for t in (s.say, s.guidance):
                if t is not None:
                    out.append(t)
            if s.consent is not None:
                out.append(s.consent.wording)
            for f in s.fields:
                out.append(f.label)
                if f.help is not None:
                    out.append(f.help)
                out.extend(c.label for c in f.choices)
            out.extend(t.label for t in s.transitions if t.label is not None)
        return out


@dataclass
class FlowLibrary:
    """All flows of a directory, plus the signposts data, as one unit."""

    flows: dict[str, Flow] = field(default_factory=dict)
    signposts: dict[str, Any] = field(default_factory=dict)
    #: ids of flow files that were found but failed to load (so references to them are not
    #: reported again as unknown flows).
    failed_ids: set[str] = field(default_factory=set)

    def get(self, flow_id: str) -> Flow:
        try:
            return self.flows[flow_id]
        except KeyError:
            raise KeyError(f"no flow {flow_id!r} in the library") from None

    @property
    def interrupts(self) -> dict[str, Interrupt]:
        out: dict[str, Interrupt] = {}
        for f in self.flows.values():
            for i in f.interrupts:
                out.setdefault(i.id, i)
        return out

    def fields(self) -> dict[str, Field]:
        out: dict[str, Field] = {}
        for f in self.flows.values():
            out.update(f.fields())
        return out
