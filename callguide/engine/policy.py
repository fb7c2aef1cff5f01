"""What must not happen on a call, decided in one place (PROTOCOLS.md §3).

Pure functions over `CallState` (the live facts: the account's protections loaded at the start of
the call, plus what this call did) that return a `Refusal(rule, reason, params)` or None. The
engine's gate (`callguide.engine.gate`) asks them before every change, with the command and the
step the call would land on; the journal gets a `blocked` entry with the rule and the reason, and
the window translates the rule id. The rules table is in docs/engine.md. No I/O, no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from callguide.flow.guards import PAYMENT_OUTCOMES
from callguide.flow.model import PRIORITIES, Flow
from callguide.store.sealing import REASON_HELD_BACK

# What an escalation journals instead of a typed reason that may hold health or life-event details
# while no consent covers them (`REASON_HELD_BACK`) is declared with the other markers a reader sees
# instead of a value, in `store.sealing`, which says it in the reader's language (`held_back_text`).


@dataclass
class CallState:
    """The live facts the rules read. Protections from earlier calls are included from the start."""

    capacity_doubt: bool = False
    hold_active: bool = False
    hold_until: str | None = None
    crisis: bool = False
    crisis_review: str | None = None     # review date of the crisis protection
    dispute: bool = False
    manual_blocks: set[str] = field(default_factory=set)
    out_of_hours: bool = False           # the call started outside the customer's permitted contact hours
    contact_reason: str | None = None    # the allowed reason the agent recorded for contact outside them
    local_time: str | None = None        # the customer's local time at the start ("22:30")
    contact_window: str | None = None    # the permitted hours that apply ("06:00-22:00")
    call_outcome: str | None = None

    @property
    def contact_refused(self) -> bool:
        return self.out_of_hours and not self.contact_reason

    @property
    def collection_blocked(self) -> bool:
        return self.hold_active or self.crisis or self.dispute or bool(self.manual_blocks) or self.contact_refused

    @property
    def payment_blocked(self) -> bool:
        return self.capacity_doubt or self.collection_blocked

    def as_namespace(self) -> dict[str, object]:
        return {
            "capacity_doubt": self.capacity_doubt,
            "hold_active": self.hold_active,
            "hold_until": self.hold_until,
            "crisis": self.crisis,
            "dispute": self.dispute,
            "out_of_hours": self.out_of_hours,
            "contact_reason": self.contact_reason,
            "local_time": self.local_time,
            "contact_window": self.contact_window,
            "collection_blocked": self.collection_blocked,
            "payment_blocked": self.payment_blocked,
            "collection_allowed": not self.collection_blocked,
            "payment_allowed": not self.payment_blocked,
        }


@dataclass(frozen=True)
class Refusal:
    rule: str      # stable id, translated by the UI
    reason: str    # plain English, one line (journalled)
    params: dict[str, object] = field(default_factory=dict)  # details for a translated message


#: Rules that protect the customer (a step refused by one of these is skipped along its
#: `when_blocked` route rather than shown).
PROTECTIVE_RULES = frozenset({"capacity-doubt", "hold-active", "crisis", "dispute", "collection-blocked",
                              "contact-hours", "requires-before", "no-path"})


def collection_refusal(state: CallState) -> Refusal | None:
    if state.crisis:
        return Refusal("crisis", "A crisis protection is in force on this account: no collection.",
                       {"until": state.crisis_review} if state.crisis_review else {})
    if state.dispute:
        return Refusal("dispute", "The customer disputes the debt: collection is paused until the evidence is "
                       "reviewed.")
    if state.hold_active:
        until = f" until {state.hold_until}" if state.hold_until else ""
        return Refusal("hold-active", f"The account is on hold{until}: no collection.",
                       {"until": state.hold_until} if state.hold_until else {})
    if state.manual_blocks:
        return Refusal("collection-blocked",
                       "Collection is blocked on this call (" + ", ".join(sorted(state.manual_blocks)) + ").",
                       {"reasons": sorted(state.manual_blocks)})
    if state.contact_refused:
        return Refusal("contact-hours",
                       f"It is {state.local_time} for the customer, outside the permitted contact hours "
                       f"({state.contact_window}): no collection unless an allowed reason is recorded.",
                       {"local_time": state.local_time, "window": state.contact_window})
    return None


def payment_refusal(state: CallState) -> Refusal | None:
    if state.capacity_doubt:
        return Refusal("capacity-doubt",
                       "A doubt about the customer's capacity to decide is open until a specialist review: no "
                       "payment decision.")
    return collection_refusal(state)


def survey_refusal(state: CallState) -> Refusal | None:
    """The SMS satisfaction survey is never sent after a crisis or while a doubt about the customer's
    capacity is open (wrap-up's `survey-check`), whichever door asks: the flow's step or the bar."""
    if state.crisis or state.capacity_doubt:
        return Refusal("survey-not-now", "No SMS survey after a crisis or while a capacity doubt is open.",
                       {"crisis": state.crisis, "capacity_doubt": state.capacity_doubt})
    return None


def requirement_refusal(requirements: Iterable[str], state: CallState) -> Refusal | None:
    """The first refusal of a set of requirements (`payment_allowed`, `collection_allowed`)."""
    reqs = set(requirements)
    if "payment_allowed" in reqs:
        return payment_refusal(state)
    if "collection_allowed" in reqs:
        return collection_refusal(state)
    return None


#: What an outcome code looks like (the flows' and the wrap-up's: `arrangement_agreed`, `on_hold`).
OUTCOME_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def outcome_refusal(code: str | None, state: CallState, recorded: set[str],
                    known: frozenset[str] | None = None) -> Refusal | None:
    """May the call's outcome be `code`? A code is a lowercase id (so no other spelling of a payment
    outcome gets round this rule: `Promise_To_Pay`, `arrangement-agreed`), and, for a new command, one
    of the outcomes the call knows (`known`: the wrap-up's, the payment outcomes and the flows' own;
    any other id was kept in clear in the journal, as typed: `customer_has_cancer`); a payment outcome
    needs payment to be allowed, and an arrangement actually recorded on this call (never wrong
    information shown as right)."""
    if not code:
        return None
    if not isinstance(code, str) or not OUTCOME_CODE.fullmatch(code):
        return Refusal("bad-outcome", "An outcome code is a lowercase id such as on_hold or referred.",
                       {"outcome": str(code)[:64]})
    if known is not None and code not in known:
        return Refusal("outcome-unknown", "That is not one of the call's outcomes: choose one the wrap-up offers.",
                       {"outcome": code})
    if code not in PAYMENT_OUTCOMES:
        return None
    refusal = payment_refusal(state)
    if refusal is not None:
        return refusal
    if code == "arrangement_agreed" and "arrangement" not in recorded:
        return Refusal("outcome-unsupported", "No arrangement was recorded on this call; choose another outcome.",
                       {"outcome": code})
    return None


def interrupt_refusal(new: Flow, running: list[Flow]) -> Refusal | None:
    """An interrupt may not jump over a protocol of higher priority (BLAKE always goes).

    `general` flows (the care-team referral) are hand-overs, not protocols: always allowed,
    so that a referral is one click away from anywhere.
    """
    if not running:
        return None
    rank = PRIORITIES.get(new.priority, 0)
    for flow in running:
        if flow.id == new.id:
            return Refusal("already-running", f"{new.id.upper()} is already running on this call.",
                           {"protocol": new.id})
    if new.priority == "general":
        return None
    top = max(running, key=lambda f: f.priority_rank)
    if top.priority_rank > rank:
        return Refusal("priority",
                       f"{top.id.upper()} is in progress and comes first; finish it before {new.id.upper()}.",
                       {"running": top.id, "requested": new.id})
    return None


def note_refusal(purpose: str | None, matched: list[str], words_purpose: str,
                 consent_in_force: Callable[[str], bool]) -> Refusal | None:
    """May this note be saved? (issue 10 §5) A note whose text mentions a health or life-event word
    (`matched`, from the trainers' lists: `engine.sensitive`) is special-category data: it is saved
    only when the agent says the customer agreed (`purpose`) and that consent is in force. The
    reason never quotes the note: a refusal is journalled, the text is not."""
    if purpose:
        if not consent_in_force(purpose):
            return Refusal("note-consent-missing",
                           f"No consent for {purpose.replace('_', ' ')} is in force: the note was not saved. Ask "
                           "the customer first (TEXAS, F2).", {"purpose": purpose})
        if matched and purpose != words_purpose:
            return Refusal("note-consent-missing",
                           f"This note may hold health details; it needs the consent for "
                           f"{words_purpose.replace('_', ' ')}: the note was not saved.", {"purpose": words_purpose})
        return None
    if matched:
        return Refusal("note-sensitive",
                       "This note may hold health or life-event details: it is saved only if the customer agreed "
                       "to record it (a consent in force); otherwise ask with TEXAS (F2). The note was not saved.",
                       {"purpose": words_purpose})
    return None


def flag_refusal(matched: list[str]) -> Refusal | None:
    """A flag is for the trainers, about a step's wording: it never carries a customer's health or
    life-event details (no consent covers them there). The reason never quotes the comment."""
    if matched:
        return Refusal("flag-sensitive", "This comment may hold the customer's health or life-event details: a flag "
                       "goes to the trainers, so describe the wording only. The flag was not saved.")
    return None


def reason_refusal(action: str, matched: list[str], words_purpose: str,
                   consent_in_force: Callable[[str], bool], *, escalation: bool = False,
                   sealable: bool = True) -> Refusal | None:
    """May this reason, typed by the agent for `action` (a hold, a dispute, a callback, ...), be saved?
    The note's rule (`note_refusal`), with the consent the lists name: a reason that may hold health
    or life-event details is saved only while that consent is in force (sealed under it by the
    engine: `reason_purpose`). An escalation is never refused for its reason (the engine holds the
    text back instead); an action whose entry keeps its text in clear (`sealable` False: a collection
    block's label) takes no matching reason at all. The reason never quotes the text."""
    if not matched or escalation:
        return None
    in_force = sealable and consent_in_force(words_purpose)
    if note_refusal(words_purpose if in_force else None, matched, words_purpose, consent_in_force) is None:
        return None
    return Refusal("reason-sensitive",
                   f"This reason may hold health or life-event details: it is saved only if the customer agreed "
                   f"to record them (a consent in force); otherwise describe it without them. {action} was not "
                   "done.", {"action": action, "purpose": words_purpose})


def reason_purpose(matched: list[str], words_purpose: str, consent_in_force: Callable[[str], bool]) -> str | None:
    """The consent a matching typed reason is sealed under (a withdrawal shreds it), or None: the
    reason matches nothing (sealed under the account's personal key), or no consent covers it (an
    escalation then saves a neutral marker instead: `REASON_HELD_BACK`)."""
    return words_purpose if matched and consent_in_force(words_purpose) else None


def answer_refusal(field: str, matched: list[str], words_purpose: str,
                   consent_in_force: Callable[[str], bool]) -> Refusal | None:
    """May this free-text answer (a `text` field that is not special-category itself: a note for the
    care team, a helper's name, contact times) be saved? The reasons' rule (`reason_refusal`), with
    the answer's own rule id: refused while it may hold health or life-event details and the lists'
    consent is not in force. The reason never quotes the text."""
    if reason_refusal(f"answer {field}", matched, words_purpose, consent_in_force) is None:
        return None
    return Refusal("answer-sensitive",
                   "This answer may hold health or life-event details: it is saved only if the customer agreed "
                   "to record them (a consent in force); otherwise write it without them, or ask with TEXAS (F2) "
                   "first. The answer was not saved.", {"field": field, "purpose": words_purpose})


#: The protocols whose free-text answers are never refused for their words: a crisis is never
#: blocked by a word list (BLAKE, HARMED). Neither is an answer an escalation of its flow carries
#: (the care referral's note: `gate.answer_never_refused`). Without the consent, such an answer is
#: held back (`REASON_HELD_BACK`) and still counts as given.
CRISIS_PRIORITIES = frozenset({"blake", "harmed"})


@dataclass(frozen=True)
class TypedText:
    """What a text a person typed becomes (`typed_text`): refused (`refusal`), or kept as `text`,
    sealed under the consent `purpose` (None: the account's personal key); `held_back` when the
    text was replaced by `REASON_HELD_BACK` (an escalation's, never refused)."""

    refusal: Refusal | None
    text: str
    purpose: str | None = None
    held_back: bool = False


def typed_text(action: str, text: str, matched: list[str], words_purpose: str,
               consent_in_force: Callable[[str], bool], *, escalation: bool = False,
               sealable: bool = True, answer: str | None = None) -> TypedText:
    """The one rule for a text a person types, wherever they type it (the agent's bar and scripts
    through the gate, the care team's and supervisors' console and its commands): `reason_refusal`
    decides, `reason_purpose` names the consent it is sealed under, and an escalation's matching
    text without that consent is held back (the escalation goes). `matched`: what the trainers'
    lists found in `text` (`engine.sensitive`); the caller loads them (this stays pure). `answer`: the
    field id of a free-text answer (its refusal is `answer_refusal`'s; `escalation` then means a
    crisis protocol's or an escalation's answer, held back, never refused)."""
    refusal = reason_refusal(action, matched, words_purpose, consent_in_force, escalation=escalation,
                             sealable=sealable)
    if refusal is not None and answer is not None:
        refusal = answer_refusal(answer, matched, words_purpose, consent_in_force)
    if refusal is not None:
        return TypedText(refusal, text)
    purpose = reason_purpose(matched, words_purpose, consent_in_force)
    if purpose is not None and sealable:
        return TypedText(None, text, purpose)
    if matched and escalation:
        return TypedText(None, REASON_HELD_BACK, None, True)
    return TypedText(None, text)
