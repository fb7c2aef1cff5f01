"""`callguide call`: show the first window at once, then open the journal and the flows,
offer to resume a call the app was killed in, start the call and hand it to the window.
Every failure is one plain line in a message box and an exit code; never a traceback.
Nothing here decides anything about the call itself.

The start is staged so the agent sees an interactive window as early as possible:

1. with light imports only (PySide6, the string catalogue, the style), the first window is
   shown: the start dialog asking for the account, or, for a screen-pop from the dialer, the
   call window on its banner page with "Begin the call" disabled and a quiet "Loading flows…";
2. after the first paint (a zero timer, in small steps so the window stays responsive), the
   engine stack is imported, the journal opened and the flows loaded;
3. a call left open by a crash is offered for resume; then the call starts and the window
   gets its session ("Begin the call" enabled).

`CallLauncher` does this; `run_call` is the command, and `open_call` the same thing run
to its end for scripts and tests.

Before any of it, `run_call` checks that Qt's display plugin can load (`platform_check`): a
missing system library is one line naming it and the package to install, not Qt's abort.
`--demo` runs a sample account on a throw-away journal (a DEMO strip on the window), deleted
when the window closes. SIGTERM and Ctrl+C close the window cleanly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDialog

from callguide import paths
from callguide.qt import i18n, style
from callguide.qt.i18n import tr


def show_message(text: str, detail: str = "") -> None:
    """A one-line error for the agent (modal). Tests replace this."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Warning, "CallGuide", text)
    if detail:
        box.setDetailedText(detail)
    box.exec()


def _agent(agent: str | None) -> str:
    if agent:
        return agent
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "agent"


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


