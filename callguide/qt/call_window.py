"""`CallWindow`: the agent's live-call window.

Header (customer, account, balance, call timer, language, large text, wrap up), a page
stack (the account banner before hello, the call itself: step panel + side column,
the wrap-up, the emergency script after F8), the always-visible call bar, and a one-line
error strip. It takes a running `CallSession`, wraps it in a `SessionBridge`, and holds no
call state itself. Errors from the core are one line in the error strip, never a
traceback; nothing already journalled is lost.

Keyboard and focus (an agent on a live call uses the keyboard): after anything that changes
the step, the focus is on the step's first input, never on the header or the call bar; Tab
walks the step, then the side column, then the header, and never into the call bar (its
buttons have F-keys); the call's language changes only from its menu (Ctrl+L opens it), never
from an arrow key on a focused box.

Narrow windows (960x640, large text, Danish and Czech): nothing an agent needs is cut. The header's
name is elided with the full name in its tooltip and accessible name, the account line wraps, the
wrap-up button puts its keys under its words (`FitButton`); the banner page scrolls with "Begin the
call" in a bar at its foot; the side column's minimum width follows the text size.

Staged start: `CallWindow(None, account={...})` is the window before the engine exists
(header and the banner page with "Loading flows…", "Begin the call" disabled), built from
light imports only; `attach(session)` adds the call itself once the journal, flows and
engine are loaded. `CallWindow(session)` does both at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QActionGroup, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from callguide.qt import i18n, style
from callguide.qt.i18n import tr
from callguide.qt.widgets import EnterButton, FitButton, FitLabel

if TYPE_CHECKING:  # the engine stack loads after the first paint (see attach)
    from callguide.engine.session import CallSession

PAGE_BANNER, PAGE_CALL, PAGE_WRAP, PAGE_EMERGENCY = 0, 1, 2, 3
LANG_NAMES = {"en": "English", "da": "Dansk", "cs": "Čeština"}  # each in its own language, for the switch
COUNTRY_LANG = {"UK": "en", "DK": "da", "CZ": "cs"}
COUNTRY_CURRENCY = {"UK": "GBP", "DK": "DKK", "CZ": "CZK"}  # as the engine's Account; shown before it loads


class CallWindow(QMainWindow):
    """One call. `CallWindow(session, large_text=False, resumed=False)`; or, before the engine is
    loaded, `CallWindow(None, account={"account_id", "name", "country", "lang", "balance"})` and
    later `attach(session)`."""

    call_closed = Signal()
    ready = Signal()  # a session is attached: "Begin the call" works

    def __init__(self, session: CallSession | None = None, *, account: dict[str, Any] | None = None,
                 large_text: bool = False, resumed: bool = False, demo: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: Any = None
        self.bridge: Any = None
        self.resumed = resumed
        self.demo = demo
        self._account = dict(account or {})
        lang = session.lang if session is not None else self._account.get("lang")
        if not lang:
            lang = COUNTRY_LANG.get(str(self._account.get("country") or "UK").upper(), "en")
        i18n.set_language(lang if lang in i18n.LANGS else "en")
        self.setObjectName("callWindow")
        self.setWindowIcon(QIcon(str(style.icon_path())))
        self.resize(1280, 860)
        screen = self.screen()
        if screen is not None:  # a thin client's 1366x768: the window fits the screen, never taller than it
            room = screen.availableGeometry()
            self.resize(min(1280, room.width()), min(860, room.height()))
        self.setMinimumSize(960, 640)

        central = QWidget()
        central.setObjectName("central")
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self._root = root
        self.setCentralWidget(central)

        # ---------------------------------------------------------------- header
        header = QFrame()
        header.setObjectName("header")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(20, 10, 20, 10)
        hl.setSpacing(14)
        # at a 960 px window with large text the header is narrow: the name is elided (the full name in
        # its tooltip), the account line wraps, the wrap-up button puts its keys under its words
        self.customer = FitLabel()
        self.customer.setObjectName("customerName")
        self.account_line = QLabel()
        self.account_line.setObjectName("accountLine")
        self.account_line.setWordWrap(True)
        self.account_line.setMinimumWidth(120)
        who = QVBoxLayout()
        who.setSpacing(0)
        who.addWidget(self.customer)
        who.addWidget(self.account_line)
        hl.addLayout(who, 1)
        self.state_chip = QLabel()
        self.state_chip.setObjectName("stateChip")
        self.state_chip.setWordWrap(True)
        self.state_chip.setContentsMargins(20, 6, 20, 6)
        self.state_chip.hide()
        self.timer_label = QLabel("00:00")
        self.timer_label.setObjectName("timer")
        hl.addWidget(self.timer_label)
        # the call's language: a menu, so that only an explicit choice changes a live call
        self.lang_button = QToolButton()
        self.lang_button.setObjectName("langButton")
        self.lang_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.lang_menu = QMenu(self.lang_button)
        self.lang_menu.setObjectName("langMenu")
        group = QActionGroup(self.lang_menu)
        group.setExclusive(True)
        self.lang_actions: dict[str, Any] = {}
        for code in i18n.LANGS:
            act = self.lang_menu.addAction(LANG_NAMES[code])
            act.setCheckable(True)
            act.setData(code)
            group.addAction(act)
            act.triggered.connect(lambda _=False, c=code: self.set_language(c))
            self.lang_actions[code] = act
        self.lang_button.setMenu(self.lang_menu)
        hl.addWidget(self.lang_button)
        self.large_check = QCheckBox()
        self.large_check.setObjectName("largeCheck")
        self.large_check.setChecked(large_text)
        self.large_check.toggled.connect(self.set_large_text)
        hl.addWidget(self.large_check)
        self.wrap_button = FitButton()
        self.wrap_button.setObjectName("quietButton")
        self.wrap_button.clicked.connect(self.show_wrap_up)
        self.wrap_button.setEnabled(False)
        wrap_col = QVBoxLayout()  # centred, as tall as its lines (two when narrow), never stretched to the header
        wrap_col.addStretch(1)
        wrap_col.addWidget(self.wrap_button)
        wrap_col.addStretch(1)
        hl.addLayout(wrap_col)
        root.addWidget(header)
        self.demo_strip = QLabel()
        self.demo_strip.setObjectName("demoStrip")
        self.demo_strip.setWordWrap(True)
        self.demo_strip.setVisible(demo)
        root.addWidget(self.demo_strip)
        root.addWidget(self.state_chip)  # a full-width strip under the header: never cut, never missed

        self.error_strip = QLabel()
        self.error_strip.setObjectName("errorStrip")
        self.error_strip.setWordWrap(True)
        self.error_strip.hide()
        root.addWidget(self.error_strip)
        self.info_strip = QLabel()
        self.info_strip.setObjectName("infoStrip")
        self.info_strip.setWordWrap(True)
        self.info_strip.hide()
        root.addWidget(self.info_strip)

        # ---------------------------------------------------------------- pages (the banner first)
        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")
        # the banner page scrolls (a long history at 960x640 with large text); "Begin the call" is in a
        # bar at its foot, always on screen, where the call page has its Next button
        banner_page = QWidget()
        banner_page.setObjectName("stepInner")
        page_col = QVBoxLayout(banner_page)
        page_col.setContentsMargins(0, 0, 0, 0)
        page_col.setSpacing(0)
        self.banner_scroll = QScrollArea()
        self.banner_scroll.setObjectName("stepScroll")
        self.banner_scroll.setWidgetResizable(True)
        self.banner_scroll.setFrameShape(QFrame.Shape.NoFrame)
        banner_inner = QWidget()
        banner_inner.setObjectName("stepInner")
        self.banner_scroll.setWidget(banner_inner)
        page_col.addWidget(self.banner_scroll, 1)
        bl = QVBoxLayout(banner_inner)
        bl.setContentsMargins(48, 32, 48, 32)
        bl.setSpacing(18)
        self._banner_layout = bl
        self.banner_heading = QLabel()
        self.banner_heading.setObjectName("pageTitle")
        self.banner_heading.setWordWrap(True)
        bl.addWidget(self.banner_heading)
        self.banner: Any = None
        self.loading = QLabel()  # quiet, until the journal, flows and engine are loaded
        self.loading.setObjectName("muted")
        bl.addWidget(self.loading)
        self.begin_button = EnterButton()
        self.begin_button.setObjectName("nextButton")
        self.begin_button.clicked.connect(self.begin_call)
        self.begin_button.setEnabled(False)
        begin_bar = QFrame()
        begin_bar.setObjectName("navBar")
        begin_row = QHBoxLayout(begin_bar)  # (left-aligned by a stretch: the Qt enum namespace costs ~15 ms to import)
        begin_row.setContentsMargins(48, 10, 48, 12)
        begin_row.addWidget(self.begin_button)
        begin_row.addStretch(1)
        bl.addStretch(1)
        page_col.addWidget(begin_bar)
        self.pages.addWidget(banner_page)
        root.addWidget(self.pages, 1)

        self.status = QLabel()
        self.status.setObjectName("statusLine")
        self.statusBar().addWidget(self.status, 1)

        self._shortcuts = []
        for key, fn in (("Ctrl+Shift+W", self.show_wrap_up), ("Ctrl+L", self.open_language_menu),
                        ("Ctrl+Shift+L", lambda: self.large_check.toggle()), ("Ctrl+R", self.retry_writes)):
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(fn)
            self._shortcuts.append(sc)
        self._begin_keys = []
        for key in ("Return", "Enter"):
            sc = QShortcut(QKeySequence(key), self)  # enabled only while the banner is shown
            sc.activated.connect(self.begin_call)
            self._begin_keys.append(sc)
        self.pages.currentChanged.connect(lambda i: [k.setEnabled(i == PAGE_BANNER) for k in self._begin_keys])

        self._t0 = time.monotonic()
        self._started = self._t0
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

        style.apply(large_text)
        self.pages.setCurrentIndex(PAGE_BANNER)
        self.begin_button.setFocus()
        self.retranslate()
        if session is not None:
            self.attach(session, resumed=resumed)

    def attach(self, session: CallSession, *, resumed: bool | None = None) -> None:
        """Add the call itself: the step panel and side column, the wrap-up, the call bar."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QSplitter

        from callguide.qt.banner import AccountBanner, use_flows
        from callguide.qt.bridge import SessionBridge
        from callguide.qt.call_bar import CallBar
        from callguide.qt.emergency import EmergencyPanel
        from callguide.qt.side_panel import SidePanel
        from callguide.qt.step_panel import StepPanel
        from callguide.qt.wrap_up import WrapUpPanel

        if self.session is not None:
            raise RuntimeError("a session is already attached to this window")
        if resumed is not None:
            self.resumed = resumed
        self.session = session
        self.bridge = SessionBridge(session, self)
        i18n.set_language(session.lang if session.lang in i18n.LANGS else "en")
        self._check_language(i18n.language())

        use_flows(session.flows)
        self.banner = AccountBanner(session.history)
        self._banner_layout.insertWidget(1, self.banner)
        self.loading.hide()

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("callSplit")
        self.step_panel = StepPanel(self.bridge)
        self.side = SidePanel(self.bridge)
        self.split.addWidget(self.step_panel)
        self.split.addWidget(self.side)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([900, 340])
        self.split.setChildrenCollapsible(False)
        self.side.fit_to_font(self.large_check.isChecked())
        self.pages.addWidget(self.split)
        self.banner_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.wrap_panel = WrapUpPanel(self.bridge)
        self.wrap_panel.back_to_call.clicked.connect(lambda: self.pages.setCurrentIndex(PAGE_CALL))
        self.wrap_panel.closed.connect(self._on_closed)
        self.wrap_panel.done_button.clicked.connect(self.close)
        self.pages.addWidget(self.wrap_panel)

        self.emergency_panel = EmergencyPanel()
        self.emergency_panel.back.connect(self.back_to_call)
        self.pages.addWidget(self.emergency_panel)

        self.call_bar = CallBar(self.bridge)
        self.call_bar.escalated.connect(self._on_escalated)
        self.call_bar.lend_keys(self.lang_menu, self.lang_menu.close)  # F5 with the menu open: BLAKE, not lost
        self._root.addWidget(self.call_bar)
        self.banner.show()  # added to a window that may already be on screen
        self.call_bar.show()

        # focus: header controls are reached by Tab (and their shortcuts), never by a click that
        # would take the focus away from the step; the call bar only by its F-keys
        for w in (self.lang_button, self.large_check, self.wrap_button):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.step_panel.painted.connect(self._fix_tab_order)
        self.side.note_saved.connect(self.step_panel.restore_focus)
        self.side.consent_withdrawn.connect(self._on_withdrawn)
        self.wrap_panel.back_to_call.clicked.connect(self.step_panel.focus_step)

        self.bridge.changed.connect(self._on_changed)
        self.bridge.failed.connect(self.show_error)
        self.bridge.blocked.connect(self._on_blocked)
        self.side.notices.withheld_key.connect(self.show_info)  # F4 while HARMED awaits review: what to do
        for problem in session.facts.problems[-1:]:  # met before the window listened (the first step)
            self._on_blocked({"rule": "flow-problem", "action": f"{problem['what']}:", "where": problem["where"]})
        self.bridge.entries_written.connect(self._on_written)
        self.bridge.received.connect(self._on_received)

        self._t0 = time.monotonic()
        self._started = self._call_start()
        self._timer.start()
        self.wrap_button.setEnabled(True)
        self.begin_button.setEnabled(True)
        for k in self._begin_keys:
            k.setEnabled(not self.resumed)
        if self.resumed:
            self.pages.setCurrentIndex(PAGE_CALL)
            self.show_info(tr("win.resumed"))
        else:
            self.pages.setCurrentIndex(PAGE_BANNER)
            if self.isVisible():
                self.begin_button.setFocus()
        self.retranslate()
        self._route()
        self.ready.emit()

    # ------------------------------------------------------------------ public

    def begin_call(self) -> None:
        if self.session is None:
            return
        if self.pages.currentIndex() == PAGE_BANNER:
            self.pages.setCurrentIndex(PAGE_CALL)
            self.bridge.push_view()  # the banner may have been read for a while: the view as of now
            self.step_panel.focus_step()

    def back_to_call(self) -> None:
        """From the emergency script (or the wrap-up) back to the step the call is on."""
        if self.session is None:
            return
        if self.session.ended or not self.session.stack:
            self._route()
            return
        self.pages.setCurrentIndex(PAGE_CALL)
        self.step_panel.focus_step()

    def open_language_menu(self) -> None:
        """Ctrl+L: the language menu, at its button. Choosing an entry (Enter or a click) changes it."""
        self.lang_menu.popup(self.lang_button.mapToGlobal(self.lang_button.rect().bottomLeft()))
        active = self.lang_actions.get(i18n.language())
        if active is not None:
            self.lang_menu.setActiveAction(active)

    def show_wrap_up(self) -> None:
        if self.session is None:
            return
        self.bridge.push_view()  # the view as of now (the gate's answer for each outcome may depend on the time)
        self.wrap_panel.refresh()
        self.pages.setCurrentIndex(PAGE_WRAP)
        self.wrap_panel.confirm.setFocus()

    def set_language(self, lang: str) -> None:
        if lang not in i18n.LANGS:
            return
        if self.session is None:
            self._account["lang"] = lang  # the call will start in it
        elif not self.session.ended and lang != self.session.lang:
            from callguide.engine.commands import ChangeLanguage  # the engine loads after the first paint

            self.bridge.apply(ChangeLanguage(lang))
        i18n.set_language(lang)
        self._check_language(lang)
        self.retranslate()

    def set_large_text(self, on: bool) -> None:
        style.apply(on)
        if self.session is not None:
            self.side.fit_to_font(on)
        for b in self.findChildren(FitButton):  # wrap (and elide) again for the new font
            b.refit()
        for lab in self.findChildren(FitLabel):
            lab.refit()
        self._update_state_chip()
        if self.large_check.isChecked() != on:
            self.large_check.setChecked(on)

    def show_error(self, message: str) -> None:
        text = tr("win.error_prefix") + " " + message
        waiting = self.session.unsaved if self.session is not None else 0
        if waiting:
            text += " " + tr("win.unsaved", n=waiting)
        self.error_strip.setText(text)
        self.error_strip.show()
        self._show_saved()

    def retry_writes(self) -> None:
        """Ctrl+R: write entries a failed journal write left waiting (the engine keeps them, in order)."""
        if self.session is not None and self.session.unsaved:
            self.bridge.retry_writes()

    def show_info(self, message: str) -> None:
        self.info_strip.setText(message)
        self.info_strip.setVisible(bool(message))

    def account_values(self) -> dict[str, Any]:
        """The account this window was opened for (before a session exists), incl. a language change."""
        return dict(self._account)

    def retranslate(self) -> None:
        if self.session is not None:
            from callguide.formatting import format_money

            a = self.session.account
            aid, name, country = a.id, a.name, a.country
            amount = getattr(a, "balance", None)
            balance = format_money(amount, a.currency, i18n.language()) if self._balance_known() else ""
        else:  # before the engine (and Babel) are loaded: the amount as it was given
            aid = str(self._account.get("account_id") or "")
            name = str(self._account.get("name") or "")
            country = str(self._account.get("country") or "UK").upper()
            given = str(self._account.get("balance") or "").strip()
            balance = f"{given} {COUNTRY_CURRENCY.get(country, '')}".strip() if given else ""
        balance = balance or tr("win.balance_unknown")
        title = tr("win.title", name=name or aid)
        self.setWindowTitle(f"DEMO · {title}" if self.demo else title)
        self.customer.setText(name or aid)
        line = tr("win.account_line", id=aid,
                  country=tr(f"country.{country}") if i18n.has(f"country.{country}") else country, balance=balance)
        self.account_line.setText(line)
        self.account_line.setAccessibleName(line)
        self.account_line.setToolTip(line)
        self.lang_button.setText(LANG_NAMES.get(i18n.language(), i18n.language()))
        self.lang_button.setAccessibleName(tr("win.language") + ": " + LANG_NAMES.get(i18n.language(), ""))
        self.lang_button.setToolTip(tr("win.language") + "  (Ctrl+L)")
        self.lang_menu.setTitle(tr("win.language"))
        self.demo_strip.setText(tr("win.demo"))
        self.large_check.setText(tr("win.large_text"))
        self.large_check.setAccessibleName(tr("win.large_text"))
        self.wrap_button.setText(tr("win.wrap_up") + "    Ctrl+Shift+W")
        self.wrap_button.setAccessibleName(tr("win.wrap_up"))
        self.timer_label.setAccessibleName(tr("win.timer"))
        self.state_chip.setAccessibleName(tr("win.call_state"))
        self.error_strip.setAccessibleName(tr("win.error"))
        self.banner_heading.setText(tr("banner.heading", name=name or aid))
        self.loading.setText(tr("app.loading"))
        self.begin_button.setText(tr("banner.begin") + "    \u21b5")
        self.begin_button.setAccessibleName(tr("banner.begin"))
        if self.session is not None:
            self.banner.retranslate()
            self.step_panel.retranslate()
            self.side.retranslate()
            self.call_bar.refresh()
            self.wrap_panel.refresh()
            self.emergency_panel.retranslate()
            if self.info_strip.isVisible() and self.resumed:
                self.show_info(tr("win.resumed"))
            self._update_state_chip()
            self._show_saved()
        self._tick()

    # ------------------------------------------------------------------ reacting

    def _on_changed(self, op: str) -> None:
        from callguide.qt.banner import ended_consents

        self.error_strip.hide()
        self.banner.set_ended(ended_consents(self.session.history, self.bridge.view))
        if op not in ("note", "flag", "lang", "team") and self.pages.currentIndex() == PAGE_BANNER:
            self.pages.setCurrentIndex(PAGE_CALL)
        elif (op == "interrupt" and self.pages.currentIndex() in (PAGE_WRAP, PAGE_EMERGENCY)
              and not self.session.ended and self.session.stack):
            # the agent started a protocol (F5 BLAKE from the wrap-up, say): its step is what to say
            # now, on screen with the focus on it, never behind the page the agent was reading
            self.pages.setCurrentIndex(PAGE_CALL)
            self.step_panel.focus_step()
        self._update_state_chip()
        self._route()

    def _route(self) -> None:
        s = self.session
        if s.ended or (not s.stack and self.pages.currentIndex() != PAGE_BANNER):
            self.wrap_panel.refresh()
            if self.pages.currentIndex() != PAGE_WRAP:
                self.pages.setCurrentIndex(PAGE_WRAP)
                self.wrap_panel.confirm.setFocus()
        elif self.pages.currentIndex() == PAGE_WRAP:
            self.wrap_panel.refresh()

    def _on_blocked(self, record: dict) -> None:
        """A flow's text or condition failed at run time: say so on the error strip (after the
        operation that met it has repainted the window, which clears the strip)."""
        if record.get("rule") != "flow-problem":
            return
        what = "condition" if str(record.get("action", "")).startswith("condition:") else "text"
        line = tr(f"win.flow_problem_{what}", where=record.get("where") or "?")
        QTimer.singleShot(0, lambda: self._show_problem(line))

    def _show_problem(self, line: str) -> None:
        self.error_strip.setText(line)  # not "Not saved": everything was saved; the flow has a fault
        self.error_strip.show()

    def _on_received(self, raised: list[str], ended: list[str]) -> None:
        """Recorded elsewhere on the account while this call ran (the team store, or another window or
        `privacy withdraw` on this journal): the call has taken it up; say what, in one line."""
        what = [tr(f"kind.{k}") for k in raised] + [tr("team.consent_ended", purpose=tr(f"name.{p}")) for p in ended]
        if what:
            self.show_info(tr("team.raised", what=", ".join(what)))
            self.call_bar.refresh()
            for banner in (self.banner, getattr(self.side, "history", None)):  # the account's register, as read
                if banner is not None:
                    banner.retranslate()

    def _on_withdrawn(self, purpose: str) -> None:
        """A consent withdrawn from the side column: say what it did, and back to the step."""
        from callguide.qt.banner import _name

        self.show_info(tr("side.withdrawn", purpose=_name(purpose)))
        self.step_panel.restore_focus()

    def _on_written(self, n: int) -> None:
        import datetime as dt

        self._saved_at = dt.datetime.now().strftime("%H:%M:%S")
        self._show_saved()

    def _show_saved(self) -> None:
        if self.session is not None and getattr(self, "_saved_at", None):
            n, waiting = len(self.session.records), self.session.unsaved
            # never "Saved" while records wait for the journal (a lock, a full disk): they are not
            self.status.setText(tr("win.saved_waiting", waiting=waiting, n=n, time=self._saved_at)
                                if waiting else tr("win.saved", n=n, time=self._saved_at))

    def _on_escalated(self, kind: str) -> None:
        if kind == "emergency":  # the script in the main pane says it all: no second line above it
            self.emergency_panel.show_for(self.session.signposts(), self.session.lang)
            self.pages.setCurrentIndex(PAGE_EMERGENCY)
            self.emergency_panel.back_button.setFocus()
        else:
            self.show_info(tr(f"win.escalated_{kind}"))

    def _on_closed(self) -> None:
        self._timer.stop()
        self.call_bar.refresh()
        self.show_info(tr("win.closed"))
        self.call_closed.emit()

    def _update_state_chip(self) -> None:
        if self.session is None:
            return
        st = self.session.state
        parts = []  # every state that is on, most serious first: one hidden behind another is missed
        if st.crisis:
            parts.append(tr("chip.crisis"))
        if st.capacity_doubt:
            parts.append(tr("chip.capacity"))
        if getattr(st, "dispute", False):
            parts.append(tr("chip.dispute"))
        if st.hold_active:
            from callguide.qt.banner import date_text

            parts.append(tr("chip.hold", until=date_text(st.hold_until)))
        if getattr(st, "contact_refused", False):
            parts.append(tr("chip.contact", local_time=st.local_time or "?"))
        text = "   \u00b7   ".join(parts)
        name = "stateChipRed" if (st.crisis or st.capacity_doubt) else ("stateChipAmber" if parts else "stateChip")
        self.state_chip.setText(text)
        self.state_chip.setVisible(bool(text))
        if self.state_chip.objectName() != name or getattr(self, "_chip_large", None) != self.large_check.isChecked():
            self._chip_large = self.large_check.isChecked()  # (a style pass costs; only when it changes)
            self.state_chip.setObjectName(name)
            self.state_chip.style().unpolish(self.state_chip)
            self.state_chip.style().polish(self.state_chip)
            self.state_chip.updateGeometry()  # its padding changed with its style

    def _call_start(self) -> float:
        import datetime as dt

        if self.resumed and self.session.records:
            try:
                ts = dt.datetime.fromisoformat(self.session.records[0]["ts"])
                return time.monotonic() - max(0.0, (dt.datetime.now(dt.UTC) - ts).total_seconds())
            except (ValueError, TypeError, KeyError):
                pass
        return self._t0

    def _tick(self) -> None:
        secs = int(time.monotonic() - self._started)
        h, rem = divmod(secs, 3600)
        m, s = divmod(rem, 60)
        self.timer_label.setText(f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}")

    def _check_language(self, lang: str) -> None:
        act = self.lang_actions.get(lang)
        if act is not None and not act.isChecked():
            act.setChecked(True)
        self.lang_button.setText(LANG_NAMES.get(lang, lang))

    def _balance_known(self) -> bool:
        """The balance was given (an account opened without one shows "unknown", never 0.00)."""
        # opened from the values the agent or the dialer gave: were they given a balance?
        given = bool(str(self._account.get("balance") or "").strip()) if self._account else True
        if self.session is None:
            return given
        return given and getattr(self.session.account, "balance", None) is not None

    def tab_chain(self) -> list[QWidget]:
        """The order Tab walks on the call page: the step, the side column, the header. The call
        bar is not in it (F2-F8 start its protocols; a stray Space must not)."""
        chain = list(self.step_panel.tab_chain()) + list(self.side.tab_chain())
        chain += [self.lang_button, self.large_check, self.wrap_button]
        return chain

    def _fix_tab_order(self) -> None:
        chain = self.tab_chain()
        sig = tuple(id(w) for w in chain)
        if sig == getattr(self, "_tab_sig", None):
            return
        self._tab_sig = sig
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        QTimer.singleShot(0, self._focus_if_lost)

    def _focus_if_lost(self) -> None:
        """Just shown: the focus starts on "Begin the call" or on the step, never on the header."""
        from PySide6.QtWidgets import QApplication

        w = QApplication.focusWidget()
        page = self.pages.currentWidget()
        if w is not None and page.isAncestorOf(w):
            return
        if self.pages.currentIndex() == PAGE_BANNER:
            self.begin_button.setFocus()
        elif self.session is not None and self.pages.currentIndex() == PAGE_CALL:
            self.step_panel.focus_step()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        self._timer.stop()
        if self.bridge is not None:
            self.bridge.detach()
        super().closeEvent(event)
