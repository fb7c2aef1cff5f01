"""Find what a person would see cut off in a window: text wider (or, wrapped, taller) than its
widget, and widgets lying outside the visible area of their parent.

`clipped(window)` walks every visible widget after the layouts settled and returns one line per
problem ("QLabel#tag 'SIDSTE OPKALD': text 104px wide in 96px"). Widgets inside a scroll area may
extend below its viewport (they scroll); never sideways when the horizontal scroll bar is off.

A widget that shortens its own text to fit (`FitButton` wraps and elides, `FitLabel` elides;
both have `shown_text()`) is checked on the text it paints, and passes only when whatever it left
out is in its tooltip: the full text must always be one hover away (and in its accessible name).
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollBar,
    QWidget,
)

TOLERANCE = 2  # px: anti-aliasing and rounding


def _name(w: QWidget) -> str:
    text = ""
    for attr in ("text", "placeholderText", "currentText"):
        fn = getattr(w, attr, None)
        if callable(fn):
            text = fn() or text
            if text:
                break
    text = " ".join(str(text).split())
    return f"{type(w).__name__}#{w.objectName() or '-'} {text[:60]!r}"


def _inside_scroll_viewport(w: QWidget) -> QAbstractScrollArea | None:
    p = w.parentWidget()
    if p is not None and isinstance(p.parentWidget(), QAbstractScrollArea) and \
            p is p.parentWidget().viewport():
        return p.parentWidget()
    return None


def _text_width(w: QWidget, text: str) -> int:
    fm = w.fontMetrics()
    return max((fm.horizontalAdvance(line) for line in text.split("\n")), default=0)


def _shortened_problem(w: QWidget, full: str) -> str | None:
    """A self-fitting widget that paints less than its text: the full text must be its tooltip."""
    shown = w.shown_text()
    if shown.split() != full.split() and w.toolTip() != full:
        return f"shows {' '.join(shown.split())[:40]!r} without the full text in its tooltip"
    return None


def _label_problem(lab: QLabel) -> str | None:
    text = lab.text()
    if hasattr(lab, "shown_text"):
        problem = _shortened_problem(lab, text)
        if problem:
            return problem
        text = lab.shown_text()
    if not text or lab.pixmap() is not None and not lab.pixmap().isNull():
        return None
    rect = lab.contentsRect()
    room = rect.width() - 2 * max(lab.indent(), 0) if lab.indent() > 0 else rect.width()
    rich = lab.textFormat() == Qt.TextFormat.RichText or (
        lab.textFormat() == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(text))
    if rich:
        doc = QTextDocument()
        doc.setDefaultFont(lab.font())
        doc.setHtml(text)
        text = doc.toPlainText()
    if lab.wordWrap():
        longest = max((lab.fontMetrics().horizontalAdvance(word) for word in text.split()), default=0)
        if longest > room + TOLERANCE:
            return f"a word {longest}px wide in {room}px"
        need = lab.heightForWidth(lab.width())
        if need > lab.height() + TOLERANCE:
            return f"wrapped text {need}px high in {lab.height()}px"
        return None
    need = _text_width(lab, text)
    if need > room + TOLERANCE:
        return f"text {need}px wide in {room}px"
    need_h = lab.fontMetrics().height() * (text.count("\n") + 1)
    if need_h > rect.height() + TOLERANCE:
        return f"text {need_h}px high in {rect.height()}px"
    return None


def _button_problem(b: QAbstractButton) -> str | None:
    if not b.text():
        return None
    hint = b.sizeHint()
    if hasattr(b, "shown_text") and isinstance(b, QPushButton):
        problem = _shortened_problem(b, b.text())
        if problem:
            return problem
        hint = QPushButton.sizeHint(b)  # Qt's own hint for the text as painted (wrapped or elided)
    if hint.width() > b.width() + TOLERANCE:
        return f"needs {hint.width()}px, has {b.width()}px"
    if hint.height() > b.height() + TOLERANCE:
        return f"needs {hint.height()}px high, has {b.height()}px"
    return None


def _edit_problem(e: QLineEdit) -> str | None:
    text = e.text() or e.placeholderText()
    if not text:
        return None
    room = e.width() - 16  # the frame and the text margins of the style
    need = _text_width(e, text)
    if not e.text() and need > room + TOLERANCE:
        return f"hint {need}px wide in {room}px"
    return None


def _combo_problem(c: QComboBox) -> str | None:
    hint = c.sizeHint()
    if c.currentText() and c.minimumSizeHint().width() > c.width() + TOLERANCE:
        return f"needs {hint.width()}px, has {c.width()}px"
    return None


def _list_problems(lst: QListWidget) -> list[str]:
    """Rows of a list whose text does not fit their row (elided or cut)."""
    out = []
    fm = lst.fontMetrics()
    for i in range(lst.count()):
        item = lst.item(i)
        rect = lst.visualItemRect(item)
        if rect.isEmpty():
            continue
        text = item.text()
        flags = int(Qt.TextFlag.TextWordWrap.value) if lst.wordWrap() else 0
        need = fm.boundingRect(0, 0, max(rect.width() - 8, 1), 100000, flags, text)
        if rect.right() > lst.viewport().width() + TOLERANCE:  # runs off the side: nobody scrolls a list sideways
            out.append(f"{type(lst).__name__} row {i} {' '.join(text.split())[:60]!r}: {rect.width()}px wide "
                       f"in a {lst.viewport().width()}px list")
        elif need.width() > rect.width() + TOLERANCE or need.height() > rect.height() + TOLERANCE:
            out.append(f"{type(lst).__name__} row {i} {' '.join(text.split())[:60]!r}: needs "
                       f"{need.width()}x{need.height()}px, has {rect.width()}x{rect.height()}px")
    return out


def clipped(window: QWidget) -> list[str]:
    """Every cut-off text and every widget outside its parent's visible area, one line each."""
    QApplication.processEvents()
    problems: list[str] = []
    for w in [window, *window.findChildren(QWidget)]:
        if not w.isVisible() or w.isWindow() and w is not window or isinstance(w, QScrollBar):
            continue
        if any(isinstance(a, QScrollBar) for a in _ancestors(w)):
            continue
        parent = w.parentWidget()
        if parent is not None and w is not window and not w.isWindow():
            area = _inside_scroll_viewport(w)
            geo = w.geometry()
            if area is not None:
                off = area.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
                if off and geo.right() > parent.width() - 1 + TOLERANCE:
                    problems.append(f"{_name(w)}: {geo.width()}px wide in a {parent.width()}px scroll area "
                                    "that does not scroll sideways")
            elif geo.left() < -TOLERANCE or geo.top() < -TOLERANCE or \
                    geo.right() > parent.width() - 1 + TOLERANCE or geo.bottom() > parent.height() - 1 + TOLERANCE:
                problems.append(f"{_name(w)}: at {geo.x()},{geo.y()} {geo.width()}x{geo.height()}, outside "
                                f"its parent {_name(parent)} ({parent.width()}x{parent.height()})")
        problem: str | None = None
        if isinstance(w, QLabel):
            problem = _label_problem(w)
        elif isinstance(w, QAbstractButton):
            problem = _button_problem(w)
        elif isinstance(w, QLineEdit):
            problem = _edit_problem(w)
        elif isinstance(w, QComboBox):
            problem = _combo_problem(w)
        elif isinstance(w, QListWidget):
            problems += _list_problems(w)
        if problem:
            problems.append(f"{_name(w)}: {problem}")
    return problems


def _ancestors(w: QWidget) -> list[Any]:
    out = []
    p = w.parentWidget()
    while p is not None:
        out.append(p)
        p = p.parentWidget()
    return out
