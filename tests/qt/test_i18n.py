"""Engine messages are translated from their codes and params (never from the engine's English),
the catalogue merges several files, and what the customer hears follows the call's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from callguide.qt import i18n
from callguide.qt.i18n import engine_text, field_text
from tests.qt.test_calls import open_to_affordability

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("lang, expected", [
    ("en", "BLAKE is in progress and comes first; finish it before starting TEXAS."),
    ("da", "BLAKE er i gang og går forud; afslut den, før du starter TEXAS."),
    ("cs", "Právě probíhá protokol BLAKE, který má přednost; dokončete ho, než spustíte TEXAS."),
])
def test_priority_names_the_protocols(lang, expected):
    i18n.set_language(lang)
    assert engine_text("priority", "ignored English", {"running": "blake", "requested": "texas"}) == expected


def test_rules_with_params_in_every_language():
    cases = [
        ("hold-active", {"until": "2030-02-01"}, "2030-02-01"),
        ("collection-blocked", {"reasons": ["capacity_doubt"]}, None),
        ("already-running", {"protocol": "texas"}, "TEXAS"),
        ("consent-missing", {"purpose": "sms_survey"}, "SMS"),
        ("unknown-flow", {"flow": "nope"}, "nope"),
        ("unknown-action", {"action": "fly"}, "fly"),
        ("unknown-choice", {"choice": "maybe"}, "maybe"),
    ]
    for lang in i18n.LANGS:
        i18n.set_language(lang)
        seen = set()
        for rule, params, must in cases:
            text = engine_text(rule, "ENGLISH FROM THE ENGINE", params)
            assert "ENGLISH" not in text and "{" not in text, (lang, rule, text)
            if must:
                assert must in text, (lang, rule, text)
            seen.add(text)
        assert len(seen) == len(cases)
    i18n.set_language("da")
    assert "beslutningsevne" in engine_text("collection-blocked", "x", {"reasons": ["capacity_doubt"]})


def test_flow_titles_name_protocols_without_a_catalogue_entry(library):
    i18n.set_language("da")
    text = engine_text("already-running", "x", {"protocol": "affordability"}, flows=library.flows)
    assert text.startswith("Betalingsevne er allerede i gang"), text


def test_unknown_codes_and_missing_params_never_lose_the_reason():
    i18n.set_language("cs")
    assert engine_text("a-new-rule", "Something new happened.") == "Something new happened."
    assert engine_text(None, "Journal is read-only.") == "Journal is read-only."
    assert field_text("a_new_code", {}, "Odd value.") == "Odd value."
    # a journalled refusal has no params: the rule's plain translated form, not "{running}"
    plain = engine_text("priority", "BLAKE is in progress and comes first; finish it before TEXAS.")
    assert "{" not in plain and "přednost" in plain


def test_field_codes_translate():
    i18n.set_language("da")
    assert field_text("at_least", {"n": "0"}, "Must be at least 0.") == "Skal være mindst 0."
    assert field_text("choose_one_of", {"choices": ["email", "post"]}, "",
                      choices=[("email", "E-mail"), ("post", "Brev")]) == "Vælg en af: E-mail, Brev."
    assert "samtykke" in field_text("needs_consent", {"purpose": "health_disclosure"}, "x")
    for code in ("required", "enter_number", "enter_amount", "two_decimals", "yes_or_no", "enter_date",
                 "not_apply", "not_on_step"):
        assert field_text(code, {}, "ENGLISH") != "ENGLISH", code


def test_catalogue_merges_files(tmp_path):
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text('x.one: {en: "One", da: "En"}\nx.two: {en: "Two"}\n', encoding="utf-8")
    b.write_text("# plain YAML too\nx.two:\n  da: To\nx.three: {en: Three}\n", encoding="utf-8")
    cat = i18n.Catalogue.load(a, b)
    assert cat.text("x.one", "da") == "En"
    assert cat.text("x.two", "da") == "To" and cat.text("x.two", "en") == "Two"
    assert cat.text("x.three", "cs") == "Three"
    bundled = i18n.Catalogue.load()
    assert "banner.begin" in bundled.entries and "tab.practice" in bundled.entries  # ui + workbench


def test_fast_catalogue_reader_agrees_with_yaml():
    for name in i18n.CATALOGUE_FILES:
        text = (ROOT / "resources" / "i18n" / name).read_text(encoding="utf-8")
        assert i18n._parse_fast(text) == i18n._parse_yaml(text), name


def test_every_key_has_all_languages():
    for key, langs in i18n.catalogue().entries.items():
        assert set(langs) >= set(i18n.LANGS), key


def test_blake_blocks_texas_in_danish_with_names(open_window):
    d = open_window(account_id="A-700", name="Kim Larsen", country="DK", balance="5400.00")
    open_to_affordability(d)
    d.press(Qt.Key.Key_F5)
    assert d.where[0] == "blake"
    cell = next(c for c in d.w.call_bar.interrupt_cells.values() if c.button.text().endswith("TEXAS"))
    assert not cell.button.isEnabled()
    assert cell.slot.text() == "Afslut BLAKE først."  # short: the same reason is under every quick-start
    assert cell.slot.toolTip() == "BLAKE er i gang og går forud; afslut den, før du starter TEXAS."
    assert cell.button.accessibleDescription() == cell.slot.toolTip()


def test_field_error_in_czech(open_window):
    d = open_window(account_id="A-701", name="Petra Nováková", country="CZ", balance="48000")
    open_to_affordability(d)
    d.fill_all({"employment": "employed", "finance_difficulty": False})
    d.next()
    d.fill("income", "12x")
    d.next()
    msg = d.panel._rows["income"].message
    assert msg.isVisible() and msg.text() == "Zadejte částku, například 1250,00."
    d.w.set_language("en")  # the message follows the UI language
    assert d.panel._rows["income"].message.text() == "Enter an amount, for example 1250.00."


def test_yes_no_follow_the_call_language(open_window):
    d = open_window(account_id="A-702", name="Kim Larsen", country="DK")
    d.begin()
    d.fill("identity_check", "confirmed")
    d.next()
    d.next()
    d.next()
    assert d.where == ("call-opening", "readback")
    i18n.set_language("en")  # the agent's UI in English, the call in Danish
    d.panel.retranslate()
    row = d.panel._rows["adjustments_on_file"]
    assert [rb.text() for rb in row.radios] == ["Ja   (J)", "Nej   (N)"]
    assert d.panel.next_button.text().startswith("Next")
    assert d.panel.body.findChildren(QLabel)  # painted
