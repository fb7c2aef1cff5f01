"""The model-based proof, long profile: run the state machine of benchmarks/callmodel.py until at least
CALLS calls have been made on the real engine and the real flows, checking the safety invariants
after every command. Prints the number of calls, commands and hypothesis examples, and every
violation found (with hypothesis' shrunk counter-example).

    python benchmarks/model_soak.py [--calls 10000] [--steps 80] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from benchmarks.callmodel import CallModel  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=80, help="commands per example (hypothesis steps)")
    ap.add_argument("--batch", type=int, default=200, help="examples per hypothesis run")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs = failures = 0
    while CallModel.calls_started < args.calls:
        runs += 1
        cfg = settings(max_examples=args.batch, stateful_step_count=args.steps, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck), print_blob=True,
                       **({"derandomize": False} if args.seed is None else {}))
        try:
            if args.seed is not None:  # hypothesis' own hook for a state machine run outside @given
                CallModel._hypothesis_internal_use_seed = args.seed + runs  # type: ignore[attr-defined]
            run_state_machine_as_test(CallModel, settings=cfg)
        except AssertionError as e:
            failures += 1
            print(f"VIOLATION (run {runs}): {str(e).splitlines()[0][:400]}", flush=True)
        print(f"run {runs}: {CallModel.calls_started} calls, {CallModel.commands_applied} commands, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    print(f"done: {CallModel.calls_started} calls, {CallModel.commands_applied} commands in {runs} run(s) of "
          f"{args.batch} examples, {time.perf_counter() - t0:.0f} s; violations: {len(set(CallModel.violations))}"
          f" distinct, {failures} failing run(s)")
    for v in sorted(set(CallModel.violations))[:50]:
        print("  -", v)
    seen = CallModel.seen_types
    keys = ["arrangement", "blocked", "crisis", "capacity_doubt", "capacity_review", "dispute", "hold_started",
            "hold_ended", "consent", "consent_withdrawn", "contact_time", "contact_reason", "call_resumed",
            "interrupt", "answer", "shown:payment-arrangement/terms", "shown:affordability/offer",
            "shown:wrap-up/out-arrangement", "shown:payment-arrangement/stopped", "shown:affordability/not-today",
            "shown:call-opening/paused", "shown:blake/breathe"]
    print("coverage of the journal: " + ", ".join(f"{k} {seen.get(k, 0)}" for k in keys))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
