"""The YAML text editor: syntax highlighting, a line-number gutter with diagnostic markers,
wavy underlines on the offending line, and the message on hover. It holds text only; the
window validates and hands the diagnostics back with `set_diagnostics`."""

from __future__ import annotations

import re

from PySide6.QtCore import QRect, QRegularExpression, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPainter,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from callguide.flow.yamlsafe import Diagnostic

ERROR = QColor("#c62828")
WARNING = QColor("#b26a00")
NOTE = QColor("#607d8b")  # a note (e.g. a waived built-in invariant): information, not a problem


def _color(diags: list[Diagnostic]) -> QColor:
    """The colour of a line's mark: its worst diagnostic (error, then warning, then note)."""
    sev = {d.severity for d in diags}
    return ERROR if "error" in sev else WARNING if "warning" in sev else NOTE


def _fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    f.setFontItalic(italic)
    return f


class YamlHighlighter(QSyntaxHighlighter):
    """Keys, language codes, strings, Jinja placeholders, numbers and comments."""

    RULES = [
        (r"^\s*(?:-\s+)?[A-Za-z_][\w-]*(?=\s*:)", _fmt("#1a4f8b", bold=True)),
        (r"(?<=[{,]\s)[A-Za-z_][\w-]*(?=\s*:)", _fmt("#1a4f8b")),
        (r"\b(?:en|da|cs)(?=\s*:)", _fmt("#6a1b9a", bold=True)),
        (r"\b(?:true|false|null|yes|no)\b|\b\d+(?:\.\d+)?\b", _fmt("#00796b")),
        (r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'", _fmt("#2e7d32")),
        (r"\{\{.*?\}\}", _fmt("#ad1457", bold=True)),
        (r"(?:^|\s)#.*$", _fmt("#8a8a8a", italic=True)),
    ]

    def __init__(self, document) -> None:
        super().__init__(document)
        self._rules = [(QRegularExpression(p), f) for p, f in self.RULES]

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt API)
        for rx, f in self._rules:
            it = rx.globalMatch(text)
            while it.hasNext():
                m = it.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), f)


class _Gutter(QWidget):
    def __init__(self, editor: YamlEditor):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802
        self.editor.paint_gutter(event)


