"""The call journal: the `JournalStore` interface and its local SQLite implementation.

Never imports Qt or the engine.
"""

import importlib
from typing import Any

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

# Loaded on first use (PEP 562): the interface above is light; the SQLite implementation pulls in
# sqlite-utils, which the call window's first paint must not wait for.
_LAZY = {
    "PROTECTION_TYPES": "callguide.store.derive",
    "STATE_TYPES": "callguide.store.derive",
    "derive_account_state": "callguide.store.derive",
    "SQLiteJournal": "callguide.store.sqlite",
    "redact_data": "callguide.store.sqlite",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'callguide.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "GENESIS_HASH",
    "PROTECTION_TYPES",
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
