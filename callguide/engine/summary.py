"""Plain-text renderings of derived account state and call summaries (CLI, exports).
No Qt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callguide.store import entry_types as et
from callguide.store.base import AccountState
from callguide.store.sealing import REF, is_sealed

#: Entry types the wrap-up summary lists (what was recorded on the call): `summary=True` in entry_types.
SUMMARY_TYPES = et.SUMMARY_TYPES


def call_summary(records: list[dict[str, Any]], outcome: str | None,
                 open_value: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Everything recorded on a call (its journal records), for the wrap-up and `call_ended`.

    A sealed value (`store.sealing`) is, for the journal (`open_value` None), a reference to the
    entry that holds it (`{"$ref": {"seq": n, "key": k}}`): never a copy, so a value withdrawn
    before the wrap-up is never written again. For a view, `open_value` opens it (or says it was
    withdrawn)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r["type"] in SUMMARY_TYPES:
            data = {}
            for k, v in r["data"].items():
                if k in ("input", "wording"):
                    continue
                if is_sealed(v):
                    v = open_value(v) if open_value is not None else {REF: {"seq": r.get("seq"), "key": k}}
                elif isinstance(v, dict) and any(is_sealed(x) for x in v.values()):
                    v = {sk: (open_value(x) if open_value is not None else
                              {REF: {"seq": r.get("seq"), "key": k, "sub": sk}}) if is_sealed(x) else x
                         for sk, x in v.items()}
                data[k] = v
            out.setdefault(r["type"], []).append(data)
    return {"items": out, "outcome": outcome,
            "protocols": [r["data"]["protocol"] for r in records if r["type"] == et.PROTOCOL_STARTED]}


def history_lines(st: AccountState) -> list[tuple[str, str]]:
    """(kind, one line) pairs, most urgent first: what an agent must know before saying hello."""
    out: list[tuple[str, str]] = []
    for h in st.holds:
        out.append(("hold", f"On hold until {h.get('until')}" + (f" ({h.get('reason')})" if h.get("reason") else "")))
    for c in st.crises:
        out.append(("crisis", f"Crisis protection: no collection until reviewed (review by {c.get('review_date')})"))
    for d in st.disputes:
        out.append(("dispute", "Debt disputed: collection paused until the evidence is reviewed" +
                    (f" ({d.get('reason')})" if d.get("reason") else "")))
    for f in st.capacity_doubts:
        out.append(("capacity", f"Capacity doubt open since {str(f.get('ts', ''))[:10]}" +
                    (f": {f.get('reason')}" if f.get("reason") else "") +
                    " — no payment decision until a specialist review; support the customer, no pressure."))
    if not st.capacity_doubts and st.capacity_reviews:
        r = st.capacity_reviews[-1]
        out.append(("capacity", f"Capacity reviewed {str(r.get('ts', ''))[:10]} by {r.get('name') or r.get('by')} "
                    f"({str(r.get('role', '')).replace('_', ' ')}): {r.get('result')}"))
    for v in st.vulnerabilities:
        cat = v.get("category") or _pairs(v.get("fields")) or "recorded"
        out.append(("vulnerability", f"Vulnerability ({cat}), review by {v.get('review_date')}"))
    for d in st.disclosures:
        out.append(("disclosure", f"Disclosure made, consent to record declined; review by {d.get('review_date')}"))
    for k, v in st.adjustments.items():
        out.append(("adjustment", f"Adjustment — {k.replace('_', ' ')}: {_fmt(v)}"))
    for t in st.third_parties:
        out.append(("third_party", "Third party: " + _pairs(t.get("fields"))))
    for purpose, c in st.consents.items():
        expires = f", expires {c.get('expires')}" if c.get("decision") == "given" and c.get("expires") else ""
        out.append(("consent", f"Consent {purpose.replace('_', ' ')}: {c.get('decision')} "
                    f"({str(c.get('ts', ''))[:10]}{expires})"))
    for c in st.callbacks:
        out.append(("callback", f"Callback due {c.get('due')}" + (f": {c.get('reason')}" if c.get("reason") else "")))
    if st.last_outcome:
        out.append(("outcome", f"Last call outcome: {st.last_outcome.get('code') or st.last_outcome.get('outcome')}"
                    f" ({str(st.last_outcome.get('ts', ''))[:10]})"))
    return out


def _pairs(fields: Any) -> str:
    """`k: v, ...` of a record's fields; a value no longer readable says so ("withdrawn on DATE")."""
    if isinstance(fields, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in fields.items())
    return str(fields) if fields else ""


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def format_history(st: AccountState) -> str:
    lines = history_lines(st)
    if not lines:
        return f"Account {st.account_id}: no history in the journal."
    return f"Account {st.account_id} ({st.calls} earlier call(s)):\n" + "\n".join(f"  - {line}" for _, line in lines)
