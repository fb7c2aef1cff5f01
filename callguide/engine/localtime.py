"""The customer's local time, and the contact-time rules per country.

A call runs in the customer's zone (one per country via zoneinfo, or the account's own
`timezone`). `resources/contact_rules.yaml` says, per country, the hours in which an outbound
collection call may be made, with its source and the date it was last checked, and the reasons an
agent may record to go on outside them (the customer asked to be called now). The engine checks
the hours once, when the call starts: outside them the opening warns, and collection is refused
until an allowed reason is recorded. Never imports Qt.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COUNTRY_ZONES = {"UK": "Europe/London", "DK": "Europe/Copenhagen", "CZ": "Europe/Prague"}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_BYTES = 256 * 1024


class ContactRulesError(ValueError):
    """The contact rules file cannot be used (one plain line)."""


def zone_for(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Prague)") from None


def customer_zone(account: Any) -> ZoneInfo:
    """The account's own zone if it has one, else its country's."""
    name = getattr(account, "timezone", None) or COUNTRY_ZONES.get(getattr(account, "country", ""), "UTC")
    return zone_for(name)


@dataclass(frozen=True)
class ContactCheck:
    allowed: bool
    local_time: str          # "22:30"
    weekday: str             # "mon"
    window: str              # the hours that apply today, "06:00-22:00" (or "none")
    source: str = ""
    review_needed: str | None = None


def _hhmm(value: Any, where: str) -> dt.time:
    if str(value) == "24:00":
        return dt.time.max
    try:
        h, m = str(value).split(":")
        return dt.time(int(h), int(m))
    except (ValueError, TypeError):
        raise ContactRulesError(f"{where}: {value!r} is not a time like 08:00") from None


class ContactRules:
    """Permitted contact hours per country (from `resources/contact_rules.yaml`)."""

    def __init__(self, data: dict[str, Any], source: str = "contact_rules.yaml"):
        self.source = source
        if not isinstance(data, dict) or not isinstance(data.get("countries"), dict):
            raise ContactRulesError(f"{source}: expected a mapping with `countries: {{CODE: {{...}}}}`")
        self.reasons: dict[str, dict[str, str]] = {}
        for key, labels in (data.get("reasons") or {}).items():
            if not isinstance(labels, dict) or not all(labels.get(lang) for lang in ("en", "da", "cs")):
                raise ContactRulesError(f"{source}: reason {key!r} needs en, da and cs labels")
            self.reasons[str(key)] = {str(k): str(v) for k, v in labels.items()}
        self.countries: dict[str, dict[str, Any]] = {}
        for code, spec in data["countries"].items():
            where = f"{source}: {code}"
            if not isinstance(spec, dict):
                raise ContactRulesError(f"{where}: expected a mapping with hours, source and last_checked")
            for key in ("hours", "source", "last_checked"):
                if key not in spec:
                    raise ContactRulesError(f"{where}: needs `{key}`")
            windows: dict[str, list[tuple[dt.time, dt.time]]] = {d: [] for d in DAYS}
            for i, h in enumerate(spec["hours"] or []):
                days = h.get("days") if isinstance(h, dict) else None
                if not isinstance(days, list) or not set(days) <= set(DAYS):
                    raise ContactRulesError(f"{where}: hours[{i}].days must be a list of {', '.join(DAYS)}")
                start, end = _hhmm(h.get("from"), f"{where} hours[{i}].from"), _hhmm(h.get("to"), f"{where} hours[{i}].to")
                for d in days:
                    windows[d].append((start, end))
            self.countries[str(code)] = {**spec, "windows": windows}

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ContactRules:
        p = Path(path) if path is not None else default_path()
        return _load_cached(str(p), _mtime(p))

    def check(self, country: str, local: dt.datetime) -> ContactCheck:
        """May an outbound collection call be made at this local time? (Unknown country: yes, with
        no window; the call's signposts check already refuses unknown countries.)"""
        spec = self.countries.get(country)
        day = DAYS[local.weekday()]
        hhmm = local.strftime("%H:%M")
        if spec is None:
            return ContactCheck(True, hhmm, day, "", "")
        windows = spec["windows"][day]
        t = local.time().replace(tzinfo=None)
        allowed = any(a <= t < b for a, b in windows)
        text = ", ".join(f"{a.strftime('%H:%M')}-{b.strftime('%H:%M')}" for a, b in windows) or "none"
        return ContactCheck(allowed, hhmm, day, text, str(spec.get("source", "")), spec.get("review_needed"))


def default_path() -> Path:
    """`CALLGUIDE_CONTACT_RULES`, else `contact_rules.yaml` in the resources folder, else the bundled
    one (a resources folder of its own without contact rules still gets the shipped rules)."""
    env = os.environ.get("CALLGUIDE_CONTACT_RULES")
    if env:
        return Path(env)
    from callguide.paths import _root, resources_dir

    own = resources_dir() / "contact_rules.yaml"
    return own if own.exists() else _root() / "resources" / "contact_rules.yaml"


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return -1.0


@lru_cache(maxsize=8)
def _load_cached(path: str, _mtime: float) -> ContactRules:
    p = Path(path)
    try:
        raw = p.read_bytes()[: MAX_BYTES + 1]
    except OSError as e:
        raise ContactRulesError(f"{p}: cannot be read ({e.strerror or e})") from None
    if len(raw) > MAX_BYTES:
        raise ContactRulesError(f"{p}: larger than {MAX_BYTES // 1024} KiB")
    from callguide.flow.yamlsafe import parse_config

    try:
        data = parse_config(raw, str(p))
    except ValueError as e:
        raise ContactRulesError(str(e)) from None
    return ContactRules(data, str(p))
