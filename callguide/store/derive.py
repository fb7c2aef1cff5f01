"""Derive an account's state from its journal entries (docs/journal.md, "Derived account state").

Pure functions, no database: any `JournalStore` feeds them the account's entries of `STATE_TYPES`,
oldest first. Nothing here is ever stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from .base import AccountState

# The only entry types account_state needs; stores filter on these (`type IN (...)`).
STATE_TYPES: tuple[str, ...] = (
    "call_started",
    "call_ended",
    "outcome",
    "consent",
    "consent_withdrawn",
    "vulnerability",
    "disclosure",
    "hold_started",
    "hold_ended",
    "adjustment",
    "capacity_doubt",
    "capacity_doubt_cleared",
    "callback",
    "third_party",
)

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


def derive_account_state(account_id: str, rows: Iterable[Row], today: dt.date) -> AccountState:
    today_s = today.isoformat()
    state = AccountState(account_id=account_id)

    vulnerabilities: list[dict[str, Any]] = []
    withdrawn_at: dict[str, int] = {}  # purpose -> seq of the latest withdrawal
    holds: list[dict[str, Any]] = []
    last_hold_end = 0
    doubts: dict[str, list[dict[str, Any]]] = {}  # call_id -> open doubts
    last_outcome: tuple[int, dict[str, Any]] | None = None

    for seq, ts, type_, call_id, data in rows:
        if type_ == "call_started":
            state.calls += 1
        elif type_ == "vulnerability":
            vulnerabilities.append(_item(seq, ts, call_id, data))
        elif type_ == "disclosure":
            if _still_open(data.get("review_date"), today_s):
                state.disclosures.append(_item(seq, ts, call_id, data))
        elif type_ == "hold_started":
            holds.append(_item(seq, ts, call_id, data))
        elif type_ == "hold_ended":
            last_hold_end = seq
        elif type_ == "adjustment":
            fields = data.get("fields") or {}
            if isinstance(fields, dict):
                state.adjustments.update(fields)
        elif type_ == "consent":
            purpose = data.get("purpose")
            if purpose is not None:
                state.consents[str(purpose)] = {
                    "decision": data.get("decision"),
                    "ts": ts,
                    "wording_hash": data.get("wording_hash"),
                    "seq": seq,
                    "call_id": call_id,
                }
        elif type_ == "consent_withdrawn":
            purpose = data.get("purpose")
            if purpose is not None:
                withdrawn_at[str(purpose)] = seq
                prev = state.consents.get(str(purpose), {})
                state.consents[str(purpose)] = {
                    "decision": "withdrawn",
                    "ts": ts,
                    "wording_hash": prev.get("wording_hash"),
                    "seq": seq,
                    "call_id": call_id,
                }
        elif type_ == "capacity_doubt":
            doubts.setdefault(call_id, []).append(_item(seq, ts, call_id, data))
        elif type_ == "capacity_doubt_cleared":
            doubts.pop(call_id, None)
        elif type_ == "callback":
            if _still_open(data.get("due"), today_s):
                state.callbacks.append(_item(seq, ts, call_id, data))
        elif type_ == "third_party":
            state.third_parties.append(_item(seq, ts, call_id, data))
        elif type_ in ("call_ended", "outcome"):
            code = data.get("outcome") if type_ == "call_ended" else data.get("code")
            if last_outcome is None or seq > last_outcome[0]:
                last_outcome = (seq, {"code": code, "ts": ts, "call_id": call_id, "seq": seq, "type": type_})

    state.vulnerabilities = [
        v for v in vulnerabilities
        if _still_open(v.get("review_date"), today_s)
        and not any(withdrawn_at.get(p, 0) > v["seq"] for p in consent_purposes(v.get("consent")))
    ]
    state.holds = [h for h in holds if h["seq"] > last_hold_end and _still_open(h.get("until"), today_s)]
    state.capacity_flags = [d for call_doubts in doubts.values() for d in call_doubts]
    state.capacity_flags.sort(key=lambda d: d["seq"])
    state.last_outcome = last_outcome[1] if last_outcome else None
    return state
