"""The form view of one step: its texts in every language (one full-width row per language, each
cell as tall as its text), its fields, transitions and actions, and the flags agents raised on it.
Edits are emitted as requests (`text_edited`, `transition_edited`, `add_step_requested`); the
window applies them to the YAML text through ruamel round-trip and the form is repainted from the
re-parsed flow.

The form always shows the editor's text: when the text changes (typing in the editor, Undo,
Redo) the values are updated in place, even while a cell has focus (only a cell the trainer is
typing in keeps what they typed). When the text does not load, the form says where the problem
is and is read-only until it is fixed, so it never edits a stale copy."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from callguide.flow.model import Flow, Step, Text
from callguide.flow.yamlsafe import Diagnostic
from callguide.library.diff import action_str
from callguide.library.flags import StepFlags
from callguide.qt.i18n import tr
from callguide.qt.workbench.editor import is_redo_key

LANG_NAMES = {"en": "English", "da": "Dansk", "cs": "Čeština"}
MISSING_STYLE = "QPlainTextEdit{background:#fdecea;border:1px solid #e57373;}"


class TextCell(QPlainTextEdit):
    """A text cell as wide as the form and as tall as its text (no scrollbars). It reports its value
    when it loses focus; while it is a required translation and empty it is pink."""

    committed = Signal(str)

    def __init__(self, text: str, required: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self._initial = text
        self.required = required
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(260)
        self.document().setDocumentMargin(4)
        self.textChanged.connect(self._changed)
        self.document().documentLayout().documentSizeChanged.connect(lambda _s: self._fit())
        self.setPlainText(text)
        self._changed()

    # ------------------------------------------------------------------ looks

    @property
    def missing(self) -> bool:
        return self.required and not self.toPlainText().strip()

    def _changed(self) -> None:
        self.setStyleSheet(MISSING_STYLE if self.missing else "")
        self.setPlaceholderText(tr("form.missing") if self.required else tr("form.none"))
        self._fit()

    def _fit(self) -> None:
        """As tall as the text wrapped at the cell's current width (at least two lines)."""
        margin = int(self.document().documentMargin())
        width = max(40, self.viewport().width() - 2 * margin - 2)
        fm = self.fontMetrics()
        text = self.toPlainText() or " "
        needed = fm.boundingRect(QRect(0, 0, width, 100000), int(Qt.TextFlag.TextWordWrap), text).height()
        lines = max(2, -(-needed // max(1, fm.lineSpacing())))
        h = fm.lineSpacing() * lines + 2 * margin + 8
        if self.height() != h:
            self.setFixedHeight(h)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(360, self.height())

    # ------------------------------------------------------------------ values

    @property
    def editing(self) -> bool:
        """The trainer is typing here: focus, and a value not committed yet."""
        return self.hasFocus() and self.toPlainText().strip() != self._initial

    def set_value(self, text: str) -> None:
        """The value from the re-parsed text (ignored while the trainer is typing in this cell)."""
        if self.editing:
            return
        self._initial = text
        if self.toPlainText() != text:
            self.blockSignals(True)
            self.setPlainText(text)
            self.blockSignals(False)
            self._changed()

    def focusOutEvent(self, event) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.commit()

    def commit(self) -> None:
        value = self.toPlainText().strip()
        if value != self._initial:
            self._initial = value
            self.committed.emit(value)

    def event(self, e) -> bool:  # noqa: D401 - Qt API
        if e.type() == e.Type.ShortcutOverride and is_redo_key(e):
            e.accept()
            return True
        return super().event(e)

    def keyPressEvent(self, e) -> None:  # noqa: N802
        if is_redo_key(e):
            self.redo()
            return
        super().keyPressEvent(e)


def _signature(flow: Flow, step: Step, slots: list[tuple[str, str, Text | None]]) -> tuple[Any, ...]:
    """What decides the form's layout (values aside): same signature, values are updated in place."""
    return (flow.id, step.id, step.kind, tuple(flow.languages), tuple((s, t is not None) for s, _, t in slots),
            tuple((t.id, t.to, t.when) for t in step.transitions), tuple(f.id for f in step.fields),
            tuple(action_str(a) for a in step.actions), step.outcome)


class StepForm(QWidget):
    text_edited = Signal(str, str, str, str)        # step id, slot, lang, value
    transition_edited = Signal(str, int, str, str)  # step id, index, key (to/when), value
    step_selected = Signal(str)
    add_step_requested = Signal(str)                # after this step id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("stepForm")
        self.flow: Flow | None = None
        self.step_id: str | None = None
        self.cells: dict[tuple[str, str], TextCell] = {}
        self._sig: tuple[Any, ...] | None = None
        self._flags_box: QLabel | None = None
        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        self.picker = QComboBox()
        self.picker.setObjectName("stepPicker")
        self.picker.currentTextChanged.connect(self._picked)
        self.kind = QLabel()
        self.kind.setObjectName("stepKind")
        self.add_btn = QPushButton(tr("form.add_step"))
        self.add_btn.clicked.connect(lambda: self.step_id and self.add_step_requested.emit(self.step_id))
        head.addWidget(QLabel(tr("form.step")))
        head.addWidget(self.picker, 1)
        head.addWidget(self.kind)
        head.addWidget(self.add_btn)
        outer.addLayout(head)
        self.broken = QLabel()
        self.broken.setObjectName("formBroken")
        self.broken.setWordWrap(True)
        self.broken.setStyleSheet("QLabel#formBroken{background:#fdecea;border:1px solid #c62828;border-radius:4px;"
                                  "padding:6px;color:#7f1d1d;}")
        self.broken.hide()
        outer.addWidget(self.broken)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.scroll_area.setWidget(self.body)
        outer.addWidget(self.scroll_area, 1)
        self.flags: dict[str, StepFlags] = {}

    # ------------------------------------------------------------------ showing

    def show_flow(self, flow: Flow | None, step_id: str | None = None, flags: dict[str, StepFlags] | None = None,
                  force: bool = False, broken: Diagnostic | None = None) -> None:
        """Show the editor's current flow. `flow` None with `broken`: the text does not load; the last
        good flow stays visible, read-only, under a note saying where the problem is."""
        if flags is not None:
            self.flags = flags
        if flow is None:
            self.broken.setText(tr("form.broken", where=f"{broken.line}:{broken.col}" if broken else "?",
                                   message=broken.message if broken else ""))
            self.broken.show()
            self.body.setEnabled(False)
            self.add_btn.setEnabled(False)
            self.picker.setEnabled(False)
            if self.flow is None:
                self._paint()
            return
        self.broken.hide()
        self.body.setEnabled(True)
        self.add_btn.setEnabled(True)
        self.picker.setEnabled(True)
        self.flow = flow
        ids = [s.id for s in flow.steps]
        want = step_id or self.step_id
        if want not in ids:
            want = ids[0] if ids else None
        self.picker.blockSignals(True)
        if [self.picker.itemText(i) for i in range(self.picker.count())] != ids:
            self.picker.clear()
            self.picker.addItems(ids)
        if want:
            self.picker.setCurrentText(want)
        self.picker.blockSignals(False)
        self.step_id = want
        if not force and self._sig is not None and want and self._sig == _signature(
                flow, flow.step(want), self._slots(flow.step(want))):
            self._update_values()
        else:
            self._paint()

    def _picked(self, sid: str) -> None:
        if sid and sid != self.step_id:
            self.commit_pending()
            self.step_id = sid
            self._paint()
            self.step_selected.emit(sid)

    def select(self, step_id: str) -> None:
        if self.flow and self.flow.has_step(step_id):
            self.picker.setCurrentText(step_id)

    def _clear(self) -> None:
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self.cells = {}
        self._flags_box = None
        self._sig = None

    def _update_values(self) -> None:
        """Same layout, new values (after typing in the editor, Undo or Redo)."""
        assert self.flow is not None and self.step_id is not None
        step = self.flow.step(self.step_id)
        for slot, _label, text in self._slots(step):
            for lang in self.flow.languages:
                cell = self.cells.get((slot, lang))
                if cell is not None:
                    cell.set_value(text.by_lang.get(lang, "") if text is not None else "")
        self._paint_flags(step)

    def _flag_text(self, step: Step) -> str | None:
        fl = self.flags.get(step.id)
        if fl is None or not fl.flags:
            return None
        lines = [tr("form.flags", count=fl.count)]
        for f in fl.flags[:6]:
            e = f.entry
            lines.append("  \u2022 " + tr("form.flag_line", who=e.agent, when=e.ts[:16].replace("T", " "),
                                          version=e.flow_version, state=f.describe_state(),
                                          words=e.comment or "\u2014"))
        return "\n".join(lines)

    def _paint_flags(self, step: Step) -> None:
        text = self._flag_text(step)
        if self._flags_box is not None:
            self._flags_box.setVisible(bool(text))
            self._flags_box.setText(text or "")

    def _paint(self) -> None:
        self._clear()
        if self.flow is None or self.step_id is None or not self.flow.has_step(self.step_id):
            self.kind.setText("")
            self.body_layout.addWidget(QLabel(tr("form.no_step")))
            return
        step = self.flow.step(self.step_id)
        self.kind.setText(tr("form.kind", kind=step.kind))
        langs = list(self.flow.languages)
        box = QLabel()
        box.setObjectName("flagsBox")
        box.setWordWrap(True)
        box.setStyleSheet("QLabel#flagsBox{background:#fff3e0;border:1px solid #ef6c00;border-radius:4px;"
                          "padding:6px;color:#4e2600;}")
        self._flags_box = box
        self.body_layout.addWidget(box)
        self._paint_flags(step)
        slots = self._slots(step)
        texts = QGroupBox(tr("form.texts"))
        grid = QGridLayout(texts)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(4)
        row = 0
        for slot, label, text in slots:
            head = QLabel(f"<b>{label}</b>")
            grid.addWidget(head, row, 0, 1, 2)
            row += 1
            for lang in langs:
                value = text.by_lang.get(lang, "") if text is not None else ""
                grid.addWidget(QLabel(LANG_NAMES.get(lang, lang)), row, 0, Qt.AlignmentFlag.AlignTop)
                cell = TextCell(value, required=text is not None)
                cell.setObjectName(f"text:{slot}:{lang}")
                cell.setAccessibleName(f"{label} ({LANG_NAMES.get(lang, lang)})")
                cell.committed.connect(lambda v, s=slot, lg=lang: self.text_edited.emit(self.step_id or "", s, lg, v))
                grid.addWidget(cell, row, 1)
                self.cells[(slot, lang)] = cell
                row += 1
        self.body_layout.addWidget(texts)
        if step.fields:
            fbox = QGroupBox(tr("form.fields"))
            fl_ = QFormLayout(fbox)
            for f in step.fields:
                bits = [f.type, tr("form.required") if f.required else tr("form.optional")]
                if f.sensitivity != "none":
                    bits.append(f.sensitivity)
                if f.visible_when:
                    bits.append(tr("form.shown_when", cond=f.visible_when))
                if f.choices:
                    bits.append(" / ".join(c.value for c in f.choices))
                lab = QLabel(", ".join(bits))
                lab.setWordWrap(True)
                fl_.addRow(QLabel(f"<b>{f.id}</b>"), lab)
            self.body_layout.addWidget(fbox)
        if step.transitions:
            self.body_layout.addWidget(self._transitions(step, langs))
        if step.actions or step.outcome:
            abox = QGroupBox(tr("form.actions"))
            v = QVBoxLayout(abox)
            for a in step.actions:
                v.addWidget(QLabel("\u2022 " + action_str(a)))
            if step.outcome:
                v.addWidget(QLabel(tr("form.outcome", code=step.outcome)))
            self.body_layout.addWidget(abox)
        self.body_layout.addStretch(1)
        self._sig = _signature(self.flow, step, slots)

    def _transitions(self, step: Step, langs: list[str]) -> QGroupBox:
        assert self.flow is not None
        box = QGroupBox(tr("form.transitions"))
        v = QVBoxLayout(box)
        table = QTableWidget(len(step.transitions), 4)
        table.setObjectName("transitions")
        table.setHorizontalHeaderLabels([tr("form.t.answer"), tr("form.t.label"), tr("form.t.to"), tr("form.t.when")])
        ids = [s.id for s in self.flow.steps]
        for i, t in enumerate(step.transitions):
            a = QTableWidgetItem(t.id or "")
            a.setFlags(a.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(i, 0, a)
            lab = QTableWidgetItem(t.label.get(langs[0]) if t.label else "")
            lab.setFlags(lab.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(i, 1, lab)
            combo = QComboBox()
            combo.setEditable(True)
            combo.addItems(ids)
            combo.setCurrentText(t.to)
            combo.setObjectName(f"to:{i}")
            line_edit = combo.lineEdit()
            assert line_edit is not None
            line_edit.editingFinished.connect(
                lambda i=i, c=combo, old=t.to: c.currentText() != old and self.transition_edited.emit(
                    self.step_id or "", i, "to", c.currentText()))
            combo.activated.connect(
                lambda _x, i=i, c=combo, old=t.to: c.currentText() != old and self.transition_edited.emit(
                    self.step_id or "", i, "to", c.currentText()))
            table.setCellWidget(i, 2, combo)
            when = QLineEdit(t.when or "")
            when.setObjectName(f"when:{i}")
            when.editingFinished.connect(
                lambda i=i, w=when, old=t.when or "": w.text().strip() != old and self.transition_edited.emit(
                    self.step_id or "", i, "when", w.text().strip()))
            table.setCellWidget(i, 3, when)
        table.horizontalHeader().setStretchLastSection(True)
        table.resizeColumnsToContents()
        table.setColumnWidth(2, max(150, table.columnWidth(2)))
        table.setFixedHeight(34 + 32 * len(step.transitions))
        v.addWidget(table)
        return box

    def _slots(self, step: Step) -> list[tuple[str, str, Text | None]]:
        out: list[tuple[str, str, Text | None]] = []
        if step.kind != "decision" or step.say is not None:
            out.append(("say", tr("form.say"), step.say))
        out.append(("guidance", tr("form.guidance"), step.guidance))
        if step.consent is not None:
            out.append(("consent.wording", tr("form.consent"), step.consent.wording))
        for f in step.fields:
            out.append((f"fields.{f.id}.label", tr("form.field_label", id=f.id), f.label))
        for i, t in enumerate(step.transitions):
            if t.label is not None:
                out.append((f"transitions.{i}.label", tr("form.answer_label", id=t.id or i), t.label))
        return out

    def commit_pending(self) -> None:
        for cell in list(self.cells.values()):
            cell.commit()
