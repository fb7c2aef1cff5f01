"""Click Next -> the next prompt painted, including the engine's durable journal write
(one SQLite transaction, synced), against a bare QLabel.setText + repaint.

The real window, real flows (call-opening), a real journal in a temp dir. Each sample
is one mouse click on Next from "purpose" to "recording" followed by a synchronous
repaint of the window; an (unmeasured) Back returns to "purpose" for the next sample.
Prints p50/p99 for both and the ratio of p99s. Target: p99 < 16 ms.

    .venv/bin/python benchmarks/bench_click.py [--clicks 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clicks", type=int, default=300)
    a = ap.parse_args()

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

    app = QApplication(sys.argv[:1])
    from callguide.engine.session import Account, CallSession
    from callguide.library.live import load_for_calls
    from callguide.qt.call_window import CallWindow
    from callguide.store.sqlite import SQLiteJournal

    db = Path(tempfile.mkdtemp(prefix="cg-bench-click-")) / "journal.db"
    lib = load_for_calls(ROOT / "flows", db)
    store = SQLiteJournal.open(db)
    session = CallSession.start(lib, store, Account("B-2", "Bench Customer", "UK", "en", "100.00"), "bench")
    w = CallWindow(session)
    w.show()
    w.begin_call()
    session.answer({"identity_check": "confirmed"})
    session.next()
    app.processEvents()
    panel = w.step_panel
    assert session.view().step_id == "purpose"

    # baseline: a bare label in a window of the same size
    base_w = QWidget()
    lay = QVBoxLayout(base_w)
    label = QLabel("prompt")
    label.setWordWrap(True)
    lay.addWidget(label)
    base_w.resize(w.size())
    base_w.show()
    app.processEvents()

    clicks, bare = [], []
    for i in range(a.clicks + 20):
        t0 = time.perf_counter()
        QTest.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
        w.repaint()
        t1 = time.perf_counter()
        assert session.view().step_id == "recording", session.view().step_id
        session.back(1)
        app.processEvents()

        t2 = time.perf_counter()
        label.setText(f"Prompt number {i}: what would you like to tell me?")
        label.repaint()
        t3 = time.perf_counter()
        app.processEvents()
        if i >= 20:  # warm-up
            clicks.append((t1 - t0) * 1000)
            bare.append((t3 - t2) * 1000)
    entries = store.count()
    store.close()
    print(f"journal entries written: {entries}")
    print(f"click Next -> prompt painted (incl. journal write): p50 {statistics.median(clicks):.2f} ms, "
          f"p99 {pct(clicks, 99):.2f} ms, max {max(clicks):.2f} ms  (n={len(clicks)})")
    print(f"bare setText + repaint:                          p50 {statistics.median(bare):.3f} ms, "
          f"p99 {pct(bare, 99):.3f} ms")
    print(f"ratio p50 {statistics.median(clicks) / statistics.median(bare):.1f}x, "
          f"p99 {pct(clicks, 99) / pct(bare, 99):.1f}x; target p99 < 16 ms: "
          f"{'met' if pct(clicks, 99) < 16 else 'NOT met'}")


if __name__ == "__main__":
    main()
