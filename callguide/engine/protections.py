"""The account's protections at the start of a call: from the derived `AccountState` (the journal's
register: capacity doubts, crises, holds, disputes, consents in force) into the call's live
`CallState`, and the snapshot of them the `call_started` entry keeps (so a resumed call replays
against exactly what the agent was shown). No Qt, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callguide.store.base import AccountState
from callguide.store.sealing import ENTRY_SEQ, REF, SEALED, is_ref, relocalize

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


def _ref_item(item: Any) -> Any:
    """A register item whose entry held sealed values: those values as references to the entry."""
    if not isinstance(item, dict) or SEALED not in item:
        return item
    sealed = set(item[SEALED])
    seq = _entry_seq(item)

    def ref(k: str, v: Any) -> Any:
        if isinstance(v, dict):  # a record's fields: their ids stay, each value a reference
            return {sk: {REF: {"seq": seq, "key": k, "sub": sk}} for sk in v}
        return {REF: {"seq": seq, "key": k}}

    return {k: (ref(k, v) if k in sealed else v) for k, v in item.items() if k not in (SEALED, ENTRY_SEQ)}


def _entry_seq(item: dict[str, Any]) -> Any:
    """The journal entry that holds an item's sealed values: its own seq, or (team mode, rows of
    several journals merged) the seq in this desktop's journal (`sealing.ENTRY_SEQ`)."""
    return item.get(ENTRY_SEQ, item.get("seq"))


def history_snapshot(h: AccountState) -> dict[str, Any]:
    """What `call_started` keeps of the register the agent was shown. Values the journal holds
    sealed (special-category and personal data) are kept as references to their entries, never as
    copies: a withdrawal or an erasure later leaves nothing readable here."""
    out: dict[str, Any] = {}
    for k in SNAPSHOT_FIELDS:
        v = getattr(h, k)
        if isinstance(v, list):
            v = [_ref_item(i) for i in v]
        elif k == "adjustments":
            where: dict[str, Any] = {}
            for rec in h.adjustment_records:
                if isinstance(rec.get("fields"), dict):
                    for name in rec["fields"]:
                        where[name] = {REF: {"seq": _entry_seq(rec), "key": "fields", "sub": name}} \
                            if SEALED in rec else rec["fields"][name]
            v = {name: where.get(name, val) for name, val in v.items()}
        out[k] = v
    return out


def resolve_refs(value: Any, resolve: Callable[[dict[str, Any]], Any]) -> Any:
    """`value` with every `{"$ref": ...}` replaced by `resolve(ref)`."""
    if is_ref(value):
        return resolve(value[REF])
    if isinstance(value, dict):
        return {k: resolve_refs(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, resolve) for v in value]
    return value


def localize_history(h: AccountState, lang: str | None) -> AccountState:
    """Every "withdrawn on DATE" in the register said in the call's language."""
    for k in SNAPSHOT_FIELDS:
        setattr(h, k, relocalize(getattr(h, k), lang))
    return h


def history_from_snapshot(account_id: str, data: dict[str, Any],
                          resolve: Callable[[dict[str, Any]], Any] | None = None) -> AccountState:
    """The register a call was started with; `resolve` opens the references the snapshot holds."""
    st = AccountState(account_id)
    for k, v in data.items():
        if k in SNAPSHOT_FIELDS and hasattr(st, k):
            setattr(st, k, resolve_refs(v, resolve) if resolve is not None else v)
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


def contact_time_entry(state: Any, contact: dict[str, Any]) -> None:
    """A journalled `contact_time` (the call's start outside the hours, or a resume outside them: a new
    contact, `recheck_contact_time`) into the call's state, live or replayed: collection is refused
    until an allowed reason is recorded after it."""
    apply_contact(state, contact)
    if not contact.get("allowed", True):
        state.contact_reason = None


def recheck_contact_time(session: Any) -> dict[str, Any] | None:
    """When a killed call is resumed, the customer may be contacted again now: the contact-time rule asks
    again, as at a start (`check_contact_time`), so a resume outside the permitted hours is refused
    collection as a new call would be (until an allowed reason is recorded again). Like the protections
    on a resume, it only adds: a call that started outside the hours stays refused when resumed within
    them (it may be the same phone call; a new call is not refused). Returns what the `contact_time`
    entry keeps (journalled by the caller, replayed by `contact_time_entry`), or None."""
    state = session.facts.state
    if session.contact_rules is None or state.contact_refused:
        return None
    check = session.contact_rules.check(session.account.country, session.facts.now())
    if check.allowed:
        return None
    return {"allowed": False, "local_time": check.local_time, "weekday": check.weekday, "window": check.window,
            "zone": str(session.facts.zone), **({"review_needed": True} if check.review_needed else {})}


