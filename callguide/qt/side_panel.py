"""The side column of the call window: what is known from earlier calls (compact),
what has been recorded on this call, consents given (with Withdraw), free-text notes
and "flag this step" for the trainers. Everything goes through the bridge.

It renders the view the bridge pushes after each operation (`show_view(view)`: the consents in
force and whether the call has ended) and the call's summary; each part is repainted only when it
changed (the summary only when an entry the summary lists was written), so a click on Next that
records nothing new leaves the column alone.

It scrolls vertically and never horizontally: everything in it wraps to the column's width, its
buttons too (`FitButton`: "Přidat poznámku" over "Alt+A" when one line is too wide); its minimum
width follows the text size (`fit_to_font`).
After a note is saved (Alt+A) the focus goes back to the step (`note_saved`), so Ctrl+Enter
moves the call on again.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from callguide.engine.commands import Flag, Withdraw
from callguide.engine.summary import SUMMARY_TYPES
from callguide.engine.views import StepView
from callguide.qt.banner import AccountBanner, _name, ended_consents
from callguide.qt.bridge import SessionBridge
from callguide.qt.i18n import tr
from callguide.qt.notices import CallNotices
from callguide.qt.widgets import FitButton
from callguide.qt.wrap_up import summary_items
from callguide.store import entry_types as et


class SidePanel(QScrollArea):
    note_saved = Signal()
    consent_withdrawn = Signal(str)  # purpose: withdrawn from this column (its key destroyed)

    def __init__(self, bridge: SessionBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("sidePanel")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.fit_to_font(False)
        inner = QWidget()
        inner.setObjectName("sideInner")
        col = QVBoxLayout(inner)
        col.setContentsMargins(16, 16, 16, 16)
        col.setSpacing(12)
        self.setWidget(inner)

        self.notices = CallNotices(bridge)  # protocols not live yet, flags fixed since the last call
        col.addWidget(self.notices)
        self.history = AccountBanner(bridge.session.history, compact=True)
        col.addWidget(self.history)

        self.recorded_title = QLabel()
        self.recorded_title.setObjectName("sectionTitle")
        self.recorded_title.setWordWrap(True)
        col.addWidget(self.recorded_title)
        self.recorded = QLabel()
        self.recorded.setObjectName("sideList")
        self.recorded.setWordWrap(True)
        self.recorded.setTextFormat(Qt.TextFormat.PlainText)
        col.addWidget(self.recorded)

        self.consent_box = QWidget()
        self._consent_layout = QVBoxLayout(self.consent_box)
        self._consent_layout.setContentsMargins(0, 0, 0, 0)
        self._consent_layout.setSpacing(6)
        col.addWidget(self.consent_box)

        self.notes_title = QLabel()
        self.notes_title.setObjectName("sectionTitle")
        self.notes_title.setWordWrap(True)
        col.addWidget(self.notes_title)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setObjectName("noteEdit")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setFixedHeight(84)
        col.addWidget(self.note_edit)
        self.note_button = FitButton()
        self.note_button.setObjectName("quietButton")
        self.note_button.clicked.connect(self._on_note)
        col.addWidget(self.note_button, 0, Qt.AlignmentFlag.AlignRight)

        self.flag_title = QLabel()
        self.flag_title.setObjectName("sectionTitle")
        self.flag_title.setWordWrap(True)
        col.addWidget(self.flag_title)
        # the question as a wrapped line of its own, not a placeholder: a one-line box cuts a hint
        # that is wider than the column (960 px windows, Danish and Czech, large text)
        self.flag_hint = QLabel()
        self.flag_hint.setObjectName("muted")
        self.flag_hint.setWordWrap(True)
        col.addWidget(self.flag_hint)
        self.flag_edit = QLineEdit()  # the comment on its own line, the button under it: never cut
        self.flag_edit.setObjectName("flagEdit")
        self.flag_edit.setMinimumWidth(0)
        self.flag_edit.returnPressed.connect(self._on_flag)
        self.flag_button = FitButton()
        self.flag_button.setObjectName("quietButton")
        self.flag_button.clicked.connect(self._on_flag)
        col.addWidget(self.flag_edit)
        col.addWidget(self.flag_button, 0, Qt.AlignmentFlag.AlignRight)
        self.flag_done = QLabel()
        self.flag_done.setObjectName("muted")
        self.flag_done.setWordWrap(True)
        self.flag_done.hide()
        col.addWidget(self.flag_done)
        col.addStretch(1)

        sc = QShortcut(QKeySequence("Ctrl+Shift+N"), self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(lambda: self.note_edit.setFocus(Qt.FocusReason.ShortcutFocusReason))
        sc2 = QShortcut(QKeySequence("Ctrl+Shift+F"), self)
        sc2.setContext(Qt.ShortcutContext.WindowShortcut)
        sc2.activated.connect(lambda: self.flag_edit.setFocus(Qt.FocusReason.ShortcutFocusReason))
        sc3 = QShortcut(QKeySequence("Alt+A"), self)
        sc3.setContext(Qt.ShortcutContext.WindowShortcut)
        sc3.activated.connect(self._on_note)
        self._shortcuts = [sc, sc2, sc3]
        self._consent_sig: Any = None
        self._summarised = -1  # how many of the call's records the "recorded" list was made from
        bridge.view_changed.connect(self._on_view)
        self.retranslate()

    def fit_to_font(self, large: bool) -> None:
        """The column's minimum width for the text size: about 16 characters of the base font
        (never under 260 px), so a word, a tag or a button's longest word always fits in it;
        longer texts wrap."""
        from callguide.qt import style

        base = int(str((style.LARGE if large else style.NORMAL)["base"]))
        self.setMinimumWidth(max(260, 16 * base + 16))

    def retranslate(self) -> None:
        self.notices.retranslate()
        self.history.retranslate()
        self.notes_title.setText(tr("side.notes"))
        self.note_edit.setPlaceholderText(tr("side.note_hint"))
        self.note_edit.setAccessibleName(tr("side.notes"))
        self.note_button.setText(tr("side.add_note") + "    Alt+A")
        self.note_button.setAccessibleName(tr("side.add_note"))
        self.flag_title.setText(tr("side.flag_title"))
        self.flag_hint.setText(tr("side.flag_hint"))
        self.flag_hint.setBuddy(self.flag_edit)
        self.flag_edit.setAccessibleName(tr("side.flag_title"))
        self.flag_edit.setAccessibleDescription(tr("side.flag_hint"))
        self.flag_button.setText(tr("side.flag"))
        self.flag_button.setAccessibleName(tr("side.flag"))
        self.recorded_title.setText(tr("side.recorded"))
        self.refresh()

    def refresh(self) -> None:
        """Paint everything again from the bridge's current view (the UI language may have changed)."""
        self._consent_sig = None
        self._summarised = -1
        self.show_view(self.bridge.view)

    def _on_view(self, view: StepView) -> None:
        if view is self.bridge.view:  # else a newer view was pushed meanwhile (a nested operation)
            self.show_view(view)

    def show_view(self, view: StepView) -> None:
        """Show a `StepView`'s consents in force, and what the call recorded."""
        s = self.bridge.session
        records = s.records
        new = records[self._summarised:] if 0 <= self._summarised <= len(records) else None
        if new is None or any(r["type"] in SUMMARY_TYPES for r in new):
            items = summary_items(s.summary())
            items = [(k, line) for k, line in items if k not in (et.NOTE, et.BLOCKED)]
            self.recorded.setText("\n".join("\u2022 " + line for _, line in items[-12:])
                                  or tr("side.nothing_yet"))
        self._summarised = len(records)
        self.history.set_ended(ended_consents(s.history, view))  # never "in force" once withdrawn
        given = sorted(c.purpose for c in view.consents_in_force)  # this call's and earlier calls' consents
        sig = (tuple(given), view.ended)
        if sig == self._consent_sig:
            return
        self._consent_sig = sig
        while self._consent_layout.count():
            w = self._consent_layout.takeAt(0).widget()
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        if not given:
            return
        title = QLabel(tr("side.consents"))
        title.setObjectName("sectionTitle")
        self._consent_layout.addWidget(title)
        for purpose in given:  # the purpose on its own line, its Withdraw button under it: never cut
            row = QWidget()
            row.setObjectName("consentRow")
            rl = QVBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            rl.setSpacing(4)
            lab = QLabel(_name(purpose))
            lab.setWordWrap(True)
            b = FitButton(tr("consent.withdraw"))
            b.setObjectName("withdrawConsent")
            b.setAccessibleName(tr("consent.withdraw_a11y", purpose=_name(purpose)))
            b.setEnabled(not view.ended)
            rl.addWidget(lab)
            rl.addWidget(b, 0, Qt.AlignmentFlag.AlignRight)
            rl.addWidget(self._withdraw_question(purpose, b))
            self._consent_layout.addWidget(row)

    def _withdraw_question(self, purpose: str, button: QPushButton) -> QWidget:
        """Withdrawing destroys the consent's key for good, and the button is two Tabs from Next where
        Enter presses it: it asks first, in place, with the focus on "Keep it" (Enter or Esc keeps
        it; Shift+Tab then Enter withdraws). Said on the info strip once done (`consent_withdrawn`)."""
        ask = QWidget()
        ask.setObjectName("withdrawAsk")
        al = QVBoxLayout(ask)
        al.setContentsMargins(0, 0, 0, 0)
        al.setSpacing(4)
        q = QLabel(tr("consent.withdraw_q"))
        q.setObjectName("nextReasonBlocked")
        q.setWordWrap(True)
        yes = FitButton(tr("consent.withdraw_yes"))
        yes.setObjectName("withdrawYes")
        yes.setAccessibleName(tr("consent.withdraw_a11y", purpose=_name(purpose)))
        keep = FitButton(tr("consent.withdraw_keep") + "    Esc")
        keep.setObjectName("withdrawKeep")
        keep.setAccessibleName(tr("consent.withdraw_keep"))
        for w in (q, yes, keep):
            al.addWidget(w, 0, Qt.AlignmentFlag.AlignRight if w is not q else Qt.AlignmentFlag.AlignLeft)
        ask.hide()

        def asking(on: bool) -> None:
            ask.setVisible(on)
            button.setVisible(not on)
            target = keep if on else button
            target.setFocus(Qt.FocusReason.OtherFocusReason)
            QTimer.singleShot(0, lambda: self._show_whole(ask if on else target))  # once laid out


        def withdraw() -> None:
            res = self.bridge.apply(Withdraw(purpose))
            if res is not None and res.ok:
                self.consent_withdrawn.emit(purpose)
            else:
                asking(False)  # refused or failed: the reason is said where the call says it

        button.clicked.connect(lambda: asking(True))
        keep.clicked.connect(lambda: asking(False))
        yes.clicked.connect(withdraw)
        esc = QShortcut(QKeySequence("Escape"), ask)
        esc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(lambda: asking(False))
        QWidget.setTabOrder(button, yes)
        QWidget.setTabOrder(yes, keep)
        return ask

    def _show_whole(self, w: QWidget) -> None:
        """Scroll the column so that `w` is on screen (its foot first: the focused button)."""
        try:
            if w.isVisible():
                self.ensureWidgetVisible(w, 8, 8)
        except RuntimeError:  # rebuilt meanwhile
            pass

    def tab_chain(self) -> list[QWidget]:
        """The side column's inputs in Tab order."""
        chain: list[QWidget] = list(self.findChildren(QPushButton, "withdrawConsent"))
        return chain + [self.note_edit, self.note_button, self.flag_edit, self.flag_button]

    def _on_note(self) -> None:
        from callguide.qt.note_check import submit_note  # asks first when it may hold health details

        submit_note(self, self.bridge, self.note_edit, self.note_saved.emit)

    def _on_flag(self) -> None:
        text = self.flag_edit.text().strip()
        if self.bridge.take(Flag(text)):
            self.flag_edit.clear()
            self.flag_done.setText(tr("side.flag_done"))
            self.flag_done.show()
