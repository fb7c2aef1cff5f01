"""Kill a scripted call at a random point and check what survived (shared by the
crash test and the soak benchmark)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.crash_worker import EVENTS, library, start  # noqa: E402
from callguide.engine.script import apply_event  # noqa: E402
from callguide.engine.session import CallSession  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402


def position(s: CallSession) -> tuple:
    top = s.top
    return (top.flow.id if top else None, top.step_id if top else None, dict(s.values), dict(s.consents),
            s.state.hold_active, s.state.capacity_doubt, [f.flow.id for f in s.stack])


def reference(ops: int) -> tuple:
    """The same call, run in-process for `ops` operations, on a throw-away journal."""
    with tempfile.TemporaryDirectory() as d:
        store = SQLiteJournal.open(Path(d) / "ref.db")
        s = start(library(), store)
        for i, ev in enumerate(EVENTS[:ops]):
            apply_event(s, ev, i)
        pos = position(s)
        store.close()
        return pos


def one_run(db: Path, rng: random.Random) -> dict:
    """Run the worker, SIGKILL it after a random number of ACKs (plus jitter), then check."""
    kill_after = rng.randint(0, len(EVENTS) - 1)
    proc = subprocess.Popen([sys.executable, str(HERE / "crash_worker.py"), str(db), "0"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    acked: list[tuple[int, str]] = []
    call_id = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("CALL "):
            call_id = line.split()[1]
        elif line.startswith("ACK "):
            _, seq, h = line.split()
            acked.append((int(seq), h))
            if len(acked) > kill_after:
                # let it get into the next write, sometimes
                if rng.random() < 0.5:
                    for _ in range(rng.randint(0, 3000)):
                        pass
                break
        elif line.startswith("DONE"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = SQLiteJournal.open(db)
    try:
        ver = store.verify()
        assert ver.ok, f"chain broken: {ver}"
        if call_id is None:
            return {"acked": 0, "ops": 0}
        entries = {e.seq: e.hash for e in store.call_entries(call_id)}
        for seq, h in acked:
            assert entries.get(seq) == h, f"acknowledged entry {seq} lost or changed"
        inputs = [e for e in store.call_entries(call_id) if "input" in e.data]
        ops = len(inputs)
        assert ops >= len(acked), "fewer durable operations than acknowledged"
        resumed = CallSession.resume(library(), store, call_id)
        got, want = position(resumed), reference(ops)
        assert got == want, f"resume after {ops} ops: {got} != {want}"
        return {"acked": len(acked), "ops": ops}
    finally:
        store.close()
