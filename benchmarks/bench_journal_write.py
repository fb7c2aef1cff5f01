"""The cost of one durable journal append against a bare SQLite insert.

Times `SQLiteJournal.append` of one entry (BEGIN IMMEDIATE, tail check, sha256 chain, insert, index
trigger, COMMIT with synchronous=FULL) against a bare `INSERT` + `commit` into a plain table with the
same PRAGMAs (WAL, synchronous=FULL), both in files in the same directory (same disk). Rounds
alternate between the two so drift on a noisy machine hits both; best and median per-op are shown.

    python benchmarks/bench_journal_write.py [--ops 200] [--repeats 7] [--dir benchmarks/out]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callguide.store import NewEntry, SQLiteJournal, canonical_json  # noqa: E402

DATA = {"field": "income", "value": "1200.00", "sensitivity": "personal",
        "input": {"answer": {"income": "1200.00"}}}


def entry(i: int) -> NewEntry:
    return NewEntry(type="answer", call_id=f"call-{i // 50}", account_id=f"ACC-{i // 200}", agent="agent1",
                    flow_id="affordability", flow_hash="fe" * 32, step_id="income", data=DATA,
                    ts=f"2026-03-01T10:{(i // 60) % 60:02d}:{i % 60:02d}Z")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", type=int, default=200, help="appends per round")
    ap.add_argument("--repeats", type=int, default=7, help="rounds of each")
    ap.add_argument("--dir", type=Path, default=Path(__file__).resolve().parent / "out")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench_write_", dir=args.dir))
    try:
        journal = SQLiteJournal.open(work / "journal.db")

        bare = sqlite3.connect(work / "bare.db")
        bare.execute("PRAGMA journal_mode = WAL")
        bare.execute("PRAGMA synchronous = FULL")
        bare.execute("PRAGMA foreign_keys = ON")
        bare.execute("PRAGMA busy_timeout = 5000")
        bare.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, ts TEXT, type TEXT, call_id TEXT,"
                     " account_id TEXT, agent TEXT, flow_id TEXT, flow_hash TEXT, step_id TEXT, data TEXT,"
                     " prev_hash TEXT, hash TEXT)")
        bare.commit()
        data_text = canonical_json(DATA)

        counter = iter(range(10**9))

        def bare_round(n: int) -> float:
            t0 = time.perf_counter()
            for _ in range(n):
                i = next(counter)
                e = entry(i)
                bare.execute("INSERT INTO entries (ts, type, call_id, account_id, agent, flow_id, flow_hash,"
                             " step_id, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                             (e.ts, e.type, e.call_id, e.account_id, e.agent, e.flow_id, e.flow_hash, e.step_id,
                              data_text, "0" * 64, "0" * 64))
                bare.commit()
            return (time.perf_counter() - t0) / n

        def store_round(n: int) -> float:
            t0 = time.perf_counter()
            for _ in range(n):
                journal.append(entry(next(counter)))
            return (time.perf_counter() - t0) / n

        def many_round(n: int) -> float:
            """append_many of 3 entries (what one Next typically writes), per call."""
            t0 = time.perf_counter()
            for _ in range(n):
                journal.append_many([entry(next(counter)) for _ in range(3)])
            return (time.perf_counter() - t0) / n

        rounds = {bare_round: [], store_round: [], many_round: []}
        for fn in rounds:
            fn(20)  # warm up
        for r in range(args.repeats):
            order = list(rounds) if r % 2 == 0 else list(reversed(rounds))
            for fn in order:
                rounds[fn].append(fn(args.ops))
        bare_t, store_t, many_t = rounds[bare_round], rounds[store_round], rounds[many_round]

        ok = journal.verify()
        journal.close()
        bare.close()
        print(f"directory: {args.dir}  ({args.repeats} rounds x {args.ops} ops, each op committed durably)")
        print(f"bare sqlite3 INSERT+commit : best {min(bare_t) * 1e3:7.3f} ms  median "
              f"{statistics.median(bare_t) * 1e3:7.3f} ms per op")
        print(f"SQLiteJournal.append       : best {min(store_t) * 1e3:7.3f} ms  median "
              f"{statistics.median(store_t) * 1e3:7.3f} ms per op   (chain verifies: {ok.ok}, {ok.checked} entries)")
        print(f"append_many(3 entries)     : best {min(many_t) * 1e3:7.3f} ms  median "
              f"{statistics.median(many_t) * 1e3:7.3f} ms per call")
        print(f"ratio append / bare        : best {min(store_t) / min(bare_t):.2f}x  median "
              f"{statistics.median(store_t) / statistics.median(bare_t):.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
