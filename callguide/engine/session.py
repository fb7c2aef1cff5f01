"""A live call: a stack of running protocols over one journal.

`CallSession` is the engine's public face. Each running protocol is a `Frame`
whose position is held by a `transitions` state machine (one machine per flow
version, one model per frame). Interrupts push a frame; when a protocol ends its
frame is popped and the one underneath resumes at the exact step it was on.

Rules this module keeps (docs/engine.md):
- Every decision is taken *before* a state change (policy, conditions, field
  checks); `transitions` only moves the position. Nothing can half-happen.
- Side effects (actions) happen only when the agent commits a step with Next.
  Back never undoes a side effect and going forward again does not repeat it.
- Every input is journalled as it happens; entries of one operation are written
  in one durable transaction before the operation returns.
- A killed call resumes by replaying its journalled inputs over the pinned flow
  versions (`CallSession.resume`).

Never imports Qt; UIs subscribe with `subscribe(listener)`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from transitions import Machine

from callguide.engine import actions as action_registry
from callguide.engine.clock import Clock, FixedClock, SystemClock, iso
from callguide.engine.policy import (
    CallState,
    Refusal,
    interrupt_refusal,
    protocol_refusal,
    step_refusal,
)
from callguide.engine.values import FieldValueError, coerce, to_json
from callguide.flow import expr
from callguide.flow.model import Field, Flow, FlowLibrary, Step, Transition
from callguide.store.base import AccountState, Entry, JournalStore, NewEntry

COUNTRY_CURRENCY = {"UK": "GBP", "DK": "DKK", "CZ": "CZK"}
COUNTRY_LANG = {"UK": "en", "DK": "da", "CZ": "cs"}
WRAP_UP_FLOW = "wrap-up"


class EngineError(Exception):
    """The session cannot do what was asked (one plain line)."""


@dataclass
class Account:
    id: str
    name: str = ""
    country: str = "UK"
    lang: str | None = None
    balance: Decimal | str = "0.00"
    currency: str | None = None

    def __post_init__(self) -> None:
        self.country = (self.country or "UK").upper()
        if self.country == "GB":
            self.country = "UK"
        self.lang = self.lang or COUNTRY_LANG.get(self.country, "en")
        self.currency = self.currency or COUNTRY_CURRENCY.get(self.country, "")
        self.balance = Decimal(str(self.balance)).quantize(Decimal("0.01"))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "country": self.country, "lang": self.lang,
                "balance": str(self.balance), "currency": self.currency}


@dataclass
class Result:
    """What an operation did. `ok=False` carries a rule id and a plain reason, or field errors."""

    ok: bool = True
    rule: str | None = None
    reason: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # details of `rule`, for translation
    error_codes: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # field -> (code, params)

    @classmethod
    def refused(cls, refusal: Refusal) -> Result:
        return cls(False, refusal.rule, refusal.reason, params=dict(refusal.params))

    def __bool__(self) -> bool:
        return self.ok


class _Runner:
    """The `transitions` model of one frame (only its `state` matters)."""

    state: str


@dataclass
class Frame:
    serial: int
    flow: Flow
    runner: _Runner
    history: list[str] = field(default_factory=list)  # committed interactive steps, for Back
    pending_choice: str | None = None
    waiting_on_child: bool = False
    outcome: str | None = None

    @property
    def step_id(self) -> str:
        return self.runner.state

    @property
    def step(self) -> Step:
        return self.flow.step(self.runner.state)


Listener = Callable[[str, dict[str, Any]], None]


class CallSession:
    """One call. Create with `CallSession.start(...)` or `CallSession.resume(...)`."""

    _machines: dict[str, Machine] = {}

    def __init__(self, library: FlowLibrary, store: JournalStore, account: Account, agent: str, *,
                 lang: str | None = None, clock: Clock | None = None, call_id: str | None = None,
                 auto_wrap_up: bool = True, practice: bool = False,
                 history: AccountState | None = None) -> None:
        self.library = library
        self.flows: dict[str, Flow] = dict(library.flows)  # pinned for the whole call
        self.store = store
        self.account = account
        self.agent = agent
        self.lang = lang or account.lang or "en"
        self.clock: Clock = clock or SystemClock()
        self.call_id = call_id or uuid.uuid4().hex
        self.auto_wrap_up = auto_wrap_up
        self.practice = practice
        self.history = history or AccountState(account.id)
        self.stack: list[Frame] = []
        self.state = CallState()
        if self.history.holds:
            self.state.hold_active = True
            self.state.hold_until = max(str(h.get("until", "")) for h in self.history.holds) or None
        self.values: dict[str, Any] = {}
        self.value_origin: dict[str, tuple[int, str]] = {}
        self.prefill: dict[str, Any] = {}
        self.consents: dict[str, bool | None] = {p: None for p in self._consent_purposes()}
        self.consent_decisions: dict[str, str] = {}
        self.visited: list[str] = []
        self.taken: list[tuple[str, str, int]] = []  # (flow, step, transition index) for coverage
        self.records: list[dict[str, Any]] = []
        self.blocked: list[dict[str, Any]] = []
        self.done_actions: set[tuple[int, str, int]] = set()
        self.flows_complete = False
        self.ended = False
        self.root_outcome: str | None = None
        self.outcomes: list[str] = []
        self._wrap_up_started = False
        self._serial = 0
        self._recording = True
        self._pending: list[NewEntry] = []
        self._listeners: list[Listener] = []
        self._fields: dict[str, Field] = library.fields()
        self._depth = 0

    # ------------------------------------------------------------------ creation

    @classmethod
    def start(cls, library: FlowLibrary, store: JournalStore, account: Account, agent: str, *,
              start_flow: str = "call-opening", **kwargs: Any) -> CallSession:
        if start_flow not in library.flows:
            raise EngineError(f"No flow {start_flow!r} in the library.")
        clock = kwargs.get("clock") or SystemClock()
        kwargs["clock"] = clock
        if "history" not in kwargs:
            kwargs["history"] = store.account_state(account.id, clock.now().date())
        session = cls(library, store, account, agent, **kwargs)
        session._check_country()
        with session._operation():
            for f in session.flows.values():
                store.save_flow_snapshot(f.content_hash, f.id, f.version, f.source_text)
            session._emit("call_started", {
                "account": account.as_dict(), "start_flow": start_flow, "lang": session.lang,
                "practice": session.practice, "auto_wrap_up": session.auto_wrap_up,
                "flows": {f.id: f.content_hash for f in session.flows.values()},
                "history": _history_snapshot(session.history),
            })
            session._push(start_flow, cause="start")
        return session

    @classmethod
    def resume(cls, library: FlowLibrary, store: JournalStore, call_id: str, *,
               clock: Clock | None = None) -> CallSession:
        """Rebuild a killed call exactly, by replaying its journalled inputs."""
        entries = store.call_entries(call_id)
        if not entries or entries[0].type != "call_started":
            raise EngineError(f"No call {call_id!r} in the journal.")
        if any(e.type == "call_ended" for e in entries):
            raise EngineError(f"Call {call_id} has already ended.")
        first = entries[0]
        pinned = _pinned_library(library, store, first.data.get("flows", {}))
        account = Account(**first.data["account"])
        history = _history_from_snapshot(account.id, first.data.get("history", {}))
        replay_clock = FixedClock(first.ts)
        session = cls(pinned, store, account, first.agent, lang=first.data.get("lang"), clock=replay_clock,
                      call_id=call_id, auto_wrap_up=first.data.get("auto_wrap_up", True),
                      practice=first.data.get("practice", False), history=history)
        session._recording = False
        session._push(first.data["start_flow"], cause="start")
        for e in entries[1:]:
            replay_clock.set(dt.datetime.fromisoformat(e.ts))
            if "input" in e.data:
                session._apply_input(e.data["input"])
        session.records = [_entry_dict(e) for e in entries]
        session.blocked = [dict(e.data) for e in entries if e.type == "blocked"]
        session._recording = True
        session.clock = clock or SystemClock()
        with session._operation():
            top = session.stack[-1] if session.stack else None
            session._emit("call_resumed", {"flow": top.flow.id if top else None,
                                           "step": top.step_id if top else None}, top)
        return session

    def _apply_input(self, op: dict[str, Any]) -> None:
        kind = op.get("op")
        if kind == "answer":
            self.answer(op.get("values", {}))
        elif kind == "next":
            self.next(op.get("choice"))
        elif kind == "consent":
            self.consent(op["decision"])
        elif kind == "interrupt":
            self.interrupt(op["protocol"])
        elif kind == "action":
            self.action(op["name"], **op.get("params", {}))
        elif kind == "back":
            self.back(op.get("steps", 1))
        elif kind == "withdraw":
            self.withdraw_consent(op["purpose"])
        elif kind == "lang":
            self.set_lang(op["lang"])

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """`listener(event, payload)`; events: changed, step_entered, blocked, entries_written,
        stack_changed, call_ended. Returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, event: str, payload: dict[str, Any]) -> None:
        if not self._recording:
            return
        for fn in list(self._listeners):
            fn(event, payload)

    # ------------------------------------------------------------------ journal

    class _Op:
        def __init__(self, session: CallSession, name: str):
            self.s, self.name = session, name

        def __enter__(self) -> None:
            self.s._depth += 1

        def __exit__(self, *exc: object) -> None:
            self.s._depth -= 1
            if self.s._depth == 0:
                try:
                    self.s._flush()
                finally:
                    self.s._notify("changed", {"op": self.name})

    def _operation(self, name: str = "op") -> CallSession._Op:
        return CallSession._Op(self, name)

    def _emit(self, type_: str, data: dict[str, Any], frame: Frame | None = None,
              step_id: str | None = None, input: dict[str, Any] | None = None) -> None:
        if input is not None:
            data = {**data, "input": input}
        flow = frame.flow if frame is not None else None
        entry = NewEntry(
            type=type_, call_id=self.call_id, account_id=self.account.id, agent=self.agent,
            flow_id=flow.id if flow else None, flow_hash=flow.content_hash if flow else None,
            step_id=step_id if step_id is not None else (frame.step_id if frame is not None else None),
            data=data, ts=iso(self.clock.now()),
        )
        if self._recording:
            self._pending.append(entry)

    def _flush(self) -> None:
        """Write this operation's entries in one durable transaction. If the journal refuses
        (locked, disk full), the entries stay pending, in order, and are written by the next
        operation or `retry_writes()`; the error goes to the caller (the UI shows it)."""
        if not self._pending:
            return
        pending = list(self._pending)
        append_many = getattr(self.store, "append_many", None)
        if append_many:
            written: list[Entry] = list(append_many(pending))
        else:
            written = []
            for e in pending:
                written.append(self.store.append(e))
                self._pending.pop(0)
        self._pending = []
        self.records.extend(_entry_dict(e) for e in written)
        self._notify("entries_written", {"entries": written})

    @property
    def unsaved(self) -> int:
        """Entries not yet in the journal because a write failed (0 normally)."""
        return len(self._pending)

    def retry_writes(self) -> Result:
        """Try again to write entries a failed write left pending."""
        with self._operation("retry"):
            pass
        return Result()

    # ------------------------------------------------------------------ namespace

    def _consent_purposes(self) -> set[str]:
        return {s.consent.purpose for f in self.library.flows.values() for s in f.steps if s.consent}

    def _check_country(self) -> None:
        countries = (self.library.signposts or {}).get("countries", {})
        if countries and self.account.country not in countries:
            raise EngineError(f"No signposts for country {self.account.country!r}; known: "
                              + ", ".join(sorted(countries)) + ".")

    def signposts(self) -> dict[str, Any]:
        entry = (self.library.signposts or {}).get("countries", {}).get(self.account.country, {})
        return {"emergency": entry.get("emergency", {}), "crisis": entry.get("crisis", []),
                "health": entry.get("health", []), "debt_advice": entry.get("debt_advice", []),
                "name": entry.get("name", self.account.country)}

    def namespace(self) -> dict[str, Any]:
        ns: dict[str, Any] = {fid: None for fid in self._fields}
        ns.update(self.values)
        ns["account"] = {**self.account.as_dict(), "balance": self.account.balance}
        ns["consent"] = dict(self.consents)
        ns["state"] = self.state.as_namespace()
        ns["signposts"] = self.signposts()
        ns["call"] = {"id": self.call_id, "agent": self.agent, "lang": self.lang}
        return ns

    def render(self, text: Any, lang: str | None = None, ns: dict[str, Any] | None = None) -> str:
        if text is None:
            return ""
        src = text.get(lang or self.lang)
        try:
            return expr.render(src, ns if ns is not None else self.namespace())
        except expr.ExprError as e:
            return f"{src}  [{e}]"

    def condition(self, src: str | None, ns: dict[str, Any] | None = None) -> bool:
        if src is None:
            return True
        try:
            return bool(expr.evaluate(src, ns if ns is not None else self.namespace()))
        except expr.ExprError:
            return False

    # ------------------------------------------------------------------ frames

    @classmethod
    def _machine(cls, flow: Flow) -> Machine:
        m = cls._machines.get(flow.content_hash or flow.id)
        if m is None:
            m = Machine(model=None, states=[s.id for s in flow.steps], initial=flow.start,
                        auto_transitions=False, send_event=False)
            for s in flow.steps:
                for i, t in enumerate(s.transitions):
                    m.add_transition(f"cg_t{i}", source=s.id, dest=t.to)
            cls._machines[flow.content_hash or flow.id] = m
        return m

    @property
    def top(self) -> Frame | None:
        return self.stack[-1] if self.stack else None

    def breadcrumbs(self) -> list[tuple[str, str]]:
        return [(f.flow.id, self.render(f.flow.title)) for f in self.stack]

    def _push(self, flow_id: str, cause: str) -> None:
        flow = self.flows[flow_id]
        self._serial += 1
        runner = _Runner()
        self._machine(flow).add_model(runner, initial=flow.start)
        frame = Frame(self._serial, flow, runner)
        under = self.top
        self.stack.append(frame)
        if flow.id == WRAP_UP_FLOW:
            self._wrap_up_started = True
        self._emit("protocol_started", {"protocol": flow.id, "version": flow.version, "cause": cause,
                                        "over": {"flow": under.flow.id, "step": under.step_id} if under else None},
                   frame, step_id=flow.start)
        self._notify("stack_changed", {"stack": [f.flow.id for f in self.stack]})
        pushes = self._run_actions(frame, flow.on_start, key_step="@start")
        self._enter(frame, flow.start)
        for target in pushes:
            self._push(target, cause="on_start")

    def _pop(self, frame: Frame) -> None:
        self.stack.remove(frame)
        self.outcomes.append(f"{frame.flow.id}/{frame.outcome}")
        if frame.serial == 1:
            self.root_outcome = frame.outcome
        self._machine(frame.flow).remove_model(frame.runner)
        under = self.top
        self._emit("protocol_ended", {"protocol": frame.flow.id, "outcome": frame.outcome,
                                      "resumes": {"flow": under.flow.id, "step": under.step_id} if under else None},
                   frame)
        self._notify("stack_changed", {"stack": [f.flow.id for f in self.stack]})

    def _after_pop(self, handovers: list[str] | tuple[str, ...] = ()) -> None:
        if handovers:  # one protocol per step (validator rule one-protocol-per-step)
            self._push(handovers[0], cause="handover")
            return
        under = self.top
        if under is None:
            if self.auto_wrap_up and WRAP_UP_FLOW in self.flows and not self._wrap_up_started:
                self._push(WRAP_UP_FLOW, cause="wrap-up")
            else:
                self.flows_complete = True
            return
        if under.waiting_on_child:
            under.waiting_on_child = False
            self._advance(under, under.pending_choice)
        else:
            self._enter(under, under.step_id, resumed=True)

    def _enter(self, frame: Frame, step_id: str, resumed: bool = False) -> None:
        step = frame.flow.step(step_id)
        self.visited.append(f"{frame.flow.id}/{step_id}")
        ns = self.namespace()
        self._emit("step_shown", {"kind": step.kind, "say": self.render(step.say, ns=ns),
                                  "guidance": self.render(step.guidance, ns=ns), "lang": self.lang,
                                  **({"resumed": True} if resumed else {})}, frame, step_id)
        self._notify("step_entered", {"flow": frame.flow.id, "step": step_id})
        if step.kind == "decision" and not resumed:
            self._advance(frame, None)

    # ------------------------------------------------------------------ moving

    def select(self, step: Step, choice: str | None, ns: dict[str, Any] | None = None
               ) -> tuple[int, Transition] | Result:
        ns = ns if ns is not None else self.namespace()
        if choice is None and step.kind == "ask":
            return Result(False, "choose", "Choose one of the answers first.")
        if choice is not None and not any(t.id == choice for t in step.transitions):
            return Result(False, "unknown-choice", f"{choice!r} is not an answer on this step.",
                          params={"choice": choice})
        for i, t in enumerate(step.transitions):
            if choice is not None and t.id != choice:
                continue
            if self.condition(t.when, ns):
                return i, t
        if choice is not None:
            return Result(False, "choice-unavailable", "That answer does not apply here.")
        return Result(False, "no-way-on", "No next step applies; check the answers on this step.")

    def _advance(self, frame: Frame, choice: str | None) -> Result:
        step = frame.step
        picked = self.select(step, choice)
        if isinstance(picked, Result):
            return picked
        idx, t = picked
        target = frame.flow.step(t.to)
        refusal = self.entry_refusal(target)
        if refusal is not None:
            self._refuse(frame, f"enter:{frame.flow.id}/{t.to}", refusal)
            return Result.refused(refusal)
        getattr(frame.runner, f"cg_t{idx}")()
        self.taken.append((frame.flow.id, step.id, idx))
        if step.kind != "decision":
            frame.history.append(step.id)
        self._enter(frame, t.to)
        return Result()

    def entry_refusal(self, target: Step) -> Refusal | None:
        """May the call move to `target` now? Looks one step ahead into an action step, so that a
        choice leading to a payment hand-over is refused before it is taken, not after."""
        refusal = step_refusal(target, self.state)
        if refusal is None and target.kind == "action":
            refusal = self._actions_refusal(target.actions)
        return refusal

    def _refuse(self, frame: Frame | None, what: str, refusal: Refusal) -> None:
        record = {"action": what, "rule": refusal.rule, "reason": refusal.reason}
        self.blocked.append(record)
        self._emit("blocked", record, frame)
        self._notify("blocked", record)

    # ------------------------------------------------------------------ public operations

    def answer(self, values: dict[str, Any]) -> Result:
        """Set field values on the current step. Each valid value is journalled at once."""
        frame = self._require_frame()
        step = frame.step
        by_id = {f.id: f for f in step.fields}
        errors: dict[str, str] = {}
        codes: dict[str, tuple[str, dict[str, Any]]] = {}
        with self._operation("answer"):
            ns = self.namespace()
            order = {f.id: i for i, f in enumerate(step.fields)}
            for fid, raw in sorted(values.items(), key=lambda kv: order.get(kv[0], -1)):
                f = by_id.get(fid)
                if f is None:
                    errors[fid] = "This question is not on the current step."
                    codes[fid] = ("not_on_step", {})
                    continue
                if not self.condition(f.visible_when, ns):
                    errors[fid] = "This question does not apply now."
                    codes[fid] = ("not_apply", {})
                    continue
                if f.sensitivity == "special" and self.consents.get(f.consent or "") is not True:
                    errors[fid] = "Needs the customer's explicit consent first; nothing was recorded."
                    codes[fid] = ("needs_consent", {"purpose": f.consent})
                    continue
                try:
                    value = coerce(f, raw)
                except FieldValueError as e:
                    errors[fid] = str(e)
                    codes[fid] = (e.code, dict(e.params))
                    continue
                self.values[fid] = value
                ns[fid] = value
                self.value_origin[fid] = (frame.serial, step.id)
                self.prefill.pop(fid, None)
                self._emit("answer", {"field": fid, "value": to_json(value), "sensitivity": f.sensitivity},
                           frame, input={"op": "answer", "values": {fid: to_json(value)}})
        return Result(not errors, "invalid" if errors else None,
                      "Some answers need attention." if errors else None, errors, error_codes=codes)

    def missing_required(self, frame: Frame | None = None) -> dict[str, str]:
        frame = frame or self._require_frame()
        ns = self.namespace()
        out: dict[str, str] = {}
        for f in frame.step.fields:
            if not self.condition(f.visible_when, ns):
                continue
            if f.sensitivity == "special" and self.consents.get(f.consent or "") is not True:
                continue  # not allowed, so never required
            if f.required and self.values.get(f.id) is None:
                out[f.id] = "Required."
        return out

    def next(self, choice: str | None = None) -> Result:
        """Commit the current step (answers, actions) and move on."""
        frame = self._require_frame()
        step = frame.step
        with self._operation("next"):
            if step.kind == "consent" and step.consent and self.consents.get(step.consent.purpose) is None:
                return Result(False, "consent-needed", "Record the customer's answer (given or declined) first.")
            if step.kind == "capture":
                self._clear_hidden(step)
                missing = self.missing_required(frame)
                if missing:
                    return Result(False, "invalid", "Some answers are still needed.", missing,
                                  error_codes={fid: ("required", {}) for fid in missing})
            if step.kind in ("action", "outcome"):
                refusal = self._actions_refusal(step.actions)
                if refusal is not None:
                    self._refuse(frame, f"commit:{frame.flow.id}/{step.id}", refusal)
                    return Result.refused(refusal)
            if step.kind == "outcome":
                self._emit("step_committed", {"choice": choice, "to": None}, frame,
                           input={"op": "next", "choice": choice})
                handovers = self._run_actions(frame, step.actions, key_step=step.id)
                frame.outcome = step.outcome
                self._pop(frame)
                self._after_pop(handovers)
                return Result()
            if step.kind != "action":
                picked = self.select(step, choice)
                if isinstance(picked, Result):
                    return picked
                target = frame.flow.step(picked[1].to)
                refusal = self.entry_refusal(target)
                if refusal is not None:
                    self._refuse(frame, f"enter:{frame.flow.id}/{target.id}", refusal)
                    return Result.refused(refusal)
            self._emit("step_committed", {"choice": choice}, frame, input={"op": "next", "choice": choice})
            if step.kind == "action":
                pushes = self._run_actions(frame, step.actions, key_step=step.id)
                if pushes:  # one protocol per step (validator rule one-protocol-per-step)
                    frame.pending_choice = choice
                    frame.waiting_on_child = True
                    self._push(pushes[0], cause=f"{frame.flow.id}/{step.id}")
                    return Result()
            return self._advance(frame, choice)

    def consent(self, decision: str) -> Result:
        """Record given / declined on a consent step, with the hash of the wording shown."""
        frame = self._require_frame()
        step = frame.step
        if step.kind != "consent" or step.consent is None:
            return Result(False, "not-consent", "This step does not ask for consent.")
        if decision not in ("given", "declined"):
            return Result(False, "bad-decision", "Consent is either 'given' or 'declined'.")
        with self._operation("consent"):
            wording = self.render(step.consent.wording)
            purpose = step.consent.purpose
            self.consents[purpose] = decision == "given"
            self.consent_decisions[purpose] = decision
            if decision == "declined":
                self._drop_special(purpose)
            self._emit("consent", {"purpose": purpose, "decision": decision, "wording": wording,
                                   "wording_hash": hashlib.sha256(wording.encode("utf-8")).hexdigest(),
                                   "wording_lang": self.lang, "covers": list(step.consent.covers)},
                       frame, input={"op": "consent", "decision": decision})
            self._notify("consent_recorded", {"purpose": purpose, "decision": decision})
            return self._advance(frame, None)

    def withdraw_consent(self, purpose: str) -> Result:
        if self.consents.get(purpose) is not True:
            return Result(False, "no-consent", "There is no consent to withdraw for that purpose.")
        with self._operation("withdraw"):
            self.consents[purpose] = False
            self.consent_decisions[purpose] = "withdrawn"
            self._drop_special(purpose)
            self._emit("consent_withdrawn", {"purpose": purpose}, self.top,
                       input={"op": "withdraw", "purpose": purpose})
        return Result()

    def interrupt(self, protocol: str) -> Result:
        """Suspend the running protocol, run `protocol`, then resume exactly where it was."""
        if protocol not in self.flows:
            return Result(False, "unknown-flow", f"No protocol {protocol!r}.", params={"flow": protocol})
        flow = self.flows[protocol]
        with self._operation("interrupt"):
            refusal = protocol_refusal(flow, self.state) or interrupt_refusal(flow, [f.flow for f in self.stack])
            if refusal is not None:
                self._refuse(self.top, f"interrupt:{protocol}", refusal)
                return Result.refused(refusal)
            top = self.top
            self._emit("interrupt", {"protocol": protocol, "from_flow": top.flow.id if top else None,
                                     "from_step": top.step_id if top else None}, top,
                       input={"op": "interrupt", "protocol": protocol})
            self.flows_complete = False
            self._push(protocol, cause="interrupt")
        return Result()

    def action(self, name: str, **params: Any) -> Result:
        """A global action from the always-visible bar (escalations, blocks)."""
        if name not in action_registry.EXECUTORS:
            return Result(False, "unknown-action", f"No action {name!r}.", params={"action": name})
        if name == "start_protocol":
            return self.interrupt(str(params.get("flow")))
        from callguide.flow.model import Action
        act = Action(name, dict(params))
        with self._operation("action"):
            refusal = self._actions_refusal((act,))
            if refusal is not None:
                self._refuse(self.top, name, refusal)
                return Result.refused(refusal)
            self._emit("global_action", {"name": name, "params": params}, self.top,
                       input={"op": "action", "name": name, "params": params})
            action_registry.execute(self, self.top, act)
        return Result()

    def back(self, steps: int = 1) -> Result:
        """Go back within the running protocol. Answers after the target are retracted (kept as
        prefill); side effects already committed stay, and are not repeated going forward."""
        frame = self._require_frame()
        if steps < 1 or len(frame.history) < steps:
            return Result(False, "back-limit",
                          "Back cannot go before the start of this protocol; finish it with an outcome instead.")
        with self._operation("back"):
            target = frame.history[-steps]
            later = set(frame.history[-steps:][1:]) | {frame.step_id}
            del frame.history[-steps:]
            retracted = [fid for fid, (serial, sid) in self.value_origin.items()
                         if serial == frame.serial and sid in later]
            for fid in retracted:
                self.prefill[fid] = self.values.pop(fid, None)
                self.value_origin.pop(fid, None)
            kept = sorted({f"{s}#{i}" for (serial, s, i) in self.done_actions if serial == frame.serial and s in later})
            self._emit("back", {"steps": steps, "from": frame.step_id, "to": target, "retracted": retracted,
                                "side_effects_kept": kept}, frame, input={"op": "back", "steps": steps})
            self._machine(frame.flow).set_state(target, model=frame.runner)
            self._enter(frame, target, resumed=True)
        return Result()

    def set_lang(self, lang: str) -> Result:
        if lang not in ("en", "da", "cs"):
            return Result(False, "bad-lang", f"Unknown language {lang!r}.")
        with self._operation("lang"):
            self.lang = lang
            self._emit("language_changed", {"lang": lang}, self.top, input={"op": "lang", "lang": lang})
        return Result()

    def note(self, text: str) -> Result:
        text = (text or "").strip()
        if not text:
            return Result(False, "empty", "The note is empty.")
        with self._operation("note"):
            self._emit("note", {"text": text}, self.top)
        return Result()

    def flag_step(self, comment: str) -> Result:
        """An agent flags the current step's wording for the trainers."""
        frame = self._require_frame()
        with self._operation("flag"):
            self._emit("flag", {"comment": (comment or "").strip(), "flow_id": frame.flow.id,
                                "step_id": frame.step_id, "flow_version": frame.flow.version}, frame)
        return Result()

    def end_call(self, outcome: str | None = None) -> Result:
        """The agent confirmed wrap-up: the call is closed."""
        if self.ended:
            return Result(False, "ended", "The call has already ended.")
        with self._operation("end"):
            if outcome:
                self.state.call_outcome = outcome
            summary = self.summary()
            self._emit("call_ended", {"outcome": self.state.call_outcome, "summary": summary,
                                      "open_protocols": [f.flow.id for f in self.stack]}, self.top)
            self.ended = True
        self._notify("call_ended", {"outcome": self.state.call_outcome})
        return Result()

    # ------------------------------------------------------------------ helpers

    def _require_frame(self) -> Frame:
        if self.ended:
            raise EngineError("The call has ended.")
        if not self.stack:
            raise EngineError("Every protocol on this call has finished; confirm the wrap-up to end it.")
        return self.stack[-1]

    def _clear_hidden(self, step: Step) -> None:
        ns = self.namespace()
        for f in step.fields:
            if f.id in self.values and not self.condition(f.visible_when, ns):
                self.values.pop(f.id, None)
                self.value_origin.pop(f.id, None)

    def _drop_special(self, purpose: str) -> None:
        for fid, f in self._fields.items():
            if f.sensitivity == "special" and f.consent == purpose:
                self.values.pop(fid, None)
                self.prefill.pop(fid, None)
                self.value_origin.pop(fid, None)

    def _actions_refusal(self, acts: Iterable[Any]) -> Refusal | None:
        for a in acts:
            refusal = action_registry.refusal(self, a)
            if refusal is not None:
                return refusal
        return None

    def _run_actions(self, frame: Frame, acts: Iterable[Any], key_step: str) -> list[str]:
        """Execute actions once per (frame, step, index); return protocols to start."""
        pushes: list[str] = []
        for i, a in enumerate(acts):
            key = (frame.serial, key_step, i)
            if key in self.done_actions:
                continue
            self.done_actions.add(key)
            target = action_registry.execute(self, frame, a)
            if target:
                pushes.append(target)
        return pushes

    def summary(self) -> dict[str, Any]:
        """Everything recorded on this call, for the wrap-up screen and `call_ended`."""
        kinds = ("consent", "consent_withdrawn", "vulnerability", "disclosure", "adjustment", "hold_started",
                 "hold_ended", "escalation", "capacity_doubt", "capacity_doubt_cleared", "arrangement",
                 "third_party", "callback", "signpost", "sms_survey", "collection_blocked", "outcome",
                 "debrief_offered", "note", "blocked")
        out: dict[str, list[dict[str, Any]]] = {}
        for r in self.records:
            if r["type"] in kinds:
                data = {k: v for k, v in r["data"].items() if k not in ("input", "wording")}
                out.setdefault(r["type"], []).append(data)
        return {"items": out, "outcome": self.state.call_outcome,
                "protocols": [r["data"]["protocol"] for r in self.records if r["type"] == "protocol_started"]}

    def view(self) -> Any:
        from callguide.engine.views import build_view
        return build_view(self)


