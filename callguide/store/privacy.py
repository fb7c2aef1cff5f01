"""Privacy on the journal (issue 10): withdrawal outside a call, erasure, the retention schedule,
subject access and the consent report. The core behind `callguide privacy ...`; Qt-free, never
imports the engine.

Everything here works on data keys (`store.sealing`): the journal is append-only and hash-chained,
so nothing is ever deleted from it. Destroying the keys of an account (erasure), of one of its
consent purposes (withdrawal) or of what the retention schedule says is due (purge) makes every value
sealed under them unreadable at once, in the journal and in every copy of it, and a journalled
entry (`consent_withdrawn`, `erasure`, `retention_purge`) says when, why and who. docs/journal.md,
"Sealed values", says what survives.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import entry_types as et
from .base import Entry, JournalStore, NewEntry
from .sealing import (
    ERASED,
    PERSONAL,
    PURGED,
    WITHDRAWN,
    Gone,
    Sealer,
    is_ref,
    open_all,
    readable,
)

#: Who may erase an account, withdraw a consent for a customer outside a call, or purge:
#: a supervisor or the care team (docs/journal.md, "Erasure").
ERASE_ROLES = ("supervisor", "care_team")
SPECIAL, PERSONAL_DATA = "special", "personal"


class PrivacyError(ValueError):
    """A privacy request that cannot be carried out, or a retention file that cannot be read (one line)."""


# ---------------------------------------------------------------------- the retention schedule

@dataclass(frozen=True)
class Rule:
    id: str
    sensitivity: str            # "special": consent-purpose keys; "personal": the account's personal key
    months: int
    reason: str
    purposes: tuple[str, ...] = ()   # special only: these purposes (empty: every consent purpose)
    types: tuple[str, ...] = ()      # the entry types it is about (for what it prints)

    def covers(self, purpose: str) -> bool:
        if self.sensitivity == PERSONAL_DATA:
            return purpose == PERSONAL
        return purpose != PERSONAL and (not self.purposes or purpose in self.purposes)


@dataclass(frozen=True)
class Retention:
    path: str
    rules: tuple[Rule, ...] = ()
    #: purpose -> the legal basis on which values stay readable after a withdrawal (journalled as `kept`)
    withdrawal_exceptions: dict[str, str] = field(default_factory=dict)


def retention_path() -> Path:
    """`CALLGUIDE_RETENTION` (a file), else the bundled `resources/retention.yaml`."""
    from callguide import paths

    env = os.environ.get("CALLGUIDE_RETENTION")
    return Path(env) if env else paths.resources_dir() / "retention.yaml"


def load_retention(path: str | Path | None = None) -> Retention:
    p = Path(path) if path is not None else retention_path()
    try:
        stamp = p.stat().st_mtime_ns
    except OSError:
        raise PrivacyError(f"{p}: the retention schedule cannot be read (no such file).") from None
    return _load(str(p), stamp)


def _line(node: Any) -> str:
    lc = getattr(node, "lc", None)
    return f":{lc.line + 1}" if lc is not None else ""


@lru_cache(maxsize=8)
def _load(path: str, _stamp: int) -> Retention:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="rt").load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as e:
        raise PrivacyError(f"{path}: the retention schedule cannot be read ({e}).") from None
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise PrivacyError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', None) or e}).") from None
    if not isinstance(data, dict):
        raise PrivacyError(f"{path}:1: the retention schedule is a mapping with `rules:`.")
    rules: list[Rule] = []
    for i, r in enumerate(data.get("rules") or []):
        where = f"{path}{_line(r)}"
        if not isinstance(r, dict):
            raise PrivacyError(f"{where}: rule {i + 1} is not a mapping.")
        sens = r.get("sensitivity")
        if sens not in (SPECIAL, PERSONAL_DATA):
            raise PrivacyError(f"{where}: rule {r.get('id', i + 1)}: sensitivity is `special` or `personal` "
                               f"(got {sens!r}).")
        months = r.get("months")
        if not isinstance(months, int) or isinstance(months, bool) or months < 1:
            raise PrivacyError(f"{where}: rule {r.get('id', i + 1)}: months is a whole number of months, 1 or more.")
        if not str(r.get("reason") or "").strip():
            raise PrivacyError(f"{where}: rule {r.get('id', i + 1)}: every rule cites its reason (`reason:`).")
        if r.get("after", "last_contact") != "last_contact":
            raise PrivacyError(f"{where}: rule {r.get('id', i + 1)}: `after` is `last_contact`.")
        types = tuple(str(t) for t in (r.get("types") or ()))
        unknown = [t for t in types if t not in et.REGISTRY]
        if unknown:
            raise PrivacyError(f"{where}: rule {r.get('id', i + 1)}: unknown entry type {unknown[0]!r}.")
        rules.append(Rule(str(r.get("id") or f"rule-{i + 1}"), sens, months, str(r["reason"]).strip(),
                          tuple(str(p) for p in (r.get("purposes") or ())), types))
    exceptions = data.get("withdrawal_exceptions") or {}
    if not isinstance(exceptions, dict):
        raise PrivacyError(f"{path}{_line(exceptions)}: withdrawal_exceptions maps a purpose to its legal basis.")
    return Retention(path, tuple(rules), {str(k): str(v) for k, v in exceptions.items() if str(v).strip()})


def withdrawal_exception(purpose: str) -> str | None:
    """The legal basis on which a purpose's values stay readable after a withdrawal, or None (they
    are shredded). An unreadable schedule keeps nothing: shredding is the safe side."""
    try:
        return load_retention().withdrawal_exceptions.get(purpose)
    except PrivacyError:
        return None


# ---------------------------------------------------------------------- small helpers

def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sealer(store: JournalStore) -> Sealer:
    sealer = getattr(store, "sealer", None)
    if sealer is None:
        raise PrivacyError("This journal keeps no data keys (not a local CallGuide journal).")
    return sealer


def _check_role(who: Any, what: str) -> str:
    from callguide.identity import IdentityError, require_role

    try:
        require_role(who, ERASE_ROLES, what)
    except IdentityError as e:
        raise PrivacyError(str(e)) from None
    return next(r for r in ERASE_ROLES if who.has(r))


def _system_entry(store: JournalStore, type_: str, account_id: str, who: str, data: dict[str, Any],
                  when: dt.datetime, prefix: str) -> Entry:
    return store.append(NewEntry(type=type_, call_id=f"{prefix}-{uuid.uuid4().hex}", account_id=account_id,
                                 agent=who, flow_id=None, flow_hash=None, step_id=None, data=data, ts=_iso(when)))


# ---------------------------------------------------------------------- withdrawal and erasure

def withdraw(store: JournalStore, account_id: str, purpose: str, who: Any, *,
             now: dt.datetime | None = None) -> Entry:
    """A consent withdrawn outside a call (the customer wrote in): the purpose's key is destroyed
    (or kept under the schedule's legal basis) and `consent_withdrawn` journalled. Refused when no
    consent for the purpose is in force."""
    when = now or dt.datetime.now(dt.UTC)
    role = _check_role(who, "Withdrawing a consent outside a call")
    state = store.account_state(account_id, when.date())
    if not any(c.get("purpose") == purpose for c in state.consents_in_force):
        raise PrivacyError(f"Account {account_id} has no consent for {purpose!r} in force to withdraw.")
    given_on = next(c.get("call_id") for c in state.consents_in_force if c.get("purpose") == purpose)
    kept = withdrawal_exception(purpose)
    data: dict[str, Any] = {"purpose": purpose, "given_on_call": given_on}
    if kept:
        data["kept"] = kept
    else:
        gone = _sealer(store).keys.destroy(account_id, [purpose], WITHDRAWN,
                                           f"consent withdrawn by {who.id} ({role})", _iso(when))
        data["shredded"] = len(gone)
    return _system_entry(store, et.CONSENT_WITHDRAWN, account_id, who.id, data, when, "privacy")


def erase(store: JournalStore, account_id: str, reason: str, who: Any, *, now: dt.datetime | None = None) -> Entry:
    """Erase an account's personal and special-category data: every data key of the account is
    destroyed and an `erasure` tombstone journalled (the reason, who, their role, how many keys).
    The chain is untouched, so `audit verify` still passes."""
    when = now or dt.datetime.now(dt.UTC)
    reason = (reason or "").strip()
    if not reason:
        raise PrivacyError("An erasure needs its reason (--reason).")
    role = _check_role(who, "Erasing an account")
    if not any(e for e in store.account_entries(account_id)):
        raise PrivacyError(f"The journal holds nothing about account {account_id}.")
    gone = _sealer(store).keys.destroy(account_id, None, ERASED, reason, _iso(when))
    return _system_entry(store, et.ERASURE, account_id, who.id,
                         {"reason": reason, "by": who.id, "role": role, "keys": len(gone),
                          "purposes": sorted({g["purpose"] for g in gone})}, when, "privacy")


# ---------------------------------------------------------------------- the retention purge

@dataclass
class Due:
    account_id: str
    rule: Rule
    purposes: list[str]
    last_contact: str
    entries: Counter[str]    # entry type -> how many of the account's entries hold values sealed under them

    def line(self, dry_run: bool) -> str:
        what = ", ".join(f"{n} {t}" for t, n in sorted(self.entries.items())) or "no entries yet"
        verb = "would shred" if dry_run else "shredded"
        return (f"{verb}: account {self.account_id}, {', '.join(self.purposes)} (rule {self.rule.id}: "
                f"{self.rule.months} months after the last contact {self.last_contact[:10]}; {self.rule.reason}) "
                f"— {what}")


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def due_for_purge(store: JournalStore, retention: Retention, today: dt.date) -> list[Due]:
    """What the schedule says is due today: per account and rule, the live keys past their time."""
    sealer = _sealer(store)
    live: dict[str, set[str]] = {}
    for row in sealer.keys.rows():
        if not row["destroyed"]:
            live.setdefault(row["account_id"], set()).add(row["purpose"])
    out: list[Due] = []
    for account_id in sorted(live):
        entries = store.account_entries(account_id)
        contacts = [e.ts for e in entries if e.type == et.CALL_STARTED]
        if not contacts:
            continue
        last = max(contacts)
        for rule in retention.rules:
            purposes = sorted(p for p in live[account_id] if rule.covers(p))
            if not purposes or _add_months(dt.date.fromisoformat(last[:10]), rule.months) > today:
                continue
            counts: Counter[str] = Counter()
            for e in entries:
                if any(set(_purposes_in(v)) & set(purposes) for v in e.data.values()):
                    counts[e.type] += 1
            if rule.types:
                counts = Counter({t: n for t, n in counts.items() if t in rule.types})
            out.append(Due(account_id, rule, purposes, last, counts))
            live[account_id] -= set(purposes)
    return out


def _purposes_in(value: Any) -> list[str]:
    from .sealing import purposes_of

    return purposes_of(value)


def purge(store: JournalStore, *, retention: Retention | None = None, today: dt.date | None = None,
          dry_run: bool = False, by: str = "retention", now: dt.datetime | None = None) -> list[Due]:
    """Apply the retention schedule: destroy the keys that are due (unless `dry_run`), journalling a
    `retention_purge` per account and rule with the reason it cites. Returns what was (or would be) shredded."""
    when = now or dt.datetime.now(dt.UTC)
    retention = retention or load_retention()
    due = due_for_purge(store, retention, today or when.date())
    if dry_run:
        return due
    sealer = _sealer(store)
    for d in due:
        gone = sealer.keys.destroy(d.account_id, d.purposes, PURGED, f"{d.rule.id}: {d.rule.reason}", _iso(when))
        _system_entry(store, et.RETENTION_PURGE, d.account_id, by,
                      {"rule": d.rule.id, "reason": d.rule.reason, "keys": len(gone), "purposes": d.purposes,
                       "last_contact": d.last_contact, "by": by}, when, "retention")
    return due


# ---------------------------------------------------------------------- subject access

def _resolve(value: Any, by_seq: dict[int, Entry], sealer: Sealer | None, account_id: str, lang: str) -> Any:
    if is_ref(value):
        ref = value["$ref"]
        e = by_seq.get(ref.get("seq"))
        if e is None:
            return Gone("missing", None, lang)
        v = open_all(sealer, account_id, {"v": e.data.get(str(ref.get("key")))}, lang)["v"]
        return v.get(ref["sub"]) if ref.get("sub") is not None and isinstance(v, dict) else v
    if isinstance(value, dict):
        return {k: _resolve(v, by_seq, sealer, account_id, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, by_seq, sealer, account_id, lang) for v in value]
    return value


def subject_access(store: JournalStore, account_id: str, *, lang: str = "en",
                   now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the journal holds about an account: every entry, its sealed values opened where
    the key exists and marked `{"destroyed": how, "on": date}` where it was destroyed; references
    (summaries, history snapshots) resolved; the keys' records (never their bytes)."""
    sealer = getattr(store, "sealer", None)
    entries = store.account_entries(account_id)
    by_seq = {e.seq: e for e in entries}
    out = []
    for e in entries:
        data = open_all(sealer, account_id, e.data, lang)
        data = _resolve(data, by_seq, sealer, account_id, lang)
        out.append({"seq": e.seq, "ts": e.ts, "type": e.type, "call_id": e.call_id, "agent": e.agent,
                    "flow_id": e.flow_id, "step_id": e.step_id, "data": readable(data), "hash": e.hash})
    keys = sealer.keys.rows(account_id) if sealer is not None else []
    return {"account_id": account_id, "lang": lang, "exported_at": _iso(now or dt.datetime.now(dt.UTC)),
            "entries": out, "calls": len({e.call_id for e in entries if e.type == et.CALL_STARTED}),
            "keys": [{k: v for k, v in r.items() if k != "kid"} for r in keys]}


def _html_value(value: Any, lang: str = "en") -> str:
    if isinstance(value, dict) and set(value) == {"destroyed", "on"}:  # "withdrawn on 26 November 2026"
        return f'<span class="gone">{html.escape(str(Gone(str(value["destroyed"]), value["on"], lang)))}</span>'
    if isinstance(value, dict):
        if not value:
            return "—"
        return "<dl>" + "".join(f"<dt>{html.escape(str(k).replace('_', ' '))}</dt><dd>{_html_value(v, lang)}</dd>"
                                for k, v in value.items()) + "</dl>"
    if isinstance(value, list):
        return "<ul>" + "".join(f"<li>{_html_value(v, lang)}</li>" for v in value) + "</ul>" if value else "—"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(str(value))


#: Left out of the page a person reads (the command replayed, the flow versions' hashes).
_TECHNICAL = frozenset({"input", "flows", "wording_hash"})


def subject_access_html(report: dict[str, Any]) -> str:
    """The subject-access export as one page a person can read, in the export's language (every value
    escaped; what was destroyed says so, with its date as the language writes it)."""
    from callguide.formatting import format_datetime

    from .sealing import say

    lang = str(report.get("lang") or "en")

    def t(key: str, **fmt: Any) -> str:
        return html.escape(say(f"privacy.{key}", lang, **fmt))

    def when(ts: Any) -> str:
        try:
            return format_datetime(dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00")), lang)
        except (TypeError, ValueError):
            return str(ts or "?")

    rows = []
    for e in report["entries"]:
        data = {k: v for k, v in e["data"].items() if k not in _TECHNICAL}  # the JSON export keeps them
        rows.append(f"<tr><td>{html.escape(e['ts'])}</td><td>{html.escape(e['type'].replace('_', ' '))}</td>"
                    f"<td>{html.escape(e['call_id'])}</td><td>{_html_value(data, lang)}</td></tr>")
    keys = []
    for k in report["keys"]:
        if k.get("destroyed"):
            gone = str(Gone(str(k.get("how") or "missing"), k.get("destroyed"), lang))
            keys.append(t("export_key_gone", purpose=k["purpose"], created=when(k["created"]), gone=gone,
                          reason=k.get("reason") or ""))
        else:
            keys.append(t("export_key_live", purpose=k["purpose"], created=when(k["created"])))
    key_items = "".join(f"<li>{k}</li>" for k in keys) or f"<li>{t('export_none')}</li>"
    return f"""<!DOCTYPE html>
<html lang="{html.escape(lang)}"><head><meta charset="utf-8"><title>{t('export_title', account=report['account_id'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #bbb;padding:.3em .5em;vertical-align:top;text-align:left}}dt{{font-weight:bold}}
dd{{margin:0 0 .3em 1em}}.gone{{color:#8a1c1c;font-style:italic}}</style></head>
<body><h1>{t('export_title', account=report['account_id'])}</h1>
<p>{t('export_intro', when=when(report['exported_at']), n=len(report['entries']), calls=report['calls'])}</p>
<h2>{t('export_keys')}</h2><ul>{key_items}</ul>
<h2>{t('export_entries')}</h2>
<table><thead><tr><th>{t('export_col_when')}</th><th>{t('export_col_what')}</th><th>{t('export_col_call')}</th>
<th>{t('export_col_details')}</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></body></html>
"""


# ---------------------------------------------------------------------- the auditors' export

def auditor_export(store: JournalStore, *, call_id: str | None = None, account_id: str | None = None) -> list[dict[str, Any]]:
    """Entries for auditors (every type, rendered text included): no special-category value
    (`sealing.auditor_data`). One call, one account, or the whole journal."""
    from .sealing import auditor_data

    sealer = getattr(store, "sealer", None)
    if call_id is not None:
        entries: Any = store.call_entries(call_id)
    elif account_id is not None:
        entries = store.account_entries(account_id)
    else:
        entries = store.iter_entries(0)
    return [{"seq": e.seq, "ts": e.ts, "type": e.type, "call_id": e.call_id, "account_id": e.account_id,
             "agent": e.agent, "flow_id": e.flow_id, "flow_hash": e.flow_hash, "step_id": e.step_id,
             "data": auditor_data(sealer, e.type, e.account_id, e.data), "prev_hash": e.prev_hash, "hash": e.hash}
            for e in entries]


# ---------------------------------------------------------------------- the report

def report(store: JournalStore, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per month and purpose: consents given, declined, withdrawn, expired; erasures and purges.
    Rows `{month, purpose, given, declined, withdrawn, expired, erased, purged}`, oldest first."""
    today = today or dt.date.today()
    counts: dict[tuple[str, str], Counter[str]] = {}
    given: dict[tuple[str, str], tuple[str, str | None]] = {}   # (account, purpose) -> (ts, expires) in force
    for e in store.iter_entries(0):
        month = e.ts[:7]
        if e.type == et.CONSENT:
            p = str(e.data.get("purpose"))
            decision = str(e.data.get("decision"))
            if decision in ("given", "declined"):
                counts.setdefault((month, p), Counter())[decision] += 1
            if decision == "given":
                given[(e.account_id, p)] = (e.ts, e.data.get("expires"))
        elif e.type == et.CONSENT_WITHDRAWN:
            p = str(e.data.get("purpose"))
            counts.setdefault((month, p), Counter())["withdrawn"] += 1
            given.pop((e.account_id, p), None)
        elif e.type == et.ERASURE:
            for p in e.data.get("purposes") or ["—"]:
                counts.setdefault((month, str(p)), Counter())["erased"] += 1
            for key in [k for k in given if k[0] == e.account_id]:
                given.pop(key)
        elif e.type == et.RETENTION_PURGE:
            for p in e.data.get("purposes") or ["—"]:
                counts.setdefault((month, str(p)), Counter())["purged"] += 1
    for (_, p), (_, expires) in given.items():
        if expires and str(expires) < today.isoformat():
            counts.setdefault((str(expires)[:7], p), Counter())["expired"] += 1
    cols = ("given", "declined", "withdrawn", "expired", "erased", "purged")
    return [{"month": m, "purpose": p, **{c: counts[(m, p)][c] for c in cols}} for m, p in sorted(counts)]


def dumps(value: Any) -> str:
    """JSON for a person or a tool to read: `readable(value)`, indented."""
    return json.dumps(readable(value), indent=2, ensure_ascii=False, default=str)


__all__ = ["ERASE_ROLES", "Due", "PrivacyError", "Retention", "Rule", "auditor_export", "due_for_purge", "dumps",
           "erase", "load_retention", "purge", "readable", "report", "subject_access", "subject_access_html", "withdraw",
           "withdrawal_exception"]
