"""The one small interface between the engine and wherever the journal lives.

Today: `SQLiteJournal` (sqlite-utils, one local file). Later: a central PostgreSQL
store for teams implements the same `JournalStore` protocol. Nothing here may
import Qt or the engine.

Entry types and their `data` are listed in `docs/journal.md`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

GENESIS_HASH = "0" * 64

# The fields covered by an entry's hash, besides `prev_hash` (which is prepended).
HASHED_FIELDS = ("ts", "type", "call_id", "account_id", "agent", "flow_id", "flow_hash", "step_id", "data")


class StoreError(Exception):
    """A journal failure, with a one-line plain message (never a raw database traceback).

    `kind` is one of: "locked", "corrupt", "readonly", "full", "append_only", "invalid", "closed",
    "missing" (no journal at that path), "newer" (written by a newer CallGuide), "upgrade" (a
    read-only opening of a journal that needs a migration), "tampered" (refused on open: see
    docs/journal.md, "Tamper evidence"), "other".
    """

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


# One encoder for every call (stateless between calls; what `json.dumps` with these options builds
# afresh each time).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# How that encoder spells a string (`ensure_ascii=False`).
_json_str = json.encoder.encode_basestring


def _c_encoder() -> Any:
    """The C encoder `_CANONICAL.encode` builds afresh on every call (with a fresh `markers` dict for
    its circular-reference check), built once per thread instead; None without the C accelerator."""
    if _make_c_encoder is None:
        return None
    return _make_c_encoder({}, _CANONICAL.default, _json_str, None, ":", ",", True, False, False)


_make_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_encoders = threading.local()


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashing and storage: exactly `_CANONICAL.encode(value)`
    (same text, same errors), without rebuilding its encoder on every call (~20% of an encoding
    of an entry's data)."""
    if isinstance(value, str):
        return _json_str(value)
    try:
        enc = _encoders.enc
    except AttributeError:
        enc = _encoders.enc = _c_encoder()
    if enc is None:
        return _CANONICAL.encode(value)
    try:
        return "".join(enc(value, 0))
    except BaseException:
        # A failed encoding can leave ids in the encoder's circular-reference marks: start afresh.
        _encoders.enc = _c_encoder()
        raise


