"""What tamper evidence adds to an agent's click: signed checkpoints and anchor writes.

Times, in the same run and the same directory, with rounds alternating so drift hits all:
- `append` of one entry when no checkpoint is due (the common case), against the same append on a
  journal that never checkpoints (baseline: `checkpoint_every` huge, no witnesses);
- `append` that carries a checkpoint (Ed25519 signature + row in the same transaction) and then
  the anchor write (one JSON line, fsynced);
- the call end: `append` of `call_ended` (always checkpointed and anchored) against the same entry
  type on the baseline journal;
- the amortised cost per append with a checkpoint every N entries (default 50).
Also times opening a journal (key load, schema, anchor and head checks) against a bare
`sqlite3.connect` with the same pragmas.

    python benchmarks/bench_checkpoint.py [--ops 200] [--repeats 7] [--every 50] [--dir benchmarks/out]

Keys and anchors go to a throw-away folder, never the user's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callguide.store import NewEntry, SQLiteJournal  # noqa: E402
from callguide.store.checkpoints import AnchorFolder  # noqa: E402
from callguide.store.keys import KeyStore  # noqa: E402

DATA = {"field": "income", "value": "1200.00", "sensitivity": "personal",
        "input": {"answer": {"income": "1200.00"}}}
END = {"outcome": "PROMISE_TO_PAY", "summary": {"vulnerability": [], "hold": []}, "open_protocols": []}


def entry(i: int, type_: str = "answer") -> NewEntry:
    return NewEntry(type=type_, call_id=f"call-{i // 50}", account_id=f"ACC-{i // 200}", agent="agent1",
                    flow_id="affordability", flow_hash="fe" * 32, step_id="income",
                    data=END if type_ == "call_ended" else DATA, ts=f"2026-03-01T10:{(i // 60) % 60:02d}:{i % 60:02d}Z")


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:6.3f} ms  best {min(xs) * 1e3:6.3f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=200, help="appends per round")
    ap.add_argument("--repeats", type=int, default=7, help="rounds of each")
    ap.add_argument("--every", type=int, default=50, help="checkpoint every N entries")
    ap.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent / "out")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench_checkpoint_", dir=args.dir))
    os.environ["CALLGUIDE_KEYS_DIR"] = str(work / "keys")
    os.environ["CALLGUIDE_ANCHORS_DIR"] = str(work / "anchors")
    try:
        keys = KeyStore()
        keys.signing_key()
        base = SQLiteJournal.open(work / "base.db", keys=keys, witnesses=(), checkpoint_every=10**12)
        always = SQLiteJournal.open(work / "always.db", keys=keys, witnesses=(AnchorFolder(),), checkpoint_every=1)
        signed_only = SQLiteJournal.open(work / "signed.db", keys=keys, witnesses=(), checkpoint_every=1)
        normal = SQLiteJournal.open(work / "normal.db", keys=keys, checkpoint_every=10**12)
        counter = iter(range(10**9))

        def rounder(journal: SQLiteJournal, type_: str = "answer"):
            def run(n: int) -> float:
                t0 = time.perf_counter()
                for _ in range(n):
                    journal.append(entry(next(counter), type_))
                return (time.perf_counter() - t0) / n
            return run

        cases = {
            "append, no checkpoint (baseline journal)": rounder(base),
            "append, no checkpoint due": rounder(normal),
            "append + signed checkpoint (no anchor)": rounder(signed_only),
            "append + signed checkpoint + anchor fsync": rounder(always),
            "call_ended (baseline journal)": rounder(base, "call_ended"),
            "call_ended + checkpoint + anchor": rounder(normal, "call_ended"),
        }
        times: dict[str, list[float]] = {k: [] for k in cases}
        for fn in cases.values():
            fn(20)
        for r in range(args.repeats):
            order = list(cases) if r % 2 == 0 else list(reversed(cases))
            for k in order:
                times[k].append(cases[k](args.ops))
        for j in (base, always, signed_only, normal):
            assert j.verify().ok and j.witness_problem is None
            j.close()

        # Opening: a bare connect with the same pragmas vs SQLiteJournal.open (checks included).
        path = work / "normal.db"

        def bare_open() -> float:
            t0 = time.perf_counter()
            c = sqlite3.connect(path)
            c.execute("PRAGMA journal_mode = WAL")
            c.execute("PRAGMA synchronous = FULL")
            c.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            c.close()
            return time.perf_counter() - t0

        def full_open() -> float:
            t0 = time.perf_counter()
            SQLiteJournal.open(path, keys=keys).close()
            return time.perf_counter() - t0

        opens: dict[str, list[float]] = {"bare": [], "full": []}
        for _ in range(args.repeats * 5):
            opens["bare"].append(bare_open())
            opens["full"].append(full_open())

        print(f"directory: {args.dir}  ({args.repeats} rounds x {args.ops} appends, each committed durably)")
        for k, xs in times.items():
            print(f"{k:<44} {ms(xs)}")
        plain = statistics.median(times["append, no checkpoint due"])
        basel = statistics.median(times["append, no checkpoint (baseline journal)"])
        cp = statistics.median(times["append + signed checkpoint + anchor fsync"])
        amort = ((args.every - 1) * plain + cp) / args.every
        end_b = statistics.median(times["call_ended (baseline journal)"])
        end_c = statistics.median(times["call_ended + checkpoint + anchor"])
        print(f"per append, no checkpoint due vs baseline : {plain / basel:.2f}x (+{(plain - basel) * 1e3:.3f} ms)")
        print(f"per append, amortised (every {args.every})         : {amort * 1e3:.3f} ms vs {basel * 1e3:.3f} ms: "
              f"{amort / basel:.2f}x (+{(amort - basel) * 1e3:.3f} ms)")
        print(f"the append that checkpoints               : +{(cp - basel) * 1e3:.3f} ms ({cp / basel:.2f}x)")
        print(f"call end (checkpoint + anchor)            : {end_c * 1e3:.3f} ms vs {end_b * 1e3:.3f} ms: "
              f"{end_c / end_b:.2f}x (+{(end_c - end_b) * 1e3:.3f} ms)")
        print(f"open: bare connect {ms(opens['bare'])}; SQLiteJournal.open {ms(opens['full'])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
