"""The flow language: safe YAML loading with positions, JSON Schema, typed model, validation, graphs.

Public API (see docs/flow-language.md): `load_flow`, `load_flow_text`, `load_library`,
`load_signposts`, `find_flow_files`, `validate_library`, `validate_paths`, `Diagnostic`.
Never imports Qt, the engine or the store.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): importing `callguide.flow.model` or `.expr` must not pay for
# ruamel, jsonschema and the validator (the call window's start-up path).
_EXPORTS = {
    "Diagnostic": "callguide.flow.loader",
    "find_flow_files": "callguide.flow.loader",
    "load_flow": "callguide.flow.loader",
    "load_flow_text": "callguide.flow.loader",
    "load_library": "callguide.flow.loader",
    "load_signposts": "callguide.flow.loader",
    "validate_library": "callguide.flow.validate",
    "validate_paths": "callguide.flow.validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'callguide.flow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
