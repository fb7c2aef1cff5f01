"""Small widgets the call window is built from, each with one keyboard rule an agent relies on.

- `EnterButton`: Enter (or Return) on a focused button presses it, as Space does.
- `AnswerRadio`: one option of a field. A click, Space or the option's own key (Y/N on a yes/no
  question) picks it *and commits it*; the arrow keys only move the selection, which the step
  commits when the focus leaves the field or the agent presses Next. So the journal holds what
  the agent chose, never what the arrows passed over.
- `ChoiceCombo`: a choice field with many options. The wheel and the arrow keys move the
  selection; choosing from the open list, or Enter, commits it; leaving the field commits too.

These widgets decide nothing about the call: they say "picked" or "commit" and the step
panel sends the answer through the bridge.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QPushButton, QRadioButton

# Qt's key codes as plain numbers: the `Qt` namespace costs ~20 ms to import, and the call window's
# first paint (which uses `EnterButton`) does without it
KEY_RETURN, KEY_ENTER, KEY_SPACE = 0x01000004, 0x01000005, 0x20
ENTER_KEYS = (KEY_RETURN, KEY_ENTER)
_KEYPAD_MODIFIER = 0x20000000
_LEFT_BUTTON = 0x1


def _int(flag: Any) -> int:
    return int(getattr(flag, "value", flag))


def plain(event: Any) -> bool:
    """No Ctrl/Alt/Shift/Meta held (the keypad's Enter counts as plain)."""
    return _int(event.modifiers()) & ~_KEYPAD_MODIFIER == 0


class EnterButton(QPushButton):
    """A push button that Enter presses when it has the focus (Qt only does that in dialogs)."""

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        if _int(event.key()) in ENTER_KEYS and plain(event) and not event.isAutoRepeat():
            event.accept()
            if self.isEnabled() and self.isVisible():
                self.click()
            return
        super().keyPressEvent(event)


class AnswerRadio(QRadioButton):
    """One option of a field. `picked` (value) is a deliberate choice to commit now; `moved` is an
    arrow-key move that stays pending. `keys` are the option's own letters (upper case)."""

    picked = Signal()
    key_picked = Signal(object)   # the value of the option whose key was pressed (any option of the row)

    def __init__(self, text: str, value: Any, keys: tuple[str, ...] = (), row_keys: dict[str, Any] | None = None):
        super().__init__(text)
        self.value = value
        self.keys = keys
        self.row_keys = row_keys or {}  # letter -> value, for every option of the same field

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        if (_int(event.button()) == _LEFT_BUTTON and self.isChecked()
                and self.rect().contains(event.position().toPoint())):
            self.picked.emit()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        text = (event.text() or "").upper()
        if plain(event) and text and text in self.row_keys:
            event.accept()
            self.key_picked.emit(self.row_keys[text])
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: Any) -> None:  # noqa: N802
        is_space = _int(event.key()) == KEY_SPACE and plain(event) and not event.isAutoRepeat()
        super().keyReleaseEvent(event)
        if is_space and self.isChecked():
            self.picked.emit()


class ChoiceCombo(QComboBox):
    """A choice field's list. `commit` when the agent chose (from the open list, or Enter);
    the wheel and the arrows only change the selection shown."""

    commit = Signal()
    enter_pressed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._popup_open = False

    def showPopup(self) -> None:  # noqa: N802
        self._popup_open = True
        super().showPopup()

    def hidePopup(self) -> None:  # noqa: N802
        super().hidePopup()
        if self._popup_open:
            self._popup_open = False
            QTimer.singleShot(0, self.commit.emit)  # after the list applied the item clicked (if any)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        if _int(event.key()) in ENTER_KEYS and plain(event):
            event.accept()
            self.commit.emit()
            self.enter_pressed.emit()
            return
        super().keyPressEvent(event)
