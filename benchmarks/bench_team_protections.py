"""Account protections at call start from the team store: 10 million entries against 1 thousand.

Two team stores (schemas) on one throw-away PostgreSQL server: `small` with 1,000 entries and
`big` with 10,000,000, spread over 2,000 desktops and 200,000 accounts (filler rows generated in
SQL with generate_series, straight into the journal table as the superuser, so they carry
placeholder hashes). Both hold the SAME history for one target account: six real scripted calls
written to a real local journal and pushed through the real sync (`ingest`). Then an agent,
connected as herself through RLS, reads `PostgresJournal.account_state(target)` (open_account
recorded + the indexed read + the one deriver) alternately on each store. Target: big <= 2x small.

The server and its data are kept under --dir (benchmarks/out/, gitignored) and reused by later
runs; the first build of 10 M rows takes several minutes.

    python benchmarks/bench_team_protections.py            # 10,000,000 vs 1,000
    python benchmarks/bench_team_protections.py --rows 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from callguide.store.postgres.connect import TeamTarget  # noqa: E402
from callguide.store.postgres.journal import PostgresJournal  # noqa: E402
from callguide.store.postgres.migrate import add_person, init  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from callguide.team.sync import TeamSync  # noqa: E402
from tests.team import cluster  # noqa: E402
from tests.team.conftest import with_user  # noqa: E402
from tests.team.scripted import Clock, call_steps  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
TARGET = "ACC-TARGET"
TODAY = dt.date(2026, 11, 22)
VERSION = "v1"  # bump when the generated data changes

FILLER = """
INSERT INTO {schema}.entries (desktop_id, seq, at, ts, type, call_id, account_id, agent, flow_id, flow_hash,
                              step_id, data, has_details, prev_hash, hash)
SELECT 'fill-' || (i % 2000), i / 2000 + 1, t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"'),
       (ARRAY['step_shown','answer','step_committed','step_shown','answer','step_committed','call_started',
              'call_ended','outcome','consent','adjustment','hold_started','vulnerability','callback',
              'capacity_doubt','capacity_doubt_cleared','note','escalation','signpost','blocked'])[1 + i % 20],
       'call-' || (i / 17), 'ACC-' || ((i / 17) % 200000), 'agent-' || (i % 2000), 'texas', repeat('ab', 32),
       'step-' || (i % 9),
       json_build_object('field', 'f' || (i % 9), 'value', 'yes', 'sensitivity', 'none',
                         'review_date', '2027-01-01', 'reason', 'filler')::json,
       false, md5(i::text) || md5((i + 1)::text), md5((i + 2)::text) || md5((i + 3)::text)
  FROM (SELECT i, timestamptz '2026-01-01' + (i * interval '3 second') AS t
          FROM generate_series({start}::bigint, {stop}::bigint) AS i) g
