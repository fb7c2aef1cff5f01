"""The flow language: safe YAML loading with positions, JSON Schema, typed model, validation, graphs.

Public API (see docs/flow-language.md): `load_flow`, `load_flow_text`, `load_library`,
`load_signposts`, `find_flow_files`, `validate_library`, `validate_paths`, `Diagnostic`.
Never imports Qt, the engine or the store.
"""

from callguide.flow.loader import (
    Diagnostic,
    find_flow_files,
    load_flow,
    load_flow_text,
    load_library,
    load_signposts,
)
from callguide.flow.validate import validate_library, validate_paths

__all__ = [
    "Diagnostic",
    "find_flow_files",
    "load_flow",
    "load_flow_text",
    "load_library",
    "load_signposts",
    "validate_library",
    "validate_paths",
]
