"""The gate: one place that decides whether a change to a call may happen.

Every command passes here before anything changes, and so does every step the call would land
on — by Next, by a decision, when an interrupt ends and the step underneath is shown again, by
Back, after a resume, at the start of a protocol, and after a command changed the protections
under the step on screen. The gate reads the account's protections and this call's state
(`CallState`), the order rules of the library (`OrderTracker`), the step guards
(`flow.guards.GuardIndex`) and the person's roles, and answers with a `Refusal` or None. It
never changes anything itself. Rules and their ids: docs/engine.md.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from callguide.engine import commands as c
from callguide.engine.actions import EXECUTORS
from callguide.engine.policy import (
    CRISIS_PRIORITIES,
    Refusal,
    TypedText,
    collection_refusal,
    flag_refusal,
    interrupt_refusal,
    note_refusal,
    outcome_refusal,
    payment_refusal,
    requirement_refusal,
    survey_refusal,
    typed_text,
)
from callguide.flow import expr
from callguide.flow.actions import ACTION_SPECS, ESCALATIONS, free_text_params, free_text_sealable
from callguide.flow.guards import protocol_requirements
from callguide.flow.model import Action, Field, Flow, Step
from callguide.store.sealing import REASON_HELD_BACK

if TYPE_CHECKING:
    from callguide.engine.session import CallSession

#: Who may do what (PROTOCOLS.md §3 rule 8).
ACTION_ROLES = {"clear_capacity_doubt": ("care_team",)}
#: Actions only a flow's step may take, never the bar or a script: an arrangement is recorded on the
#: payment arrangement's own step, after identity, the budget and the terms read back (the order rules
#: and the step's field checks), never straight from the identity check.
STEP_ONLY_ACTIONS = frozenset({"record_arrangement"})
MAX_LOOKAHEAD = 8


class Gate:
    """Decisions for one call. Reads the session; never writes to it."""

    def __init__(self, session: CallSession) -> None:
        self._s = session

    @property
    def state(self) -> Any:
        return self._s.facts.state

    # ------------------------------------------------------------------ steps

    def landing(self, flow: Flow, step: Step, _depth: int = 0) -> Refusal | None:
        """May the call show this step now? (Its requirements, the order rules, and for a hand-over
        the first step of the protocol it would start.)"""
        s = self._s
        refusal = requirement_refusal(s.guards.requirements(flow, step), self.state)
        if refusal is None:
            refusal = s.order.refusal(flow.id, step)
        if refusal is None and step.actions and _depth < MAX_LOOKAHEAD:
            for a in step.actions:
                if a.name == "start_protocol":
                    target = s.flows.get(str(a.params.get("flow")))
                    if target is not None and target.has_step(target.start):
                        refusal = self.landing(target, target.step(target.start), _depth + 1)
                elif a.name == "set_outcome":
                    refusal = self.outcome(str(a.params.get("code")))
                if refusal is not None:
                    break
        return refusal

    def protocol(self, flow: Flow) -> Refusal | None:
        """May this protocol start now?"""
        refusal = requirement_refusal(protocol_requirements(flow), self.state)
        if refusal is None and flow.has_step(flow.start):
            refusal = self.landing(flow, flow.step(flow.start))
        return refusal

    def interrupt(self, flow: Flow) -> Refusal | None:
        return self.protocol(flow) or interrupt_refusal(flow, self._s.stack.flows())

    # ------------------------------------------------------------------ actions and outcomes

    def outcome(self, code: str | None) -> Refusal | None:
        known = self.known_outcomes() if self._s.journal.recording else None  # (a resume replays what was kept)
        return outcome_refusal(code, self.state, self._s.recorded_types, known)

    def known_outcomes(self) -> frozenset[str]:
        """The outcome codes this call knows: the wrap-up's (`views.OUTCOME_CODES`), the payment outcomes
        and every code its flows use (`set_outcome` actions, outcome steps): ids the trainers wrote."""
        return _known_ids(self._s.flows)[0]

    def journalled(self, cmd: c.Command, what: str, refusal: Refusal) -> tuple[str, str]:
        """What the `blocked` entry of a refused command keeps: its kind and the id it names with the
        reason, when the library knows that id; otherwise only the command's kind and a reason that
        quotes nothing of it. A refused command's ids are what a person typed (a script, the bar):
        `Interrupt("Customer has cancer")`, `Withdraw("her cancer")`, an outcome, a language, an
        action, a consent purpose or a param's name was kept in clear in the journal."""
        outcomes, purposes = _known_ids(self._s.flows)
        names: list[tuple[Any, Any]] = []
        if isinstance(cmd, c.Interrupt):
            names = [(cmd.protocol, self._s.flows)]
        elif isinstance(cmd, c.Action):
            names = [(cmd.name, EXECUTORS)] + [(k, ACTION_SPECS.get(cmd.name, {}).get("params", {}).get(
                "properties", {})) for k in cmd.params]
        elif isinstance(cmd, (c.SetOutcome, c.EndCall)):
            names = [(cmd.code if isinstance(cmd, c.SetOutcome) else cmd.outcome, outcomes | {None})]
        elif isinstance(cmd, c.ChangeLanguage):
            names = [(cmd.lang, ("en", "da", "cs"))]
        elif isinstance(cmd, (c.Withdraw, c.Answer, c.Note)):
            names = [(cmd.purpose, purposes | {None})]
        if all(isinstance(n, (str, type(None))) and n in where for n, where in names):
            return what, refusal.reason
        return cmd.kind, "Refused: it names something the library does not know (not recorded as typed)."

    def action(self, action: Action, typed: bool = False) -> Refusal | None:
        """May this action run now (a step's action on Next, or one from the escalation bar: `typed`, its
        params what a person typed, never worked out as templates)?"""
        s = self._s
        name = action.name
        if name not in EXECUTORS:
            return Refusal("unknown-action", f"No action {name!r}.", {"action": name})
        refusal = _number_refusal(name, action.params) or _shape_refusal(name, action.params)
        if refusal is not None:
            return refusal
        roles = ACTION_ROLES.get(name)
        if roles and not any(s.person.has(r) for r in roles):
            return Refusal("review-role", f"Only the {' or '.join(r.replace('_', ' ') for r in roles)} can do "
                           f"this ({name}); {s.person.id} cannot. Refer the customer instead.",
                           {"action": name, "roles": list(roles), "person": s.person.id})
        if name == "record_arrangement":
            return payment_refusal(self.state)
        if name == "start_protocol":
            flow = s.flows.get(str(action.params.get("flow")))
            if flow is None:
                return Refusal("unknown-flow", f"No protocol {action.params.get('flow')!r}.",
                               {"flow": action.params.get("flow")})
            return self.protocol(flow)
        if name == "set_outcome":
            return self.outcome(str(action.params.get("code")))
        if name == "withdraw_consent":  # a step's, the bar's or a script's: the Withdraw command's rule
            return self.withdrawal(str(action.params.get("purpose") or ""))
        if name == "queue_sms_survey" and survey_refusal(self.state) is not None:
            return survey_refusal(self.state)
        if name == "queue_sms_survey" and not s.facts.consent_in_force("sms_survey"):
            return Refusal("consent-missing", "The customer has not agreed to an SMS survey.",
                           {"purpose": "sms_survey"})
        if name == "unblock_collection" and (self.state.hold_active or self.state.crisis or self.state.dispute):
            return collection_refusal(self.state)
        if name in ("end_hold", "record_dispute") and not self._text_param(action, "reason", typed):
            return Refusal("reason-needed", f"{name.replace('_', ' ').capitalize()} needs a reason.",
                           {"action": name})
        if name == "end_hold" and not self.state.hold_active:
            return Refusal("no-hold", "There is no hold to end.")
        if name == "record_contact_reason":
            reasons = s.contact_rules.reasons if s.contact_rules is not None else {}
            if action.params.get("reason") not in reasons:
                return Refusal("bad-reason", "That is not an allowed reason for contact outside the permitted "
                               "hours.", {"reasons": sorted(reasons)})
        return None

    def withdrawal(self, purpose: str) -> Refusal | None:
        """May a consent be withdrawn (its key destroyed) now? Only one in force: never the account's
        personal key or any other key by its name (that is an erasure, with its role and tombstone)."""
        if not self._s.facts.consent_in_force(purpose):
            return Refusal("no-consent", "There is no consent in force to withdraw for that purpose.",
                           {"purpose": purpose})
        return None

    def actions(self, acts: tuple[Action, ...] | list[Action]) -> Refusal | None:
        for a in acts:
            refusal = self.action(a)
            if refusal is not None:
                return refusal
        return None

    def _text_param(self, action: Action, name: str, typed: bool = False) -> str:
        """The text of a param: a flow's template worked out; what a person typed as it is (as the action
        keeps it: `ActionContext(typed=True)`). Before, a typed "{{ x }}" was worked out here: refused as
        no reason at all, with a `flow_problem` that quoted the name typed."""
        value = action.params.get(name)
        if isinstance(value, str) and "{" in value and not typed:
            try:
                value = expr.render(value, self._s.facts.namespace())
            except expr.ExprError as e:  # no reason then (the action is refused), and a problem told
                self._s.facts.report_problem("text", action.pos, e)
                return ""
        return str(value or "").strip()

    # ------------------------------------------------------------------ commands

    def command(self, cmd: c.Command) -> Refusal | None:
        """The checks a command needs before it is carried out (the step it lands on is checked
        by the navigator as it moves)."""
        s = self._s
        if isinstance(cmd, c.Interrupt):
            flow = s.flows.get(cmd.protocol)
            if flow is None:
                return Refusal("unknown-flow", f"No protocol {cmd.protocol!r}.", {"flow": cmd.protocol})
            return self.interrupt(flow)
        if isinstance(cmd, c.Action):
            new = s.journal.recording  # a resume replays what was accepted then, never refused again
            if new and cmd.name in STEP_ONLY_ACTIONS:
                return Refusal("step-only", f"{cmd.name.replace('_', ' ').capitalize()} is done on its step in the "
                               "flow, not from the bar.", {"action": cmd.name})
            return self.action(Action(cmd.name, dict(cmd.params)), typed=True) or \
                ((_undeclared_refusal(cmd) or _text_refusal(cmd)) if new else None) or self.typed_reason(cmd)
        if isinstance(cmd, c.SetOutcome):
            return self.outcome(cmd.code)
        if isinstance(cmd, c.EndCall):  # without a code the call ends with the one chosen before: asked again now
            return self.outcome(cmd.outcome or self.state.call_outcome)
        if isinstance(cmd, c.Withdraw):
            return self.withdrawal(cmd.purpose)
        if isinstance(cmd, c.ChangeLanguage) and cmd.lang not in ("en", "da", "cs"):
            return Refusal("bad-lang", f"Unknown language {cmd.lang!r}.")
        if isinstance(cmd, c.Note):
            return self.note(cmd.text, cmd.purpose)
        if isinstance(cmd, c.Answer) and cmd.purpose and s.journal.recording \
                and not s.facts.consent_in_force(cmd.purpose):  # an answer said to be under a consent
            return Refusal("consent-missing-for", f"No consent for {cmd.purpose.replace('_', ' ')} is in force: "
                           "nothing was recorded.", {"purpose": cmd.purpose})
        if isinstance(cmd, c.Flag) and cmd.comment:
            if not self._s.journal.recording and not _lists_ok():
                return None  # replayed as it was saved
            return flag_refusal(self._words().find(cmd.comment))
        return None

    def note(self, text: str, purpose: str | None = None) -> Refusal | None:
        """May this note be saved (as the agent asked: under `purpose`, or plain)? The window asks this
        before it saves, to put the question to the agent; the command asks it again."""
        if not self._s.journal.recording and not _lists_ok():
            return None  # a resume replays notes saved before: a broken list never stops it
        words = self._words()
        return note_refusal(purpose, words.find(text), words.purpose, self._s.facts.consent_in_force)

    def typed_reason(self, cmd: c.Action) -> Refusal | None:
        """May the text the agent typed into the action's free-text params (its reason) be saved?
        The note's rule (`policy.reason_refusal`). A resume replays what was saved then: never
        refused again (the lists may have changed since)."""
        typed = _typed(cmd)
        if not self._s.journal.recording or not typed or cmd.name in ESCALATIONS:
            return None  # (an escalation is never refused for its reason: `typed_reason_params`)
        words = self._words()
        for _name, text in typed:
            refusal = self._typed_text(cmd.name, text, words).refusal
            if refusal is not None:
                return refusal
        return None

    def typed_reason_params(self, cmd: c.Action) -> tuple[dict[str, Any], str | None]:
        """The params the action is carried out and journalled with, and the consent its typed reason
        is sealed under (None: the personal key). A matching reason with that consent in force keeps
        its text under the consent; an escalation's matching reason without it is held back (the
        escalation goes, its text is `sealing.REASON_HELD_BACK`). A resume replays the journalled params."""
        params = dict(cmd.params)
        typed = _typed(cmd)
        if not self._s.journal.recording or not typed:
            return params, None
        words = self._words(never_refused=cmd.name in ESCALATIONS)
        if words is None:  # the lists cannot be read: an escalation goes all the same, its text held back
            return {**params, **{name: REASON_HELD_BACK for name, _ in typed}}, None
        purpose = None
        for name, text in typed:
            kept = self._typed_text(cmd.name, text, words)
            if kept.purpose is not None:
                purpose = kept.purpose
            if kept.held_back or not isinstance(params.get(name), str):
                params[name] = kept.text  # held back, or the text of what came (never a list kept as it came)
        return params, purpose

    def typed_answer(self, flow: Flow, f: Field, text: str, purpose: str | None = None) -> TypedText:
        """What a free-text answer becomes (`handlers.answer`): the typed-text rule (`policy.typed_text`)
        for a `text` field that is not special-category itself. Refused (`answer-sensitive`) while it
        may hold health or life-event details and the lists' consent is not in force; with it, kept and
        sealed under it; in a crisis protocol, or an answer an escalation carries, never refused: held
        back without the consent (`answer_never_refused`). `purpose`: a consent the answer is said to be
        under (the gate checked it is in force). A resume replays the answer as it was saved, under the
        consent it names (never checked again: the lists may have changed since)."""
        if not self._s.journal.recording:
            return TypedText(None, text, purpose)
        never = answer_never_refused(flow, f.id)
        words = self._words(never_refused=never)
        if words is None:  # the lists cannot be read: a crisis goes on, nothing unchecked is kept
            return TypedText(None, REASON_HELD_BACK, None, True)
        kept = typed_text(f"answer {f.id}", text, words.find(text), words.purpose, self._s.facts.consent_in_force,
                          escalation=never, answer=f.id)
        if kept.refusal is None and not kept.held_back and kept.purpose is None and purpose:
            return TypedText(None, kept.text, purpose)
        return kept

    def _typed_text(self, action: str, text: str, words: Any) -> TypedText:
        """The one rule for typed text (`policy.typed_text`, also the console's), for this call."""
        return typed_text(action, text, words.find(text), words.purpose, self._s.facts.consent_in_force,
                          escalation=action in ESCALATIONS, sealable=free_text_sealable(action))

    def _words(self, never_refused: bool = False) -> Any:
        """The trainers' word lists (`engine.sensitive`); one that cannot be read stops free text
        (fail closed: nothing is saved unchecked), as one line; where a text is never refused (an
        escalation's, a crisis protocol's answer), None instead: the caller holds the text back."""
        from callguide.engine import sensitive

        try:
            return sensitive.load()
        except sensitive.SensitiveWordsError as e:
            if never_refused:
                return None
            raise c.EngineError(f"Notes cannot be checked: {e}") from None


