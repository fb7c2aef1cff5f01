"""`EmergencyPanel`: what to do right after F8 (emergency), in the main pane.

The emergency escalation is one keypress and is journalled at once (with the number given);
this page then says what to do now, in order: confirm where the customer is, stay on the
line, and the number a colleague calls (the account country's emergency number, from the
signposts). What to say is in the call's language, the instructions in the agent's. It
records nothing itself; "Back to the call" returns to the step the call is on.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from callguide.qt.i18n import tr, tr_in
from callguide.qt.widgets import EnterButton


def _label(name: str, wrap: bool = True) -> QLabel:
    lab = QLabel()
    lab.setObjectName(name)
    lab.setWordWrap(wrap)
    lab.setTextFormat(Qt.TextFormat.PlainText)
    return lab


class EmergencyPanel(QWidget):
    """The emergency script. `show_for(signposts, lang)` fills it; `back` when the agent is done."""

    back = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("emergencyPage")
        self._emergency: dict[str, Any] = {}
        self._lang: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("stepInner")
        col = QVBoxLayout(inner)
        col.setContentsMargins(28, 18, 28, 18)
        col.setSpacing(14)
        scroll.setWidget(inner)
        outer.addWidget(scroll, 1)

        self.title = _label("emergencyTitle")
        col.addWidget(self.title)

        number_card = QFrame()
        number_card.setObjectName("emergencyNumberCard")
        nl = QHBoxLayout(number_card)
        nl.setContentsMargins(22, 12, 22, 12)
        nl.setSpacing(18)
        self.number = _label("emergencyNumber", wrap=False)
        self.number_text = _label("emergencyNumberText")
        nl.addWidget(self.number, 0)
        nl.addWidget(self.number_text, 1)
        col.addWidget(number_card)

        steps = QFrame()
        steps.setObjectName("guidanceCard")
        gl = QVBoxLayout(steps)
        gl.setContentsMargins(18, 10, 18, 12)
        gl.setSpacing(8)
        self.steps_title = _label("cardTitleQuiet")
        gl.addWidget(self.steps_title)
        self.steps = [_label("emergencyStep") for _ in range(3)]
        for lab in self.steps:
            gl.addWidget(lab)
        col.addWidget(steps)

        say = QFrame()
        say.setObjectName("sayCard")
        sl = QVBoxLayout(say)
        sl.setContentsMargins(22, 14, 22, 16)
        sl.setSpacing(6)
        self.say_title = _label("cardTitle")
        self.say_text = _label("sayText")
        sl.addWidget(self.say_title)
        sl.addWidget(self.say_text)
        col.addWidget(say)
        col.addStretch(1)

        nav = QFrame()
        nav.setObjectName("navBar")
        bl = QHBoxLayout(nav)
        bl.setContentsMargins(28, 10, 28, 12)
        self.back_button = EnterButton()
        self.back_button.setObjectName("nextButton")
        self.back_button.clicked.connect(self.back.emit)
        bl.addStretch(1)
        bl.addWidget(self.back_button)
        outer.addWidget(nav)
        esc = QShortcut(QKeySequence("Escape"), self)
        esc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        esc.activated.connect(self.back.emit)
        self._shortcuts = [esc]

    def show_for(self, signposts: dict[str, Any], lang: str | None) -> None:
        self._emergency = dict(signposts.get("emergency") or {})
        self._lang = lang
        self.retranslate()

    @property
    def phone(self) -> str:
        return str(self._emergency.get("phone") or "")

    def retranslate(self) -> None:
        phone = self.phone or "?"
        service = str(self._emergency.get("name") or tr("emergency.service"))
        self.title.setText(tr("emergency.title"))
        self.number.setText(phone)
        self.number.setAccessibleName(tr("emergency.number_a11y", number=phone))
        self.number_text.setText(tr("emergency.number_text", service=service, number=phone))
        self.say_title.setText(tr("step.say"))
        self.say_text.setText(tr_in(self._lang, "emergency.say"))
        self.steps_title.setText(tr("emergency.steps_title"))
        for i, lab in enumerate(self.steps):
            lab.setText(f"{i + 1}.  " + tr(f"emergency.step{i + 1}", number=phone, service=service))
        self.back_button.setText(tr("emergency.back") + "    Esc")
        self.back_button.setAccessibleName(tr("emergency.back"))
