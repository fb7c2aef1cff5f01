"""What to say is on screen when a step opens, even at the window's smallest size (960x640) with the
account's protections strip and large text: the focus goes to the step's first input, but the step
is never scrolled so far down that the top of "Say to the customer" is hidden (before: only the
last line of the call opening's question showed). Typing into a field below the fold brings it into
view. Keys only, en/da/cs, the real window, engine, flows and SQLite journal; PNGs to look at."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from callguide.engine.commands import Action
from tests.qt.test_screens import seed_history

pytestmark = pytest.mark.qt

COUNTRY = {"en": "UK", "da": "DK", "cs": "CZ"}


def protected_account(library, store) -> None:
    """Call 1 on A-500: consent, adjustments, a hold; then a dispute and a capacity doubt."""
    from callguide.engine.session import Account, CallSession

    seed_history(library, store)
    s = CallSession.start(library, store, Account("A-500", "Maria Jensen", "UK", None, "820.00"), "agent-1")
    for name, params in (("record_dispute", {"reason": "never had this loan"}), ("flag_capacity_doubt", {})):
        assert s.apply(Action(name, params)).ok
    s.end_call()


def say_top_on_screen(d) -> bool:
    card = d.panel.say_card
    port = d.panel.scroll.viewport()
    top = card.mapTo(port, card.rect().topLeft()).y()
    return card.isVisible() and 0 <= top <= port.height() - 40


@pytest.mark.parametrize("lang", ["en", "da", "cs"])
def test_the_words_to_say_are_on_screen_when_a_step_opens(open_window, library, store, lang, shots_dir):
    protected_account(library, store)
    d = open_window(account_id="A-500", name="Maria Jensen", country=COUNTRY[lang], lang=lang, large_text=True)
    d.w.resize(960, 640)
    d.press(Qt.Key.Key_Return)  # begin the call
    d.qtbot.wait(50)
    assert d.w.state_chip.isVisible()  # the protections strip takes its rows
    focused = QApplication.focusWidget()
    assert focused is not None and d.panel.isAncestorOf(focused)  # the focus is on the step's first input
    d.qtbot.wait(30)
    assert d.w.grab().save(str(shots_dir / f"say_on_screen_{lang}.png"))
    assert say_top_on_screen(d), d.panel.scroll.verticalScrollBar().value()
    d.press(Qt.Key.Key_F2)  # TEXAS: another step opens, the same rule
    d.qtbot.wait(50)
    assert say_top_on_screen(d), d.panel.scroll.verticalScrollBar().value()


def test_typing_into_a_field_below_the_fold_brings_it_into_view(open_window, library, store):
    from tests.qt.test_field_trial import to_texas_ask

    d = open_window(account_id="A-9", name="Maria Jensen", large_text=True)
    d.w.resize(960, 640)
    to_texas_ask(d)  # category (a choice) and impact (text) under the words to say
    d.qtbot.wait(50)
    assert say_top_on_screen(d)
    edit = d.panel._rows["impact"].edit
    port = d.panel.scroll.viewport()

    def edit_on_screen() -> bool:
        return port.rect().contains(edit.mapTo(port, edit.rect().bottomLeft()))

    d.panel.scroll.verticalScrollBar().setValue(0)  # the words read; the field below the fold
    d.qtbot.wait(20)
    assert not edit_on_screen()
    edit.setFocus()  # (a click: focus changes do scroll; typing alone did not)
    d.panel.scroll.verticalScrollBar().setValue(0)
    d.type_text(edit, "x")
    d.qtbot.waitUntil(edit_on_screen, timeout=2000)
