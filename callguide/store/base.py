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


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashing and storage."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """`sha256(prev_hash + canonical_json(fields))`, where fields are `HASHED_FIELDS` (everything but seq,
    prev_hash and hash). Hex digest."""
    body = canonical_json({k: fields[k] for k in HASHED_FIELDS})
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
    """What the journal knows about an account, derived from its entries (never stored)."""

    account_id: str
    vulnerabilities: list[dict[str, Any]] = field(default_factory=list)  # open ones: {category?, review_date, consent, seq, ts, ...}
    disclosures: list[dict[str, Any]] = field(default_factory=list)      # consent declined: {review_date, seq, ts}
    holds: list[dict[str, Any]] = field(default_factory=list)            # active: {until, days, reason, seq, ts}
    adjustments: dict[str, Any] = field(default_factory=dict)            # latest value per adjustment field
    consents: dict[str, dict[str, Any]] = field(default_factory=dict)    # purpose -> {decision, ts, wording_hash}
    third_parties: list[dict[str, Any]] = field(default_factory=list)
    capacity_flags: list[dict[str, Any]] = field(default_factory=list)   # doubts that remained at the end of a call
    callbacks: list[dict[str, Any]] = field(default_factory=list)        # scheduled, not yet due-passed
    last_outcome: dict[str, Any] | None = None                           # {code, ts, call_id}
    calls: int = 0

    @property
    def hold_active(self) -> bool:
        return bool(self.holds)

    def is_empty(self) -> bool:
        return not (self.vulnerabilities or self.disclosures or self.holds or self.adjustments
                    or self.consents or self.third_parties or self.capacity_flags or self.last_outcome)


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