def answer_never_refused(flow: Flow, field: str) -> bool:
    """Is a free-text answer of `field` in `flow` never refused for its words (held back instead)? In a
    crisis protocol (`policy.CRISIS_PRIORITIES`: BLAKE, HARMED), and when an escalation of the flow
    carries it (the care referral's note, quoted in `refer_care_team`'s reason): a crisis, or a
    hand-over, is never blocked by a word list."""
    return flow.priority in CRISIS_PRIORITIES or field in _escalated_fields(flow)


def _escalated_fields(flow: Flow) -> frozenset[str]:
    key = (flow.id, flow.content_hash)
    got = _ESCALATED.get(key)
    if got is None:
        names: set[str] = set()
        for st in flow.steps:
            for a in st.actions:
                if a.name not in ESCALATIONS:
                    continue
                for v in a.params.values():
                    if isinstance(v, str) and "{" in v:
                        try:
                            names |= expr.template_names(v)
                        except expr.ExprError:
                            continue
        got = _ESCALATED[key] = frozenset(names)
    return got


_ESCALATED: dict[tuple[str, str], frozenset[str]] = {}

#: Params another rule owns: an outcome code (`bad-outcome` and the payment rules), a protocol (`unknown-flow`).
_OWN_RULE = frozenset({("set_outcome", "code"), ("start_protocol", "flow")})


