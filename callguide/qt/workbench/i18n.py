"""The workbench's UI strings (`resources/i18n/workbench.yaml`: key -> {en, da, cs}).

The shared catalogue (`callguide.qt.i18n`) loads one file, so the workbench keeps its own keys
in a file of its own and follows the shared UI language. `wtr(key, **fmt)` falls back to English,
then to the key.
"""

from __future__ import annotations

from typing import Any

from callguide import paths

_cache: dict[str, dict[str, str]] | None = None


def _entries() -> dict[str, dict[str, str]]:
    global _cache
    if _cache is None:
        from ruamel.yaml import YAML

        p = paths.resources_dir() / "i18n" / "workbench.yaml"
        try:
            data = YAML(typ="safe").load(p.read_text(encoding="utf-8")) or {}
        except OSError:
            data = {}
        _cache = {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in data.items()}
    return _cache


def language() -> str:
    try:
        from callguide.qt.i18n import language as shared_language

        return shared_language()
    except ImportError:
        return "en"


def wtr(key: str, **fmt: Any) -> str:
    e = _entries().get(key) or {}
    text = e.get(language()) or e.get("en") or key
    if fmt:
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
    return text