class CallLauncher(QObject):
    """The staged start of one call (see the module docstring).

    `window` is the call window (first without, then with a session); `code` is the exit code
    when the launch ended without a call (an error, or the agent cancelled), else None."""

    interactive = Signal()  # the first window is shown and the event loop went idle
    loaded = Signal()       # journal, flows and engine are loaded
    ready = Signal()        # the call window has its session: "Begin the call" is enabled
    finished = Signal(int)  # the launch ended without a call window (exit code)

    def __init__(self, db: str | Path | None = None, flows_dir: str | Path | None = None, agent: str | None = None,
                 account: dict[str, Any] | None = None, large_text: bool = False, clock: Any = None,
                 show: bool = True, demo: bool = False, team: Any = None, parent: QObject | None = None):
        super().__init__(parent)
        self.demo = demo
        self.team = team          # a TeamTarget: team mode (docs/team.md); None: this desktop alone
        self.desktop: Any = None  # callguide.team.desktop.TeamDesktop in team mode
        self.db_path = Path(db) if db else paths.default_db_path()
        self.flows_dir = flows_dir
        self.agent = agent
        self.account = dict(account) if account and account.get("account_id") else None
        self.large_text = large_text
        self.clock = clock
        self.show_windows = show
        self.window: Any = None
        self.dialog: Any = None
        self.code: int | None = None
        self.store: Any = None
        self.library: Any = None
        self.done = False
        self._loaded = False
        self._steps: list[Any] = []
        self._quit_on_last: bool | None = None

    # ------------------------------------------------------------------ stage 1: the first window

    def start(self) -> None:
        if self.account is not None:
            self._open_window(self.account)
        else:
            from callguide.qt.dialogs import StartDialog

            app = QApplication.instance()
            if app is not None:  # the dialog closes a moment before the call window opens
                self._quit_on_last = app.quitOnLastWindowClosed()
                app.setQuitOnLastWindowClosed(False)
            self.dialog = StartDialog({})
            self.dialog.set_loading(True)
            self.dialog.accepted.connect(self._on_dialog_accepted)
            self.dialog.rejected.connect(self._on_dialog_rejected)
            self.dialog.show()  # not exec(): the flows load behind it
        self._steps = [self._open_store, self._load_library, self._offer_resume]
        QTimer.singleShot(0, self._first_idle)

    def _open_window(self, values: dict[str, Any]) -> None:
        from callguide.qt.call_window import CallWindow

        self.window = CallWindow(None, account=values, large_text=self.large_text, demo=self.demo)
        if self.show_windows:
            self.window.show()
        self._restore_quit()

    def _restore_quit(self) -> None:
        app = QApplication.instance()
        if self._quit_on_last is not None and app is not None:
            app.setQuitOnLastWindowClosed(self._quit_on_last)
            self._quit_on_last = None

    def _first_idle(self) -> None:
        self.interactive.emit()
        QTimer.singleShot(0, self._next_step)

    def _next_step(self) -> None:
        if self.done or not self._steps:
            return
        step = self._steps.pop(0)
        step()
        if self._steps and not self.done:
            QTimer.singleShot(0, self._next_step)  # let the window breathe between the steps

    # ------------------------------------------------------------------ stage 2: journal and flows

    def _open_store(self) -> None:
        from callguide.store.sqlite import SQLiteJournal, StoreError

        try:
            if self.team is not None:  # the local journal first, synced in the background
                from callguide.team.desktop import TeamDesktop

                self.desktop = TeamDesktop(self.db_path, self.team).start()
                self.store = self.desktop.store
                who = self.desktop.whoami()  # the calls' agent is the person the team store knows
                if self.agent and who and self.agent != who:
                    self._fail(tr("app.team_person", person=who, agent=self.agent), 2)
                    return
                self.agent = self.agent or who
            else:
                self.store = SQLiteJournal.open(self.db_path)
        except StoreError as e:
            self._fail(tr("app.store_failed", error=_one_line(e)), 2)

    def _load_library(self) -> None:
        from callguide.library.live import LibraryRefused, load_for_calls

        try:
            if self.team is not None:  # the team store's live flows, or this desktop's copy of them offline
                from callguide.library.live import load_for_team_calls

                self.library, self.flows_source, self.flows_as_of = load_for_team_calls(
                    self.team, self.db_path.with_name(self.db_path.name + ".team-flows.json"))
            else:
                self.library = load_for_calls(self.flows_dir, self.db_path)
        except LibraryRefused as e:
            self._fail(tr("app.library_refused", error=_one_line(e)), 1, "\n".join(e.problems))

    # ------------------------------------------------------------------ stage 3: resume, or start the call

    def _offer_resume(self) -> None:
        from callguide.engine.session import CallSession, EngineError
        from callguide.store.sqlite import StoreError

        try:
            from callguide.engine.lifecycle import close_abandoned

            close_abandoned(self.store, by=_agent(self.agent))  # long-dead calls are not offered for ever
            unfinished = self.store.unfinished_calls()
        except StoreError as e:
            self._fail(tr("app.store_failed", error=_one_line(e)), 2)
            return
        if unfinished:
            from callguide.qt.dialogs import ResumeDialog

            on_the_line = self.window.account_values() if self.window is not None else None  # a screen-pop
            dlg = ResumeDialog(unfinished, self.dialog if self.dialog is not None and self.dialog.isVisible()
                               else self.window, on_the_line=on_the_line)
            if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen:
                from callguide import identity

                try:
                    # The person at this keyboard goes on with the call (never with a role its
                    # starter lacked), as `start` makes the call theirs: not the starter.
                    session = CallSession.resume(self.library, self.store, dlg.chosen,
                                                 person=identity.person(_agent(self.agent)))
                except (EngineError, StoreError, identity.IdentityError) as e:
                    show_message(tr("app.resume_failed", error=_one_line(e)))
                else:
                    self._close_dialog()
                    self._attach(session, resumed=True)
                    return
        self._loaded = True
        self.loaded.emit()
        if self.dialog is not None:
            self.dialog.set_loading(False)
        if self.window is not None:
            self._start_call(self.window.account_values())

    def _on_dialog_accepted(self) -> None:
        values = self.dialog.values()
        self.dialog = None
        self._open_window(values)
        if self._loaded:
            self._start_call(values)  # loaded already; else the last step starts it

    def _on_dialog_rejected(self) -> None:
        self.dialog = None
        self._finish(0)

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            dlg, self.dialog = self.dialog, None
            dlg.accepted.disconnect(self._on_dialog_accepted)
            dlg.rejected.disconnect(self._on_dialog_rejected)
            dlg.close()

    def _start_call(self, values: dict[str, Any]) -> None:
        from callguide.engine.session import Account, CallSession, EngineError
        from callguide.store.sqlite import StoreError

        try:
            acct = make_account(Account, values)
            kwargs: dict[str, Any] = {"clock": self.clock} if self.clock is not None else {}
            session = CallSession.start(self.library, self.store, acct, _agent(self.agent), **kwargs)
        except (EngineError, StoreError, ArithmeticError, ValueError) as e:
            self._fail(tr("app.start_failed", error=_one_line(e)), 2)
            return
        self._attach(session, resumed=False)

    def _attach(self, session: Any, resumed: bool) -> None:
        if self.window is None:
            from callguide.qt.call_window import CallWindow

            self.window = CallWindow(session, large_text=self.large_text, resumed=resumed, demo=self.demo)
            if self.show_windows:
                self.window.show()
            self._restore_quit()
        else:
            self.window.attach(session, resumed=resumed)
        if self.desktop is not None:
            from callguide.qt.team_link import TeamLink

            self.team_link = TeamLink(self.desktop, self.window)
        self.done = True
        self.ready.emit()

    # ------------------------------------------------------------------ ending without a call

    def _fail(self, message: str, code: int, detail: str = "") -> None:
        show_message(message, detail)
        self._finish(code)

    def _finish(self, code: int) -> None:
        self._steps = []
        self._close_dialog()
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
        self.close_store()
        self.code = code
        self.done = True
        self._restore_quit()
        self.finished.emit(code)

    def close_store(self) -> None:
        """Close the journal (and in team mode stop the sync and the listener)."""
        if self.desktop is not None:
            self.desktop.close()
            self.desktop = None
        elif self.store is not None:
            self.store.close()
        self.store = None

    def wait(self) -> None:
        """Run the event loop until the call window has its session, or the launch ended."""
        if self.done:
            return
        loop = QEventLoop()
        self.ready.connect(loop.quit)
        self.finished.connect(loop.quit)
        loop.exec()


