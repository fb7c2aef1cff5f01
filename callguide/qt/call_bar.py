"""The always-visible bar: disclosure quick-starts (the library's interrupts, each with
its hotkey) and the escalations (customer care team, supervisor, emergency with the
account country's number). A disabled button always shows its reason under it.

Under each button is one line slot of a fixed height (two lines of text): what the button
is for while it can be used, why not while it cannot. So the bar never changes height
when a reason appears, and the step above it never jumps. The buttons take no keyboard
focus: they are pressed by their F-keys or the mouse, never by a Space meant for the step.

Interrupts come from `view.interrupts` (the view the bridge pushes after each operation:
`show_view(view)`, repainted only when the bar's part of it changed); escalations call
`session.action(...)` through the bridge. No call state lives here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from callguide.engine.commands import Action, Interrupt
from callguide.engine.views import StepView
from callguide.qt.bridge import SessionBridge
from callguide.qt.i18n import engine_text, tr

ESCALATIONS = (
    ("care_team", "refer_care_team", "F6"),
    ("supervisor", "alert_supervisor", "F7"),
    ("emergency", "emergency", "F8"),
)


def split_label(label: str, protocol: str) -> tuple[str, str]:
    """'Health or life event (TEXAS)' -> ('TEXAS', 'Health or life event'): the button names the
    protocol next to its hotkey; the situation that calls for it is the caption under it."""
    m = re.match(r"^(.*?)\s*\(([A-Z]{3,})\)\s*$", label)
    if m:
        return m.group(2), m.group(1)
    return protocol.upper(), label


SLOT_LINES = 2


def team_status_text(status: Any) -> str:
    """"team store: connected", "offline since 14:02, 37 entries waiting", "team store: synced"
    (times in the UI language, local time); "" without a team store."""
    if status is None:
        return ""
    state = status.state
    if state == "synced":
        return tr("team.synced")
    if state == "sending":
        return tr("team.sending", n=status.waiting) if status.waiting else tr("team.connected")
    if state == "offline":
        from callguide.qt.banner import time_text

        since = time_text(status.offline_since) if status.offline_since is not None else "?"
        return tr("team.offline", time=since, n=status.waiting) if status.waiting else \
            tr("team.offline_none", time=since)
    if state == "refused":
        return tr("team.refused", error=status.error or "?")
    if state == "stopped":
        return tr("team.stopped")
    return tr("team.starting")


class _Slot(QLabel):
    """The line(s) under a button: always there, always `SLOT_LINES` lines high."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def _height(self) -> int:
        m = self.contentsMargins()
        return SLOT_LINES * self.fontMetrics().lineSpacing() + m.top() + m.bottom()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(super().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self._height())

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return False


class _Cell(QWidget):
    def __init__(self, object_name: str):
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self.button = QPushButton()
        self.button.setObjectName(object_name)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # F2-F8 or a click; never a stray Space
        self.button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slot = _Slot()
        self.slot.setObjectName("barCaption")
        self.caption = ""
        self.reason = ""
        lay.addWidget(self.button)
        lay.addWidget(self.slot)

    def set_caption(self, text: str | None) -> None:
        self.caption = text or ""
        self._show()

    def set_reason(self, text: str | None) -> None:
        self.reason = text or ""
        self._show()

    def _show(self) -> None:
        """The reason while the button cannot be used, else what it is for."""
        name = "barReason" if self.reason else "barCaption"
        self.slot.setText(self.reason or self.caption)
        if self.slot.objectName() != name:
            self.slot.setObjectName(name)
            self.slot.style().unpolish(self.slot)
            self.slot.style().polish(self.slot)


