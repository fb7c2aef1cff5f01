"""A newcomer's first run: the README's command on a fresh desktop. When Qt's display plugin
cannot load, one line names the missing libraries and the packages to install (not Qt's abort);
`callguide call --demo` opens the real window on a throw-away journal and closes cleanly.

The demo test runs with the suite's platform (offscreen) and, in `.ci/run`, once more in a real X
server (Xvfb, QT_QPA_PLATFORM=xcb), where it also checks the window is mapped on the display."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callguide.qt.platform_check import PACKAGES, install_hint, missing_from_ldd
from tests.qt.conftest import ROOT

pytestmark = pytest.mark.qt

LDD_SAMPLE = """\
\tlinux-vdso.so.1 (0x00007ffd0b9f5000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f6467b6c000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f64667ab000)
"""


def _cli(*args: str, env: dict[str, str], **kw):
    return subprocess.Popen([sys.executable, "-m", "callguide.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_missing_libraries_are_named_with_their_packages():
    missing = missing_from_ldd(LDD_SAMPLE)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    hint = install_hint(missing)
    assert hint == "install them with: sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for pkg in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"):
        assert pkg in readme and pkg in PACKAGES.values()


def test_a_display_plugin_that_cannot_load_is_one_line(tmp_path):
    from callguide.qt.platform_check import plugin_dirs

    real = next((d / "libqxcb.so" for d in plugin_dirs() if (d / "libqxcb.so").is_file()), None)
    if real is None or not sys.platform.startswith("linux"):
        pytest.skip("no xcb plugin in this PySide6")
    shutil.copy(real, tmp_path / "libqxcb.so")  # away from its Qt libraries: it cannot load, as on a bare system
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path), "DISPLAY": ":0"}
    env.pop("WAYLAND_DISPLAY", None)
    proc = _cli("call", "--demo", env=env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: Qt's display plugin (xcb) cannot load: missing libQt6XcbQpa.so.6")
    assert "Traceback" not in err and "core dumped" not in err and out == ""  # checked before anything started


def _calls_started(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM entries WHERE type = 'call_started'").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _mapped_windows() -> str:
    try:
        return subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def test_demo_opens_the_real_window_and_closes_cleanly():
    env = dict(os.environ)
    xcb = env.get("QT_QPA_PLATFORM", "").startswith("xcb")
    if xcb and not env.get("DISPLAY"):
        pytest.skip("xcb needs an X server (run under xvfb-run)")
    proc = _cli("call", "--demo", "--country", "DK", env=env)
    try:
        first = proc.stdout.readline()
        m = re.search(r"journal in (\S+) \(", first)
        assert m, (first, proc.stderr.read() if proc.poll() is not None else "")
        demo_dir = Path(m.group(1))
        assert demo_dir.is_dir() and demo_dir.name.startswith("callguide-demo-")
        deadline = time.monotonic() + 90
        while _calls_started(demo_dir / "journal.db") < 1:  # the flows loaded and the call started
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the demo call did not start"
            time.sleep(0.2)
        if xcb and shutil.which("xwininfo"):
            while "DEMO · CallGuide — Kim Hansen" not in _mapped_windows():
                assert time.monotonic() < deadline, _mapped_windows()[-2000:]
                time.sleep(0.2)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)  # as a logout does: the window closes cleanly
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not demo_dir.exists()  # the throw-away journal is gone


def test_demo_window_says_demo(qtbot, tmp_path):
    from callguide.qt.app import DEMO_ACCOUNTS, CallLauncher
    from tests.qt.conftest import FLOWS

    launcher = CallLauncher(tmp_path / "demo.db", FLOWS, "demo-agent", {**DEMO_ACCOUNTS["UK"], "country": "UK"},
                            demo=True)
    launcher.start()
    qtbot.addWidget(launcher.window)
    launcher.wait()
    w = launcher.window
    assert w.demo_strip.isVisible() and w.demo_strip.text().startswith("DEMO")
    assert w.windowTitle().startswith("DEMO · ") and "£1,234.50" in w.account_line.text()
    launcher.store.close()
