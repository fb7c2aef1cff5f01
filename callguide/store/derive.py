"""Derive an account's state — the protections register — from its journal entries
(docs/journal.md, "Derived account state"; docs/engine.md, "Protections").

Pure functions, no database: any `JournalStore` feeds them the account's entries of `STATE_TYPES`,
oldest first. Nothing here is ever stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from . import entry_types as et
from .base import AccountState
from .sealing import has_sealed, open_all

#: The entry types that make an account's protections: what anyone who opens the account (any agent
#: who calls it) may read. The team store's `protection_types` table is refreshed from this list
#: (`callguide server init`), and its row-level security lets agents read these types, redacted.
#: Derived from the declarations in `entry_types` (`protection=True`).
PROTECTION_TYPES: tuple[str, ...] = et.PROTECTION_TYPES
#: Read as well where the reader may see them, never a protection type of its own: an emergency
#: `escalation` journalled before crises had their own `crisis` entry still protects the account
#: (the escalation's details, number and reason, are for supervisors; since issue 8 the engine writes
#: the `crisis` entry every agent reads). A team-store agent derives such a legacy crisis only from her
#: own desktop's rows.
LEGACY_STATE_TYPES: tuple[str, ...] = et.LEGACY_STATE_TYPES
#: The only entry types account_state needs; stores filter on these (`type IN (...)`).
STATE_TYPES: tuple[str, ...] = et.STATE_TYPES

#: How long a crisis protection lasts before its review when the journal gives no date
#: (entries written before crises had their own `crisis` entry).
LEGACY_CRISIS_DAYS = 30
#: Review results that close a protection; any other result keeps it in force.
CLOSING_RESULTS = {et.CAPACITY_REVIEW: "confirmed", et.CRISIS_REVIEW: "resolved", et.DISPUTE_REVIEW: "debt_confirmed"}
_RELAXING = frozenset(et.RELAXING_TYPES)
# One row: (seq, ts, type, call_id, data)
Row = tuple[int, str, str, str, dict[str, Any]]


def _day(value: Any) -> str | None:
    """The ISO date part of a date / datetime value, for comparing with today."""
    if value is None or value == "":
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value)[:10]


def _still_open(value: Any, today: str) -> bool:
    """A record with no date stays open (the safe side); otherwise open while date >= today."""
    day = _day(value)
    return day is None or day >= today


def consent_purposes(consent: Any) -> set[str]:
    """The consent purposes a vulnerability record relies on (its `consent` value may be a purpose
    id, a list of them, `{purpose: ...}`, or `{purpose_id: decision, ...}`)."""
    if isinstance(consent, str):
        return {consent}
    if isinstance(consent, (list, tuple, set)):
        return {str(p) for p in consent}
    if isinstance(consent, dict):
        if "purpose" in consent:
            return {str(consent["purpose"])}
        return {str(k) for k in consent}
    return set()


def _item(seq: int, ts: str, call_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "seq": seq, "ts": ts, "call_id": call_id}


#: The rule that says whether a relaxing entry (by its seq) counts: `SQLiteJournal` passes "signed at
#: its own seq, or before the journal's signed grandfathering point"; the team store passes `ANY`.
Counts = Callable[[int], bool]


def ANY(seq: int) -> bool:  # noqa: N802 (a constant rule)
    """Every relaxing entry counts (the team store: its rows are ingested under its own trust model)."""
    return True


def relaxes(type_: str, data: dict[str, Any]) -> bool:
    """Whether this entry, of a `RELAXING_TYPES` type, would lift or loosen a protection: a review
    with its closing result, a hold's end, a consent given. (A review that keeps the protection, or
    a consent refused, only holds the account tighter: it counts signed or not.)"""
    if type_ in CLOSING_RESULTS:
        return data.get("result") == CLOSING_RESULTS[type_]
    if type_ == et.CONSENT:
        return data.get("decision") == "given"
    return type_ in et.RELAXING_TYPES


#: One line about a relaxing entry the register did not count (`AccountState.unsigned`), per language.
UNSIGNED_TEXT = {
    "en": "{type} of {ts} (entry {seq}) is not counted: it was recorded after the journal's last signature, "
          "without the journal's key (run `callguide audit verify`)",
    "da": "{type} fra {ts} (post {seq}) tælles ikke med: den blev skrevet efter journalens sidste signatur, "
          "uden journalens nøgle (kør `callguide audit verify`)",
    "cs": "{type} z {ts} (záznam {seq}) se nepočítá: byl zapsán po posledním podpisu deníku, "
          "bez klíče deníku (spusťte `callguide audit verify`)",
}


def unsigned_lines(state: AccountState, lang: str = "en") -> list[str]:
    """The lines telling which relaxing entries were not counted (none: an empty list)."""
    text = UNSIGNED_TEXT.get(lang, UNSIGNED_TEXT["en"])
    return [text.format(type=u["type"], ts=str(u.get("ts", ""))[:16].replace("T", " "), seq=u["seq"])
            for u in state.unsigned]


def derive_account_state(account_id: str, rows: Iterable[Row], today: dt.date, *, counts: Counts) -> AccountState:
    """`counts(seq)` decides whether a relaxing entry counts (`relaxes`); one that does not is left
    out of the register and listed in `AccountState.unsigned` (the conservative side: a forged entry
    can fail to relax a protection, never relax one)."""
    today_s = today.isoformat()
    state = AccountState(account_id=account_id)

    vulnerabilities: list[dict[str, Any]] = []
    withdrawn_at: dict[str, int] = {}  # purpose -> seq of the latest withdrawal
    holds: list[dict[str, Any]] = []
    last_hold_end = 0
    doubts: list[dict[str, Any]] = []
    crises: dict[str, dict[str, Any]] = {}      # call_id -> the call's crisis (explicit entry wins)
    disputes: list[dict[str, Any]] = []
    last_outcome: tuple[int, dict[str, Any]] | None = None

    for seq, ts, type_, call_id, data in rows:
        if any(has_sealed(v) for v in data.values()):  # sealed with a key not here (another desktop's)
            data = open_all(None, account_id, data)
        if type_ in _RELAXING and relaxes(type_, data) and not counts(seq):
            state.unsigned.append({"seq": seq, "type": type_, "ts": ts, "call_id": call_id})
            continue
        if type_ == et.CALL_STARTED:
            state.calls += 1
        elif type_ == et.VULNERABILITY:
            vulnerabilities.append(_item(seq, ts, call_id, data))
        elif type_ == et.DISCLOSURE:
            if _still_open(data.get("review_date"), today_s):
                state.disclosures.append(_item(seq, ts, call_id, data))
        elif type_ == et.HOLD_STARTED:
            holds.append(_item(seq, ts, call_id, data))
        elif type_ == et.HOLD_ENDED:
            last_hold_end = seq
        elif type_ == et.ADJUSTMENT:
            fields = data.get("fields") or {}
            if isinstance(fields, dict) and not has_sealed(fields):  # sealed values nobody opened: nothing to read
                state.adjustments.update(fields)
                review = _day(data.get("review_date"))
                state.adjustment_records.append({**_item(seq, ts, call_id, data),
                                                 "review_due": review is not None and review < today_s})
        elif type_ == et.CONSENT:
            purpose = data.get("purpose")
            if purpose is not None:
                state.consents[str(purpose)] = {
                    "decision": data.get("decision"), "ts": ts, "wording_hash": data.get("wording_hash"),
                    "seq": seq, "call_id": call_id, "by": data.get("by"), "expires": data.get("expires"),
                }
        elif type_ == et.CONSENT_WITHDRAWN:
            purpose = data.get("purpose")
            if purpose is not None:
                withdrawn_at[str(purpose)] = seq
                prev = state.consents.get(str(purpose), {})
                state.consents[str(purpose)] = {
                    "decision": "withdrawn", "ts": ts, "wording_hash": prev.get("wording_hash"), "seq": seq,
                    "call_id": call_id, "by": data.get("by"), "given_on_call": prev.get("call_id"),
                }
        elif type_ == et.ERASURE:  # every consent ends with the erasure; what it covered is gone
            for purpose, prev in list(state.consents.items()):
                withdrawn_at[purpose] = seq
                state.consents[purpose] = {"decision": "erased", "ts": ts, "wording_hash": prev.get("wording_hash"),
                                           "seq": seq, "call_id": call_id, "by": data.get("by"),
                                           "given_on_call": prev.get("call_id")}
            vulnerabilities = [v for v in vulnerabilities if not consent_purposes(v.get("consent"))]
        elif type_ == et.CAPACITY_DOUBT:
            doubts.append(_item(seq, ts, call_id, data))
        elif type_ in CLOSING_RESULTS:
            review = _item(seq, ts, call_id, {**data, "kind": type_.removesuffix("_review")})
            closes = data.get("result") == CLOSING_RESULTS[type_]
            if type_ == et.CAPACITY_REVIEW:
                state.capacity_reviews.append(review)
                if closes:
                    doubts = []
            else:
                state.reviews.append(review)
                if type_ == et.DISPUTE_REVIEW and closes:
                    disputes = []
                elif type_ == et.CRISIS_REVIEW:
                    if closes:
                        crises = {}
                    elif data.get("review_date"):
                        for c in crises.values():
                            c["review_date"] = max(str(c.get("review_date") or ""), str(data["review_date"]))
        elif type_ == et.CRISIS:
            crises[call_id] = _item(seq, ts, call_id, data)
        elif type_ in (et.COLLECTION_BLOCKED, et.ESCALATION):
            legacy = (data.get("reason") == "crisis") if type_ == et.COLLECTION_BLOCKED else \
                data.get("kind") == "emergency"
            if legacy and call_id not in crises:
                due = (dt.date.fromisoformat(ts[:10]) + dt.timedelta(days=LEGACY_CRISIS_DAYS)).isoformat()
                crises[call_id] = _item(seq, ts, call_id, {"reason": data.get("reason") or "emergency",
                                                           "review_date": due, "legacy": True})
        elif type_ == et.DISPUTE:
            disputes.append(_item(seq, ts, call_id, data))
        elif type_ == et.CALLBACK:
            if _still_open(data.get("due"), today_s):
                state.callbacks.append(_item(seq, ts, call_id, data))
        elif type_ == et.THIRD_PARTY:
            state.third_parties.append(_item(seq, ts, call_id, data))
        elif type_ in (et.CALL_ENDED, et.OUTCOME):
            code = data.get("outcome") if type_ == et.CALL_ENDED else data.get("code")
            if last_outcome is None or seq > last_outcome[0]:
                last_outcome = (seq, {"code": code, "ts": ts, "call_id": call_id, "seq": seq, "type": type_})

    state.vulnerabilities = [
        v for v in vulnerabilities
        if _still_open(v.get("review_date"), today_s)
        and not any(withdrawn_at.get(p, 0) > v["seq"] for p in consent_purposes(v.get("consent")))
    ]
    state.holds = [h for h in holds if h["seq"] > last_hold_end and _still_open(h.get("until"), today_s)]
    state.capacity_doubts = doubts
    state.capacity_flags = list(doubts)
    state.crises = sorted((c for c in crises.values() if _still_open(c.get("review_date"), today_s)),
                          key=lambda c: c["seq"])
    state.disputes = disputes
    state.consents_in_force = [
        {"purpose": p, "given_at": c["ts"], "by": c.get("by"), "call_id": c.get("call_id"),
         "wording_hash": c.get("wording_hash"), "expires": c.get("expires"), "seq": c["seq"]}
        for p, c in sorted(state.consents.items())
        if c.get("decision") == "given" and _still_open(c.get("expires"), today_s)
    ]
    for c in state.consents.values():
        if c.get("decision") == "given" and not _still_open(c.get("expires"), today_s):
            c["decision"] = "expired"
    state.last_outcome = last_outcome[1] if last_outcome else None
    return state
