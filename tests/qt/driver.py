"""Drive the real call window the way an agent does: mouse clicks and keys only."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication


class CallDriver:
    def __init__(self, qtbot: Any, window: Any):
        self.qtbot = qtbot
        self.w = window
        self.panel = window.step_panel
        self.session = window.session

    # ---------------------------------------------------------------- reading
    @property
    def view(self) -> Any:
        return self.session.view()

    @property
    def where(self) -> tuple[str | None, str | None]:
        v = self.view
        return v.flow_id, v.step_id

    def entries(self, type_: str | None = None) -> list[Any]:
        """The call's journal entries, their sealed values opened (the journal holds them sealed)."""
        import dataclasses

        s = self.session
        es = s.store.call_entries(s.call_id)
        return [dataclasses.replace(e, data={k: s.open_value(v) for k, v in e.data.items()})
                for e in es if type_ is None or e.type == type_]

    # ---------------------------------------------------------------- acting
    def click(self, widget: Any) -> None:
        QApplication.processEvents()  # lay out what the last answer revealed, as a person would see it
        assert widget.isVisible(), f"{widget} is not visible"
        assert widget.isEnabled(), f"{widget.text() if hasattr(widget, 'text') else widget} is disabled"
        self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)

    def key(self, key: Any, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
        target = QApplication.focusWidget() or self.w
        self.qtbot.keyClick(target, key, modifier)

    def begin(self) -> None:
        self.click(self.w.begin_button)

    def next(self) -> None:
        self.click(self.panel.next_button)

    def choose(self, choice_id: str) -> None:
        for b in self.panel._choice_buttons:
            if b.property("choiceId") == choice_id:
                self.click(b)
                return
        raise AssertionError(f"no answer {choice_id!r} on {self.where}")

    def choice_button(self, choice_id: str) -> Any:
        return next(b for b in self.panel._choice_buttons if b.property("choiceId") == choice_id)

    def consent(self, decision: str) -> None:
        self.click(self.panel._consent_buttons[decision])

    def fill(self, field_id: str, value: Any) -> None:
        row = self.panel._rows[field_id]
        if row.edit is not None:
            self.click(row.edit)
            self.qtbot.keyClick(row.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            self.type_text(row.edit, str(value))
            self.qtbot.keyClick(row.edit, Qt.Key.Key_Tab)
            if row.edit.hasFocus():  # nothing after it to tab to
                row.edit.clearFocus()
        elif row.combo is not None:
            combo = row.combo
            combo.setFocus()
            self.qtbot.keyClick(combo, Qt.Key.Key_Home)
            for _ in range(combo.count()):
                if combo.currentData() == value:
                    break
                self.qtbot.keyClick(combo, Qt.Key.Key_Down)
            assert combo.currentData() == value, f"{field_id}: no option {value!r}"
            self.qtbot.keyClick(combo, Qt.Key.Key_Return)  # the arrows only move it; Enter chooses
        else:
            for rb in row.radios:
                if rb.value == value:
                    self.click(rb)
                    break
            else:
                raise AssertionError(f"{field_id}: no option {value!r}")

    def type_text(self, widget: Any, text: str) -> None:
        """Type like a keyboard. QTest.keyClicks asserts on non-ASCII characters (æ, ø, ř ...),
        so those go in as key events that carry their text, as a Danish or Czech keyboard sends."""
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        for ch in text:
            if ch.isascii():
                self.qtbot.keyClicks(widget, ch)
                continue
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))

    def fill_all(self, values: dict[str, Any]) -> None:
        for k, v in values.items():
            self.fill(k, v)

    def press(self, key: Any, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
        """A window shortcut (F2..F8, Ctrl+Return...), sent to whatever has focus."""
        if not self.w.isActiveWindow():
            self.w.activateWindow()
            self.qtbot.waitUntil(self.w.isActiveWindow, timeout=2000)
        self.key(key, modifier)


class PlainBot:
    """The few qtbot methods CallDriver uses, for a process without pytest (the kill test's child)."""

    def mouseClick(self, w: Any, button: Any) -> None:  # noqa: N802 (qtbot's names)
        from PySide6.QtTest import QTest

        QTest.mouseClick(w, button)

    def keyClick(self, w: Any, key: Any, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:  # noqa: N802
        from PySide6.QtTest import QTest

        QTest.keyClick(w, key, modifier)

    def keyClicks(self, w: Any, text: str) -> None:  # noqa: N802
        from PySide6.QtTest import QTest

        QTest.keyClicks(w, text)

    def waitUntil(self, fn: Any, timeout: int = 2000) -> None:  # noqa: N802
        import time

        end = time.monotonic() + timeout / 1000
        while not fn() and time.monotonic() < end:
            QApplication.processEvents()
