"""`CallNotices`: small notices at the top of the call window's side column.

- A protocol that is not live because its wording awaits review (marked `review_needed`, e.g. the
  default HARMED flow) is named, with what to do instead, so an agent never silently loses it; its
  hotkey (F4) shows the same words instead of doing nothing. During a crisis (BLAKE running, or a
  crisis protection in force) this notice is hidden and F4 is quiet: the emergency path comes first.
- A flag this agent raised that a published version has fixed is shown on their next call
  ("The step you flagged … is changed in version X").

The facts come from the core (`callguide.library.live.call_notices`, read from where
`callguide.library.live.publications_of` says the call's live flows came from: the team store in
team mode, the local journal otherwise); this widget only renders them. It never stops a call: when
the publications cannot be read it shows nothing (and logs one line). The team store is read off
the Qt thread, with a short timeout; the notices and F4 appear when the read is back.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from callguide.qt.banner import date_text
from callguide.qt.i18n import has, tr

log = logging.getLogger(__name__)


class CallNotices(QFrame):
    """The notices. A withheld protocol's hotkey (HARMED's F4) is not a dead key on a live call: it
    emits `withheld_key(text)` with what to do instead, which the window shows."""

    withheld_key = Signal(str)
    facts_read = Signal(object)  # CallNoticeFacts, read off the Qt thread (team mode)

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
        self.problem = ""                  # why the publications could not be read ("" : they were, or none)
        self.loaded = threading.Event()    # the facts are in (or there are none to read)
        self._keys: list[QShortcut] = []
        self.facts_read.connect(self._apply)
        bridge.changed.connect(lambda _op: self._show())
        self.retranslate()
        self._load()

    def _load(self) -> None:
        from callguide.library.live import call_notices, publications_of

        s = self.bridge.session
        pubs = publications_of(s.store)
        if getattr(s, "practice", False) or pubs is None:
            self.loaded.set()
            return
        running = set(s.flows)
        taken = {iv.hotkey for iv in s.library.interrupts.values() if iv.hotkey}
        args = (pubs, s.agent, s.call_id, running, taken)
        if not pubs.team:  # a local file: read at once
            self._apply(call_notices(*args))
            return

        def read() -> None:  # the team store: never on the Qt thread, never longer than the timeout
            facts = call_notices(*args)
            try:
                self.facts_read.emit(facts)
            except RuntimeError:  # the window is gone meanwhile
                pass

        threading.Thread(target=read, name="callguide-call-notices", daemon=True).start()

    def _apply(self, facts: Any) -> None:
        """On the Qt thread: show the facts and give the withheld protocols' hotkeys their words."""
        if facts.problem:
            log.warning("call notices: the publications cannot be read, no notice shown: %s", facts.problem)
        self.withheld, self.fixed, self.hotkeys, self.problem = facts.withheld, facts.fixed, facts.hotkeys, facts.problem
        for key, flow_id in self.hotkeys.items():
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda f=flow_id: None if self.in_crisis() else
                                 self.withheld_key.emit(self.withheld_text(f)))
            self._keys.append(sc)
        self.retranslate()
        self.loaded.set()

    def in_crisis(self) -> bool:
        """BLAKE is running or a crisis is in force: the emergency path comes first, nothing else."""
        s = self.bridge.session
        return bool(s.state.crisis) or any(f.flow.priority == "blake" for f in s.stack)

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

