"""`callguide console`: connect as yourself to the team store and open the console window.
Every failure is one line (a message box, and the exit code 2); never a traceback."""

from __future__ import annotations

import sys
from typing import Any


def run_console(target: Any, lang: str | None = None, journal: str | None = None,
                levels: str | None = None, show: bool = True) -> int:
    """Open the console for `target` (a resolved `TeamTarget`)."""
    from PySide6.QtWidgets import QApplication

    from callguide.qt import i18n, style
    from callguide.qt.app import show_message
    from callguide.store.base import StoreError
    from callguide.team.console import Console, ServiceLevels

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if lang:
        i18n.set_language(lang)
    style.apply()
    try:
        console = Console(target, journal_path=journal, levels=ServiceLevels.load(levels) if levels else None)
    except StoreError as e:
        show_message(str(e))
        print(f"Error: {e}", file=sys.stderr)
        return 2
    from .window import ConsoleWindow

    win = ConsoleWindow(console)
    if show:
        win.show()
    code = app.exec() if show else 0
    win.close()
    console.close()
    return int(code)
