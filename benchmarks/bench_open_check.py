"""What the checks on open cost on a large journal, against a bare open of the same file.

Builds (once, cached under benchmarks/out/) a valid journal of N entries (default 1,000,000; the
generator of bench_history.py, with a signed checkpoint and its anchor at the end), then times:
- bare: `sqlite3.connect` + WAL/synchronous pragmas + reading the last entry;
- `SQLiteJournal.open(readonly=True)` and `SQLiteJournal.open()` (writable: also loads the signing
  key): schema and append-only triggers, the tables of calls and accounts against the entry
  count, the newest checkpoint (signature and head) and the newest anchor;
each warm (file in the page cache) and cold (the file's pages dropped with posix_fadvise before
every open). For reference, once each: walking both entry indexes (what the audit adds), SQLite's
`quick_check` and `integrity_check`, and migrating the same number of entries from schema 2.

    python benchmarks/bench_open_check.py [--rows 1000000] [--repeats 15] [--no-migration]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
os.environ["CALLGUIDE_KEYS_DIR"] = str(OUT / "bench_open_keys")
os.environ["CALLGUIDE_ANCHORS_DIR"] = str(OUT / "bench_open_anchors")
sys.path.insert(0, str(ROOT))

from sqlite_utils import Database  # noqa: E402

from benchmarks.bench_history import generate, sign_head  # noqa: E402
from callguide.store import SQLiteJournal  # noqa: E402
from callguide.store import integrity as store_integrity  # noqa: E402
from callguide.store import migrations as store_migrations  # noqa: E402
from callguide.store.sqlite import read_snapshot  # noqa: E402

VERSION = "v5"  # v5: relaxing entries signed at their own seq (sign_head)


def fill(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    sql = f"INSERT INTO entries VALUES ({','.join('?' * 12)})"
    batch = []
    for row in generate(rows):
        batch.append(row)
        if len(batch) >= 200_000:
            conn.execute("BEGIN")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")
            batch.clear()
    if batch:
        conn.execute("BEGIN")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()


def build(rows: int) -> Path:
    path = OUT / f"open_{VERSION}_{rows}.db"
    done = path.with_suffix(".ok")
    if path.exists() and done.exists():
        return path
    for p in (path, done, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    SQLiteJournal.open(path).close()
    fill(path, rows)
    conn = sqlite3.connect(path, isolation_level=None)
    sign_head(conn)
    conn.close()
    with SQLiteJournal.open(path) as j:
        j.checkpoint()
    done.write_text(VERSION)
    print(f"  built {path.name} in {time.perf_counter() - t0:.0f} s")
    return path


def drop_cache(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if p.exists():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def bare(path: Path) -> None:
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = FULL")
    c.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    c.close()


def timed(fn, path: Path, cold: bool) -> float:
    if cold:
        drop_cache(path)
    t0 = time.perf_counter()
    fn(path)
    return time.perf_counter() - t0


def once(label: str, fn, warm: bool = True) -> None:
    if warm:
        fn()  # the file in the page cache first
    t0 = time.perf_counter()
    result = fn()
    print(f"  {label:<44} {(time.perf_counter() - t0) * 1e3:9.1f} ms  {result}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--no-migration", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = build(args.rows)
    size = path.stat().st_size / 1e6
    print(f"journal: {path.name}, {args.rows:,} entries, {size:.0f} MB")
    SQLiteJournal.open(path).close()  # the key exists; warm

    variants = {
        "bare open": bare,
        "SQLiteJournal.open(readonly=True)": lambda p: SQLiteJournal.open(p, readonly=True).close(),
        "SQLiteJournal.open() (writable, key)": lambda p: SQLiteJournal.open(p).close(),
    }
    results: dict[tuple[str, bool], list[float]] = {}
    for cold in (False, True):
        for r in range(args.repeats):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for name in order:
                results.setdefault((name, cold), []).append(timed(variants[name], path, cold))
    for cold in (False, True):
        base = statistics.median(results[("bare open", cold)])
        print(f"{'cold' if cold else 'warm'} (median of {args.repeats}):")
        for name in variants:
            xs = results[(name, cold)]
            med = statistics.median(xs)
            print(f"  {name:<40} median {med * 1e3:8.2f} ms  best {min(xs) * 1e3:8.2f} ms  "
                  f"({med / base:5.1f}x bare, +{(med - base) * 1e3:.1f} ms)")

    print("for reference, warm (second of two runs):")
    conn = sqlite3.connect(path)

    def deep() -> list[str]:
        with read_snapshot(conn):
            return store_integrity.consistency_problems(conn, deep=True)

    once("walk both entry indexes (audit)", deep)
    once("PRAGMA quick_check", lambda: conn.execute("PRAGMA quick_check").fetchall())
    once("PRAGMA integrity_check", lambda: conn.execute("PRAGMA integrity_check").fetchall())
    conn.close()

    if not args.no_migration:
        old = OUT / f"open_v2_{args.rows}.db"
        for p in (old, Path(f"{old}-wal"), Path(f"{old}-shm")):
            p.unlink(missing_ok=True)
        c = sqlite3.connect(old)
        store_migrations.migrations.apply(Database(c), stop_before="0003_checkpoints_meta_account_index")
        c.close()
        fill(old, args.rows)
        once(f"migrate {args.rows:,} entries from schema 2 (open)", lambda: SQLiteJournal.open(old).close(),
             warm=False)
        for p in (old, Path(f"{old}-wal"), Path(f"{old}-shm")):
            p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
