"""How account_state scales with the size of the journal.

Builds a journal of N rows (default 5,000,000) spread over many accounts, and a 1,000-row journal,
both holding the same history for one target account (a handful of calls spread through the file),
then times `SQLiteJournal.account_state(target)` on each. Target: the big one is at most 2x the
small one. Also times `unfinished_calls()`.

The big file is a valid journal (real hash chain, built through the real schema and triggers) but
is written directly with executemany in large transactions for speed; it is cached under
benchmarks/out/ (gitignored) and reused by later runs.

    python benchmarks/bench_history.py            # 5M rows (first build takes a few minutes)
    python benchmarks/bench_history.py --rows 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callguide.store import GENESIS_HASH, SQLiteJournal, canonical_json  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
TARGET = "ACC-TARGET"
TODAY = dt.date(2026, 3, 10)
TARGET_CALLS = 6
SCHEMA_VERSION = "v2"  # bump when the generated data changes

Row = tuple[int, str, str, str, str, str, str | None, str | None, str | None, str, str, str]


def _call(account: str, rng: random.Random, target: bool) -> list[tuple[str, str | None, dict]]:
    """One call's entries: (type, step_id, data)."""
    out: list[tuple[str, str | None, dict]] = [
        ("call_started", None, {"account": {"id": account, "name": "Test Person", "country": "UK", "lang": "en",
                                            "balance": "1200.00", "currency": "GBP"},
                                "start_flow": "texas", "lang": "en", "practice": False}),
    ]
    for i in range(rng.randint(6, 10)):
        step = f"step-{i}"
        out.append(("step_shown", step, {"kind": "ask", "say": "Is now a good time to talk about your account?",
                                         "guidance": "Listen for signs of vulnerability.", "lang": "en"}))
        out.append(("answer", step, {"field": f"f{i}", "value": "yes", "sensitivity": "none",
                                     "input": {"answer": {f"f{i}": "yes"}}}))
        out.append(("step_committed", step, {"choice": "yes", "to": f"step-{i + 1}", "input": {"next": "yes"}}))
    if target or rng.random() < 0.2:
        review = (TODAY + dt.timedelta(days=rng.randint(-30, 90))).isoformat()
        out.append(("consent", "consent", {"purpose": "health_disclosure", "decision": "given",
                                           "wording_hash": "ab" * 32, "wording_lang": "en",
                                           "wording": "Are you happy for me to note that?", "input": {"consent": "given"}}))
        out.append(("vulnerability", "record", {"fields": {"category": "health"}, "category": "health",
                                                "review_date": review, "consent": "health_disclosure"}))
        out.append(("hold_started", "record", {"days": 30, "until": review, "reason": "health"}))
        out.append(("adjustment", "record", {"fields": {"contact": rng.choice(["email", "letter"])}}))
        out.append(("callback", "record", {"due": review, "reason": "review"}))
        out.append(("capacity_doubt", "record", {"reason": "confused"}))
        out.append(("capacity_doubt_cleared", "record", {"reason": "resolved"}))
    out.append(("outcome", "wrap", {"code": "PROMISE_TO_PAY"}))
    if target or rng.random() < 0.97:
        out.append(("call_ended", "wrap", {"outcome": "PROMISE_TO_PAY", "summary": "ok"}))
    return out


def generate(rows: int, seed: int = 7) -> Iterator[Row]:
    """`rows` rows (exactly), the target account's calls spread evenly through them."""
    rng = random.Random(seed)
    accounts = max(10, rows // 50)
    target_at = {int(rows * (k + 0.5) / TARGET_CALLS) for k in range(TARGET_CALLS)}
    seq = 0
    prev = GENESIS_HASH
    t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    ncall = 0
    n_target = 0
    pending_targets = sorted(target_at)
    while seq < rows:
        ncall += 1
        target = bool(pending_targets) and seq >= pending_targets[0]
        if target:
            pending_targets.pop(0)
        account = TARGET if target else f"ACC-{rng.randrange(accounts):07d}"
        agent = f"agent{rng.randrange(40)}"
        call_id = f"call-{ncall:08d}"
        flow_hash = "fe" * 32
        if target:
            n_target += 1
            # The target's history is the same whatever the journal's size.
            entries = _call(account, random.Random(f"target-{n_target}"), target=True)
        else:
            entries = _call(account, rng, target=False)
        for type_, step_id, data in entries:
            if seq >= rows:
                break
            seq += 1
            t += dt.timedelta(seconds=3)
            ts = t.isoformat().replace("+00:00", "Z")
            data_text = canonical_json(data)
            # Same bytes as base.compute_hash, written out so the build stays fast.
            body = canonical_json({"account_id": account, "agent": agent, "call_id": call_id, "data": data,
                                   "flow_hash": flow_hash, "flow_id": "texas", "step_id": step_id, "ts": ts,
                                   "type": type_})
            h = hashlib.sha256((prev + body).encode()).hexdigest()
            yield (seq, ts, type_, call_id, account, agent, "texas", flow_hash, step_id, data_text, prev, h)
            prev = h


def sign_head(conn: sqlite3.Connection) -> None:
    """A signed checkpoint of the last entry, as the store writes one at every call end: the rows
    above are written around the store, and opening refuses a journal whose calls ended after its
    newest checkpoint (checkpoints removed). Every relaxing entry (a consent, a hold's end, a review)
    gets its own checkpoint too, as the store writes them (docs/journal.md, "Relaxing entries are
    signed"): without it the register would not count them."""
    from callguide.store import entry_types as et
    from callguide.store.checkpoints import sign_checkpoint
    from callguide.store.keys import KeyStore

    key = KeyStore().signing_key()
    journal_id = conn.execute("SELECT value FROM journal_meta WHERE key = 'journal_id'").fetchone()[0]
    seq, head = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    types = et.RELAXING_TYPES
    own = conn.execute(f"SELECT seq, hash FROM entries WHERE seq < ? AND type IN ({','.join('?' * len(types))})",
                       (seq, *types)).fetchall()
    cps = [sign_checkpoint(key, journal_id, s, h) for s, h in [*own, (seq, head)]]
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO checkpoints (seq, ts, head, key, sig) VALUES (?,?,?,?,?)",
                     [(cp.seq, cp.ts, cp.head, cp.key, cp.sig) for cp in cps])
    conn.execute("COMMIT")