@functools.cache
def _param_validator(name: str, key: str) -> Any:
    """A JSON Schema validator for one declared param of an action (`flow.actions.ACTION_SPECS`)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(ACTION_SPECS[name]["params"]["properties"][key])


def _shape_refusal(name: str, params: Any) -> Refusal | None:
    """A declared param of the wrong shape (`fields: 5`, a contact reason that is a list): refused in one
    line before anything runs, as the validator refuses it in a flow. Typed text has its own rule
    (`_text_refusal`) and a number of days its range (`_number_refusal`); params the action does not
    declare are refused for a new command (`_undeclared_refusal`), never for a flow's (the validator's)."""
    props = ACTION_SPECS.get(name, {}).get("params", {}).get("properties", {})
    for key, value in params.items():
        spec = props.get(key)
        if spec is None or spec.get("type") == "integer" or key in free_text_params(name) or \
                (name, key) in _OWN_RULE:
            continue
        if not _param_validator(name, key).is_valid(value):
            return Refusal("bad-value", f"{name.replace('_', ' ').capitalize()}: that {key.replace('_', ' ')} is not "
                           "valid here.", {"action": name, "param": key})
    return None


def _number_refusal(name: str, params: Any) -> Refusal | None:
    """A number of days (a bar's or a script's action, or a flow's) outside the range its action declares
    (`flow.actions.ACTION_SPECS`: 0 to 3650): refused in one line, before anything is journalled (a
    date that far away cannot be worked out, and a call whose journal held it could not resume)."""
    props = ACTION_SPECS.get(name, {}).get("params", {}).get("properties", {})
    for key, spec in props.items():
        if spec.get("type") != "integer" or key not in params:
            continue
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue  # not a number: the action takes its default (a typed value is never worked out)
        try:
            number = int(value.strip()) if isinstance(value, str) else value
        except ValueError:
            continue  # a flow's expression, or text: as before
        lo, hi = spec.get("minimum", 0), spec.get("maximum", 3650)
        if not lo <= number <= hi:
            return Refusal("bad-param", f"{name.replace('_', ' ').capitalize()}: {key.replace('_', ' ')} must be a "
                           f"whole number from {lo} to {hi}.", {"action": name, "param": key, "min": lo, "max": hi})
    return None


def _known_ids(flows: dict[str, Flow]) -> tuple[frozenset[str], frozenset[str]]:
    """The outcome codes and the consent purposes a library knows (cached per library's flows)."""
    key = tuple(sorted((f.id, f.content_hash) for f in flows.values()))
    got = _KNOWN.get(key)
    if got is None:
        from callguide.engine import sensitive
        from callguide.engine.views import OUTCOME_CODES
        from callguide.flow.guards import PAYMENT_OUTCOMES

        outcomes = set(OUTCOME_CODES) | set(PAYMENT_OUTCOMES)
        purposes = {"sms_survey"}
        for flow in flows.values():
            for st in flow.steps:
                outcomes |= {str(a.params.get("code")) for a in st.actions if a.name == "set_outcome"}
                if st.outcome:  # (a protocol's own outcomes: the trainers' ids too)
                    outcomes.add(st.outcome)
                if st.consent is not None:
                    purposes.add(st.consent.purpose)
                purposes |= {f.consent for f in st.fields if f.consent}
        try:
            purposes.add(sensitive.load().purpose)
        except sensitive.SensitiveWordsError:
            pass
        got = _KNOWN[key] = (frozenset(outcomes), frozenset(purposes))
    return got


_KNOWN: dict[tuple[tuple[str, str], ...], tuple[frozenset[str], frozenset[str]]] = {}


def _undeclared_refusal(cmd: c.Action) -> Refusal | None:
    """A param the action does not declare (`flow.actions.ACTION_SPECS`), from the bar or a script: refused
    in one line, as the validator refuses it in a flow. The action never reads it, but the command was
    journalled with it: any text there (`{"action": "start_hold", "params": {"days": 30, "why": "she has
    cancer"}}`) went round the word lists and was kept under the account's personal key, with no consent."""
    props = ACTION_SPECS.get(cmd.name, {}).get("params", {}).get("properties", {})
    for key in cmd.params:
        if key not in props:
            return Refusal("bad-value", f"{cmd.name.replace('_', ' ').capitalize()} takes no such param: nothing was "
                           "done.", {"action": cmd.name, "param": str(key)[:40]})
    return None


def _text_refusal(cmd: c.Action) -> Refusal | None:
    """What a person types (a reason) is text: a list or a mapping there would go round the word lists
    (`typed_reason` reads text) and be kept as it came, even in clear (a collection block's label). An
    escalation is never refused: its reason is read as the text of what came (`_typed`)."""
    if cmd.name in ESCALATIONS:
        return None
    for name in free_text_params(cmd.name):
        value = cmd.params.get(name)
        if value is not None and not isinstance(value, str):
            return Refusal("bad-text", f"{cmd.name.replace('_', ' ').capitalize()}: the {name} is typed text, not a "
                           "list, a mapping or a number.", {"action": cmd.name, "param": name})
    return None


def _typed(cmd: c.Action) -> list[tuple[str, str]]:
    """The action's declared free-text params the agent filled in, with their text (an escalation's
    reason that came as a list or a number: its JSON text, checked and kept as text)."""
    out = []
    for n in free_text_params(cmd.name):
        v = cmd.params.get(n)
        if v is not None and not isinstance(v, str):
            v = json.dumps(v, ensure_ascii=False, default=str)
        if v is not None and v.strip():
            out.append((n, v))
    return out


def _lists_ok() -> bool:
    from callguide.engine import sensitive

    try:
        sensitive.load()
    except sensitive.SensitiveWordsError:
        return False
    return True
