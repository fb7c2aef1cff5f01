"""Plain-text renderings of derived account state and call summaries (CLI, exports).
No Qt."""

from __future__ import annotations

from typing import Any

from callguide.store.base import AccountState


def history_lines(st: AccountState) -> list[tuple[str, str]]:
    """(kind, one line) pairs, most urgent first: what an agent must know before saying hello."""
    out: list[tuple[str, str]] = []
    for h in st.holds:
        out.append(("hold", f"On hold until {h.get('until')}" + (f" ({h.get('reason')})" if h.get("reason") else "")))
    for f in st.capacity_flags:
        out.append(("capacity", "Capacity doubt raised on an earlier call" +
                    (f": {f.get('reason')}" if f.get("reason") else "") + " — support the customer; no pressure."))
    for v in st.vulnerabilities:
        cat = v.get("category") or ", ".join(f"{k}: {val}" for k, val in (v.get("fields") or {}).items()) or "recorded"
        out.append(("vulnerability", f"Vulnerability ({cat}), review by {v.get('review_date')}"))
    for d in st.disclosures:
        out.append(("disclosure", f"Disclosure made, consent to record declined; review by {d.get('review_date')}"))
    for k, v in st.adjustments.items():
        out.append(("adjustment", f"Adjustment — {k.replace('_', ' ')}: {_fmt(v)}"))
    for t in st.third_parties:
        fields = t.get("fields") or {}
        out.append(("third_party", "Third party: " + ", ".join(f"{k}: {_fmt(v)}" for k, v in fields.items())))
    for purpose, c in st.consents.items():
        out.append(("consent", f"Consent {purpose.replace('_', ' ')}: {c.get('decision')}"))
    for c in st.callbacks:
        out.append(("callback", f"Callback due {c.get('due')}" + (f": {c.get('reason')}" if c.get("reason") else "")))
    if st.last_outcome:
        out.append(("outcome", f"Last call outcome: {st.last_outcome.get('code') or st.last_outcome.get('outcome')}"
                    f" ({str(st.last_outcome.get('ts', ''))[:10]})"))
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def format_history(st: AccountState) -> str:
    lines = history_lines(st)
    if not lines:
        return f"Account {st.account_id}: no history in the journal."
    return f"Account {st.account_id} ({st.calls} earlier call(s)):\n" + "\n".join(f"  - {line}" for _, line in lines)