class CallBar(QFrame):
    """Quick-starts and escalations. Emits `escalated(kind)` after an escalation was recorded."""

    escalated = Signal(str)

    def __init__(self, bridge: SessionBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("callBar")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 8, 20, 10)
        outer.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(10)
        outer.addLayout(row)
        self.interrupt_title = QLabel()
        self.interrupt_title.setObjectName("barTitle")
        self.interrupt_title.setFixedWidth(110)
        self.interrupt_title.setWordWrap(True)
        row.addWidget(self.interrupt_title, 0, Qt.AlignmentFlag.AlignTop)
        self.interrupt_cells: dict[str, _Cell] = {}
        self._shortcuts: list[QShortcut] = []
        self._keys: list[tuple[str, QPushButton]] = []  # (F-key, its button), for lend_keys
        view = bridge.view
        esc_keys = {key: kind for kind, _a, key in ESCALATIONS}
        # a flow's interrupt on an escalation key (the guided care-team referral on F6) is started by
        # that escalation button instead of getting a second button of its own
        self.absorbed: dict[str, str] = {}
        for iv in view.interrupts:
            if iv.hotkey in esc_keys:
                self.absorbed[esc_keys[iv.hotkey]] = iv.id
        for iv in sorted(view.interrupts, key=lambda i: (i.hotkey or "F99").rjust(4)):
            if iv.id in self.absorbed.values():
                continue
            cell = _Cell("interruptButton")
            cell.button.clicked.connect(lambda _=False, p=iv.protocol: self._on_interrupt(p))
            self.interrupt_cells[iv.id] = cell
            row.addWidget(cell, 1)
            if iv.hotkey:
                self._bind(iv.hotkey, cell.button)
        row = QHBoxLayout()
        row.setSpacing(10)
        outer.addLayout(row)
        self.escalate_title = QLabel()
        self.escalate_title.setObjectName("barTitle")
        self.escalate_title.setFixedWidth(110)
        self.escalate_title.setWordWrap(True)
        row.addWidget(self.escalate_title, 0, Qt.AlignmentFlag.AlignTop)
        self.escalation_cells: dict[str, _Cell] = {}
        for kind, action, key in ESCALATIONS:
            cell = _Cell("emergencyButton" if kind == "emergency" else "escalationButton")
            cell.button.clicked.connect(lambda _=False, k=kind, a=action: self._on_escalate(k, a))
            self.escalation_cells[kind] = cell
            row.addWidget(cell, 1)
            self._bind(key, cell.button)
        # team mode: the sync's state, one quiet line under the buttons (hidden without a team store)
        self.team_status = QLabel()
        self.team_status.setObjectName("barCaption")
        self.team_status.setTextFormat(Qt.TextFormat.PlainText)
        self.team_status.setWordWrap(True)
        self.team_status.hide()
        self._team: Any = None
        outer.addWidget(self.team_status)
        self._shown: Any = None  # the part of the view the bar shows, as last painted
        bridge.view_changed.connect(self._on_view)
        self.refresh()

    def set_team_status(self, status: Any) -> None:
        """Team mode: show the sync's state (a `callguide.team.sync.SyncStatus`)."""
        self._team = status
        self._show_team()

    def _show_team(self) -> None:
        text = team_status_text(self._team)
        self.team_status.setText(text)
        self.team_status.setAccessibleName(f"{tr('team.a11y')}: {text}")
        self.team_status.setVisible(bool(text))
        name = "barReason" if self._team is not None and self._team.state in ("offline", "refused") else "barCaption"
        if self.team_status.objectName() != name:
            self.team_status.setObjectName(name)
            self.team_status.style().unpolish(self.team_status)
            self.team_status.style().polish(self.team_status)

    def _bind(self, key: str, button: QPushButton) -> None:
        sc = QShortcut(QKeySequence(key), self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(lambda b=button: b.isEnabled() and b.click())
        self._shortcuts.append(sc)
        self._keys.append((key, button))

    def lend_keys(self, dialog: QWidget, close: Callable[[], None]) -> None:
        """The bar's F-keys also work while `dialog` (a modal question over the call window) is open:
        the window's own shortcuts do not fire behind it, and BLAKE must be one key away. The key
        closes the dialog with `close` (which must lose nothing), then presses the bar's button. A
        key the dialog binds itself (the note question's F2 TEXAS) stays the dialog's."""
        own = {sc.key().toString() for sc in dialog.findChildren(QShortcut)}

        def press(button: QPushButton) -> None:
            if button.isEnabled():
                close()
                button.click()

        for key, button in self._keys:
            if QKeySequence(key).toString() in own:
                continue
            sc = QShortcut(QKeySequence(key), dialog)
            sc.activated.connect(lambda b=button: press(b))

    def emergency_number(self) -> str:
        em = self.bridge.session.signposts().get("emergency") or {}
        return str(em.get("phone") or "")

    def refresh(self, _op: Any = None) -> None:
        """Paint again from the bridge's current view (the UI language may have changed)."""
        self._shown = None
        if self._team is not None:
            self._show_team()
        self.show_view(self.bridge.view)

    def _on_view(self, view: StepView) -> None:
        if view is self.bridge.view:  # else a newer view was pushed meanwhile (a nested operation)
            self.show_view(view)

    def show_view(self, view: StepView) -> None:
        """Show a `StepView`'s interrupts and whether the call has ended; nothing is touched when
        that part is as last shown."""
        part = (view.lang, view.ended, tuple((iv.id, iv.label, iv.enabled, iv.rule, iv.reason,
                                              tuple(sorted(iv.reason_params.items(), key=str)))
                                             for iv in view.interrupts))
        if part == self._shown:
            return
        self._shown = part
        self.interrupt_title.setText(tr("bar.disclosures"))
        self.escalate_title.setText(tr("bar.escalate"))
        for iv in view.interrupts:
            cell = self.interrupt_cells.get(iv.id)
            if cell is None:
                continue
            short, caption = split_label(iv.label, iv.protocol)
            cell.button.setText((f"{iv.hotkey}   " if iv.hotkey else "") + short)
            cell.button.setToolTip(iv.label)
            cell.set_caption(caption)
            cell.button.setAccessibleName(tr("bar.start_a11y", label=iv.label))
            cell.button.setEnabled(iv.enabled)
            reason = full = None
            if not iv.enabled:
                flows = self.bridge.session.flows
                reason = (engine_text(iv.rule, iv.reason, iv.reason_params, flows=flows, short=True)
                          if iv.reason else tr("bar.not_now"))  # short: the same reason sits under every button
                full = engine_text(iv.rule, iv.reason, iv.reason_params, flows=flows) if iv.reason else reason
            cell.set_reason(reason)
            cell.slot.setToolTip(full or "")
            cell.button.setAccessibleDescription(full or "")
        ended = view.ended
        by_id = {iv.id: iv for iv in view.interrupts}
        for kind, _action, key in ESCALATIONS:
            cell = self.escalation_cells[kind]
            iv = by_id.get(self.absorbed.get(kind, ""))
            label = tr(f"bar.{kind}")
            if kind == "emergency":
                num = self.emergency_number()
                label = tr("bar.emergency_number", number=num) if num else tr("bar.emergency")
            cell.button.setText(f"{key}   {label}")
            cell.button.setAccessibleName(label)
            cell.set_caption(tr(f"bar.caption_{kind}"))
            cell.button.setEnabled(not ended)
            reason = tr("bar.call_ended") if ended else None
            if iv is not None and not iv.enabled and iv.rule == "already-running":
                cell.button.setEnabled(False)
                reason = engine_text(iv.rule, iv.reason, iv.reason_params, flows=self.bridge.session.flows,
                                     short=True)
            cell.set_reason(reason)

    def _on_interrupt(self, protocol: str) -> None:
        self.bridge.apply(Interrupt(protocol))

    def _on_escalate(self, kind: str, action: str) -> None:
        view = self.bridge.view
        iv = next((i for i in view.interrupts if i.id == self.absorbed.get(kind)), None)
        if iv is not None and iv.enabled:
            self.bridge.apply(Interrupt(iv.protocol))  # the guided referral records it at its end
            return
        res = self.bridge.apply(Action(action, {"reason": "agent escalation bar"}))
        if res is not None and res.ok:
            self.escalated.emit(kind)
