"""Recording the reviews that close account protections (PROTOCOLS.md §3 rules 7 and 8).

A capacity doubt is closed only by a specialist review confirming capacity; a crisis protection by
a review (or its review date passing); a dispute by a review of the evidence. Each review is made
by a named person whose role allows it, and journalled like everything else (`capacity_review`,
`crisis_review`, `dispute_review`: who, their role, when, the result and a note). This is the core
API the CLI (`callguide review ...`) and, later, the team console use. Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from callguide.engine.clock import iso
from callguide.identity import IdentityError, Person, require_role
from callguide.store import entry_types as et
from callguide.store.base import Entry, JournalStore, NewEntry


class ReviewError(ValueError):
    """A review that cannot be recorded (one plain line)."""


@dataclass(frozen=True)
class ReviewKind:
    entry_type: str
    roles: tuple[str, ...]
    results: dict[str, str]       # result -> what it means
    open_attr: str                # the AccountState list that must not be empty
    what: str


KINDS: dict[str, ReviewKind] = {
    "capacity": ReviewKind(et.CAPACITY_REVIEW, ("care_team",), {
        "confirmed": "capacity confirmed for this decision: the doubt is closed",
        "not_confirmed": "capacity not confirmed: no payment decision until a later review"},
        "capacity_doubts", "capacity doubt"),
    "crisis": ReviewKind(et.CRISIS_REVIEW, ("care_team",), {
        "resolved": "the crisis protection ends: collection may resume",
        "continue": "the crisis protection goes on, until a new review date"},
        "crises", "crisis protection"),
    "dispute": ReviewKind(et.DISPUTE_REVIEW, ("care_team", "supervisor"), {
        "debt_confirmed": "the evidence confirms the debt: collection may resume",
        "upheld": "the customer's dispute is upheld: collection stays paused"},
        "disputes", "dispute"),
}


def record_review(store: JournalStore, kind: str, account_id: str, result: str, by: Person, *,
                  note: str = "", now: dt.datetime | None = None, review_in_days: int | None = None) -> Entry:
    """Journal a review of `kind` (capacity, crisis, dispute) on an account; ReviewError if the
    person lacks the role, the result is unknown, or there is nothing open to review."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ReviewError(f"Unknown review {kind!r}; known: {', '.join(KINDS)}.")
    try:
        require_role(by, spec.roles, f"Recording a {kind} review")
    except IdentityError as e:
        raise ReviewError(str(e)) from None
    if result not in spec.results:
        raise ReviewError(f"A {kind} review's result is one of: {', '.join(spec.results)} (got {result!r}).")
    when = now or dt.datetime.now(dt.UTC)
    state = store.account_state(account_id, when.date())
    if not getattr(state, spec.open_attr):
        raise ReviewError(f"Account {account_id} has no open {spec.what} to review.")
    note = (note or "").strip()
    if note:  # every door: a note that may hold health details needs their consent in force
        _check_note(kind, account_id, note, state)
    data: dict[str, Any] = {"result": result, "meaning": spec.results[result], "by": by.id,
                            "name": by.display_name, "role": next(r for r in spec.roles if by.has(r)),
                            "note": note}
    if kind == "crisis" and result == "continue":
        days = review_in_days if review_in_days is not None else 30
        if not 1 <= days <= 365:
            raise ReviewError("The next crisis review is 1 to 365 days away.")
        data["review_date"] = (when.date() + dt.timedelta(days=days)).isoformat()
    return store.append(NewEntry(type=spec.entry_type, call_id=f"review-{uuid.uuid4().hex}", account_id=account_id,
                                 agent=by.id, flow_id=None, flow_hash=None, step_id=None, data=data, ts=iso(when)))


def _check_note(kind: str, account_id: str, note: str, state: Any) -> None:
    """The typed-text rule (`policy.typed_text`) for a review's note, from the account's consents
    as `store` knows them: ReviewError (one line) when it may hold health or life-event details and
    no consent for them is in force, or when the word lists cannot be read (nothing is saved). The
    doors seal an allowed note under that consent before it reaches the journal (the console,
    `callguide review`); this is the check no door can leave out."""
    from callguide.engine import sensitive

    in_force = {str(c.get("purpose")) for c in getattr(state, "consents_in_force", []) or []}
    try:
        kept = sensitive.check(f"{kind}_review", note, in_force.__contains__)
    except sensitive.SensitiveWordsError as e:
        raise ReviewError(str(e)) from None
    if kept.refusal is not None:
        purpose = str(kept.refusal.params.get("purpose") or "").replace("_", " ")
        raise ReviewError(f"Not saved: this note may hold health or life-event details and no consent for {purpose}"
                          f" is in force on account {account_id}; write it without them.")