def compute_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """`sha256(prev_hash + canonical_json(fields))`, where fields are `HASHED_FIELDS` (everything but seq,
    prev_hash and hash). Hex digest. The definition: `verify` recomputes every hash with it."""
    body = canonical_json({k: fields[k] for k in HASHED_FIELDS})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _json_opt(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


#: How `_json_str` spells the texts that come back entry after entry (the call, the account, the
#: agent, the flow and its hash, the types): looked up, not escaped again (bounded; a memo only).
_SPELT: dict[str | None, str] = {None: "null"}


def _spelt(value: str | None) -> str:
    if len(_SPELT) > 512:
        _SPELT.clear()
        _SPELT[None] = "null"
    text = _SPELT[value] = _json_opt(value)
    return text


def hash_from_text(prev_hash: str, ts: str, type_: str, call_id: str, account_id: str, agent: str,
                   flow_id: str | None, flow_hash: str | None, step_id: str | None, data_text: str) -> str:
    """`compute_hash` of an entry whose data is stored as `data_text`, without serialising the data
    again: the canonical body spelled around `data_text` (keys in sorted order). Equal to
    `compute_hash(prev_hash, {..., "data": json.loads(data_text)})` whenever `data_text` is canonical
    JSON that reads back to a value spelt the same way (the append path makes sure of it; a test
    compares the two)."""
    get = _SPELT.get
    body = (f'{{"account_id":{get(account_id) or _spelt(account_id)},"agent":{get(agent) or _spelt(agent)},'
            f'"call_id":{get(call_id) or _spelt(call_id)},"data":{data_text},'
            f'"flow_hash":{get(flow_hash) or _spelt(flow_hash)},"flow_id":{get(flow_id) or _spelt(flow_id)},'
            f'"step_id":{get(step_id) or _spelt(step_id)},"ts":{_json_str(ts)},"type":{get(type_) or _spelt(type_)}}}')
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewEntry:
    """What the engine asks the store to append."""

    type: str
    call_id: str
    account_id: str
    agent: str
    flow_id: str | None
    flow_hash: str | None
    step_id: str | None
    data: dict[str, Any]
    ts: str  # ISO 8601 UTC, from the engine's injected clock

    # The dataclass's own __init__ sets each field through `object.__setattr__` (frozen): one dict
    # update instead, ~2.5x cheaper; two are made every step. Same signature (a test compares).
    def __init__(self, type: str, call_id: str, account_id: str, agent: str, flow_id: str | None,  # noqa: A002
                 flow_hash: str | None, step_id: str | None, data: dict[str, Any], ts: str) -> None:
        self.__dict__.update(type=type, call_id=call_id, account_id=account_id, agent=agent, flow_id=flow_id,
                             flow_hash=flow_hash, step_id=step_id, data=data, ts=ts)


@dataclass(frozen=True)
class Entry:
    """An entry as stored: durable, numbered, chained."""

    seq: int
    type: str
    call_id: str
    account_id: str
    agent: str
    flow_id: str | None
    flow_hash: str | None
    step_id: str | None
    data: dict[str, Any]
    ts: str
    prev_hash: str
    hash: str

    def __init__(self, seq: int, type: str, call_id: str, account_id: str, agent: str,  # noqa: A002
                 flow_id: str | None, flow_hash: str | None, step_id: str | None, data: dict[str, Any], ts: str,
                 prev_hash: str, hash: str) -> None:  # noqa: A002
        self.__dict__.update(seq=seq, type=type, call_id=call_id, account_id=account_id, agent=agent,
                             flow_id=flow_id, flow_hash=flow_hash, step_id=step_id, data=data, ts=ts,
                             prev_hash=prev_hash, hash=hash)  # (as `NewEntry.__init__`)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass
class CallSummary:
    call_id: str
    account_id: str
    agent: str
    started: str
    last_ts: str
    entries: int
    data: dict[str, Any] = field(default_factory=dict)  # the call_started entry's data


@dataclass
class AccountState:
    """What the journal knows about an account, derived from its entries (never stored).

    The protections register (docs/engine.md, "Protections"): what is in force on the account for
    every call, until its end date, or until the review that closes it is recorded."""

    account_id: str
    vulnerabilities: list[dict[str, Any]] = field(default_factory=list)  # open ones: {category?, review_date, consent, seq, ts, ...}
    disclosures: list[dict[str, Any]] = field(default_factory=list)      # consent declined: {review_date, seq, ts}
    holds: list[dict[str, Any]] = field(default_factory=list)            # active: {until, days, reason, seq, ts}
    adjustments: dict[str, Any] = field(default_factory=dict)            # latest value per adjustment field
    #: each `adjustment` record with its review date ({fields, review_date, review_due, seq, ts, call_id})
    adjustment_records: list[dict[str, Any]] = field(default_factory=list)
    consents: dict[str, dict[str, Any]] = field(default_factory=dict)    # purpose -> latest {decision, ts, wording_hash}
    #: every consent in force now, one per purpose: {purpose, given_at, by, call_id, wording_hash, expires}
    consents_in_force: list[dict[str, Any]] = field(default_factory=list)
    third_parties: list[dict[str, Any]] = field(default_factory=list)
    #: open capacity doubts (no specialist review confirming capacity since): {reason, seq, ts, call_id}
    capacity_doubts: list[dict[str, Any]] = field(default_factory=list)
    capacity_flags: list[dict[str, Any]] = field(default_factory=list)   # the same list (older name)
    #: every specialist review of capacity: {result, by, name, role, note, seq, ts}
    capacity_reviews: list[dict[str, Any]] = field(default_factory=list)
    #: open crisis protections: {reason, review_date, seq, ts, call_id}
    crises: list[dict[str, Any]] = field(default_factory=list)
    #: open disputes (collection paused until the evidence is reviewed): {reason, seq, ts, call_id}
    disputes: list[dict[str, Any]] = field(default_factory=list)
    #: reviews of crises and disputes: {kind, result, by, name, role, note, seq, ts}
    reviews: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)        # scheduled, not yet due-passed
    last_outcome: dict[str, Any] | None = None                           # {code, ts, call_id}
    calls: int = 0
    #: relaxing entries (a closing review, a hold's end, a consent given) the register did NOT count,
    #: because no valid signature vouches for them (written after the journal's last signature, by
    #: someone without the key): {seq, type, ts, call_id}; docs/journal.md, "Relaxing entries are signed"
    unsigned: list[dict[str, Any]] = field(default_factory=list)

    @property
    def hold_active(self) -> bool:
        return bool(self.holds)

    @property
    def capacity_doubt_open(self) -> bool:
        return bool(self.capacity_doubts)

    @property
    def crisis_open(self) -> bool:
        return bool(self.crises)

    @property
    def dispute_open(self) -> bool:
        return bool(self.disputes)

    @property
    def collection_paused(self) -> bool:
        """No collection on any call now (hold, crisis or dispute)."""
        return self.hold_active or self.crisis_open or self.dispute_open

    @property
    def payment_blocked(self) -> bool:
        """No payment decision on any call now (that, or an open capacity doubt)."""
        return self.collection_paused or self.capacity_doubt_open

    def is_empty(self) -> bool:
        return not (self.vulnerabilities or self.disclosures or self.holds or self.adjustments
                    or self.consents or self.third_parties or self.capacity_doubts or self.crises
                    or self.disputes or self.last_outcome)


class JournalStore(Protocol):
    def append(self, entry: NewEntry) -> Entry:
        """Append durably (committed and synced when this returns) and chain it."""

    def call_entries(self, call_id: str) -> list[Entry]: ...

    def account_entries(self, account_id: str) -> list[Entry]: ...

    def account_state(self, account_id: str, today: dt.date) -> AccountState: ...

    def unfinished_calls(self) -> list[CallSummary]:
        """Calls with a `call_started` and no `call_ended` entry (killed mid-call)."""

    def save_flow_snapshot(self, flow_hash: str, flow_id: str, version: str, text: str) -> None:
        """Keep the exact flow text a call ran (idempotent)."""

    def flow_snapshot(self, flow_hash: str) -> str | None: ...

    def verify(self) -> VerifyResult: ...

    def iter_entries(self, after_seq: int = 0) -> Iterator[Entry]:
        """Every entry with seq > after_seq, in order (for export)."""

    def export_redacted(self, call_id: str) -> list[dict[str, Any]]:
        """A call's entries as plain dicts, special-category values replaced by "[redacted]"."""

    def close(self) -> None: ...
