"""`CallNotices`: small notices at the top of the call window's side column.

- A protocol that is not live because its wording awaits review (marked `review_needed`, e.g. the
  default HARMED flow) is named, with what to do instead, so an agent never silently loses it.
- A flag this agent raised that a published version has fixed is shown on their next call
  ("The step you flagged … is changed in version X").

The facts come from the core (`callguide.library.flags.notices_for_call`,
`callguide.library.live.withheld_flows`); this widget only renders them. It never stops a call:
when the publications cannot be read it shows nothing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from callguide.qt.banner import date_text
from callguide.qt.i18n import has, tr


class CallNotices(QFrame):
    def __init__(self, bridge: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("callNotices")
        self.setStyleSheet("QFrame#callNotices{background:#fffbe6;border:1px solid #e0b400;border-radius:6px;}"
                           "QLabel{background:transparent;}")
        self.bridge = bridge
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(6)
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        lay.addWidget(self.title)
        self.withheld_label = QLabel()
        self.withheld_label.setObjectName("withheldNotice")
        self.fixed_label = QLabel()
        self.fixed_label.setObjectName("fixedNotice")
        for lab in (self.withheld_label, self.fixed_label):
            lab.setWordWrap(True)
            lab.setTextFormat(Qt.TextFormat.PlainText)
            lay.addWidget(lab)
        self.withheld: list[Any] = []
        self.fixed: list[Any] = []
        self._load()
        self.retranslate()

    def _load(self) -> None:
        s = self.bridge.session
        db = getattr(s.store, "path", None)
        if getattr(s, "practice", False) or db is None:
            return
        from callguide.library.flags import FlagsError, notices_for_call
        from callguide.library.live import withheld_flows
        from callguide.library.publish import PublishError
        from callguide.store.base import StoreError

        try:
            self.withheld = [w for w in withheld_flows(db) if w.flow_id not in s.flows]
            self.fixed = notices_for_call(db, s.agent, s.call_id)
        except (PublishError, FlagsError, StoreError, OSError):
            self.withheld, self.fixed = [], []

    def retranslate(self) -> None:
        self.title.setText(tr("notice.title"))
        lines = []
        for w in self.withheld:
            key = f"notice.withheld.{w.flow_id}"
            lines.append(tr(key) if has(key) else tr("notice.withheld", name=w.flow_id.upper()))
        self.withheld_label.setText("\n\n".join(lines))
        self.withheld_label.setVisible(bool(lines))
        fixed = [tr("notice.fixed", flow=n.flow_id, step=n.step_id, words=n.comment or "\u2014",
                    label=n.version_label, when=date_text(n.live_since[:10])) for n in self.fixed]
        self.fixed_label.setText("\n".join(fixed))
        self.fixed_label.setVisible(bool(fixed))
        self.setVisible(bool(lines or fixed))
