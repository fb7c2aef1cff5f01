"""Resume after a kill: a call runs in a real window in a child process, which is
SIGKILLed mid-call; the next start on the same journal offers to resume it, and the
window comes back at exactly the same step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.qt.conftest import FLOWS, ROOT

pytestmark = pytest.mark.qt


def test_resume_after_kill(qtbot, db_path, monkeypatch):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "tests.qt.kill_child", str(db_path), str(FLOWS)],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line, child.stderr.read()
        where = json.loads(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert where["step"] == "income"

    from callguide.qt import app as app_mod
    from callguide.qt.dialogs import ResumeDialog

    offered: list[list[str]] = []

    def click_resume(dlg):  # the modal dialog, answered by clicking its Resume button
        offered.append([c.call_id for c in dlg.calls])
        qtbot.mouseClick(dlg.resume_button, app_mod_qt().LeftButton)
        return dlg.result()

    monkeypatch.setattr(ResumeDialog, "exec", click_resume)
    window, code = app_mod.open_call(db_path, FLOWS, "agent-7")
    assert window is not None, code
    qtbot.addWidget(window)
    window.show()
    assert offered == [[where["call_id"]]]
    s = window.session
    assert s.call_id == where["call_id"]
    v = s.view()
    assert (v.flow_id, v.step_id) == (where["flow"], where["step"])
    assert str(s.values.get("income")) == where["income"]  # the answer given before the kill
    assert window.pages.currentWidget() is window.split
    assert window.info_strip.isVisible()
    assert s.lang == "da"
    # the call goes on from there, and the journal says it was resumed
    qtbot.mouseClick(window.step_panel.next_button, app_mod_qt().LeftButton)
    assert s.view().step_id == "priority"
    types = [e.type for e in s.store.call_entries(s.call_id)]
    assert "call_resumed" in types
    window.close()
    s.store.close()


def app_mod_qt():
    from PySide6.QtCore import Qt

    return Qt.MouseButton
