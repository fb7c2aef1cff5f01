"""A key written twice in a hand-edited config file is an error with its line, never the second
silently replacing the first (before: the contact-time rules and the people file were read with
PyYAML's loader, which keeps the last of two equal keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callguide.engine.localtime import ContactRules, ContactRulesError

ROOT = Path(__file__).resolve().parents[2]


def test_a_country_written_twice_in_the_contact_rules_is_refused_with_its_line(tmp_path):
    text = (ROOT / "resources" / "contact_rules.yaml").read_text(encoding="utf-8")
    # Someone adds a second, laxer CZ entry at the end (no night-time quiet period).
    f = tmp_path / "contact_rules.yaml"
    f.write_text(text.rstrip("\n") + "\n  CZ:\n    zone: Europe/Prague\n    hours:\n"
                 "      - {days: [mon, tue, wed, thu, fri, sat, sun], from: \"00:00\", to: \"23:59\"}\n"
                 "    source: x\n    last_checked: 2026-11-26\n", encoding="utf-8")
    line = len(text.rstrip("\n").splitlines()) + 1
    with pytest.raises(ContactRulesError, match=rf"contact_rules.yaml:{line}:3: not valid YAML "
                                                r"\(duplicate key 'CZ'") as e:
        ContactRules.load(f)
    assert "\n" not in str(e.value)


def test_the_bundled_contact_rules_still_read():
    rules = ContactRules.load(ROOT / "resources" / "contact_rules.yaml")
    assert {"CZ", "UK", "DK"} <= set(rules.countries)
