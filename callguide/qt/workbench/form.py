"""The form view of one step: its texts in every language side by side, its fields,
transitions and actions, and the flags agents raised on it. Edits are emitted as requests
(`text_edited`, `transition_edited`, `step_added`); the window applies them to the YAML text
through ruamel round-trip and repaints the form from the re-parsed flow."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
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
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from callguide.flow.model import Flow, Step, Text
from callguide.library.diff import action_str
from callguide.library.flags import StepFlags
from callguide.qt.i18n import tr

LANG_NAMES = {"en": "English", "da": "Dansk", "cs": "Čeština"}


class TextCell(QPlainTextEdit):
    """A multi-line text cell that reports its value when it loses focus."""

    committed = Signal(str)

    def __init__(self, text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setPlainText(text)
        self._initial = text
        self.setTabChangesFocus(True)
        self.setFixedHeight(70)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.commit()

    def commit(self) -> None:
        value = self.toPlainText().strip()
        if value != self._initial:
            self._initial = value
            self.committed.emit(value)


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
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll.setWidget(self.body)
        outer.addWidget(scroll, 1)
        self.flags: dict[str, StepFlags] = {}

    # ------------------------------------------------------------------ showing

    def show_flow(self, flow: Flow | None, step_id: str | None = None, flags: dict[str, StepFlags] | None = None,
                  force: bool = False) -> None:
        """Repaint from a freshly parsed flow (skipped while the trainer is typing in a cell, unless forced)."""
        if not force and self.body.isAncestorOf(self.focusWidget() or self):
            return
        self.flags = flags if flags is not None else self.flags
        self.flow = flow
        ids = [s.id for s in flow.steps] if flow else []
        want = step_id or self.step_id
        if want not in ids:
            want = ids[0] if ids else None
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItems(ids)
        if want:
            self.picker.setCurrentText(want)
        self.picker.blockSignals(False)
        self.step_id = want
        self._paint()

    def _picked(self, sid: str) -> None:
        if sid and sid != self.step_id:
            self.step_id = sid
            self._paint()
            self.step_selected.emit(sid)

    def select(self, step_id: str) -> None:
        if self.flow and self.flow.has_step(step_id):
            self.picker.setCurrentText(step_id)

    def _clear(self) -> None:
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            w = item.widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self.cells = {}

    def _paint(self) -> None:
        self._clear()
        if self.flow is None or self.step_id is None or not self.flow.has_step(self.step_id):
            self.kind.setText("")
            self.body_layout.addWidget(QLabel(tr("form.no_step")))
            return
        step = self.flow.step(self.step_id)
        self.kind.setText(tr("form.kind", kind=step.kind))
        langs = list(self.flow.languages)
        fl = self.flags.get(step.id)
        if fl is not None and fl.count:
            box = QLabel(tr("form.flags", count=fl.count) + "".join(f"\n  \u2022 {c}" for c in fl.comments[:6]))
            box.setObjectName("flagsBox")
            box.setWordWrap(True)
            box.setStyleSheet("QLabel#flagsBox{background:#fff3e0;border:1px solid #ef6c00;border-radius:4px;"
                              "padding:6px;color:#4e2600;}")
            self.body_layout.addWidget(box)
        texts = QGroupBox(tr("form.texts"))
        grid = QGridLayout(texts)
        for c, lang in enumerate(langs):
            h = QLabel(f"<b>{LANG_NAMES.get(lang, lang)}</b> ({lang})")
            grid.addWidget(h, 0, c + 1)
        row = 1
        for slot, label, text in self._slots(step):
            grid.addWidget(QLabel(label), row, 0, Qt.AlignmentFlag.AlignTop)
            for c, lang in enumerate(langs):
                value = text.by_lang.get(lang, "") if text is not None else ""
                cell = TextCell(value)
                cell.setObjectName(f"text:{slot}:{lang}")
                if not value and text is not None:
                    cell.setPlaceholderText(tr("form.missing"))
                    cell.setStyleSheet("QPlainTextEdit{background:#fdecea;}")
                elif not value:
                    cell.setPlaceholderText(tr("form.none"))
                cell.committed.connect(lambda v, s=slot, lg=lang: self.text_edited.emit(self.step_id or "", s, lg, v))
                grid.addWidget(cell, row, c + 1)
                self.cells[(slot, lang)] = cell
            row += 1
        self.body_layout.addWidget(texts)
        if step.fields:
            box = QGroupBox(tr("form.fields"))
            fl_ = QFormLayout(box)
            for f in step.fields:
                bits = [f.type, tr("form.required") if f.required else tr("form.optional")]
                if f.sensitivity != "none":
                    bits.append(f.sensitivity)
                if f.visible_when:
                    bits.append(tr("form.shown_when", cond=f.visible_when))
                if f.choices:
                    bits.append(" / ".join(c.value for c in f.choices))
                fl_.addRow(QLabel(f"<b>{f.id}</b>"), QLabel(", ".join(bits)))
            self.body_layout.addWidget(box)
        if step.transitions:
            box = QGroupBox(tr("form.transitions"))
            v = QVBoxLayout(box)
            table = QTableWidget(len(step.transitions), 4)
            table.setObjectName("transitions")
            table.setHorizontalHeaderLabels([tr("form.t.answer"), tr("form.t.label"), tr("form.t.to"),
                                             tr("form.t.when")])
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
                combo.lineEdit().editingFinished.connect(
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
            table.setColumnWidth(2, max(140, table.columnWidth(2)))
            table.setFixedHeight(34 + 32 * len(step.transitions))
            v.addWidget(table)
            self.body_layout.addWidget(box)
        if step.actions or step.outcome:
            box = QGroupBox(tr("form.actions"))
            v = QVBoxLayout(box)
            for a in step.actions:
                v.addWidget(QLabel("\u2022 " + action_str(a)))
            if step.outcome:
                v.addWidget(QLabel(tr("form.outcome", code=step.outcome)))
            self.body_layout.addWidget(box)

        self.body_layout.addStretch(1)

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
        for cell in self.cells.values():
            cell.commit()