def _entry_dict(e: Entry | NewEntry) -> dict[str, Any]:
    return {"seq": getattr(e, "seq", None), "type": e.type, "flow": e.flow_id, "step": e.step_id,
            "data": e.data, "ts": e.ts}


def _history_snapshot(h: AccountState) -> dict[str, Any]:
    return {"holds": h.holds, "vulnerabilities": h.vulnerabilities, "disclosures": h.disclosures,
            "adjustments": h.adjustments, "consents": h.consents, "capacity_flags": h.capacity_flags,
            "third_parties": h.third_parties, "callbacks": h.callbacks, "last_outcome": h.last_outcome,
            "calls": h.calls}


def _history_from_snapshot(account_id: str, data: dict[str, Any]) -> AccountState:
    st = AccountState(account_id)
    for k, v in data.items():
        if hasattr(st, k):
            setattr(st, k, v)
    return st


def _pinned_library(library: FlowLibrary, store: JournalStore, pinned: dict[str, str]) -> FlowLibrary:
    from callguide.flow.loader import load_flow_text

    flows: dict[str, Flow] = {}
    for fid, h in pinned.items():
        current = library.flows.get(fid)
        if current is not None and current.content_hash == h:
            flows[fid] = current
            continue
        text = store.flow_snapshot(h)
        if text is None:
            raise EngineError(f"The journal has no copy of flow {fid} version {h[:12]}; cannot resume exactly.")
        flow, diags = load_flow_text(text, f"journal:{fid}@{h[:12]}")
        if flow is None:
            raise EngineError(f"Flow {fid} version {h[:12]} from the journal no longer loads: {diags[0]}")
        flows[fid] = flow
    return FlowLibrary(flows=flows, signposts=library.signposts)
