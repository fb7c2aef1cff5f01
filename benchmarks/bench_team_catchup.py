"""Catch-up: one desktop offline for an hour of calls, then the team store comes back.

A throw-away PostgreSQL server is started, set up, and stopped. The desktop's sync runs all the
while (so it really is offline, backing off); the agent makes an hour of scripted calls (--calls,
durable local appends op by op, with the call's timestamps an hour apart in all). Then the server
is started again. Measured: from the server accepting connections to the team store holding
everything (includes the sync's backoff wait, at most 10 s), and from the sync's first successful
push to the end (the push itself). Baseline in the same run: a bare COPY of the same rows into a
plain table with only a primary key. Nothing lost: the server's head = the local last seq, and the
auditor's verify passes.

    python benchmarks/bench_team_catchup.py [--calls 30] [--steps 12]
"""

from __future__ import annotations

import argparse
import random
import shutil
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
from callguide.team.sync import SyncStatus, TeamSync  # noqa: E402
from tests.team import cluster  # noqa: E402
from tests.team.conftest import with_user  # noqa: E402
from tests.team.scripted import Clock, call_steps  # noqa: E402

SCHEMA = "benchc"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=30, help="calls in the offline hour")
    ap.add_argument("--steps", type=int, default=12, help="asked steps per call")
    args = ap.parse_args()
    problem = cluster.available()
    if problem:
        sys.exit(f"cannot start a throw-away server ({problem})")
    pg = cluster.ThrowawayCluster().init()
    folder = Path(tempfile.mkdtemp(prefix="callguide-bench-catchup-"))
    try:
        pg.start()
        admin = TeamTarget(pg.url, SCHEMA, SCHEMA)
        init(admin)
        add_person(admin, "benchc_anna", ["agent"], login="benchc_anna")
        add_person(admin, "benchc_audrey", ["auditor"], login="benchc_audrey")
        anna = TeamTarget(with_user(pg.url, "benchc_anna"), SCHEMA, SCHEMA)
        path = folder / "anna.db"
        journal = SQLiteJournal.open(path)
        rng = random.Random(3)
        clock = Clock(step_ms=int(3600_000 / (args.calls * (3 + 2 * args.steps))))
        # One call synced while online, then the server goes away.
        for op in call_steps("ACC-0", "benchc_anna", clock, rng, steps=args.steps):
            journal.append_many(op)
        sync = TeamSync(path, anna)
        seen: list[tuple[float, SyncStatus]] = []
        sync.add_listener(lambda s: seen.append((time.perf_counter(), s)))
        sync.start()
        assert sync.wait_synced(30)
        before = sync.status.server_seq
        pg.stop("immediate")
        written = 0
        t0 = time.perf_counter()
        for c in range(args.calls):
            for op in call_steps(f"ACC-{c % 7}", "benchc_anna", clock, rng, steps=args.steps,
                                 extra=("capacity_doubt", None, "vulnerability", "blake")[c % 4]):
                journal.append_many(op)
                written += len(op)
        write_s = time.perf_counter() - t0
        time.sleep(12)  # let the backoff reach its ceiling, as after a long outage
        offline = sync.status
        pg.start()
        up = time.perf_counter()
        assert sync.wait_synced(120, at_least=before + written), sync.status
        done = time.perf_counter()
        first_push = next(t for t, s in seen if t >= up and s.state == "sending")
        sync.stop()
        journal.close()

        with PostgresJournal(TeamTarget(with_user(pg.url, "benchc_audrey"), SCHEMA, SCHEMA)) as pj:
            verified = pj.verify()
        with psycopg.connect(pg.url, autocommit=True) as conn:
            head = conn.execute(f"SELECT head_seq FROM {SCHEMA}.desktops").fetchone()[0]
            conn.execute(f"""CREATE TABLE {SCHEMA}.bare_copy (desktop_id text, seq bigint, at timestamptz, ts text,
                type text, call_id text, account_id text, agent text, flow_id text, flow_hash text, step_id text,
                data json, has_details boolean, prev_hash text, hash text, PRIMARY KEY (desktop_id, seq))""")
            cols = ("desktop_id, seq, at, ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, data,"
                    " has_details, prev_hash, hash")
            buf = []
            with conn.cursor().copy(f"COPY (SELECT {cols} FROM {SCHEMA}.entries WHERE seq > {before})"
                                    " TO STDOUT") as copy:
                buf = [bytes(b) for b in copy]
            c0 = time.perf_counter()
            with conn.transaction(), conn.cursor().copy(f"COPY {SCHEMA}.bare_copy ({cols}) FROM STDIN") as copy:
                for b in buf:
                    copy.write(b)
            copy_s = time.perf_counter() - c0

        push_s = done - first_push
        print(f"offline hour: {args.calls} calls, {written} entries written locally in {write_s:.1f} s "
              f"(status then: {offline.state}, {offline.waiting} waiting, since {offline.offline_since:%H:%M:%S})")
        print(f"server back -> everything in the team store: {done - up:.2f} s "
              f"(of which waiting out the sync's backoff {first_push - up:.2f} s, pushing {push_s:.3f} s)")
        print(f"nothing lost: head {head} = local last seq {before + written}: {head == before + written}; "
              f"verify: {verified.ok} ({verified.checked} entries)")
        print(f"baseline bare COPY of the same {written} rows: {copy_s * 1000:.1f} ms; "
              f"push {push_s * 1000:.1f} ms = {push_s / copy_s:.1f}x the bare COPY")
    finally:
        pg.destroy()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
