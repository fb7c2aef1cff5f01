"""Cold start of the live-call window, against a bare PySide6 window with one label.

Each sample is a fresh Python process (cold start), started through `run_call` as the
`callguide call` command does, as a screen-pop (account on the command line) on an existing
journal on which the flows were already loaded once. Two figures per app sample:

- first interactive window: from spawning the process to the first window (the call
  window on its banner page) shown and the event loop idle (the launcher's `interactive`
  signal, a zero timer after show()); compared with the bare window shown and idle (a
  zero timer after show() prints READY). Target: ratio <= 1.5.
- flows ready: from spawning the process to "Begin the call" enabled (journal, flows and
  engine loaded, the call started) and the event loop idle again.

Samples alternate app / baseline; the median of each is compared.

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

    def observe(launcher) -> None:
        launcher.interactive.connect(lambda: print("INTERACTIVE", flush=True))
        begin_enabled = lambda: launcher.window is not None and launcher.window.begin_button.isEnabled()  # noqa: E731

        def ready() -> None:
            assert begin_enabled()
            QTimer.singleShot(0, lambda: (print("READY", flush=True), QApplication.instance().quit()))

        launcher.ready.connect(ready)
        launcher.finished.connect(lambda code: print(f"FAILED {code}", flush=True))

    code = callapp.run_call(db, str(ROOT / "flows"), "bench", account_id="B-1", name="Bench Customer",
                            country="UK", lang="en", balance="100.00", observe=observe)
    sys.exit(code)


def sample(args: list[str]) -> list[float]:
    """Seconds from spawning the child to each line it prints, until READY."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    out: list[float] = []
    line = ""
    while p.stdout is not None:
        line = p.stdout.readline()
        if not line:
            break
        out.append(time.perf_counter() - t0)
        if "READY" in line or "FAILED" in line:
            break
    p.wait(30)
    if "READY" not in line:
        raise SystemExit(f"child {args} did not get ready (exit {p.returncode}): {line.strip()}")
    return out


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
    bare, first, ready = [], [], []
    for i in range(a.runs):
        db = tmp / f"run{i}.db"
        shutil.copy(pristine, db)
        bare.append(sample(["--child", "bare"])[0])
        times = sample(["--child", "app", "--db", str(db)])
        first.append(times[0])
        ready.append(times[-1])

    def line(label: str, xs: list[float]) -> float:
        m = statistics.median(xs)
        print(f"{label:<44} median {m * 1000:4.0f} ms  (min {min(xs) * 1000:.0f}, max {max(xs) * 1000:.0f})")
        return m

    mb = line("bare PySide6 window, one label, shown+idle:", bare)
    mf = line("CallGuide first interactive window:", first)
    mr = line("CallGuide flows ready (Begin the call on):", ready)
    print(f"first interactive window: {mf / mb:.2f}x the bare window (target <= 1.5x)  runs={a.runs}")
    print(f"flows ready:              {mr / mb:.2f}x the bare window")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
