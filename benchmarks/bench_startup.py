"""Cold start of the live-call window, against a bare PySide6 window with one label.

Each sample is a fresh Python process (cold start): from spawning the process to the
window shown and the event loop idle (a zero-timer fired after show() prints READY).
The app is started as a screen-pop (account on the command line) on an existing
journal, so no dialog is waiting. Samples alternate app / baseline; the median of
each is compared. Target: ratio <= 1.5.

    .venv/bin/python benchmarks/bench_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child_bare() -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication(sys.argv[:1])
    label = QLabel("Hello")
    label.resize(1280, 860)
    label.show()
    QTimer.singleShot(0, lambda: (print("READY", flush=True), app.quit()))
    app.exec()


def child_app(db: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from callguide.qt import app as callapp

    app = QApplication(sys.argv[:1])
    callapp.style.apply(False)
    window, code = callapp.open_call(db, ROOT / "flows", "bench", {
        "account_id": "B-1", "name": "Bench Customer", "country": "UK", "lang": "en", "balance": "100.00"})
    assert window is not None, code
    window.show()
    QTimer.singleShot(0, lambda: (print("READY", flush=True), app.quit()))
    app.exec()


def sample(args: list[str]) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    line = p.stdout.readline() if p.stdout else ""
    t1 = time.perf_counter()
    p.wait(30)
    if "READY" not in line:
        raise SystemExit(f"child {args} did not get ready (exit {p.returncode})")
    return t1 - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--child", choices=["bare", "app"])
    ap.add_argument("--db")
    a = ap.parse_args()
    if a.child == "bare":
        return child_bare()
    if a.child == "app":
        return child_app(a.db)

    tmp = Path(tempfile.mkdtemp(prefix="cg-bench-start-"))
    pristine = tmp / "pristine.db"
    from callguide.store.sqlite import SQLiteJournal

    SQLiteJournal.open(pristine).close()  # an existing, migrated journal (as on an agent's machine),
    from callguide.library.live import load_for_calls

    load_for_calls(ROOT / "flows", pristine)  # on which the flows were already loaded once
    sample(["--child", "bare"])  # warm the OS file cache for both, once
    db0 = tmp / "warm.db"
    shutil.copy(pristine, db0)
    sample(["--child", "app", "--db", str(db0)])
    bare, appt = [], []
    for i in range(a.runs):
        db = tmp / f"run{i}.db"
        shutil.copy(pristine, db)
        bare.append(sample(["--child", "bare"]))
        appt.append(sample(["--child", "app", "--db", str(db)]))
    mb, ma = statistics.median(bare), statistics.median(appt)
    print(f"bare PySide6 window, one label: median {mb * 1000:.0f} ms  (min {min(bare) * 1000:.0f}, max {max(bare) * 1000:.0f})")
    print(f"CallGuide call window:         median {ma * 1000:.0f} ms  (min {min(appt) * 1000:.0f}, max {max(appt) * 1000:.0f})")
    print(f"ratio: {ma / mb:.2f}x  (target <= 1.5x)  runs={a.runs}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
