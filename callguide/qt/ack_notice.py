"""`AckNotice`: on the agent's call window, who answered the call's escalation, in the call
window's language: "Supervisor acknowledged: Sam Jensen" (green, announced to screen readers), then
"… is taking it" or "Resolved by …". The agent on a crisis call knows help is coming.

The facts come from the core (`callguide.team.acks.AckWatcher`, which listens on the team store's
escalations channel and reads the call's acknowledgements through row-level security); this
widget only renders them, marshalling the watcher's callbacks (listener thread) through a queued
signal. It is hidden until there is something to say, and never stops a call.

How it plugs into the call window (team mode, `callguide/qt/call_window.py` or the side column):

    notice = AckNotice(parent)                       # place it at the top of the side column
    notice.watch(team_journal, team_notices, session.call_id, session.account.id)
    ...
    notice.stop()                                    # when the call window closes

`team_journal` is the desktop's `PostgresJournal` (connected as the agent) and `team_notices` its
`TeamNotices` (with the "escalations" channel), both already opened by team mode's desktop hookup.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from callguide.qt.i18n import tr
from callguide.team.acks import Acknowledgement, AckWatcher


class _Bridge(QObject):
    ack = Signal(object)


def ack_text(ack: Acknowledgement) -> str:
    if ack.action == "acknowledged":
        role = ack.role if ack.role in ("supervisor", "care_team") else \
            ("care_team" if ack.kind == "care_team" else "supervisor")
        return tr(f"ack.acknowledged.{role}", name=ack.name)
    if ack.action == "assigned":
        return tr("ack.assigned", name=ack.name, to=ack.to_name or "")
    return tr("ack.resolved", name=ack.name)


class AckNotice(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ackNotice")
        self.setStyleSheet("QFrame#ackNotice{background:#E8F5E9;border:2px solid #2E7D32;border-radius:6px;}"
                           "QLabel{background:transparent;color:#1B5E20;font-weight:bold;}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        self.label = QLabel()
        self.label.setObjectName("ackNoticeText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.label)
        self.acks: list[Acknowledgement] = []
        self._bridge = _Bridge(self)
        self._bridge.ack.connect(self.add, Qt.ConnectionType.QueuedConnection)
        self.watcher: AckWatcher | None = None
        self.hide()
        self.retranslate()

    def watch(self, team: Any, notices: Any, call_id: str, account_id: str) -> AckWatcher:
        """Follow the call's acknowledgements (see the module doc)."""
        self.watcher = AckWatcher(team, notices, call_id, account_id, self._bridge.ack.emit).start()
        return self.watcher

    def add(self, ack: Acknowledgement) -> None:
        if any(a.key == ack.key for a in self.acks):
            return
        self.acks.append(ack)
        self.retranslate()

    def text(self) -> str:
        return self.label.text()

    def retranslate(self) -> None:
        lines = [ack_text(a) for a in self.acks]
        self.label.setText("\n".join(lines))
        self.setAccessibleName(tr("ack.a11y"))
        self.label.setAccessibleName(lines[-1] if lines else tr("ack.a11y"))
        self.setVisible(bool(lines))

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
