"""A live call: the `CallSession` facade over the engine's parts.

`session.apply(command) -> Result` is the only way to change a call (typed commands:
`callguide.engine.commands`). Behind it, each part has its own file:

- `journal.JournalWriter`: operation scopes, pending entries, listeners;
- `facts.CallFacts`: answers, consents in force (the one consent check), protections, local time,
  the expression namespace;
- `stack.ProtocolStack`: running protocols on `transitions`, with its own machine cache;
- `gate.Gate` (+ the pure rules in `policy`, the order rules in `order`): every decision;
- `moves.Navigator`: how the call moves, with the gate at every step it lands on;
- `handlers`: what each command does; `actions` + `context.ActionContext`: the action registry.

A killed call resumes by replaying its journalled commands over the pinned flow versions
(`CallSession.resume`; the pinned flows come from `callguide.library.pinning`). Never imports Qt;
UIs subscribe with `subscribe(listener)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from callguide.engine import commands as c
from callguide.engine.clock import Clock, SystemClock
from callguide.engine.commands import EngineError, Result
from callguide.engine.facts import COUNTRY_CURRENCY, COUNTRY_LANG, CallFacts
from callguide.engine.gate import Gate
from callguide.engine.handlers import HANDLERS, missing_required
from callguide.engine.journal import JournalWriter, Listener
from callguide.engine.localtime import ContactRules, ContactRulesError, zone_for
from callguide.engine.moves import WRAP_UP_FLOW, Navigator
from callguide.engine.order import OrderTracker
from callguide.engine.policy import CallState, Refusal
from callguide.engine.protections import (
    apply_history,
    check_contact_time,
    history_snapshot,
    localize_history,
    receive_register,
)
from callguide.engine.stack import Frame, ProtocolStack
from callguide.flow.guards import GuardIndex
from callguide.flow.model import FlowLibrary, Step, Transition
from callguide.library.pinning import save_snapshots
from callguide.store import entry_types as et
from callguide.store.base import AccountState, JournalStore, StoreError

_SEALED_TYPES = frozenset(et.SEALED_TYPES)

__all__ = ["Account", "CallSession", "EngineError", "Frame", "Result", "WRAP_UP_FLOW"]


def check_account_id(account_id: Any) -> None:
    """A new call's account id is the text the account's register is kept under, exactly: an empty
    id, or one with white space around it or control characters in it, would start an account of its
    own with none of the real account's protections (" G-1" is not "G-1"). Refused in one line."""
    if not isinstance(account_id, str) or not account_id.strip():
        raise EngineError("An account id is needed.")
    if account_id != account_id.strip() or len(account_id) > 128 or any(
            ch < " " or "\x7f" <= ch <= "\x9f" for ch in account_id):
        raise EngineError(f"Account id {account_id!r}: no white space around it, no control characters, at most "
                          "128 characters.")


@dataclass
class Account:
    """The account a call is about. `balance=None` means the balance is not known (never 0.00)."""

    id: str
    name: str = ""
    country: str = "UK"
    lang: str | None = None
    balance: Decimal | str | None = None
    currency: str | None = None
    timezone: str | None = None   # overrides the country's zone (IANA name)

    def __post_init__(self) -> None:
        from callguide.formatting import MoneyError, parse_money

        self.country = (self.country or "UK").upper()
        if self.country == "GB":
            self.country = "UK"
        self.lang = self.lang or COUNTRY_LANG.get(self.country, "en")
        self.currency = self.currency or COUNTRY_CURRENCY.get(self.country, "")
        if self.balance is not None and not (isinstance(self.balance, str) and not self.balance.strip()):
            try:
                self.balance = parse_money(self.balance if isinstance(self.balance, Decimal) else str(self.balance),
                                           self.lang)
            except MoneyError as e:
                raise EngineError(f"Balance: {e}") from None
        else:
            self.balance = None
        if self.timezone:
            try:
                zone_for(self.timezone)
            except ValueError as e:
                raise EngineError(f"Account {self.id}: {e}.") from None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "country": self.country, "lang": self.lang,
                "balance": None if self.balance is None else str(self.balance), "currency": self.currency,
                **({"timezone": self.timezone} if self.timezone else {})}


