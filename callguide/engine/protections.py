"""The account's protections at the start of a call: from the derived `AccountState` (the journal's
register: capacity doubts, crises, holds, disputes, consents in force) into the call's live
`CallState`, and the snapshot of them the `call_started` entry keeps (so a resumed call replays
against exactly what the agent was shown). No Qt, no I/O.
"""

from __future__ import annotations

from typing import Any

from callguide.store.base import AccountState

#: The fields of `AccountState` kept in the `call_started` snapshot.
SNAPSHOT_FIELDS = ("holds", "vulnerabilities", "disclosures", "adjustments", "adjustment_records", "consents",
                   "consents_in_force", "capacity_flags", "capacity_doubts", "capacity_reviews", "crises",
                   "disputes", "third_parties", "callbacks", "last_outcome", "calls")


def apply_history(facts: Any, history: AccountState) -> None:
    """Set the call's protections from the account's register (loaded at call start)."""
    st = facts.state
    st.capacity_doubt = bool(history.capacity_doubts)
    st.crisis = bool(history.crises)
    st.crisis_review = max((str(x.get("review_date") or "") for x in history.crises), default="") or None
    st.dispute = bool(history.disputes)
    st.hold_active = bool(history.holds)
    st.hold_until = max((str(h.get("until") or "") for h in history.holds), default="") or None
    facts.load_consents(list(history.consents_in_force))


def history_snapshot(h: AccountState) -> dict[str, Any]:
    return {k: getattr(h, k) for k in SNAPSHOT_FIELDS}


def history_from_snapshot(account_id: str, data: dict[str, Any]) -> AccountState:
    st = AccountState(account_id)
    for k, v in data.items():
        if k in SNAPSHOT_FIELDS and hasattr(st, k):
            setattr(st, k, v)
    if "capacity_doubts" not in data and data.get("capacity_flags"):  # a journal from before the register
        st.capacity_doubts = list(data["capacity_flags"])
    return st


def check_contact_time(session: Any) -> dict[str, Any] | None:
    """At the start of a call: is it within the customer's permitted contact hours? Sets the call's
    state and returns what the `call_started` entry keeps (None when no rules apply, e.g. practice)."""
    if session.contact_rules is None:
        return None
    check = session.contact_rules.check(session.account.country, session.facts.now())
    contact = {"allowed": check.allowed, "local_time": check.local_time, "weekday": check.weekday,
               "window": check.window, "zone": str(session.facts.zone),
               **({"review_needed": True} if check.review_needed else {})}
    apply_contact(session.facts.state, contact)
    return contact


def apply_contact(state: Any, contact: dict[str, Any]) -> None:
    state.out_of_hours = not contact.get("allowed", True)
    state.local_time = contact.get("local_time")
    state.contact_window = contact.get("window")


def add_newer_protections(state: Any, history: AccountState) -> None:
    """After a resume: protections recorded since the call started (on another call, or a new
    crisis) are added — never removed — so the resumed call is at least as safe as before."""
    state.capacity_doubt |= bool(history.capacity_doubts)
    state.crisis |= bool(history.crises)
    state.dispute |= bool(history.disputes)
    if history.holds and not state.hold_active:
        state.hold_active = True
        state.hold_until = max(str(h.get("until") or "") for h in history.holds) or None
