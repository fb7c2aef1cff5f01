"""The agent's previous call for the call window's notices: how long the team store takes to answer.

A fresh team store on the test server (`CALLGUIDE_TEST_PG_URL`, else 127.0.0.1:5432 `test`) holds
one agent's five real scripted calls, pushed through a real journal and the real `TeamSync`, among
--rows filler entries of 2,000 other agents (generated in SQL with generate_series straight into
the journal table as the superuser, one `call_started` in ten). Connected as the agent herself
(row-level security), `PostgresPublications.latest_call_start` (the agent's latest call start other
than the current call, which has not synced) and `call_start` are each read --reads times: first
with migration 0008's index `entries_agent_call_starts`, then with it dropped (the baseline, same
run, same data). The schema and its roles are dropped at the end.

    python benchmarks/bench_team_notice_previous.py [--rows 1000000] [--reads 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from callguide.store.postgres.connect import quote_ident  # noqa: E402
from callguide.store.postgres.publications import PostgresPublications  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from callguide.team.sync import TeamSync  # noqa: E402
from tests.team.conftest import PG_URL, new_team_server  # noqa: E402
from tests.team.scripted import Clock, call_steps  # noqa: E402

FILLER = """
INSERT INTO {schema}.entries (desktop_id, seq, at, ts, type, call_id, account_id, agent, flow_id, flow_hash,
                              step_id, data, has_details, prev_hash, hash)
SELECT 'fill-' || (i % 2000), i / 2000 + 1, t, to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"'),
       (ARRAY['step_shown','answer','step_committed','step_shown','answer','step_committed','call_started',
              'call_ended','outcome','note'])[1 + i % 10],
       'call-' || (i / 10), 'ACC-' || ((i / 10) % 200000), 'agent-' || ((i / 10) % 2000), 'texas', repeat('ab', 32),
       'step-' || (i % 9), '{{"value": "yes"}}'::json, false, md5(i::text), md5((i + 2)::text)
  FROM (SELECT i, timestamptz '2026-01-01' + (i * interval '3 second') AS t
          FROM generate_series({start}::bigint, {stop}::bigint) AS i) g
"""


def timed(fn: object, reads: int) -> tuple[float, float, object]:
    result = fn()  # type: ignore[operator]  # warm up
    times = []
    for _ in range(reads):
        t0 = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, max(times) * 1000, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reads", type=int, default=30)
    ap.add_argument("--url", default=PG_URL, help="a superuser URL (default: the test server)")
    args = ap.parse_args()
    server = new_team_server(args.url)
    try:
        anna = server.person("anna", "agent")
        schema = quote_ident(server.target.schema)
        with tempfile.TemporaryDirectory(prefix="callguide-bench-notice-") as folder:
            path = Path(folder) / "anna.db"
            journal = SQLiteJournal.open(path)
            calls = []
            for k in range(5):
                for op in call_steps("ACC-5", "anna", Clock(f"2026-11-2{k}T09:00:00+00:00"), random.Random(k)):
                    calls.append(journal.append_many(op)[0].call_id)
            journal.close()
            sync = TeamSync(path, anna).start()
            assert sync.wait_synced(60), sync.status
            sync.stop()
        with psycopg.connect(args.url, autocommit=True) as conn:
            t0 = time.perf_counter()
            for start in range(0, args.rows, 1_000_000):
                conn.execute(FILLER.format(schema=schema, start=start + 1, stop=min(args.rows, start + 1_000_000)))
            conn.execute(f"VACUUM ANALYZE {schema}.entries")
            print(f"{args.rows:,} filler entries in {time.perf_counter() - t0:.1f} s", flush=True)
        figures = {}
        for label in ("with 0008's index", "without it (baseline)"):
            if label.startswith("without"):
                with psycopg.connect(args.url, autocommit=True) as conn:
                    conn.execute(f"DROP INDEX {schema}.entries_agent_call_starts")
                    conn.execute(f"ANALYZE {schema}.entries")
            with PostgresPublications(anna) as pubs:
                latest = timed(lambda p=pubs: p.latest_call_start("anna", "the-current-call"), args.reads)
                start = timed(lambda p=pubs: p.call_start("anna", calls[-1]), args.reads)
            assert latest[2] == "2026-11-24T09:00:00.700+00:00", latest[2]
            figures[label] = (latest, start)
            print(f"{label}: latest_call_start median {latest[0]:.2f} ms (max {latest[1]:.2f}); "
                  f"call_start median {start[0]:.2f} ms (max {start[1]:.2f})", flush=True)
        (li, si), (lb, sb) = figures.values()
        print(f"latest_call_start: {lb[0] / li[0]:.0f}x faster with the index; call_start {sb[0] / si[0]:.0f}x")
    finally:
        server.drop()


if __name__ == "__main__":
    main()
