"""`callguide call`: open the journal and the flows, offer to resume a call the app was
killed in, ask for the account (unless the dialer gave it), start the call and show
the window. Every failure is one plain line in a message box and an exit code; never
a traceback. Nothing here decides anything about the call itself.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from callguide import paths
from callguide.qt import i18n, style
from callguide.qt.i18n import tr


def show_message(text: str, detail: str = "") -> None:
    """A one-line error for the agent (modal). Tests replace this."""
    box = QMessageBox(QMessageBox.Icon.Warning, "CallGuide", text)
    if detail:
        box.setDetailedText(detail)
    box.exec()


def _agent(agent: str | None) -> str:
    if agent:
        return agent
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "agent"


def open_call(db: str | Path | None = None, flows_dir: str | Path | None = None, agent: str | None = None,
              account: dict[str, Any] | None = None, large_text: bool = False, clock: Any = None
              ) -> tuple[Any, int]:
    """Build the call window (not yet shown). Returns (window or None, exit code when None)."""
    from callguide.engine.session import Account, CallSession, EngineError
    from callguide.library.live import LibraryRefused, load_for_calls
    from callguide.qt.call_window import CallWindow
    from callguide.qt.dialogs import ResumeDialog, StartDialog
    from callguide.store.sqlite import SQLiteJournal, StoreError

    db_path = Path(db) if db else paths.default_db_path()
    try:
        store = SQLiteJournal.open(db_path)
    except StoreError as e:
        show_message(tr("app.store_failed", error=str(e)))
        return None, 2
    try:
        library = load_for_calls(flows_dir, db_path)
    except LibraryRefused as e:
        store.close()
        show_message(tr("app.library_refused", error=str(e)), "\n".join(e.problems))
        return None, 1

    try:
        unfinished = store.unfinished_calls()
    except StoreError as e:
        show_message(tr("app.store_failed", error=str(e)))
        store.close()
        return None, 2
    session = None
    resumed = False
    if unfinished:
        dlg = ResumeDialog(unfinished)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen:
            try:
                session = CallSession.resume(library, store, dlg.chosen)
                resumed = True
            except (EngineError, StoreError) as e:
                show_message(tr("app.resume_failed", error=str(e)))
    if session is None:
        values = dict(account or {})
        if not values.get("account_id"):
            dlg2 = StartDialog(values)
            if dlg2.exec() != QDialog.DialogCode.Accepted:
                store.close()
                return None, 0
            values = dlg2.values()
        try:
            acct = Account(values["account_id"], values.get("name") or "", values.get("country") or "UK",
                           values.get("lang"), values.get("balance") or "0.00")
            kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
            session = CallSession.start(library, store, acct, _agent(agent), **kwargs)
        except (EngineError, StoreError, ArithmeticError, ValueError) as e:
            show_message(tr("app.start_failed", error=str(e)))
            store.close()
            return None, 2
    window = CallWindow(session, large_text=large_text, resumed=resumed)
    return window, 0


def run_call(db: str | None = None, flows_dir: str | None = None, agent: str | None = None,
             account_id: str | None = None, name: str | None = None, country: str | None = None,
             lang: str | None = None, balance: str | None = None, large_text: bool = False) -> int:
    """The `callguide call` command: returns the process exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CallGuide")
    app.setDesktopFileName("callguide")
    style.apply(large_text)
    ui_lang = lang or {"DK": "da", "CZ": "cs"}.get((country or "").upper(), "en")
    i18n.set_language(ui_lang)
    account = None
    if account_id:
        account = {"account_id": account_id, "name": name or "", "country": (country or "UK").upper(),
                   "lang": lang, "balance": balance or "0.00"}
    window, code = open_call(db, flows_dir, agent, account, large_text)
    if window is None:
        return code
    window.show()
    try:
        return int(app.exec())
    finally:
        window.session.store.close()
