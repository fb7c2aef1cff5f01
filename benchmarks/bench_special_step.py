"""The cost of sealing (issue 10): the engine step with a special-category answer, sealed under its
consent purpose's key (AES-256-GCM, `store.sealing`), against the same step on the same engine
and journal with sealing switched off (`store.sealer = None`), measured in the same run.

One step = answer a special field (consented) + Next onto a step whose text quotes it + Next back:
three durable journal writes, five sealed values (the answer's value and command, the rendered text).

    python benchmarks/bench_special_step.py [--steps 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callguide.engine.clock import FixedClock  # noqa: E402
from callguide.engine.session import Account, CallSession  # noqa: E402
from callguide.flow.loader import load_flow_text  # noqa: E402
from callguide.flow.model import FlowLibrary  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402

LOOP = """schema: callguide/flow@1
id: loop
version: "1"
priority: texas
title: {en: Loop, da: Løkke, cs: Smyčka}
description: {en: Benchmark, da: Benchmark, cs: Benchmark}
languages: [en, da, cs]
start: consent
steps:
  - id: consent
    kind: consent
    consent:
      purpose: health_disclosure
      wording: {en: "May I record that?", da: "Må jeg notere det?", cs: "Mohu si to poznamenat?"}
      covers: [condition]
    next: ask
  - id: ask
    kind: capture
    say: {en: "What would help, {{ account.name }}?", da: "Hvad hjælper?", cs: "Co pomůže?"}
    fields:
      - id: condition
        type: text
        label: {en: Condition, da: Tilstand, cs: Stav}
        sensitivity: special
        consent: health_disclosure
    next: tell
  - id: tell
    kind: say
    say: {en: "Noted with consent: {{ condition }}", da: "Noteret: {{ condition }}", cs: "Zaznamenáno: {{ condition }}"}
    next: ask
"""


def session(d: Path, sealed: bool) -> tuple[SQLiteJournal, CallSession]:
    flow, diags = load_flow_text(LOOP, "loop.yaml")
    assert flow is not None, diags
    lib = FlowLibrary(flows={"loop": flow}, signposts={})
    store = SQLiteJournal.open(d / f"{'sealed' if sealed else 'plain'}.db")
    if not sealed:
        store.sealer = None
    s = CallSession.start(lib, store, Account("B1", "Alex", "UK"), "bench", start_flow="loop",
                          clock=FixedClock(), auto_wrap_up=False, practice=True)
    s.next()
    s.consent("given")
    return store, s


def one(s: CallSession, i: int) -> float:
    t0 = time.perf_counter()
    assert s.answer({"condition": f"asthma, inhaler {i}"}).ok
    s.next()
    s.next()
    return time.perf_counter() - t0


def run(d: Path, n: int) -> tuple[float, float]:
    """Both sessions take turns step by step (the order swapped each step), so the disk's drift
    falls on both alike; (sealed, plain) mean step times."""
    (js, sealed), (jp, plain) = session(d, True), session(d, False)
    for i in range(20):
        one(sealed, i)
        one(plain, i)
    ts = tp = 0.0
    for i in range(n):
        if i % 2:
            ts += one(sealed, i)
            tp += one(plain, i)
        else:
            tp += one(plain, i)
            ts += one(sealed, i)
    data = [e.data for e in js.call_entries(sealed.call_id) if e.step_id == "tell" and e.type == "step_shown"][-1]
    assert "$sealed" in str(data) and "asthma" not in str(data), data
    js.close()
    jp.close()
    return ts / n, tp / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    ratios, sealed, plain = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as d:
            a, b = run(Path(d), args.steps)
        sealed.append(a)
        plain.append(b)
        ratios.append(a / b)
    a, b = statistics.median(sealed), statistics.median(plain)
    # the CPU cost alone: one value sealed and opened again (the key cached, as on a call)
    from callguide.store.sealing import DataKeys, Sealer

    with tempfile.TemporaryDirectory() as d:
        sealer = Sealer(DataKeys(Path(d) / "k.keys"))
        sealer.seal("B1", ["health_disclosure"], "warm")
        t0 = time.perf_counter()
        for i in range(2000):
            sealer.open("B1", sealer.seal("B1", ["health_disclosure"], f"asthma, inhaler {i}"))
        per_value = (time.perf_counter() - t0) / 2000
        sealer.close()
    print(f"one value sealed + opened: {per_value * 1e6:.1f} us")
    print(f"step with a special-category answer, sealed (AES-256-GCM): {a * 1e3:.3f} ms (median of {args.repeats} runs"
          f" of {args.steps}, taking turns with the baseline step by step)")
    print(f"the same step, sealing off (baseline): {b * 1e3:.3f} ms")
    print(f"ratio: {statistics.median(ratios):.2f}x (median of {args.repeats} runs; spread "
          f"{min(ratios):.2f}-{max(ratios):.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
