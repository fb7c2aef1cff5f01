"""`callguide workbench [FLOWS_DIR]`: open the trainer's workbench on a workspace folder (default:
the trainer's own workspace in the user data folder, made from the shipped flows on first use)."""

from __future__ import annotations

import sys
from pathlib import Path


def run_workbench(flows_dir: str | Path | None = None, db: str | Path | None = None, user: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from callguide.library.workspace import Workspace, WorkspaceError
    from callguide.qt.workbench.window import WorkbenchWindow

    folder = Path(flows_dir) if flows_dir else None
    if folder is not None and not folder.is_dir():
        print(f"Error: {folder}: no such flows folder", file=sys.stderr)
        return 2
    try:
        ws = Workspace(folder, db, person=user)
    except WorkspaceError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CallGuide workbench")
    win = WorkbenchWindow(workspace=ws)
    win.show()
    return int(app.exec())