def make_account(account_cls: Any, values: dict[str, Any]) -> Any:
    """The engine's Account for the values the agent gave. A balance not given is unknown (None),
    never 0.00; a balance given is read in the call's language (`formatting.parse_money`)."""
    balance = values.get("balance")
    balance = None if balance is None or not str(balance).strip() else str(balance).strip()
    # The id as the agent meant it: white space typed or pasted around it is not part of it (the
    # engine refuses an id with any, since " G-1" would be an account of its own).
    return account_cls(str(values["account_id"]).strip(), values.get("name") or "", values.get("country") or "UK",
                       values.get("lang"), balance)


DEMO_ACCOUNTS = {
    "UK": {"account_id": "DEMO-UK-1", "name": "Alex Morgan", "balance": "1234.50"},
    "DK": {"account_id": "DEMO-DK-1", "name": "Kim Hansen", "balance": "8450.00"},
    "CZ": {"account_id": "DEMO-CZ-1", "name": "Jana Dvořáková", "balance": "25000.00"},
}


def open_call(db: str | Path | None = None, flows_dir: str | Path | None = None, agent: str | None = None,
              account: dict[str, Any] | None = None, large_text: bool = False, clock: Any = None,
              team: Any = None) -> tuple[Any, int]:
    """The whole launch, run to its end; the window is not shown. Returns (window or None, exit code);
    in team mode (`team`: a TeamTarget) the window's `launcher` closes the sync with `close_store()`."""
    launcher = CallLauncher(db, flows_dir, agent, account, large_text, clock, show=False, team=team)
    launcher.start()
    launcher.wait()
    if launcher.window is not None:
        launcher.window.launcher = launcher
    if launcher.window is None:
        return None, launcher.code if launcher.code is not None else 2
    return launcher.window, 0


