"""`ConsoleWindow`: the queue of escalations and the care team's worklist, live.

- The feed (`callguide.team.console.ConsoleFeed`, its own thread, LISTEN/NOTIFY) hands each read
  of the queue to `FeedBridge.updated` (a queued signal); the window gives it to its models.
- A new BLAKE or emergency item is impossible to miss: a red banner naming it, its row red, a
  beep, the window raised and alerted (`QApplication.alert`), the item selected.
- Keyboard: Tab moves between the tables, the detail and the buttons; Enter acknowledges the
  selected item; Ctrl+G assign, Ctrl+N note, Ctrl+R resolve, Ctrl+E the specialist review,
  F5 reads again. Every control has an accessible name.
- Actions go to the core (`Console.acknowledge` …); a refusal is one line in the status bar.
Prompts are methods (`ask_text`, `ask_choice`) so tests can answer them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from callguide.qt.banner import date_text
from callguide.qt.i18n import has, language, tr
from callguide.store.base import StoreError
from callguide.store.sealing import Gone
from callguide.team.console import AccountView, Console, ConsoleFeed, FeedUpdate, QueueItem, counts

from .models import QueueTableModel, WorklistTableModel, _ItemsModel
from .text import kind_text, sealed_text, step_text, time_text


class FeedBridge(QObject):
    """Carries the feed's updates (feed thread) to the GUI thread."""

    updated = Signal(object)


