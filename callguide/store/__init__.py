"""The call journal: the `JournalStore` interface and its local SQLite implementation.

Never imports Qt or the engine.
"""

from .base import (
    GENESIS_HASH,
    AccountState,
    CallSummary,
    Entry,
    JournalStore,
    NewEntry,
    StoreError,
    VerifyResult,
    canonical_json,
    compute_hash,
)
from .derive import STATE_TYPES, derive_account_state
from .sqlite import SQLiteJournal, redact_data

__all__ = [
    "GENESIS_HASH",
    "STATE_TYPES",
    "AccountState",
    "CallSummary",
    "Entry",
    "JournalStore",
    "NewEntry",
    "SQLiteJournal",
    "StoreError",
    "VerifyResult",
    "canonical_json",
    "compute_hash",
    "derive_account_state",
    "redact_data",
]
