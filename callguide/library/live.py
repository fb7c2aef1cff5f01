"""Load the flow library that live calls may run.

Today: the flows folder, validated; a library with errors is refused. The publishing
work (issue 5) narrows this to published, immutable versions only.
"""

from __future__ import annotations

from pathlib import Path

from callguide import paths
from callguide.flow.model import FlowLibrary


class LibraryRefused(Exception):
    """The flows cannot be used for live calls (one plain line per problem in `.problems`)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


def load_for_calls(flows_dir: str | Path | None = None, db_path: str | Path | None = None) -> FlowLibrary:
    from callguide.flow.loader import load_library
    from callguide.flow.validate import validate_library

    folder = Path(flows_dir) if flows_dir else paths.flows_dir()
    lib, diags = load_library([folder])
    errors = [d for d in validate_library(lib, diags) if d.severity == "error"]
    if errors:
        raise LibraryRefused(f"The flows in {folder} have {len(errors)} error(s); calls cannot start until a "
                             f"trainer fixes them.", [str(d) for d in errors])
    return lib
