"""The UI string catalogue (`resources/i18n/ui.yaml`: key -> {en, da, cs}) and the
translation of the engine's refusals and field messages by their rule ids.

Every user-visible string in `callguide.qt` goes through `tr(key, **fmt)`. Widgets
re-read their strings in `retranslate()` when the language changes. This module holds
only the current UI language and the loaded catalogue; it never touches a session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from callguide import paths

LANGS = ("en", "da", "cs")


class Catalogue:
    """key -> {lang: text}; a missing translation falls back to English, then to the key."""

    def __init__(self, entries: dict[str, dict[str, str]]):
        self.entries = entries

    @classmethod
    def load(cls, path: Path | None = None) -> Catalogue:
        from ruamel.yaml import YAML

        path = path or paths.resources_dir() / "i18n" / "ui.yaml"
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        return cls({str(k): {str(lk): str(lv) for lk, lv in v.items()} for k, v in data.items()})

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


def tr(key: str, **fmt: Any) -> str:
    text = catalogue().text(key, _state["lang"])
    if fmt:
        try:
            return text.format(**fmt)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def has(key: str) -> bool:
    return key in catalogue().entries


# --------------------------------------------------------------------------- engine messages

# Engine refusals carry a stable rule id; some reasons carry details we lift out of the English text.
_RULE_DETAILS = {
    "hold-active": re.compile(r"on hold(?: until (?P<until>[\d-]+))?"),
    "priority": re.compile(r"^(?P<top>\S+) is in progress and comes first; finish it before (?P<new>\S+)\."),
    "already-running": re.compile(r"^(?P<name>\S+) is already running"),
    "collection-blocked": re.compile(r"\((?P<why>.*)\)"),
}

# Field and step messages the engine gives without a rule id (callguide.engine.values / views / session).
_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Required\.$"), "msg.required"),
    (re.compile(r"^Enter a number\.$"), "msg.enter_number"),
    (re.compile(r"^Enter an amount"), "msg.enter_amount"),
    (re.compile(r"^Must be at least (?P<n>.+)\.$"), "msg.at_least"),
    (re.compile(r"^Must be at most (?P<n>.+)\.$"), "msg.at_most"),
    (re.compile(r"^Use at most two decimals\.$"), "msg.two_decimals"),
    (re.compile(r"^Answer yes or no\.$"), "msg.yes_or_no"),
    (re.compile(r"^Enter a date"), "msg.enter_date"),
    (re.compile(r"^Choose one of: (?P<list>.*)\.$"), "msg.choose_one_of"),
    (re.compile(r"^Needs the customer's explicit consent first"), "msg.needs_consent"),
    (re.compile(r"^This question does not apply now"), "msg.not_apply"),
    (re.compile(r"^Does not apply to these answers"), "msg.choice_not_apply"),
    (re.compile(r"^Choose one of the answers"), "rule.choose"),
    (re.compile(r"^Record the customer's answer"), "rule.consent-needed"),
    (re.compile(r"^Some answers (need attention|are still needed)"), "rule.invalid"),
    (re.compile(r"^No next step applies"), "rule.no-way-on"),
]


def engine_text(rule: str | None, reason: str | None) -> str:
    """A refusal or field message from the engine, in the UI language.

    Known rule ids and messages are translated; anything unknown is shown as the engine wrote it
    (in English), so that a reason is never lost."""
    reason = reason or ""
    if rule and has(f"rule.{rule}"):
        fmt: dict[str, str] = {}
        pat = _RULE_DETAILS.get(rule)
        if pat is not None:
            m = pat.search(reason)
            if m:
                fmt = {k: v for k, v in m.groupdict().items() if v}
        key = f"rule.{rule}"
        if rule == "hold-active" and "until" in fmt:
            key = "rule.hold-active-until"
        if rule in ("priority", "already-running") and not fmt:
            return reason
        return tr(key, **fmt)
    for pat, key in _MESSAGES:
        m = pat.search(reason)
        if m and has(key):
            return tr(key, **{k: v for k, v in m.groupdict().items() if v is not None})
    return reason
