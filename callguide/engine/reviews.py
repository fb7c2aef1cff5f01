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
    data: dict[str, Any] = {"result": result, "meaning": spec.results[result], "by": by.id,
                            "name": by.display_name, "role": next(r for r in spec.roles if by.has(r)),
                            "note": (note or "").strip()}
    if kind == "crisis" and result == "continue":
        days = review_in_days if review_in_days is not None else 30
        if not 1 <= days <= 365:
            raise ReviewError("The next crisis review is 1 to 365 days away.")
        data["review_date"] = (when.date() + dt.timedelta(days=days)).isoformat()
    return store.append(NewEntry(type=spec.entry_type, call_id=f"review-{uuid.uuid4().hex}", account_id=account_id,
                                 agent=by.id, flow_id=None, flow_hash=None, step_id=None, data=data, ts=iso(when)))
