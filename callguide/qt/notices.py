"""`CallNotices`: small notices at the top of the call window's side column.

- A protocol that is not live because its wording awaits review (marked `review_needed`, e.g. the
  default HARMED flow) is named, with what to do instead, so an agent never silently loses it; its
  hotkey (F4) shows the same words instead of doing nothing. During a crisis (BLAKE running, or a
  crisis protection in force) this notice is hidden and F4 is quiet: the emergency path comes first.
- A flag this agent raised that a published version has fixed is shown on their next call
  ("The step you flagged … is changed in version X").

The facts come from the core (`callguide.library.flags.notices_for_call`,
`callguide.library.live.withheld_flows`); this widget only renders them. It never stops a call:
when the publications cannot be read it shows nothing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from callguide.qt.banner import date_text
from callguide.qt.i18n import has, tr


class CallNotices(QFrame):
    """The notices. A withheld protocol's hotkey (HARMED's F4) is not a dead key on a live call: it
    emits `withheld_key(text)` with what to do instead, which the window shows."""

    withheld_key = Signal(str)

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
        self.hotkeys: dict[str, str] = {}  # hotkey -> a withheld flow that would have it
        self._load()
        self._keys = []
        for key, flow_id in self.hotkeys.items():
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda f=flow_id: None if self.in_crisis() else
                                 self.withheld_key.emit(self.withheld_text(f)))
            self._keys.append(sc)
        bridge.changed.connect(lambda _op: self._show())
        self.retranslate()

    def in_crisis(self) -> bool:
        """BLAKE is running or a crisis is in force: the emergency path comes first, nothing else."""
        s = self.bridge.session
        return bool(s.state.crisis) or any(f.flow.priority == "blake" for f in s.stack)

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
            self.hotkeys = _hotkeys(db, {w.flow_id for w in self.withheld}, s)
        except (PublishError, FlagsError, StoreError, OSError):
            self.withheld, self.fixed, self.hotkeys = [], [], {}

    def withheld_text(self, flow_id: str) -> str:
        key = f"notice.withheld.{flow_id}"
        return tr(key) if has(key) else tr("notice.withheld", name=flow_id.upper())

    def retranslate(self) -> None:
        self.title.setText(tr("notice.title"))
        lines = []
        for w in self.withheld:
            lines.append(self.withheld_text(w.flow_id))
        self.withheld_label.setText("\n\n".join(lines))
        fixed = [tr("notice.fixed", flow=n.flow_id, step=n.step_id, words=n.comment or "\u2014",
                    label=n.version_label, when=date_text(n.live_since[:10])) for n in self.fixed]
        self.fixed_label.setText("\n".join(fixed))
        self._show()

    def _show(self) -> None:
        """The practice-only notice steps aside during a crisis (BLAKE): the emergency path matters more."""
        withheld = bool(self.withheld_label.text()) and not self.in_crisis()
        fixed = bool(self.fixed_label.text())
        self.withheld_label.setVisible(withheld)
        self.fixed_label.setVisible(fixed)
        self.setVisible(withheld or fixed)


def _hotkeys(db: Any, flow_ids: set[str], session: Any) -> dict[str, str]:
    """The hotkeys the withheld flows' practice versions declare, that no live protocol uses."""
    if not flow_ids:
        return {}
    from callguide.flow import yamlsafe
    from callguide.library.publish import open_store, published_versions

    taken = {iv.hotkey for iv in session.library.interrupts.values() if iv.hotkey}
    out: dict[str, str] = {}
    with open_store(db) as store:
        versions = published_versions(store)
    for fid in sorted(flow_ids):
        v = versions.get(fid)
        data, _ = yamlsafe.parse_text(v.text, v.file_name) if v is not None else (None, [])
        declared = data.get("interrupts") if isinstance(data, dict) else None
        for iv in declared if isinstance(declared, list) else []:
            key = iv.get("hotkey") if isinstance(iv, dict) else None
            if isinstance(key, str) and key not in taken:
                out.setdefault(key, fid)
    return out
