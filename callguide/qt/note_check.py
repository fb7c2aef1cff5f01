"""Before a note is saved: may it hold health or life-event details? (issue 10 §5)

`submit_note(...)` is what the side column's "Add note" (Alt+A) does. It asks the engine's gate the
same question the Note command will (`Gate.note`: the trainers' word lists, `engine.sensitive`); a
plain note is saved at once. A note that mentions a health or life-event word opens `NoteQuestion`,
window-modal but not blocking, before anything is journalled:

- "Customer agreed — save the note" (Alt+Y): saved under the consent, marked special-category. Only
  possible while that consent is in force; otherwise the button says why it is off.
- "Start TEXAS" (F2, or the protocol's own hotkey): asks the customer with the consent wording; the
  draft stays in the note box, to be saved afterwards.
- "Not agreed — don't save" (Alt+N, Esc): nothing is saved; the draft stays in the box for editing.

Whatever the answer, the engine checks again when the note is sent: the window cannot save what the
core would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from callguide.engine.commands import EngineError, Interrupt, Note
from callguide.qt.banner import date_text
from callguide.qt.i18n import engine_error_text, has, tr
from callguide.qt.widgets import EnterButton

AGREED, TEXAS, DECLINED = "agreed", "texas", "declined"


def consent_protocol(session: Any, purpose: str) -> Any:
    """The interrupt (from the call's view) that asks for `purpose`'s consent, e.g. TEXAS on F2."""
    for iv in session.view().interrupts:
        flow = session.flows.get(iv.protocol)
        if flow is not None and any(st.consent is not None and st.consent.purpose == purpose for st in flow.steps):
            return iv
    return None


class NoteQuestion(QDialog):
    """Did the customer agree to record this note? `answered(str)`: agreed, texas or declined."""

    answered = Signal(str)

    def __init__(self, session: Any, words: list[str], purpose: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("noteQuestion")
        self.setWindowTitle(tr("note.q_title"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.purpose = purpose
        self.in_force = bool(session.facts.consent_in_force(purpose))
        self.texas = consent_protocol(session, purpose)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 18, 22, 18)
        lay.setSpacing(12)
        self.question = QLabel(tr("note.q_text", words=", ".join(tr("note.q_word", word=w) for w in words[:5])))
        self.question.setObjectName("dialogTitle")
        self.question.setWordWrap(True)
        lay.addWidget(self.question)
        record = (session.facts.consent_records.get(purpose) or {}) if self.in_force else {}
        if self.in_force:
            when = tr("note.q_this_call") if record.get("this_call") else date_text(str(record.get("given_at") or "")[:10])
            state = tr("note.q_in_force", purpose=_purpose(purpose), when=when)
        else:
            state = tr("note.q_not_in_force", purpose=_purpose(purpose))
        self.state = QLabel(state)
        self.state.setObjectName("consentState")
        self.state.setWordWrap(True)
        lay.addWidget(self.state)

        self.agreed = EnterButton(tr("note.q_agreed") + "    Alt+Y")
        self.agreed.setObjectName("nextButton")
        self.agreed.setAccessibleName(tr("note.q_agreed"))
        self.agreed.setEnabled(self.in_force)
        self.agreed.clicked.connect(lambda: self._answer(AGREED))
        hotkey = (self.texas.hotkey if self.texas is not None else None) or "F2"
        self.texas_button = EnterButton(tr("note.q_texas", protocol=self._texas_name()) + f"    {hotkey}")
        self.texas_button.setObjectName("quietButton")
        self.texas_button.setAccessibleName(tr("note.q_texas", protocol=self._texas_name()))
        self.texas_button.setEnabled(self.texas is not None and self.texas.enabled)
        self.texas_button.clicked.connect(lambda: self._answer(TEXAS))
        self.declined = EnterButton(tr("note.q_declined") + "    Esc")
        self.declined.setObjectName("quietButton")
        self.declined.setAccessibleName(tr("note.q_declined"))
        self.declined.clicked.connect(lambda: self._answer(DECLINED))
        self.why_off = QLabel()  # why a button is off, right under the buttons it explains
        self.why_off.setObjectName("nextReason")
        self.why_off.setWordWrap(True)
        for b in (self.agreed, self.why_off, self.texas_button, self.declined):
            if b is self.why_off:
                lay.addWidget(b)
                continue
            row = QHBoxLayout()
            row.addWidget(b)
            row.addStretch(1)
            lay.addLayout(row)
        why = [tr("note.q_agreed_off")] if not self.in_force else []
        if self.texas is not None and not self.texas.enabled and self.texas.reason:
            from callguide.qt.i18n import engine_text

            why.append(f"{self._texas_name()}: " + engine_text(self.texas.rule, self.texas.reason,
                                                                self.texas.reason_params, session.flows, short=True))
        self.why_off.setText(" ".join(why))
        self.why_off.setVisible(bool(self.why_off.text()))
        self._keys = []
        for key, what in (("Alt+Y", AGREED), (hotkey, TEXAS), ("Alt+N", DECLINED)):
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(lambda w=what: self._answer(w))
            self._keys.append(sc)
        self._labels = (self.question, self.state, self.why_off)
        (self.agreed if self.in_force else self.texas_button if self.texas_button.isEnabled()
         else self.declined).setDefault(True)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        """A top-level window does not grow for wrapped text by itself: give each label the height
        its text needs at the dialog's width (large text included), so nothing is cut."""
        self.ensurePolished()
        width = max(560, min(760, self.fontMetrics().averageCharWidth() * 62))
        self.setFixedWidth(width)
        m = self.layout().contentsMargins()
        for lab in self._labels:
            lab.ensurePolished()
            lab.setMinimumHeight(lab.heightForWidth(width - m.left() - m.right()) if lab.text() else 0)
        self.adjustSize()
        super().showEvent(event)

    def _texas_name(self) -> str:
        if self.texas is None:
            return "TEXAS"
        return self.texas.protocol.upper()

    def _answer(self, what: str) -> None:
        if what == AGREED and not self.agreed.isEnabled():
            return
        if what == TEXAS and not self.texas_button.isEnabled():
            return
        self._close_with(what)

    def reject(self) -> None:  # Esc, or the window's close button: not agreed, nothing saved
        if self.isVisible():
            self._close_with(DECLINED)
        else:
            super().reject()

    def _close_with(self, what: str) -> None:
        """Close first (the call window takes the keys again), then say what the agent answered."""
        self.done(QDialog.DialogCode.Accepted if what == AGREED else QDialog.DialogCode.Rejected)
        parent = self.parentWidget()
        if parent is not None:
            parent.window().activateWindow()
        self.answered.emit(what)


def submit_note(parent: QWidget, bridge: Any, edit: QPlainTextEdit, saved: Callable[[], None]) -> NoteQuestion | None:
    """Save the note in `edit` (Alt+A), asking first when it may hold health details. Returns the
    question when one was asked (it answers later, through its `answered` signal)."""
    text = edit.toPlainText().strip()
    if not text:
        return None
    session = bridge.session
    try:
        refusal = session.gate.note(text)
        words = [] if refusal is None else _words(text)
    except EngineError as e:
        bridge.failed.emit(engine_error_text(e))
        return None
    if refusal is None or refusal.rule != "note-sensitive":
        _send(bridge, edit, Note(text), saved)
        return None
    purpose = str(refusal.params.get("purpose") or "")
    old = parent.findChild(NoteQuestion, "noteQuestion")
    if old is not None:
        old.deleteLater()
    q = NoteQuestion(session, words, purpose, parent)

    def on_answer(what: str) -> None:
        if what == AGREED:
            _send(bridge, edit, Note(text, purpose), saved)
        elif what == TEXAS and q.texas is not None:
            bridge.apply(Interrupt(q.texas.protocol))  # the draft stays in the box, to save afterwards
        else:
            edit.setFocus(Qt.FocusReason.OtherFocusReason)  # nothing saved: the draft is there to edit

    q.answered.connect(on_answer)
    bar = getattr(parent.window(), "call_bar", None)
    if bar is not None:  # F5 BLAKE (F3, F6-F8) while the question is open: not agreed, the draft kept
        bar.lend_keys(q, lambda: q._close_with(DECLINED))
    q.open()
    q.activateWindow()
    (q.agreed if q.agreed.isEnabled() else q.texas_button if q.texas_button.isEnabled() else q.declined).setFocus()
    return q


def _purpose(purpose: str) -> str:
    return tr(f"name.{purpose}") if has(f"name.{purpose}") else purpose.replace("_", " ")


def _words(text: str) -> list[str]:
    from callguide.engine import sensitive

    return sensitive.load().find(text)


def _send(bridge: Any, edit: QPlainTextEdit, note: Note, saved: Callable[[], None]) -> None:
    if bridge.take(note):
        edit.clear()
        saved()
