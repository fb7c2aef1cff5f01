"""Team store throughput: many simulated agents write scripted calls to their own local journals
(durable SQLite appends, as the engine does) while each desktop's sync pushes them into one
PostgreSQL team store. Reports the rate entries arrive in PostgreSQL while the agents are
writing (sustained: over the whole writing window, and the slowest 1-second window after a
2-second warm-up), checks that nothing was lost (every desktop's head = its journal's last seq,
every entry exactly once), and compares with a bare `COPY` of the same rows into a plain table
with only a primary key, measured in the same run on the same server.

A throw-away PostgreSQL server is started (initdb, max_connections for all agents) unless --url
names one. Agents run in --procs processes, each agent a writer thread and a sync thread.

    python benchmarks/bench_team_throughput.py                 # 200 agents, 20 s of writing
    python benchmarks/bench_team_throughput.py --agents 50 --seconds 10
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from callguide.store.postgres.connect import TeamTarget  # noqa: E402
from callguide.store.postgres.migrate import add_person, init  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from callguide.team.sync import TeamSync  # noqa: E402
from tests.team import cluster  # noqa: E402
from tests.team.conftest import with_user  # noqa: E402
from tests.team.scripted import Clock, call_steps  # noqa: E402

SCHEMA = "bench"


EXTRAS = ("capacity_doubt", None, "vulnerability", None, "blake")


def _agent(url: str, agent: str, folder: Path, stop_at: float, out: dict, seed: int, backlog: int,
           go_at: float) -> None:
    """Live (backlog == 0): write scripted calls op by op until stop_at while the sync pushes.
    Backlog: write `backlog` calls with no sync (offline), then start the sync at go_at."""
    path = folder / f"{agent}.db"
    journal = SQLiteJournal.open(path)
    target = TeamTarget(with_user(url, agent), SCHEMA, SCHEMA)
    sync = TeamSync(path, target, batch=500, poll=0.2, backoff=(0.1, 2.0))
    # Each phase's journals start differently: the desktop id is derived from the first entry.
    rng = random.Random(seed * 2 + (1 if backlog else 0))
    clock = Clock("2026-11-23T09:00:00+00:00" if backlog else "2026-11-22T09:00:00+00:00", step_ms=400)
    written = 0
    c = 0
    if backlog:
        for c in range(backlog):
            ops = list(call_steps(f"ACC-{rng.randrange(5000)}", agent, clock, rng, extra=EXTRAS[c % 5]))
            journal.append_many([e for op in ops for e in op])  # one durable transaction per call
            written += sum(len(op) for op in ops)
        c = backlog
        time.sleep(max(0.0, go_at - time.time()))
        sync.start()
    else:
        sync.start()
        while time.time() < stop_at:
            for op in call_steps(f"ACC-{rng.randrange(5000)}", agent, clock, rng, extra=EXTRAS[c % 5]):
                journal.append_many(op)
                written += len(op)
            c += 1
            sync.wake()
    ended = time.time() if not backlog else go_at
    ok = sync.wait_synced(600, at_least=written)
    out[agent] = {"written": written, "calls": c, "synced": ok, "caught_up": time.time() - ended,
                  "batches": sync.batches, "desktop": sync.desktop_id, "server_seq": sync.status.server_seq}
    sync.stop()
    journal.close()


def _worker(url: str, agents: list[str], folder: str, stop_at: float, queue: mp.Queue, backlog: int,
            go_at: float) -> None:
    out: dict = {}
    threads = [threading.Thread(target=_agent, args=(url, a, Path(folder), stop_at, out, i, backlog, go_at))
               for i, a in enumerate(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def _server_total(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return int(conn.execute(f"SELECT coalesce(sum(head_seq), 0) FROM {SCHEMA}.desktops").fetchone()[0])


def bare_copy(url: str) -> tuple[int, float]:
    """COPY every stored row, as text, into a plain table with only a primary key."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"""CREATE TABLE {SCHEMA}.bare_copy (desktop_id text, seq bigint, at timestamptz, ts text,
            type text, call_id text, account_id text, agent text, flow_id text, flow_hash text, step_id text,
            data json, has_details boolean, prev_hash text, hash text, PRIMARY KEY (desktop_id, seq))""")
        cols = ("desktop_id, seq, at, ts, type, call_id, account_id, agent, flow_id, flow_hash, step_id, data,"
                " has_details, prev_hash, hash")
        buf: list[bytes] = []
        with conn.cursor().copy(f"COPY (SELECT {cols} FROM {SCHEMA}.entries) TO STDOUT") as copy:
            for block in copy:
                buf.append(bytes(block))
        rows = sum(b.count(b"\n") for b in buf)
        t0 = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(f"COPY {SCHEMA}.bare_copy ({cols}) FROM STDIN") as copy:
            for block in buf:
                copy.write(block)
        return rows, time.perf_counter() - t0


def run_phase(url: str, groups: list[list[str]], folder: Path, *, seconds: float, backlog: int) -> float:
    """One phase; prints its figures and returns the sustained ingest rate (entries/s)."""
    folder.mkdir(parents=True)
    before = _server_total(url)
    ctx = mp.get_context("fork")
    queue: mp.Queue = ctx.Queue()
    agents = sum(len(g) for g in groups)
    if backlog:
        # Writing the backlog takes a while; every sync starts at the same moment after it.
        go_at = time.time() + 30 + backlog * agents * 17 / 1500
        stop_at = go_at
    else:
        go_at = time.time() + 2.0
        stop_at = go_at + seconds
    procs = [ctx.Process(target=_worker, args=(url, g, str(folder), stop_at, queue, backlog, go_at))
             for g in groups if g]
    for p in procs:
        p.start()
    timeline: list[tuple[float, int]] = []
    results: dict = {}
    while len(results) < agents:
        timeline.append((time.time(), _server_total(url) - before))
        try:
            results.update(queue.get(timeout=0.5))
        except Exception:  # queue.Empty
            pass
    for p in procs:
        p.join()
    timeline.append((time.time(), _server_total(url) - before))
    written = sum(r["written"] for r in results.values())
    if backlog:
        # From the common start until the last desktop caught up.
        window = [(t, n) for t, n in timeline if t >= go_at]
        end = max(go_at + r["caught_up"] for r in results.values())
        sustained = written / (end - go_at)
    else:
        window = [(t, n) for t, n in timeline if go_at + 2.0 <= t <= stop_at]
        sustained = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else 0.0
    per_second = [(n1 - n0) / (t1 - t0) for (t0, n0), (t1, n1) in zip(window, window[2:], strict=False)
                  if t1 > t0 and (not backlog or n0 < written)]
    with psycopg.connect(url, autocommit=True) as conn:
        heads = dict(conn.execute(f"SELECT desktop_id, head_seq FROM {SCHEMA}.desktops").fetchall())
        n_rows, n_keys = conn.execute(
            f"SELECT count(*), count(DISTINCT (desktop_id, seq)) FROM {SCHEMA}.entries").fetchone()
    lost = sum(1 for r in results.values() if heads.get(r["desktop"]) != r["written"])
    caught = sorted(r["caught_up"] for r in results.values())
    calls = sum(r["calls"] for r in results.values())
    if backlog:
        print(f"[backlog] {agents} agents, each offline for {backlog} calls ({written} entries in all), then all "
              f"reconnect at once: everything in PostgreSQL after {caught[-1]:.2f} s (median desktop "
              f"{caught[len(caught) // 2]:.2f} s) = {sustained:,.0f} entries/s"
              + (f"; slowest 1-s window {min(per_second):,.0f}/s" if per_second else ""))
    else:
        print(f"[live] {agents} agents writing for {seconds:g} s ({calls} calls): {written} durable local "
              f"appends ({written / seconds:,.0f}/s); in PostgreSQL meanwhile {sustained:,.0f} entries/s"
              + (f" (slowest 1-s window {min(per_second):,.0f}/s)" if per_second else "")
              + f"; all caught up {caught[-1]:.2f} s after writing stopped")
    print(f"          nothing lost: {written} written, the server holds {n_rows - before} new rows, each exactly "
          f"once: {n_rows == n_keys and n_rows - before == written}; desktops whose server head != local last "
          f"seq: {lost}")
    return sustained


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0, help="how long the agents write")
    ap.add_argument("--procs", type=int, default=4, help="processes the agents are spread over")
    ap.add_argument("--backlog-calls", type=int, default=60, help="calls each agent makes offline (backlog phase)")
    ap.add_argument("--url", default=None, help="an existing server (superuser URL); default: a throw-away one")
    args = ap.parse_args()

    pg = None
    url = args.url
    if url is None:
        problem = cluster.available()
        if problem:
            sys.exit(f"cannot start a throw-away server ({problem}); pass --url")
        pg = cluster.ThrowawayCluster(max_connections=args.agents + 30).init()
        pg.start()
        url = pg.url
    folder = Path(tempfile.mkdtemp(prefix="callguide-bench-team-"))
    try:
        admin = TeamTarget(url, SCHEMA, SCHEMA)
        init(admin)
        agents = [f"{SCHEMA}_a{i:03d}" for i in range(args.agents)]
        for a in agents:
            add_person(admin, a, ["agent"], login=a)
        groups = [agents[i::args.procs] for i in range(args.procs)]
        live = run_phase(url, groups, folder / "live", seconds=args.seconds, backlog=0)
        backlog = run_phase(url, groups, folder / "backlog", seconds=0, backlog=args.backlog_calls)
        rows, copy_s = bare_copy(url)
        copy_rate = rows / copy_s
        print(f"bare COPY of the same {rows} rows into a plain table (primary key only): {copy_s:.2f} s = "
              f"{copy_rate:,.0f} rows/s")
        for name, rate in (("live", live), ("backlog", backlog)):
            print(f"ratio {name}: sync ingest {rate:,.0f}/s vs bare COPY {copy_rate:,.0f}/s = "
                  f"{rate / copy_rate:.3f}x (COPY {copy_rate / max(rate, 1):.1f}x faster)")
        print(f"target >= 5,000 entries/s with {args.agents} agents syncing at once: "
              f"{'met' if backlog >= 5000 else 'NOT met'} ({backlog:,.0f}/s)")
    finally:
        if pg is not None:
            pg.destroy()


if __name__ == "__main__":
    main()
