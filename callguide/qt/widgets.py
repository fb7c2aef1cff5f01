"""Small widgets the call window is built from, each with one keyboard rule an agent relies on.

- `EnterButton`: Enter (or Return) on a focused button presses it, as Space does.
- `AnswerRadio`: one option of a field. A click, Space or the option's own key (Y/N on a yes/no
  question) picks it *and commits it*; the arrow keys only move the selection, which the step
  commits when the focus leaves the field or the agent presses Next. So the journal holds what
  the agent chose, never what the arrows passed over.
- `ChoiceCombo`: a choice field with many options. The wheel and the arrow keys move the
  selection; choosing from the open list, or Enter, commits it; leaving the field commits too.
- `FitButton`: an `EnterButton` whose text wraps (at spaces: "Přidat poznámku" over "Alt+A") when
  the button is given less than one line's width, and is elided only when a single word alone is
  wider than it; then its tooltip holds the full text. Large text at a 960 px window, in Danish
  and Czech, must never cut a button.
- `FitLabel`: one line of text, elided (…) when its room is too narrow, the full text in its
  tooltip and accessible name (a long customer name in the header).

These widgets decide nothing about the call: they say "picked" or "commit" and the step
panel sends the answer through the bridge.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QRadioButton, QStyle, QStyleOptionButton

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


def _normal(text: str) -> str:
    return " ".join(text.split())


def _elided(fm: Any, text: str, room: int) -> str:
    from PySide6.QtCore import Qt  # only when something is too narrow (see the key codes above)

    return fm.elidedText(text, Qt.TextElideMode.ElideRight, room)


class FitButton(EnterButton):
    """A push button that wraps its text (at spaces) to the width it is given, elides a word only
    when that word alone is wider, and then shows the full text as its tooltip. `text()` is always
    the full text; `shown_text()` is what is painted. Its size hint is one line (layouts give it
    that when there is room); its minimum is its longest word."""

    def __init__(self, text: str = "", parent: Any = None):
        super().__init__(parent)
        self._full = ""
        self._tip_is_ours = False
        sp = self.sizePolicy()  # narrower than its one line when it must (Qt's buttons never are), taller then
        sp.setHorizontalPolicy(sp.Policy.Preferred)
        sp.setVerticalPolicy(sp.Policy.Minimum)
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)
        self.setText(text)

    # the full text, whatever is painted
    def setText(self, text: str | None) -> None:  # noqa: N802 (Qt name)
        self._full = text or ""
        if not self.accessibleName():
            self.setAccessibleName(_normal(self._full))
        self.updateGeometry()
        self._fit(self.width() if self.isVisible() else None)

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        return QPushButton.text(self)

    # sizes
    def _size_for(self, text: str) -> QSize:
        opt = QStyleOptionButton()
        self.initStyleOption(opt)
        opt.text = text
        fm = self.fontMetrics()
        lines = text.split("\n") if text else [""]
        w = max(fm.horizontalAdvance(line) for line in lines)
        h = len(lines) * fm.height() + (len(lines) - 1) * max(fm.leading(), 0)
        return self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, opt, QSize(w, h), self)

    def _chrome(self) -> int:
        return self._size_for("").width()

    def sizeHint(self) -> QSize:  # noqa: N802
        return self._size_for(self._full)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        longest = max((fm.horizontalAdvance(w) for w in self._full.split()), default=0)
        one = self._size_for(self._full)
        return QSize(min(one.width(), self._chrome() + longest), one.height())

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return bool(self._full)

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._size_for(self.wrapped(width)).height()

    def wrapped(self, width: int) -> str:
        """The text as painted in `width` px: whole when it fits, else broken at spaces, a word too
        wide for a line of its own elided."""
        fm = self.fontMetrics()
        room = max(width - self._chrome(), 1)
        if fm.horizontalAdvance(self._full) <= room or not self._full:
            return self._full
        lines: list[str] = []
        line = ""
        parts = re.split(r"( +)", self._full.strip())
        for i in range(0, len(parts), 2):
            word = parts[i]
            gap = parts[i - 1] if i else ""
            if line and fm.horizontalAdvance(line + gap + word) <= room:
                line += gap + word
                continue
            if line:
                lines.append(line)
            line = word if fm.horizontalAdvance(word) <= room else _elided(fm, word, room)
        if line:
            lines.append(line)
        return "\n".join(lines)

    def _fit(self, width: int | None) -> None:
        shown = self._full if width is None else self.wrapped(width)
        if shown != QPushButton.text(self):
            QPushButton.setText(self, shown)
        cut = _normal(shown) != _normal(self._full)
        if cut:
            self.setToolTip(self._full)
            self._tip_is_ours = True
        elif self._tip_is_ours:
            self.setToolTip("")
            self._tip_is_ours = False

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit(event.size().width())

    def refit(self) -> None:
        """Wrap again for the font now in use (after the text size changed)."""
        self.updateGeometry()
        self._fit(self.width() if self.isVisible() else None)


class FitLabel(QLabel):
    """One line of text, elided (…) when the room is too narrow; then the full text is its tooltip.
    `text()` is the full text; the accessible name always is."""

    def __init__(self, text: str = "", parent: Any = None):
        super().__init__(parent)
        self._full = ""
        self.setText(text)

    def setText(self, text: str | None) -> None:  # noqa: N802
        self._full = text or ""
        self.setAccessibleName(self._full)
        self.updateGeometry()
        self._fit(self.contentsRect().width() if self.isVisible() else None)

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        return QLabel.text(self)

    def sizeHint(self) -> QSize:  # noqa: N802
        m = self.contentsMargins()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + m.left() + m.right() + 2,
                     super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        m = self.contentsMargins()
        return QSize(min(self.sizeHint().width(), self.fontMetrics().horizontalAdvance("MMMMMM…") + m.left() + m.right()),
                     super().minimumSizeHint().height())

    def _fit(self, room: int | None) -> None:
        fm = self.fontMetrics()
        shown = self._full if room is None or fm.horizontalAdvance(self._full) <= room else \
            _elided(fm, self._full, room)
        if shown != QLabel.text(self):
            QLabel.setText(self, shown)
        self.setToolTip(self._full if shown != self._full else "")

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit(self.contentsRect().width())

    def refit(self) -> None:
        """Elide again for the font now in use (after the text size changed)."""
        self.updateGeometry()
        self._fit(self.contentsRect().width() if self.isVisible() else None)


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
