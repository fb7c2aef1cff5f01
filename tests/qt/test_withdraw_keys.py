"""Withdrawing a consent from the side column destroys its key for good (everything recorded under
it, on this call and the earlier ones, becomes unreadable). It is two Tabs from the step's Next, and
Enter presses a focused button: so the button asks first, in place, with the focus on "Keep it",
and says what was done once it is done; the focus goes back to the step. Keys only, en/da/cs,
real engine, flows and SQLite journal."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from callguide.qt.banner import _name
from callguide.qt.i18n import tr
from tests.qt.test_screens import seed_history

pytestmark = pytest.mark.qt

COUNTRY = {"en": "UK", "da": "DK", "cs": "CZ"}


def focus():
    return QApplication.focusWidget()


def tab_to(d, name: str) -> QPushButton:
    for _ in range(30):
        w = focus()
        if isinstance(w, QPushButton) and w.objectName() == name:
            return w
        d.press(Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {name}")


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_stray_enter_on_withdraw_asks_first_and_keeps_the_consent(open_window, library, store, lang, shots_dir):
    seed_history(library, store)  # call 1: the health consent given
    d = open_window(account_id="A-500", name="Maria Jensen", country=COUNTRY[lang], lang=lang)
    d.press(Qt.Key.Key_Return)  # begin the call
    assert [c.purpose for c in d.view.consents_in_force] == ["health_disclosure"]
    tab_to(d, "withdrawConsent")
    d.press(Qt.Key.Key_Return)  # one Tab too many, then Enter, as if on Next
    assert d.entries("consent_withdrawn") == []  # before: withdrawn at once, its key destroyed
    assert [c.purpose for c in d.view.consents_in_force] == ["health_disclosure"]
    keep = focus()
    assert isinstance(keep, QPushButton) and keep.objectName() == "withdrawKeep", keep
    question = d.w.side.findChild(QPushButton, "withdrawYes").parentWidget()
    assert question.isVisible()
    port = d.w.side.viewport()
    d.qtbot.waitUntil(lambda: port.rect().contains(question.rect().translated(question.mapTo(port, question.rect().topLeft()))),
                      timeout=2000)  # the question and its focused "Keep it" whole on screen, not cut at the foot
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"withdraw_asks_{lang}.png"))
    d.press(Qt.Key.Key_Return)  # Enter again: keeps it
    assert d.entries("consent_withdrawn") == []
    assert focus().objectName() == "withdrawConsent"  # back on the button, nothing changed
    d.press(Qt.Key.Key_Return)
    d.press(Qt.Key.Key_Escape)  # Esc keeps it too
    assert d.entries("consent_withdrawn") == [] and focus().objectName() == "withdrawConsent"


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_the_customer_withdraws_it_said_and_the_focus_back_on_the_step(open_window, library, store, lang, shots_dir):
    seed_history(library, store)
    d = open_window(account_id="A-500", name="Maria Jensen", country=COUNTRY[lang], lang=lang)
    d.press(Qt.Key.Key_Return)
    tab_to(d, "withdrawConsent")
    d.press(Qt.Key.Key_Return)
    d.press(Qt.Key.Key_Backtab)  # from "Keep it" to "Yes, withdraw"
    assert focus().objectName() == "withdrawYes"
    d.press(Qt.Key.Key_Return)
    assert [e.data["purpose"] for e in d.entries("consent_withdrawn")] == ["health_disclosure"]
    assert not list(d.view.consents_in_force)
    info = d.w.info_strip.text()  # before: nothing said anywhere
    assert d.w.info_strip.isVisible() and d.w.side.findChildren(QPushButton, "withdrawConsent") == []
    assert info == tr("side.withdrawn", purpose=_name("health_disclosure")), info
    d.qtbot.waitUntil(lambda: focus() is not None and d.w.step_panel.isAncestorOf(focus()), timeout=2000)
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"withdraw_done_{lang}.png"))


def history_lines(banner) -> list[str]:
    from PySide6.QtWidgets import QLabel

    return [lab.text() for lab in banner.findChildren(QLabel) if lab.objectName().startswith("bannerLine")]


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_a_consent_withdrawn_on_this_call_is_no_longer_in_force_in_the_history(open_window, library, store, lang,
                                                                                shots_dir):
    seed_history(library, store)
    d = open_window(account_id="A-500", name="Maria Jensen", country=COUNTRY[lang], lang=lang)
    d.press(Qt.Key.Key_Return)
    purpose = _name("health_disclosure")
    in_force = tr("hist.consent_in_force", purpose=purpose, date="", expires="").split(purpose)[0]
    assert any(line.startswith(in_force) for line in history_lines(d.w.side.history))
    tab_to(d, "withdrawConsent")
    d.press(Qt.Key.Key_Return)
    d.press(Qt.Key.Key_Backtab)
    d.press(Qt.Key.Key_Return)  # yes, withdraw
    assert d.entries("consent_withdrawn")
    for banner in (d.w.side.history, d.w.banner):  # before: "Consent in force — ... given 26 November"
        lines = history_lines(banner)
        assert not any(line.startswith(in_force) for line in lines), lines
        assert tr("hist.consent_ended", purpose=purpose, date=tr_date_given(d)) in lines, lines
        vulnerable = [line for line in lines if line.startswith(tr("hist.vulnerability", what="", review="")[:8])]
        assert vulnerable and all(tr("value.withdrawn") in line for line in vulnerable), lines  # not "(Health)"
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"withdraw_history_{lang}.png"))
    d.w.set_language("en" if lang != "en" else "da")  # and after a language switch
    assert not any("in force" in line or "gældende" in line for line in history_lines(d.w.side.history))


def tr_date_given(d) -> str:
    from callguide.qt.banner import date_text

    given = next(c for c in d.session.history.consents_in_force if c.get("purpose") == "health_disclosure")
    return date_text(str(given.get("given_at") or "")[:10])