class YamlEditor(QPlainTextEdit):
    """A plain-text YAML editor with diagnostics on the lines they concern."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("yamlEditor")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(10)
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabChangesFocus(False)
        self.highlighter = YamlHighlighter(self.document())
        self.diagnostics: list[Diagnostic] = []
        self._by_line: dict[int, list[Diagnostic]] = {}
        self._gutter = _Gutter(self)
        self.blockCountChanged.connect(self._update_margins)
        self.updateRequest.connect(self._on_update_request)
        self._update_margins()

    # ------------------------------------------------------------------ gutter

    def gutter_width(self) -> int:
        digits = max(3, len(str(self.blockCount())))
        return 18 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_margins(self, *_: object) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        cr = self.contentsRect()
        self._gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event) -> None:
        p = QPainter(self._gutter)
        p.fillRect(event.rect(), QColor("#f1f1f1"))
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            line = block.blockNumber() + 1
            if block.isVisible():
                diags = self._by_line.get(line)
                if diags:
                    color = _color(diags)
                    p.setBrush(color)
                    p.setPen(Qt.PenStyle.NoPen)
                    p.drawEllipse(4, top + height // 2 - 4, 8, 8)
                p.setPen(QColor("#888888"))
                p.drawText(0, top, self._gutter.width() - 4, height, Qt.AlignmentFlag.AlignRight, str(line))
            block = block.next()
            top += round(self.blockBoundingRect(block).height()) if block.isValid() else height
        p.end()

    # ------------------------------------------------------------------ diagnostics

    def set_diagnostics(self, diags: list[Diagnostic]) -> None:
        self.diagnostics = list(diags)
        self._by_line = {}
        for d in diags:
            self._by_line.setdefault(max(1, d.line), []).append(d)
        sels = []
        doc = self.document()
        for line, ds in self._by_line.items():
            block = doc.findBlockByNumber(line - 1)
            if not block.isValid():
                continue
            err = any(d.severity == "error" for d in ds)
            color = _color(ds)
            bg = QTextEdit.ExtraSelection()
            bg.format.setBackground(QColor("#fdecea") if err else QColor("#eceff1") if color is NOTE
                                    else QColor("#fff4e0"))
            bg.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            bg.cursor = QTextCursor(block)
            sels.append(bg)
            col = max(1, min(d.col for d in ds)) - 1
            text = block.text()
            m = re.match(r"\S+", text[col:]) if col < len(text) else None
            length = max(1, len(text) - col) if m is None else max(1, len(text.rstrip()) - col)
            ul = QTextEdit.ExtraSelection()
            ul.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            ul.format.setUnderlineColor(color)
            c = QTextCursor(block)
            c.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.MoveAnchor, min(col, len(text)))
            c.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor, length)
            ul.cursor = c
            sels.append(ul)
        self.setExtraSelections(sels)
        self._gutter.update()

    def messages_at_line(self, line: int) -> list[str]:
        return [f"{d.rule}: {d.message}" for d in self._by_line.get(line, [])]

    def viewportEvent(self, event) -> bool:  # noqa: N802
        if event.type() == event.Type.ToolTip:
            cursor = self.cursorForPosition(event.pos())
            msgs = self.messages_at_line(cursor.blockNumber() + 1)
            if msgs:
                QToolTip.showText(event.globalPos(), "\n".join(msgs), self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    # ------------------------------------------------------------------ text

    def goto_line(self, line: int, col: int = 1) -> None:
        block = self.document().findBlockByNumber(max(0, line - 1))
        c = QTextCursor(block)
        c.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.MoveAnchor, max(0, col - 1))
        self.setTextCursor(c)
        self.centerCursor()

    def replace_text(self, text: str) -> None:
        """Replace the text as one undoable edit that touches only the part that changed, so Undo
        puts the cursor back where the change was (not at the end of the file) and the view stays."""
        old = self.toPlainText()
        if text == old:
            return
        start = 0
        limit = min(len(old), len(text))
        while start < limit and old[start] == text[start]:
            start += 1
        end_old, end_new = len(old), len(text)
        while end_old > start and end_new > start and old[end_old - 1] == text[end_new - 1]:
            end_old -= 1
            end_new -= 1
        scroll = self.verticalScrollBar().value()
        c = QTextCursor(self.document())
        c.beginEditBlock()
        c.setPosition(start)
        c.setPosition(end_old, QTextCursor.MoveMode.KeepAnchor)
        c.insertText(text[start:end_new])
        c.endEditBlock()
        c.setPosition(start)
        self.setTextCursor(c)
        self.verticalScrollBar().setValue(scroll)

    # ------------------------------------------------------------------ undo that stays where the change was

    def undo(self) -> None:
        self._keep_place(super().undo)

    def redo(self) -> None:
        self._keep_place(super().redo)

    def _keep_place(self, fn) -> None:
        """Undo/redo, then put the cursor where the text changed (Qt would leave it at the start of
        the document after a change made through a separate cursor) and keep the view still."""
        before = self.toPlainText()
        scroll = self.verticalScrollBar().value()
        fn()
        after = self.toPlainText()
        if before == after:
            return
        pos = 0
        limit = min(len(before), len(after))
        while pos < limit and before[pos] == after[pos]:
            pos += 1
        c = self.textCursor()
        c.setPosition(min(pos, len(after)))
        self.setTextCursor(c)
        self.verticalScrollBar().setValue(scroll)
        self.ensureCursorVisible()

    # ------------------------------------------------------------------ keys

    def event(self, e) -> bool:  # noqa: D401 - Qt API
        if e.type() == e.Type.ShortcutOverride and is_redo_key(e):
            e.accept()  # Ctrl+Y redoes here, as users of every other editor expect
            return True
        return super().event(e)

    def keyPressEvent(self, e) -> None:  # noqa: N802
        if is_redo_key(e):
            self.redo()
            return
        if is_undo_key(e):
            self.undo()
            return
        super().keyPressEvent(e)


def is_undo_key(e) -> bool:
    mods = e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return e.key() == Qt.Key.Key_Z and mods == Qt.KeyboardModifier.ControlModifier


def is_redo_key(e) -> bool:
    """Ctrl+Y (Windows habit) and Ctrl+Shift+Z both redo."""
    mods = e.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return (e.key() == Qt.Key.Key_Y and mods == Qt.KeyboardModifier.ControlModifier) or (
        e.key() == Qt.Key.Key_Z and mods == (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