class CallSession:
    """One call. Create with `CallSession.start(...)` or `CallSession.resume(...)`."""

    def __init__(self, library: FlowLibrary, store: JournalStore, account: Account, agent: str, *,
                 lang: str | None = None, clock: Clock | None = None, call_id: str | None = None,
                 auto_wrap_up: bool = True, practice: bool = False, history: AccountState | None = None,
                 person: Any = None, contact_rules: ContactRules | None = None) -> None:
        from callguide import identity

        self.library = library
        self.flows = dict(library.flows)  # pinned for the whole call
        self.account = account
        try:
            self.person = person if person is not None else identity.person(agent)
        except identity.IdentityError as e:
            raise EngineError(str(e)) from None
        self.agent = self.person.id
        self.clock: Clock = clock or SystemClock()
        self.call_id = call_id or uuid.uuid4().hex
        self.auto_wrap_up = auto_wrap_up
        self.practice = practice
        self.contact_rules = contact_rules
        self.history = history or AccountState(account.id)
        self.journal = JournalWriter(store, self.call_id, account.id, self.agent, self.clock)
        self._seen_version = self._store_version()  # another process's writes to the journal (see apply)
        self.facts = CallFacts(library, account, {"id": self.call_id, "agent": self.agent,
                                                  "agent_name": self.person.display_name},
                               lang or account.lang or "en", self.journal.now)
        self.stack = ProtocolStack()
        self.facts.on_problem = self._flow_problem
        self.guards = GuardIndex(self.flows)
        self.order = OrderTracker(self.flows)
        self.gate = Gate(self)
        self.nav = Navigator(self)
        apply_history(self.facts, self.history)
        self.visited: list[str] = []
        self.taken: list[tuple[str, str, int]] = []  # (flow, step, transition index) for coverage
        self.blocked: list[dict[str, Any]] = []
        self.done_actions: set[tuple[int, str, int]] = set()
        self.recorded_types: set[str] = set()
        self.crisis_recorded = False
        self.flows_complete = False
        self.ended = False
        self.broken: str | None = None  # set when the call could not be rebuilt after an internal error
        self.broken_params: dict[str, str] = {}  # (its words, for the window to say it in its language)
        self.wrap_up_started = False
        self.root_outcome: str | None = None
        self.outcomes: list[str] = []

    # ------------------------------------------------------------------ creation

    @classmethod
    def start(cls, library: FlowLibrary, store: JournalStore, account: Account, agent: str, *,
              start_flow: str = "call-opening", **kwargs: Any) -> CallSession:
        if start_flow not in library.flows:
            raise EngineError(f"No flow {start_flow!r} in the library.")
        check_account_id(account.id)
        clock = kwargs.get("clock") or SystemClock()
        kwargs["clock"] = clock
        if kwargs.get("contact_rules") is None and not kwargs.get("practice"):
            try:
                kwargs["contact_rules"] = ContactRules.load()
            except ContactRulesError as e:
                raise EngineError(str(e)) from None
        s = cls(library, store, account, agent, **kwargs)
        if "history" not in kwargs:
            s.history = localize_history(store.account_state(account.id, s.facts.today()), s.facts.lang)
            apply_history(s.facts, s.history)
        else:  # the team store's register: what is not readable here says so in the call's language
            localize_history(s.history, s.facts.lang)
        s._check_country()
        with s.journal.operation("start"):
            save_snapshots(store, library)
            contact = check_contact_time(s)
            s.emit(et.CALL_STARTED, {
                "account": account.as_dict(), "start_flow": start_flow, "lang": s.facts.lang,
                "practice": s.practice, "auto_wrap_up": s.auto_wrap_up, "person": s.person.as_dict(),
                "flows": {f.id: f.content_hash for f in s.flows.values()},
                "history": history_snapshot(s.history), **({"contact": contact} if contact else {}),
            })
            if contact and not contact["allowed"]:
                s.emit(et.CONTACT_TIME, contact)
            s.nav.push(start_flow, cause="start")
        return s

    @classmethod
    def resume(cls, library: FlowLibrary, store: JournalStore, call_id: str, *,
               clock: Clock | None = None, person: Any = None) -> CallSession:
        """Rebuild a killed call exactly, by replaying its journalled commands, then go on
        (`callguide.engine.replay`). `person`: who goes on with it, with no role the call's starter
        lacked (`replay.resumed_by`); None: the starter (as before)."""
        from callguide.engine.replay import resume_call

        return resume_call(cls, library, store, call_id, clock=clock, person=person)

    # ------------------------------------------------------------------ the one way to change a call

    def apply(self, command: c.Command | dict[str, Any]) -> Result:
        """Carry out one command (or refuse it, with the rule and the reason)."""
        cmd = c.command_from_json(command)
        if isinstance(cmd, c.Action) and cmd.name == "start_protocol":  # from the bar: an interrupt
            cmd = c.Interrupt(str(cmd.params.get("flow")))
        if self.broken:
            raise EngineError(self.broken, "broken", **self.broken_params)
        if self.ended:
            if isinstance(cmd, c.EndCall):
                return Result(False, "ended", "The call has already ended.")
            raise EngineError("The call has ended.", "ended")
        if self.journal.recording:
            self._look_elsewhere()
        refusal = self.gate.command(cmd)
        if refusal is not None:
            what, reason = self.gate.journalled(cmd, _what(cmd), refusal)  # never what was typed, unknown
            with self.journal.operation("refused"):
                self.nav.refuse(self.stack.top, what, Refusal(refusal.rule, reason, refusal.params))
            return Result.refused(refusal)
        try:
            return HANDLERS[type(cmd)](self, cmd)
        except (EngineError, c.CommandError):
            raise  # (said on purpose, before anything changed)
        except Exception as e:
            if not self.journal.recording or not self.journal.aborted:
                raise  # a resume's replay reports it; a failed write keeps its entries pending (retry)
            raise self._rebuild(cmd, e) from None

    def _rebuild(self, cmd: c.Command, error: Exception) -> EngineError:
        """A command stopped part-way on an error nobody expected (a bug): its entries were dropped
        (`journal._Operation`), but the call's memory may hold half of it (a hold started, a step
        moved). The call is rebuilt in place from its journal, exactly as a resume would (whole
        commands only, `call_resumed` journalled), so what is on screen is what is recorded; the
        window and scripts keep the same session object. If it cannot be rebuilt, every later
        command is refused in one line and the call can be resumed later from its journal."""
        from callguide.engine.replay import resume_call

        what = f"{_what(cmd)} stopped on an internal error ({type(error).__name__}: {error}); nothing of it was recorded"
        writer = self.journal
        try:
            self.journal.flush()  # whole earlier operations a failed write left pending go first
            resume_call(type(self), self.library, self.journal.store, self.call_id, clock=self.clock, into=self,
                        listeners_of=writer, person=self.person)  # (whoever went on with it, not its starter)
        except (EngineError, StoreError) as e2:
            self.broken = (f"{what}, and the call could not be rebuilt from its journal ({e2}): close this call "
                           "and resume it from the journal.")
            self.broken_params = {"what": _what(cmd), "error": f"{type(error).__name__}: {error}", "why": str(e2)}
            return EngineError(self.broken, "broken", **self.broken_params)
        return EngineError(f"{what}: the call is as it was before it.", "internal-error", what=_what(cmd),
                           error=f"{type(error).__name__}: {error}")

    def _store_version(self) -> int | None:
        version = getattr(self.journal.store, "data_version", None)
        if version is None:
            return None
        try:
            return version()
        except StoreError:
            return None  # (the write that follows says what is wrong with the journal)

    def _look_elsewhere(self) -> None:
        """Before the gate decides: when another process has written to the journal since the call
        last looked (the care team's `review`, `privacy withdraw`, a call in another window), the
        account's register is read again, so a protection raised there is in force here and a
        consent withdrawn there ends here (`protections.receive_register`, journalled). A register
        that cannot be read is looked for again at the next command."""
        version = self._store_version()
        if version is None or version == self._seen_version:
            return
        try:
            register = self.journal.store.account_state(self.account.id, self.facts.today())
        except StoreError:
            return
        self._seen_version = version
        receive_register(self, register, consents=True)

    # shorthands for apply(...)
    def answer(self, values: dict[str, Any]) -> Result:
        return self.apply(c.Answer(values))

    def next(self, choice: str | None = None) -> Result:
        return self.apply(c.Next(choice))

    def back(self, steps: int = 1) -> Result:
        return self.apply(c.Back(steps))

    def consent(self, decision: str) -> Result:
        return self.apply(c.Consent(decision))

    def withdraw_consent(self, purpose: str) -> Result:
        return self.apply(c.Withdraw(purpose))

    def interrupt(self, protocol: str) -> Result:
        return self.apply(c.Interrupt(protocol))

    def action(self, name: str, **params: Any) -> Result:
        return self.apply(c.Action(name, params))

    def set_lang(self, lang: str) -> Result:
        return self.apply(c.ChangeLanguage(lang))

    def note(self, text: str) -> Result:
        return self.apply(c.Note(text))

    def flag_step(self, comment: str) -> Result:
        return self.apply(c.Flag(comment))

    def end_call(self, outcome: str | None = None) -> Result:
        return self.apply(c.EndCall(outcome))

    def retry_writes(self) -> Result:
        """Try again to write entries a failed write left pending (not a change to the call)."""
        with self.journal.operation("retry"):
            pass
        return Result()

    # ------------------------------------------------------------------ parts the others use

    def emit(self, type_: str, data: dict[str, Any], frame: Frame | None = None, step_id: str | None = None,
             input: dict[str, Any] | None = None) -> None:
        self.recorded_types.add(type_)
        journal = self.journal
        if type_ in _SEALED_TYPES and journal.recording:
            sealer = getattr(journal.store, "sealer", None)
            if sealer is not None:
                # sealed before the append: special-category values under their consent purposes' keys
                if input is not None:
                    data, input = {**data, "input": input}, None
                data = sealer.seal_data(type_, self.account.id, data, self.facts.seal_purposes(type_, data))
        if frame is None:
            journal.emit(type_, data, None, None, step_id, input)
        else:
            flow = frame.flow
            journal.emit(type_, data, flow.id, flow.content_hash, step_id if step_id is not None else frame.step_id,
                         input)

    def shred(self, purpose: str) -> dict[str, Any]:
        """A consent withdrawn: destroy the account's key for `purpose` (crypto-shredding: every value
        sealed under it, on this call and earlier ones, is unreadable at once), unless the retention
        schedule keeps it under a legal basis (`resources/retention.yaml`, `withdrawal_exceptions`).
        Returns what the `consent_withdrawn` entry records: `{"shredded": n}` or `{"kept": basis}`.
        Nothing while a resume replays (the key was destroyed when it happened)."""
        if not self.journal.recording:
            return {}
        from callguide.engine.clock import iso
        from callguide.store.privacy import withdrawal_exception
        from callguide.store.sealing import WITHDRAWN

        kept = withdrawal_exception(purpose)
        if kept:
            return {"kept": kept}
        sealer = self.sealer
        if sealer is None:
            return {}
        gone = sealer.keys.destroy(self.account.id, [purpose], WITHDRAWN,
                                   f"consent withdrawn on call {self.call_id}", iso(self.journal.now()))
        return {"shredded": len(gone)}

    def _flow_problem(self, problem: dict[str, Any]) -> None:
        """A flow text or condition failed at run time: journalled (with the next write, when it came
        up while a view was built) and told to the window, once per call."""
        self.emit(et.FLOW_PROBLEM, problem, self.stack.top)
        self.journal.notify("blocked", {"action": f"{problem['what']}:{problem['where']}", "rule": "flow-problem",
                                        "reason": problem["reason"], "where": problem["where"]})

    def require_frame(self) -> Frame:
        if self.ended:
            raise EngineError("The call has ended.", "ended")
        if not self.stack:
            raise EngineError("Every protocol on this call has finished; confirm the wrap-up to end it.", "finished")
        return self.stack.frames[-1]

    def _check_country(self) -> None:
        countries = (self.library.signposts or {}).get("countries", {})
        if countries and self.account.country not in countries:
            raise EngineError(f"No signposts for country {self.account.country!r}; known: "
                              + ", ".join(sorted(countries)) + ".")

    # ------------------------------------------------------------------ reading

    @property
    def store(self) -> JournalStore:
        return self.journal.store

    @store.setter
    def store(self, value: JournalStore) -> None:
        self.journal.store = value

    @property
    def sealer(self) -> Any:
        """The store's `store.sealing.Sealer` (None: a store that keeps no data keys)."""
        return getattr(self.journal.store, "sealer", None)

    def open_value(self, value: Any) -> Any:
        """A journalled value as the agent may see it: opened, or "withdrawn on DATE" in the call's
        language when its key was destroyed."""
        sealer = self.sealer
        return sealer.open_shape(self.account.id, value, self.lang) if sealer is not None else value

    @property
    def lang(self) -> str:
        return self.facts.lang

    @property
    def state(self) -> CallState:
        return self.facts.state

    @property
    def values(self) -> dict[str, Any]:
        return self.facts.values

    @property
    def prefill(self) -> dict[str, Any]:
        return self.facts.prefill

    @property
    def value_origin(self) -> dict[str, tuple[int, str]]:
        return self.facts.value_origin

    @property
    def consents(self) -> dict[str, bool | None]:
        return self.facts.consent_view()

    @property
    def consent_decisions(self) -> dict[str, str]:
        return self.facts.consent_decisions

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.journal.records

    @records.setter
    def records(self, value: list[dict[str, Any]]) -> None:
        self.journal.records = value

    @property
    def top(self) -> Frame | None:
        return self.stack.top

    @property
    def unsaved(self) -> int:
        return self.journal.unsaved

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """`listener(event, payload)`; events: changed, step_entered, blocked, entries_written,
        stack_changed, consent_recorded, call_ended. Returns an unsubscribe function."""
        return self.journal.subscribe(listener)

    def signposts(self) -> dict[str, Any]:
        return self.facts.signposts()

    def namespace(self) -> dict[str, Any]:
        return self.facts.namespace()

    def render(self, text: Any, lang: str | None = None, ns: dict[str, Any] | None = None) -> str:
        return self.facts.render(text, lang, ns)

    def condition(self, src: str | None, ns: dict[str, Any] | None = None) -> bool:
        return self.facts.condition(src, ns)

    def select(self, step: Step, choice: str | None, ns: dict[str, Any] | None = None
               ) -> tuple[int, Transition] | Result:
        return self.nav.select(step, choice)

    def entry_refusal(self, target: Step, flow: Any = None) -> Any:
        flow = flow or (self.stack.top.flow if self.stack.top else None)
        return self.gate.landing(flow, target) if flow is not None else None

    def missing_required(self, frame: Frame | None = None) -> dict[str, str]:
        return missing_required(self, frame or self.require_frame())

    def breadcrumbs(self) -> list[tuple[str, str]]:
        return [(f.flow.id, self.render(f.flow.title)) for f in self.stack]

    def summary(self) -> dict[str, Any]:
        """Everything recorded on this call, for the wrap-up screen: sealed values opened, or
        "withdrawn on DATE" where the key was destroyed (a withdrawal on this call)."""
        import contextlib

        from callguide.engine.summary import call_summary

        sealer = self.sealer
        with sealer.keys.checked() if sealer is not None else contextlib.nullcontext():  # one freshness check
            return call_summary(self.journal.records, self.facts.state.call_outcome, self.open_value)

    def journal_summary(self) -> dict[str, Any]:
        """The summary `call_ended` keeps: sealed values as references to their entries, never copies."""
        from callguide.engine.summary import call_summary

        return call_summary(self.journal.records, self.facts.state.call_outcome)

    def consents_in_force(self) -> list[Any]:
        """Every consent in force on the account now (this call's and earlier calls'), for Withdraw."""
        from callguide.engine.views import consents_in_force

        return consents_in_force(self)

    def view(self) -> Any:
        from callguide.engine.views import build_view
        return build_view(self)


def _what(cmd: c.Command) -> str:
    if isinstance(cmd, c.Interrupt):
        return f"interrupt:{cmd.protocol}"
    if isinstance(cmd, c.Action):
        return cmd.name
    if isinstance(cmd, c.SetOutcome):
        return f"outcome:{cmd.code}"
    if isinstance(cmd, c.EndCall):
        return f"end:{cmd.outcome}"
    if isinstance(cmd, c.Withdraw):
        return f"withdraw:{cmd.purpose}"
    return cmd.kind