def build(path: Path, rows: int) -> None:
    done = path.with_suffix(".ok3")  # (.ok: before the head was signed; .ok2: before relaxing entries were)
    if done.exists() and path.exists():
        return
    for p in (path, done, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    SQLiteJournal.open(path).close()  # the real schema, via the migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    start = time.perf_counter()
    batch: list[Row] = []
    sql = f"INSERT INTO entries VALUES ({','.join('?' * 12)})"
    for row in generate(rows):
        batch.append(row)
        if len(batch) >= 200_000:
            conn.execute("BEGIN")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")
            batch.clear()
            print(f"  built {row[0]:,} rows ({time.perf_counter() - start:.0f}s)", flush=True)
    if batch:
        conn.execute("BEGIN")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
    sign_head(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    done.write_text(SCHEMA_VERSION)
    print(f"  built {path.name}: {rows:,} rows in {time.perf_counter() - start:.1f}s")


def round_time(fn, calls: int) -> float:
    """Seconds per call over one round of `calls` calls."""
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--small", type=int, default=1_000)
    ap.add_argument("--calls", type=int, default=50, help="calls per timing round")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--verify", action="store_true", help="also time verify() on the big journal")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    paths = {}
    for label, n in (("small", args.small), ("big", args.rows)):
        path = OUT / f"history_{SCHEMA_VERSION}_{n}.db"
        print(f"{label}: {path.name}")
        build(path, n)
        paths[label] = path

    journals = {label: SQLiteJournal.open(path) for label, path in paths.items()}
    for label, j in journals.items():
        state = j.account_state(TARGET, TODAY)
        print(f"{label:>5}: {j.count():>10,} rows; target account {len(j.account_entries(TARGET))} entries "
              f"({state.calls} calls, {len(state.vulnerabilities)} open vulnerabilities, {len(state.holds)} holds, "
              f"{len(j.unfinished_calls()):,} unfinished calls in the file)")

    # Rounds alternate small/big so the machine's drift hits both; the ratio is taken per pair of rounds.
    acc: dict[str, list[float]] = {"small": [], "big": []}
    unf: dict[str, list[float]] = {"small": [], "big": []}
    for j in journals.values():
        round_time(lambda j=j: j.account_state(TARGET, TODAY), 5)
    for r in range(args.repeats):
        order = ["small", "big"] if r % 2 == 0 else ["big", "small"]
        for label in order:
            j = journals[label]
            acc[label].append(round_time(lambda j=j: j.account_state(TARGET, TODAY), args.calls))
            unf[label].append(round_time(j.unfinished_calls, max(1, args.calls // 10)))
    for label in ("small", "big"):
        print(f"{label:>5}: account_state    best {min(acc[label]) * 1e3:7.3f} ms  "
              f"median {statistics.median(acc[label]) * 1e3:7.3f} ms")
        print(f"       unfinished_calls best {min(unf[label]) * 1e3:7.3f} ms  "
              f"median {statistics.median(unf[label]) * 1e3:7.3f} ms")
    if args.verify:
        t0 = time.perf_counter()
        res = journals["big"].verify()
        print(f"  big: verify() {res} in {time.perf_counter() - t0:.1f}s")
    for j in journals.values():
        j.close()

    pair = statistics.median(b / s for b, s in zip(acc["big"], acc["small"], strict=True))
    best = min(acc["big"]) / min(acc["small"])
    print(f"account_state ratio big/small: median of paired rounds {pair:.2f}x, best/best {best:.2f}x "
          f"(target <= 2x) -> {'OK' if pair <= 2 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