class ConsoleWindow(QMainWindow):
    def __init__(self, console: Console, *, feed: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.setObjectName("consoleWindow")
        self.items: list[QueueItem] = []
        self.alarms: list[QueueItem] = []
        self.last_message = ""
        self.last_error: StoreError | None = None
        self.last_result: Any = None
        self.beeps = 0
        self.view: AccountView | None = None
        self.offline = False
        self._said: tuple[Callable[[], str], bool] | None = None
        #: what the person typed and the console did not keep (refused, or held back), by action and
        #: item or account: the next dialog for it opens with that text, so nothing is lost
        self.drafts: dict[tuple[str, str], str] = {}

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(12, 10, 12, 8)
        lay.setSpacing(8)

        self.alarm = QLabel()
        self.alarm.setObjectName("consoleAlarm")
        self.alarm.setWordWrap(True)
        self.alarm.setTextFormat(Qt.TextFormat.PlainText)
        self.alarm.setStyleSheet("QLabel#consoleAlarm{background:#C62828;color:white;font-weight:bold;"
                                 "font-size:16pt;padding:10px;border-radius:6px;}")
        self.alarm.hide()
        lay.addWidget(self.alarm)

        top = QHBoxLayout()
        self.counts = QLabel()
        self.counts.setObjectName("consoleCounts")
        self.counts.setStyleSheet("QLabel#consoleCounts{font-size:13pt;font-weight:bold;}")
        top.addWidget(self.counts, 1)
        lay.addLayout(top)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("consoleTabs")
        lay.addWidget(self.tabs, 1)

        # -- the queue
        self.queue_model = QueueTableModel(lambda: self.console.clock(), self)
        self.queue_view = self._table(self.queue_model, "queueTable")
        qpage = QWidget()
        ql = QVBoxLayout(qpage)
        ql.setContentsMargins(0, 6, 0, 0)
        self.item_detail = QLabel()
        self.item_detail.setObjectName("itemDetail")
        self.item_detail.setWordWrap(True)
        self.item_detail.setTextFormat(Qt.TextFormat.PlainText)
        self.item_detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.item_detail.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.item_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                                 | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.item_detail.setFrameShape(QFrame.Shape.StyledPanel)
        self.item_detail.setMargin(8)
        self.item_detail.setMinimumHeight(90)
        qsplit = QSplitter(Qt.Orientation.Vertical)
        qsplit.addWidget(self.queue_view)
        qsplit.addWidget(self.item_detail)
        qsplit.setChildrenCollapsible(False)
        qsplit.setSizes([440, 140])
        ql.addWidget(qsplit, 1)
        self.buttons: dict[str, QPushButton] = {}
        ql.addLayout(self._button_row(("acknowledge", "assign", "note", "resolve")))
        self.tabs.addTab(qpage, "")

        # -- the care team's worklist
        self.work_model = WorklistTableModel(lambda: self.console.clock(), self)
        self.work_view = self._table(self.work_model, "worklistTable")
        self.detail = QLabel()
        self.detail.setObjectName("accountDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard
                                            | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setFrameShape(QFrame.Shape.StyledPanel)
        self.detail.setMargin(10)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.work_view)
        split.addWidget(self.detail)
        self.detail.setMinimumWidth(360)
        split.setChildrenCollapsible(False)
        split.setSizes([700, 440])
        wpage = QWidget()
        wl = QVBoxLayout(wpage)
        wl.setContentsMargins(0, 6, 0, 0)
        wl.addWidget(split, 1)
        wl.addLayout(self._button_row(("acknowledge", "note", "resolve", "review", "end_hold"), suffix="_care"))
        self.tabs.addTab(wpage, "")
        self.work_view.selectionModel().currentRowChanged.connect(lambda *_: self._show_detail())
        self.tabs.currentChanged.connect(lambda *_: self._update_buttons())

        self.status = QLabel()
        self.status.setObjectName("consoleStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.status)
        self.setCentralWidget(central)

        for keys, slot in (("Ctrl+G", self.assign), ("Ctrl+N", self.note), ("Ctrl+R", self.resolve),
                           ("Ctrl+E", self.record_review), ("Ctrl+H", self.end_hold), ("F5", self.refresh)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda s=slot: s())
        for view in (self.queue_view, self.work_view):  # Enter in a table acknowledges its selected item
            for keys in ("Return", "Enter"):
                sc = QShortcut(QKeySequence(keys), view)
                sc.setContext(Qt.ShortcutContext.WidgetShortcut)
                sc.activated.connect(lambda: self.acknowledge())

        self.bridge = FeedBridge(self)
        self.bridge.updated.connect(self.apply_update, Qt.ConnectionType.QueuedConnection)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.feed: ConsoleFeed | None = None
        if feed:
            self.feed = ConsoleFeed(console, self.bridge.updated.emit).start()
        if not console.person.has("care_team") and console.person.has("supervisor"):
            self.tabs.setCurrentIndex(0)
        elif console.person.has("care_team") and not console.person.has("supervisor"):
            self.tabs.setCurrentIndex(1)
        self.retranslate()
        self.resize(1180, 680)

    # ---------------------------------------------------------------- building

    def _table(self, model: _ItemsModel, name: str) -> QTableView:
        view = QTableView()
        view.setObjectName(name)
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setTabKeyNavigation(False)  # Tab leaves the table (to the buttons), arrows move in it
        view.setAlternatingRowColors(False)
        view.verticalHeader().hide()
        view.setWordWrap(False)
        head = view.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setStretchLastSection(True)
        view.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        return view

    def _button_row(self, names: tuple[str, ...], suffix: str = "") -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        for name in names:
            b = QPushButton()
            b.setObjectName(f"{name}Button{suffix}")
            b.clicked.connect(lambda _=False, n=name: getattr(self, "record_review" if n == "review" else n)())
            self.buttons[name + suffix] = b
            row.addWidget(b)
        return row

    def retranslate(self) -> None:
        self.setWindowTitle(tr("console.title", name=self.console.person.display_name))
        self.tabs.setTabText(0, tr("console.tab.queue"))
        self.tabs.setTabText(1, tr("console.tab.care"))
        self.queue_view.setAccessibleName(tr("console.a11y.queue"))
        self.work_view.setAccessibleName(tr("console.a11y.worklist"))
        self.detail.setAccessibleName(tr("console.a11y.detail"))
        self.item_detail.setAccessibleName(tr("console.a11y.item"))
        self.alarm.setAccessibleName(tr("console.a11y.alarm"))
        self.counts.setAccessibleName(tr("console.tab.queue"))
        for key, b in self.buttons.items():
            text = tr(f"console.btn.{key.removesuffix('_care')}")
            b.setText(text)
            b.setAccessibleName(text.split(" (")[0].rstrip("…"))
        self.queue_model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.queue_model.COLUMNS) - 1)
        self.work_model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.work_model.COLUMNS) - 1)
        self._update_counts()
        self._update_alarm()
        self._update_buttons()  # the selected item's story and the account's detail, in the new language
        self._show_detail()
        if self._said is not None:
            self._say(self._said[0], error=self._said[1])

    # ---------------------------------------------------------------- the feed

    def apply_update(self, update: FeedUpdate) -> None:
        """A fresh read of the queue (GUI thread)."""
        if update.error:
            self.offline = True
            self._say(lambda: tr("console.offline", error=update.error), error=True)
            return
        if self.offline:
            self.offline = False
            self._say(lambda: tr("console.online"))
        self.set_items(update.items)
        loud = [i for i in update.new if i.alarm()]
        if loud:
            self.raise_alarm(loud)

    def set_items(self, items: list[QueueItem]) -> None:
        keep_q, keep_w = self.current_ref(self.queue_view), self.current_ref(self.work_view)
        self.items = items
        self.queue_model.set_items(items)
        self.work_model.set_items(items)
        self._select(self.queue_view, keep_q)
        self._select(self.work_view, keep_w)
        self.alarms = [i for i in items if i.alarm()]
        self._update_counts()
        self._update_alarm()
        self._update_buttons()

    def raise_alarm(self, items: list[QueueItem]) -> None:
        """New BLAKE or emergency items: banner, beep, window raised and alerted, item selected."""
        self.beeps += 1
        QApplication.beep()
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()
        QApplication.alert(self, 0)
        self.tabs.setCurrentIndex(0)
        self._select(self.queue_view, items[0].ref)
        self.queue_view.setFocus()
        self._update_alarm()
        QAccessible.updateAccessibility(QAccessibleEvent(self.alarm, QAccessible.Event.Alert))  # screen readers

    def tick(self) -> None:
        self.queue_model.tick()
        self.work_model.tick()
        self._update_counts()

    def refresh(self) -> None:
        if self.feed is not None:
            self.feed.refresh()
        else:
            self.reload()

    def reload(self) -> None:
        """Read the queue now, on this thread (no feed: tests and scripts)."""
        try:
            self.set_items(self.console.queue())
        except StoreError as e:
            self._say(lambda e=e: tr("console.offline", error=str(e)), error=True)

    def _update_counts(self) -> None:
        c = counts(self.items, self.console.clock())
        self.counts.setText(tr("console.counts", open=c.open, new=c.new, overdue=c.overdue))
        self.counts.setStyleSheet("QLabel#consoleCounts{font-size:13pt;font-weight:bold;%s}"
                                  % ("color:#B00000;" if c.overdue else ""))

    def _update_alarm(self) -> None:
        if not self.alarms:
            self.alarm.hide()
            return
        first = self.alarms[0]
        text = tr("console.alarm", kind=kind_text(first).upper(), account=first.account_id, agent=first.agent_name,
                  step=step_text(first))
        if len(self.alarms) > 1:
            text += f"  (+{len(self.alarms) - 1})"
        self.alarm.setText(text)
        self.alarm.setAccessibleDescription(text)
        self.alarm.show()

    # ---------------------------------------------------------------- selection

    def current_ref(self, view: QTableView) -> str | None:
        idx = view.currentIndex()
        model: _ItemsModel = view.model()  # type: ignore[assignment]
        item = model.item(idx.row()) if idx.isValid() else None
        return item.ref if item else None

    def _select(self, view: QTableView, ref: str | None) -> None:
        model: _ItemsModel = view.model()  # type: ignore[assignment]
        row = model.row_of(ref) if ref else -1
        if row < 0 and model.items:
            row = 0
        if row >= 0:
            view.setCurrentIndex(model.index(row, 0))
            view.selectRow(row)

    def selected(self) -> QueueItem | None:
        view = self.queue_view if self.tabs.currentIndex() == 0 else self.work_view
        model: _ItemsModel = view.model()  # type: ignore[assignment]
        idx = view.currentIndex()
        return model.item(idx.row()) if idx.isValid() else None

    def select_ref(self, ref: str) -> None:
        """Select an item: in the current tab when it is there, else in the other."""
        current = self.tabs.currentIndex()
        for i in (current, 1 - current):
            view = (self.queue_view, self.work_view)[i]
            model: _ItemsModel = view.model()  # type: ignore[assignment]
            if model.row_of(ref) >= 0:
                self.tabs.setCurrentIndex(i)
                self._select(view, ref)
                return

    def item_text(self, item: QueueItem) -> str:
        """The selected item's story: raised, acknowledged, assigned, notes, resolved."""
        now = self.console.clock()
        lines = [f"{kind_text(item)} · {tr('console.col.account')} {item.account_id} · {item.agent_name} · "
                 f"{step_text(item)} · {time_text(item.raised, now)}"]
        if item.reason is None or item.reason:
            lines.append(sealed_text(item.reason))
        if item.acknowledged:
            lines.append(tr("console.history.acknowledged", name=item.acknowledged.name,
                            time=time_text(item.acknowledged.at, now)))
        if item.assigned:
            lines.append(tr("console.history.assigned", name=item.assigned.to_name or item.assigned.to or "",
                            by=item.assigned.name, time=time_text(item.assigned.at, now)))
        for n in item.notes:
            lines.append(tr("console.history.note", name=n.name, time=time_text(n.at, now),
                            text=sealed_text(n.text)))
        if item.resolved:
            text = item.resolved.text
            lines.append(tr("console.history.resolved", name=item.resolved.name, time=time_text(item.resolved.at, now),
                            text=sealed_text(text, "—")))
        return "\n".join(lines)

    def _update_buttons(self) -> None:
        idx = self.queue_view.currentIndex()
        shown = self.queue_model.item(idx.row()) if idx.isValid() else None
        self.item_detail.setText(self.item_text(shown) if shown else "")
        item = self.selected()
        may = item is not None and self.console.can_write and self.console.may_act(item)
        for key, b in self.buttons.items():
            name = key.removesuffix("_care")
            if name == "review":
                b.setEnabled(bool(item) and self.console.person.has("care_team"))
            elif name == "end_hold":
                b.setEnabled(bool(item) and self.console.can_write and self.view is not None
                             and item is not None and self.view.account_id == item.account_id
                             and bool(self.view.state.holds))
            elif name == "acknowledge":
                b.setEnabled(may and item is not None and item.acknowledged is None and item.open)
            elif name == "note":
                b.setEnabled(may)
            else:
                b.setEnabled(may and item is not None and item.open)
        if self.tabs.currentIndex() == 1:
            self._show_detail()

    # ---------------------------------------------------------------- the care team's detail

    def _show_detail(self) -> None:
        idx = self.work_view.currentIndex()
        item = self.work_model.item(idx.row()) if idx.isValid() else None
        if item is None:
            self.view = None
            self.detail.setText("")
            return
        if self.view is None or self.view.account_id != item.account_id:
            try:
                self.view = self.console.account(item.account_id)
            except StoreError as e:
                self.detail.setText(tr("console.offline", error=str(e)))
                return
        self.detail.setText(self.detail_text(self.view))
        hold = self.buttons.get("end_hold_care")
        if hold is not None:
            hold.setEnabled(self.console.can_write and bool(self.view.state.holds))

    def detail_text(self, view: AccountView) -> str:
        s = view.state
        lines = [tr("console.detail.title", id=view.account_id), ""]
        if s.capacity_doubts:
            lines.append(tr("console.detail.doubt_open"))
        for r in s.capacity_reviews:
            result = tr(f"console.review.{r.get('result')}") if r.get("result") in ("confirmed", "not_confirmed") \
                else str(r.get("result"))
            lines.append(tr("console.detail.review", name=r.get("name") or r.get("by") or "", date=date_text(
                str(r.get("ts", ""))[:10]), result=result))
        for c in s.crises:
            lines.append(tr("console.detail.crisis", date=date_text(c.get("review_date"))))
        lines += ["", tr("console.detail.consented")]
        for c in view.consented:
            fields = ", ".join(f"{k}: {v}" for k, v in (c.get("fields") or {}).items())
            cat = str(c.get("category") or "").replace("_", " ")
            lines.append(f"• {cat}{': ' if cat and fields else ''}{fields}")
        if not view.consented and not view.sealed and not view.gone:
            lines.append(tr("console.detail.nothing"))
        for c in view.gone:  # withdrawn (or erased, purged) on DATE, in the reader's language
            lines.append(tr("console.detail.gone", fields=", ".join(c.get("fields") or []) or "—",
                            date=date_text(c.get("review_date")),
                            gone=str(Gone(str(c.get("how")), c.get("on"), language()))))
        for c in view.sealed:
            lines.append(tr("console.detail.sealed", fields=", ".join(c.get("fields") or []) or "—",
                            date=date_text(c.get("review_date"))))
        if view.withheld:
            lines.append(tr("console.detail.withheld", n=view.withheld))
        lines += ["", tr("console.detail.holds")]
        lines += [tr("console.detail.hold", until=date_text(h.get("until")), reason=h.get("reason") or "—")
                  for h in s.holds] or [tr("console.detail.none")]
        lines += ["", tr("console.detail.callbacks")]
        lines += [tr("console.detail.callback", due=date_text(c.get("due")), reason=c.get("reason") or "—")
                  for c in s.callbacks] or [tr("console.detail.none")]
        return "\n".join(lines)

    # ---------------------------------------------------------------- actions

    def ask_text(self, prompt: str, *, required: bool, text: str = "") -> str | None:
        text, ok = QInputDialog.getMultiLineText(self, self.windowTitle(), prompt, text)
        if not ok or (required and not text.strip()):
            return None
        return text

    def ask_choice(self, prompt: str, choices: list[tuple[str, str]]) -> str | None:
        labels = [label for _, label in choices]
        label, ok = QInputDialog.getItem(self, self.windowTitle(), prompt, labels, 0, False)
        if not ok:
            return None
        return next((value for value, lab in choices if lab == label), None)

    def _say(self, text: Callable[[], str], *, error: bool = False) -> None:
        """Show a one-line result; `text` makes it in the current language (again on retranslate)."""
        self._said = (text, error)
        self.last_message = text()
        self.status.setText(self.last_message)
        # a wrapped line gets its height (a long refusal in Danish or Czech takes two lines)
        self.status.setMinimumHeight(self.status.heightForWidth(max(self.status.width(), 200)))
        self.status.setStyleSheet("color:#B00000;font-weight:bold;" if error else "color:#1B5E20;")

    def error_text(self, e: StoreError) -> str:
        """A refusal in the UI language when the core gave its code, else its own line."""
        code = getattr(e, "code", None)
        key = f"console.err.{code}"
        if code and has(key):
            return tr("console.error", error=tr(key, **{k: str(v) for k, v in getattr(e, "params", {}).items()}))
        if e.kind == "offline":
            return tr("console.offline", error=str(e))
        return tr("console.error", error=str(e))

    def _run(self, fn: Any, done: Callable[[], str]) -> bool:
        self.last_error = self.last_result = None
        try:
            result = fn()
        except StoreError as e:
            self.last_error = e
            self._say(lambda e=e: self.error_text(e), error=True)
            return False
        self.last_result = result
        if getattr(result, "held_back", False):
            self._say(lambda: tr("console.done.held_back"), error=True)
        elif getattr(result, "sealed_under", None):
            self._say(lambda: (done() if result.synced else tr("console.done.pending")) + " " + tr("console.done.sealed"))
        else:
            self._say(done if result.synced else (lambda: tr("console.done.pending")), error=False)
        self.view = None
        self.refresh()
        return True

    def _problem(self, e: StoreError | None) -> Callable[[], str] | None:
        return None if e is None else (lambda: self.error_text(e))

    def _typed(self, key: tuple[str, str], prompt: Callable[[], str], text: str | None, *, required: bool,
               run: Callable[[str], Any], done: Callable[[], str]) -> bool:
        """An action with a typed text. The text follows the typed-text rule (`team.console.check_typed`):
        refused, the dialog opens again with the reason above it and the text as typed; held back (a
        note), the text is kept for the next note. `text` given (tests, scripts): no dialog."""
        asked = text is None
        problem: Callable[[], str] | None = None
        while True:
            if asked:
                why = (problem() + "\n\n") if problem is not None else ""
                text = self.ask_text(why + prompt(), required=required, text=self.drafts.get(key, ""))
                if text is None:
                    return False  # cancelled: a refused draft stays for the next time
            typed = text or ""
            ok = self._run(lambda t=typed: run(t), done)
            if ok:
                if getattr(self.last_result, "held_back", False):
                    self.drafts[key] = typed
                else:
                    self.drafts.pop(key, None)
                return True
            if getattr(self.last_error, "code", None) not in ("text_sensitive", "words_unreadable"):
                return False
            self.drafts[key] = typed  # refused for what it says: nothing written, nothing lost
            if not asked:
                return False
            problem = self._problem(self.last_error)
            text = None

    def _item(self) -> QueueItem | None:
        item = self.selected()
        if item is None:
            self._say(lambda: tr("console.none_selected"), error=True)
        return item

    def acknowledge(self) -> bool:
        item = self._item()
        if item is None:
            return False
        return self._run(lambda: self.console.acknowledge(item), lambda: tr("console.done.acknowledged",
                                                                   agent=item.agent_name))

    def assign(self, person_id: str | None = None) -> bool:
        item = self._item()
        if item is None:
            return False
        if person_id is None:
            try:
                people = [(p[0], p[1]) for p in self.console.people() if set(item.level.roles) & set(p[2])]
            except StoreError as e:
                self._say(lambda e=e: self.error_text(e), error=True)
                return False
            person_id = self.ask_choice(tr("console.prompt.assign"), people)
            if person_id is None:
                return False
        return self._run(lambda: self.console.assign(item, person_id), lambda: tr("console.done.saved"))

    def note(self, text: str | None = None) -> bool:
        item = self._item()
        if item is None:
            return False
        return self._typed(("note", item.ref), lambda: tr("console.prompt.note"), text, required=True,
                           run=lambda t: self.console.note(item, t), done=lambda: tr("console.done.saved"))

    def resolve(self, text: str | None = None) -> bool:
        item = self._item()
        if item is None:
            return False
        return self._typed(("resolve", item.ref), lambda: tr("console.prompt.resolve"), text, required=False,
                           run=lambda t: self.console.resolve(item, t), done=lambda: tr("console.done.saved"))

    def record_review(self, result: str | None = None, note: str | None = None) -> bool:
        """The specialist review that closes (or keeps) the selected account's capacity doubt."""
        item = self._item()
        if item is None:
            return False
        if result is None:
            result = self.ask_choice(tr("console.prompt.review_result"),
                                     [(r, tr(f"console.review.{r}")) for r in ("confirmed", "not_confirmed")])
            if result is None:
                return False
        account = item.account_id
        chosen = result
        if not self._typed(("review", account), lambda: tr("console.prompt.review_note"), note, required=False,
                           run=lambda t: self.console.record_review("capacity", account, chosen, t),
                           done=lambda: tr("console.done.review", meaning=tr(f"console.review.{chosen}"))):
            return False
        self.view = None
        self._show_detail()
        return True

    def end_hold(self, reason: str | None = None) -> bool:
        """The hold decision: end the selected account's hold, saying why."""
        item = self._item()
        if item is None:
            return False
        account = item.account_id
        return self._typed(("end_hold", account), lambda: tr("console.prompt.end_hold"), reason, required=True,
                           run=lambda t: self.console.end_hold(account, t),
                           done=lambda: tr("console.done.hold_ended", account=account)) and self._refresh_detail()

    def _refresh_detail(self) -> bool:
        self.view = None
        self._show_detail()
        self._update_buttons()
        return True

    # ---------------------------------------------------------------- closing

    def closeEvent(self, event: Any) -> None:
        self.timer.stop()
        if self.feed is not None:
            self.feed.stop()
            self.feed = None
        super().closeEvent(event)