def add_newer_protections(state: Any, history: AccountState) -> None:
    """After a resume: protections recorded since the call started (on another call, or a new
    crisis) are added — never removed — so the resumed call is at least as safe as before."""
    state.capacity_doubt |= bool(history.capacity_doubts)
    state.crisis |= bool(history.crises)
    state.dispute |= bool(history.disputes)
    if history.holds and not state.hold_active:
        state.hold_active = True
        state.hold_until = max(str(h.get("until") or "") for h in history.holds) or None


def end_lapsed_consents(facts: Any, history: AccountState) -> None:
    """After a resume: a consent the register no longer holds in force (withdrawn or erased since, on
    another call or from the command line, or expired) is not in force on the resumed call either,
    so nothing more is taken under it. Never adds a consent: consents are permissions, so here the
    safe side is to remove (protections are only added)."""
    end_consents(facts, lapsed_consents(facts, history))


def lapsed_consents(facts: Any, history: AccountState) -> list[str]:
    """The consents in force on the call that the register no longer holds in force."""
    in_force = {str(c.get("purpose")) for c in history.consents_in_force}
    return sorted(p for p, given in facts.consents.items() if given is True and p not in in_force)


def end_consents(facts: Any, purposes: list[str]) -> None:
    """The consents `purposes` are no longer in force on the call. What they covered and whose key is
    destroyed stays as the `Gone` the call holds ("withdrawn on DATE", never the text); a value still
    readable (a key kept on a legal basis) is forgotten, as a withdrawal on the call forgets it."""
    from callguide.store.sealing import Gone

    for purpose in purposes:
        if facts.consents.get(purpose) is not True:
            continue
        facts.consents[purpose] = False
        facts.consent_records.pop(purpose, None)
        for fid, f in facts.fields.items():
            if f.sensitivity == "special" and f.consent == purpose and not isinstance(facts.values.get(fid), Gone):
                facts.values.pop(fid, None)
                facts.prefill.pop(fid, None)
                facts.value_origin.pop(fid, None)
        facts.invalidate()


def newly_raised(state: Any, read_state: AccountState) -> list[str]:
    """Which protections the read adds to the call's live state (crisis, capacity, dispute, hold)."""
    out = []
    if read_state.crises and not state.crisis:
        out.append("crisis")
    if read_state.capacity_doubts and not state.capacity_doubt:
        out.append("capacity")
    if read_state.disputes and not state.dispute:
        out.append("dispute")
    if read_state.holds and not state.hold_active:
        out.append("hold")
    return out


def receive_register(session: Any, read_state: AccountState, *, consents: bool = False) -> list[str]:
    """Put what was recorded elsewhere on the account into a running call (on the session's own
    thread): the team store's register (team mode), or the journal's own register when another
    process wrote to the file while the call ran (the care team's `review`, `privacy withdraw`).

    The arrival is journalled (`protections_received`: what was new, the consents that ended and the
    register as read; a resume applies it again at the same point), the call's live state gets the
    protections through `add_newer_protections` (added, never removed: the rule a resumed call
    follows), with `consents` the consents the register no longer holds in force end on the call (only
    a register that holds this call's own entries can say so: the journal's, not the team store's),
    the banner's history shows them, and the gate re-checks the step on screen, all in one operation
    of the call. Returns what was newly raised and `consent:<purpose>` for each consent ended (empty:
    nothing changed, nothing written)."""
    if session.ended:
        return []
    raised = newly_raised(session.facts.state, read_state)
    ended = lapsed_consents(session.facts, read_state) if consents else []
    history = session.history
    for key in SNAPSHOT_FIELDS:
        if key in ("last_outcome", "calls", "consents", "consents_in_force"):
            continue  # what this call shows of earlier calls; consents are the call's own business
        new = getattr(read_state, key, None)
        if new and new != getattr(history, key, None):
            setattr(history, key, new)
    if not raised and not ended:
        return []
    from callguide.store import entry_types as et

    with session.journal.operation("received"):
        # Journalled first (a resume applies it again here, before the commands that followed),
        # then into the call's state, then the gate's re-check of the step on screen.
        session.emit(et.PROTECTIONS_RECEIVED, {"raised": raised, "history": history_snapshot(read_state),
                                               **({"consents_ended": ended} if ended else {})},
                     session.stack.top)
        add_newer_protections(session.facts.state, read_state)
        if read_state.crises and not session.facts.state.crisis_review:
            session.facts.state.crisis_review = max(
                (str(x.get("review_date") or "") for x in read_state.crises), default="") or None
        end_consents(session.facts, ended)
        session.nav.recheck()
    session.journal.notify("received", {"raised": raised, "consents_ended": ended})  # the window says so
    return raised + [f"consent:{p}" for p in ended]