def run_call(db: str | None = None, flows_dir: str | None = None, agent: str | None = None,
             account_id: str | None = None, name: str | None = None, country: str | None = None,
             lang: str | None = None, balance: str | None = None, large_text: bool = False,
             demo: bool = False, observe: Callable[[CallLauncher], None] | None = None,
             journal: str | None = None) -> int:
    """The `callguide call` command: returns the process exit code. `observe(launcher)` is called
    before the launch starts (benchmarks time its `interactive` and `ready` signals). Team mode
    when `db` is a PostgreSQL URL (or, without `db`, CALLGUIDE_DB_URL or the config file's
    `[team] url`): the local journal is `journal` (default: the live journal)."""
    if QApplication.instance() is None:
        from callguide.qt.platform_check import xcb_problem

        problem = xcb_problem()
        if problem:
            print(f"Error: {problem}", file=sys.stderr)
            return 2
    team = None
    if not demo and _maybe_team(db):
        from callguide.store.base import StoreError

        try:
            from callguide.store.postgres.connect import team_for

            team = team_for(db)
        except StoreError as e:
            print(f"Error: {_one_line(e)}", file=sys.stderr)
            return 2
        except ImportError as e:
            print(f"Error: team mode needs psycopg ({_one_line(e)}); install with `pip install -e .[team]`.",
                  file=sys.stderr)
            return 2
        if team is not None:
            db = journal
    elif journal:
        print("Error: --demo uses a throw-away journal of its own; leave out --journal.", file=sys.stderr)
        return 2
    demo_dir: Path | None = None
    if demo:
        import tempfile

        if db:
            print("Error: --demo uses a throw-away journal of its own; leave out --db.", file=sys.stderr)
            return 2
        demo_dir = Path(tempfile.mkdtemp(prefix="callguide-demo-"))
        db = str(demo_dir / "journal.db")
        country = (country or "UK").upper()
        sample = DEMO_ACCOUNTS.get(country, DEMO_ACCOUNTS["UK"])
        account_id = account_id or sample["account_id"]
        name = name or sample["name"]
        balance = balance if balance is not None else sample["balance"]
        agent = agent or "demo-agent"
        print(f"CallGuide demo: a sample account and a throw-away journal in {demo_dir} "
              "(deleted when the window closes).", flush=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CallGuide")
    app.setDesktopFileName("callguide")
    style.apply(large_text)
    ui_lang = lang or {"DK": "da", "CZ": "cs"}.get((country or "").upper(), "en")
    i18n.set_language(ui_lang if ui_lang in i18n.LANGS else "en")
    account = None
    if account_id:
        account = {"account_id": account_id, "name": name or "", "country": (country or "UK").upper(),
                   "lang": lang, "balance": balance or None}
    launcher = CallLauncher(db, flows_dir, agent, account, large_text, demo=demo, team=team)
    launcher.finished.connect(app.exit)
    if observe is not None:
        observe(launcher)
    stop = _close_on_signals(app)
    launcher.start()
    try:
        code = int(app.exec())
        return launcher.code if launcher.code is not None else code
    finally:
        stop()
        launcher.close_store()
        if demo_dir is not None:
            import shutil

            shutil.rmtree(demo_dir, ignore_errors=True)


def _maybe_team(db: str | None) -> bool:
    """Could this launch be in team mode? Cheap (the first window must not wait for the store
    package): a PostgreSQL `--db`, or no `--db` and CALLGUIDE_DB_URL or a config file to read."""
    import os

    if db:
        return "=" in str(db) or str(db).startswith(("postgresql://", "postgres://"))
    if os.environ.get("CALLGUIDE_DB_URL"):
        return True
    if os.environ.get("CALLGUIDE_CONFIG"):
        return Path(os.environ["CALLGUIDE_CONFIG"]).exists()
    import platformdirs

    return (Path(platformdirs.user_config_dir("CallGuide", appauthor=False)) / "config.toml").exists()


def _close_on_signals(app: Any) -> Callable[[], None]:
    """SIGTERM (logout, a process manager) and Ctrl+C close the windows cleanly, as the agent
    closing them would. Qt's event loop gives Python a moment twice a second to see a signal."""
    import signal

    def close(*_: Any) -> None:
        QTimer.singleShot(0, lambda: (app.closeAllWindows(), app.quit()))

    previous = {sig: signal.signal(sig, close) for sig in (signal.SIGTERM, signal.SIGINT)}
    heartbeat = QTimer()
    heartbeat.setInterval(500)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start()

    def stop() -> None:
        heartbeat.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return stop
