"""The UI string catalogue (`resources/i18n/ui.yaml` + `resources/i18n/workbench.yaml`:
key -> {en, da, cs}) and the translation of the engine's refusals and field messages by
their codes and parameters (never by parsing the engine's English).

Every user-visible string in `callguide.qt` goes through `tr(key, **fmt)`. Widgets
re-read their strings in `retranslate()` when the language changes. This module holds
only the current UI language and the loaded catalogue; it never touches a session
(a caller that wants protocol ids shown by their flow titles passes the flows in).

Importing it is cheap (no YAML library): the catalogue files are read with a strict
one-line-per-key fast path, and only a file that does not fit it is handed to ruamel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from callguide import paths

LANGS = ("en", "da", "cs")
CATALOGUE_FILES = ("ui.yaml", "workbench.yaml")

# `key: {en: "...", da: "...", cs: "..."}` on one line, every value double-quoted without escapes
_LINE = re.compile(r'^(?P<key>[A-Za-z0-9_.\-]+):\s*\{(?P<body>.*)\}\s*$')
_PAIR = re.compile(r'\s*(?P<lang>[A-Za-z_]+):\s*"(?P<text>[^"\\]*)"\s*(?:,|$)')


def _parse_fast(text: str) -> dict[str, dict[str, str]] | None:
    """The catalogue's own simple shape, without a YAML library; None if any line does not fit."""
    out: dict[str, dict[str, str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None or m.group("key") in out:
            return None
        body = m.group("body").strip()
        entry: dict[str, str] = {}
        pos = 0
        while pos < len(body):
            p = _PAIR.match(body, pos)
            if p is None or p.end() == pos:
                return None
            entry[p.group("lang")] = p.group("text")
            pos = p.end()
        out[m.group("key")] = entry
    return out


def _parse_yaml(text: str) -> dict[str, dict[str, str]]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(text) or {}
    return {str(k): {str(lk): str(lv) for lk, lv in (v or {}).items()} for k, v in data.items()}


class Catalogue:
    """key -> {lang: text}; a missing translation falls back to English, then to the key."""

    def __init__(self, entries: dict[str, dict[str, str]]):
        self.entries = entries

    @classmethod
    def load(cls, *files: Path | str) -> Catalogue:
        """Load and merge catalogue files, in order (a key in a later file adds to, or replaces,
        the languages of the same key in an earlier one). With no files: the bundled UI and
        workbench catalogues. A missing file is skipped."""
        if not files:
            base = paths.resources_dir() / "i18n"
            files = tuple(base / name for name in CATALOGUE_FILES)
        entries: dict[str, dict[str, str]] = {}
        for f in files:
            try:
                text = Path(f).read_text(encoding="utf-8")
            except OSError:
                continue
            data = _parse_fast(text)
            if data is None:
                data = _parse_yaml(text)
            for key, langs in data.items():
                entries.setdefault(key, {}).update(langs)
        return cls(entries)

    def text(self, key: str, lang: str) -> str:
        e = self.entries.get(key)
        if e is None:
            return key
        return e.get(lang) or e.get("en") or key


_state: dict[str, Any] = {"lang": "en", "catalogue": None}


def catalogue() -> Catalogue:
    if _state["catalogue"] is None:
        _state["catalogue"] = Catalogue.load()
    return _state["catalogue"]


def set_language(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    _state["lang"] = lang


def language() -> str:
    return _state["lang"]


def _format(text: str, fmt: Mapping[str, Any]) -> str:
    if fmt:
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def tr(key: str, **fmt: Any) -> str:
    return _format(catalogue().text(key, _state["lang"]), fmt)


def tr_in(lang: str | None, key: str, **fmt: Any) -> str:
    """`tr` in a given language (the CALL's language for what the customer hears), not the UI's."""
    return _format(catalogue().text(key, lang if lang in LANGS else _state["lang"]), fmt)


def has(key: str) -> bool:
    return key in catalogue().entries


# --------------------------------------------------------------------------- journal failures

STORE_KINDS = ("locked", "full", "readonly", "corrupt", "closed")  # the ones a running call can meet


def store_text(error: Any, path: Any = "") -> str:
    """A journal failure (`StoreError`) in the UI language, by its `kind` and the journal's path
    (never by parsing the store's English); a kind without words here: the store's own line."""
    kind = getattr(error, "kind", None)
    if kind in STORE_KINDS and has(f"journal.{kind}"):
        return tr(f"journal.{kind}", path=str(path or "").strip() or "?")
    return str(error)


def engine_error_text(error: Any) -> str:
    """An `EngineError` in the UI language, by its `code` (`engine.<code>` with its params), never by
    parsing the engine's English; an error without a code, or without words here: its own line."""
    code = getattr(error, "code", None)
    key = f"engine.{str(code).replace('-', '_')}"
    if code and has(key):
        return tr(key, **{k: str(v) for k, v in (getattr(error, "params", None) or {}).items()})
    return str(error)


# --------------------------------------------------------------------------- engine messages


def protocol_name(pid: Any, flows: Mapping[str, Any] | None = None) -> str:
    """A protocol id as the agent knows it: `protocol.<id>` from the catalogue ("BLAKE"), else the
    flow's title in the UI language (its short head before " — "), else the id itself."""
    pid = str(pid)
    if has(f"protocol.{pid}"):
        return tr(f"protocol.{pid}")
    flow = flows.get(pid) if flows else None
    title = getattr(flow, "title", None)
    if title is not None:
        text = title.get(_state["lang"]) if hasattr(title, "get") else str(title)
        head = text.split(" \u2014 ")[0].strip()
        if head:
            return head
    return pid


def _words(key_prefix: str, value: Any) -> str:
    """`name.sms_survey` -> "an SMS survey"; an id without a translation is spaced out."""
    s = str(value)
    return tr(f"{key_prefix}{s}") if has(f"{key_prefix}{s}") else s.replace("_", " ")


def _engine_params(params: Mapping[str, Any] | None, flows: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (params or {}).items():
        if v is None:
            continue
        if k in ("running", "requested", "protocol", "flow"):
            out[k] = protocol_name(v, flows)
        elif k == "reasons":
            out[k] = ", ".join(_words("block.", r) for r in (v if isinstance(v, (list, tuple)) else [v]))
        elif k == "purpose":
            out[k] = _words("name.", v)
        elif k == "choices":
            out[k] = ", ".join(str(c) for c in (v if isinstance(v, (list, tuple)) else [v]))
        else:
            out[k] = str(v)
    return out


def _strict(key: str, fmt: Mapping[str, str]) -> str | None:
    """The catalogue text with every placeholder filled, or None when a placeholder has no value."""
    try:
        return catalogue().text(key, _state["lang"]).format(**fmt)
    except (KeyError, IndexError, ValueError):
        return None


# a rule whose text can say more when the engine gave a detail: rule -> (param, key with that detail)
_DETAILED = {
    "hold-active": ("until", "rule.hold-active-until"),
    "collection-blocked": ("reasons", "rule.collection-blocked-why"),
    "consent-missing": ("purpose", "rule.consent-missing-for"),
}


def engine_text(rule: str | None, reason: str | None, params: Mapping[str, Any] | None = None,
                flows: Mapping[str, Any] | None = None, short: bool = False) -> str:
    """A refusal from the engine (rule id + params), in the UI language.

    Protocol ids in the params are shown by their names (`protocol_name`). A rule the catalogue
    does not know, or one whose details are missing (an old journal entry), is shown as the
    engine wrote it (in English, or the rule's plain form), so that a reason is never lost.
    `short=True` prefers the rule's short form (`rule.<id>-short`), for a caption under a button."""
    if not rule or not has(f"rule.{rule}"):
        return reason or ""
    fmt = _engine_params(params, flows)
    if short and has(f"rule.{rule}-short"):
        text = _strict(f"rule.{rule}-short", fmt)
        if text is not None:
            return text
    detailed = _DETAILED.get(rule)
    if detailed and fmt.get(detailed[0]) and has(detailed[1]):
        text = _strict(detailed[1], fmt)
        if text is not None:
            return text
    text = _strict(f"rule.{rule}", fmt)
    if text is not None:
        return text
    if has(f"rule.{rule}-plain"):
        return tr(f"rule.{rule}-plain")
    return reason or tr(f"rule.{rule}")


def field_text(code: str | None, params: Mapping[str, Any] | None = None, fallback: str = "",
               choices: Iterable[tuple[Any, str]] | None = None) -> str:
    """A field message from the engine (`Result.error_codes[field]`), in the UI language; `choices`
    (value, label) lets `choose_one_of` name the options as the agent sees them."""
    if not code or not has(f"msg.{code}"):
        return fallback
    fmt: dict[str, str] = {}
    for k, v in (params or {}).items():
        if k == "choices":
            labels = dict(choices or ())
            fmt[k] = ", ".join(str(labels.get(c, c)) for c in (v if isinstance(v, (list, tuple)) else [v]))
        elif k == "purpose":
            fmt[k] = _words("name.", v)
        elif v is not None:
            fmt[k] = str(v)
    text = _strict(f"msg.{code}", fmt)
    return text if text is not None else (fallback or tr(f"msg.{code}"))
