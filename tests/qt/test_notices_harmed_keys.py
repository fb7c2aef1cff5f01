"""HARMED is practice only on main (review_needed): what F4 does on a live call and what the window
says agree with the README (F4 starts nothing, shows what to do instead), and the practice-only
notice steps aside during a crisis (BLAKE), where the emergency path matters more.
Real window, real flows published as shipped (HARMED withheld), real SQLite journal; keys only."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]


def test_f4_on_a_live_call_starts_nothing_and_says_what_to_do_instead(open_window):
    d = open_window()
    assert "harmed" not in d.session.flows
    d.press(Qt.Key.Key_Return)  # begin
    before = len(d.entries())
    assert d.w.side.notices.hotkeys == {"F4": "harmed"}
    d.press(Qt.Key.Key_F4)
    assert d.where == ("call-opening", "identity") and len(d.entries()) == before  # nothing started or written
    assert d.w.info_strip.isVisible()
    info = d.w.info_strip.text()
    assert info.startswith("HARMED (upset or angry customer) is not live yet") and "F5 (BLAKE)" in info
    assert info == d.w.side.notices.withheld_label.text()  # the same words as the side column


def test_readme_says_what_f4_does():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| F4 |"))
    assert "practice only" in row and "starts nothing" in row and "F5 BLAKE" in row
    assert not any(line.startswith("| F2 … F5") for line in readme.splitlines())


@pytest.mark.parametrize("lang, country", [("en", "UK"), ("da", "DK"), ("cs", "CZ")])
def test_the_practice_only_notice_is_hidden_during_blake(open_window, shots_dir, lang, country):
    d = open_window(country=country, lang=lang)
    d.press(Qt.Key.Key_Return)
    notices = d.w.side.notices
    assert notices.isVisible() and notices.withheld_label.isVisible()
    d.press(Qt.Key.Key_F5)  # BLAKE: risk to life
    assert d.where[0] == "blake"
    assert not notices.withheld_label.isVisible() and not notices.isVisible()
    d.w.info_strip.hide()
    d.press(Qt.Key.Key_F4)  # quiet during the crisis
    assert not d.w.info_strip.isVisible()
    d.w.grab().save(str(shots_dir / f"blake_no_harmed_notice_{lang}.png"))