"""


def build(url: str, schema: str, rows: int, agent_login: str, folder: Path) -> None:
    admin = TeamTarget(url, schema, "benchp")
    init(admin)
    add_person(admin, agent_login, ["agent"], login=agent_login)
    add_person(admin, "benchp_target_agent", ["agent"], login="benchp_target_agent")
    target_rows = _push_target(url, schema, folder)
    filler = max(0, rows - target_rows)
    with psycopg.connect(url, autocommit=True) as conn:
        step = 1_000_000
        for start in range(0, filler, step):
            t0 = time.perf_counter()
            conn.execute(FILLER.format(schema=schema, start=start, stop=min(filler, start + step) - 1))
            print(f"  {schema}: {min(filler, start + step):,} filler rows ({time.perf_counter() - t0:.1f} s)",
                  flush=True)
        conn.execute(f"VACUUM ANALYZE {schema}.entries")
        conn.execute(f"CREATE TABLE {schema}.bench_built (version text)")
        conn.execute(f"INSERT INTO {schema}.bench_built VALUES (%s)", (VERSION,))


def _push_target(url: str, schema: str, folder: Path) -> int:
    """Six real calls on the target account, through a real journal and the real sync."""
    path = folder / f"{schema}-target.db"
    journal = SQLiteJournal.open(path)
    clock = Clock("2026-06-01T09:00:00+00:00", step_ms=900)
    import random

    rng = random.Random(5)
    n = 0
    for extra in ("vulnerability", "capacity_doubt", None, "blake", None, "vulnerability"):
        for op in call_steps(TARGET, "benchp_target_agent", clock, rng, extra=extra):
            journal.append_many(op)
            n += len(op)
    sync = TeamSync(path, TeamTarget(with_user(url, "benchp_target_agent"), schema, "benchp")).start()
    assert sync.wait_synced(60), sync.status
    sync.stop()
    journal.close()
    return n


def built(url: str, schema: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f"{schema}.bench_built",)).fetchone()
        if row[0] is None:
            return False
        return conn.execute(f"SELECT version FROM {schema}.bench_built").fetchone()[0] == VERSION


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--small", type=int, default=1_000)
    ap.add_argument("--reads", type=int, default=300, help="reads of each store (alternating)")
    ap.add_argument("--dir", type=Path, default=OUT / "pg-team-protections")
    args = ap.parse_args()
    problem = cluster.available()
    if problem:
        sys.exit(f"cannot start a throw-away server ({problem})")

    pg = cluster.ThrowawayCluster(settings={"shared_buffers": "512MB", "max_wal_size": "4GB"})
    shutil.rmtree(pg.dir, ignore_errors=True)  # kept under --dir instead, for later runs
    data = args.dir / "data"
    fresh = not data.exists()
    args.dir.mkdir(parents=True, exist_ok=True)
    pg.dir, pg.data = args.dir, data
    if fresh:
        pg.init()
    if os.geteuid() == 0:
        shutil.chown(args.dir, "postgres")
    pg.start()
    folder = Path(tempfile.mkdtemp(prefix="callguide-bench-prot-"))
    try:
        url = pg.url
        big, small = f"big_{args.rows}", f"small_{args.small}"
        for schema, rows in ((small, args.small), (big, args.rows)):
            if not built(url, schema):
                t0 = time.perf_counter()
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                build(url, schema, rows, "benchp_anna", folder)
                print(f"built {schema}: {rows:,} rows in {time.perf_counter() - t0:.0f} s", flush=True)
        with psycopg.connect(url, autocommit=True) as conn:
            counts = {s: conn.execute(f"SELECT count(*) FROM {s}.entries").fetchone()[0] for s in (small, big)}
            size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", (f"{big}.entries",)).fetchone()[0]
            plan = conn.execute(
                f"EXPLAIN SELECT e.seq FROM {big}.entries e LEFT JOIN {big}.entry_details d ON d.desktop_id = "
                f"e.desktop_id AND d.seq = e.seq WHERE e.account_id = %s AND e.type = ANY(%s) "
                "ORDER BY e.at, e.desktop_id, e.seq", (TARGET, ["hold_started"])).fetchall()
        stores = {s: PostgresJournal(TeamTarget(with_user(url, "benchp_anna"), s, "benchp")) for s in (small, big)}
        states = {s: stores[s].account_state(TARGET, TODAY) for s in stores}  # warm up
        assert states[small] == states[big], "both stores must give the same protections"
        times: dict[str, list[float]] = {small: [], big: []}
        for _ in range(args.reads):
            for s in (small, big):
                t0 = time.perf_counter()
                stores[s].account_state(TARGET, TODAY)
                times[s].append(time.perf_counter() - t0)
        for st in stores.values():
            st.close()
        med = {s: statistics.median(v) * 1000 for s, v in times.items()}
        p95 = {s: sorted(v)[int(len(v) * 0.95)] * 1000 for s, v in times.items()}
        print(f"entries: small {counts[small]:,}, big {counts[big]:,} (big table + indexes {size})")
        print("plan (big): " + " / ".join(r[0].strip() for r in plan[:4]))
        st = states[big]
        print(f"target account: {st.calls} calls, {len(st.vulnerabilities)} vulnerability record(s), "
              f"{len(st.holds)} hold(s), {len(st.capacity_flags)} capacity doubt(s)")
        print(f"account_state at call start: big median {med[big]:.2f} ms (p95 {p95[big]:.2f}), small median "
              f"{med[small]:.2f} ms (p95 {p95[small]:.2f}): {med[big] / med[small]:.2f}x (target <= 2x)")
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
