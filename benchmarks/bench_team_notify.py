"""How fast a protection raised on one desktop reaches a call on another (the NOTIFY path the
console will also use).

On a throw-away PostgreSQL server (or --url), measured over --events events each:
- baseline: a bare `NOTIFY` on one connection to a bare `LISTEN` loop on another (psycopg);
- notice: the care team's desktop appends a hold to its local journal, its sync pushes it
  (`ingest`, NOTIFY at commit), and the agent's `TeamNotices` calls the subscriber;
- protections: the same, through `TeamProtections.follow`, which reads the account's protections
  again (RLS, open_account, derive) before calling back: what the agent's window will get.
Prints p50/p99 for each and the ratio against the baseline. Target (issue 13 §2): within 2 s.

    python benchmarks/bench_team_notify.py [--events 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from callguide.store.base import NewEntry  # noqa: E402
from callguide.store.postgres.cache import ProtectionCache  # noqa: E402
from callguide.store.postgres.connect import TeamTarget  # noqa: E402
from callguide.store.postgres.journal import PostgresJournal  # noqa: E402
from callguide.store.postgres.migrate import add_person, init  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from callguide.team.notify import TeamNotices  # noqa: E402
from callguide.team.protections import TeamProtections  # noqa: E402
from callguide.team.sync import TeamSync  # noqa: E402
from tests.team import cluster  # noqa: E402
from tests.team.conftest import with_user  # noqa: E402

SCHEMA = "benchn"


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))] * 1000


def bare(url: str, events: int) -> list[float]:
    got: dict[int, float] = {}
    ready = threading.Event()
    listener = psycopg.connect(url, autocommit=True)
    listener.execute("LISTEN bare_bench")

    def loop() -> None:
        ready.set()
        for n in listener.notifies(timeout=30, stop_after=events):
            got[int(n.payload)] = time.perf_counter()

    t = threading.Thread(target=loop)
    t.start()
    ready.wait()
    sent: dict[int, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(events):
            sent[i] = time.perf_counter()
            conn.execute("SELECT pg_notify('bare_bench', %s)", (str(i),))
            time.sleep(0.005)
    t.join()
    listener.close()
    return [got[i] - sent[i] for i in sent if i in got]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--url", default=None, help="an existing server (superuser URL); default: a throw-away one")
    args = ap.parse_args()
    pg = None
    url = args.url
    if url is None:
        problem = cluster.available()
        if problem:
            sys.exit(f"cannot start a throw-away server ({problem}); pass --url")
        pg = cluster.ThrowawayCluster().init()
        pg.start()
        url = pg.url
    folder = Path(tempfile.mkdtemp(prefix="callguide-bench-notify-"))
    try:
        admin = TeamTarget(url, SCHEMA, SCHEMA)
        init(admin)
        add_person(admin, "benchn_anna", ["agent"], login="benchn_anna")
        add_person(admin, "benchn_carla", ["care_team"], login="benchn_carla")
        anna = TeamTarget(with_user(url, "benchn_anna"), SCHEMA, SCHEMA)
        carla = TeamTarget(with_user(url, "benchn_carla"), SCHEMA, SCHEMA)

        base = bare(url, args.events)

        journal = SQLiteJournal.open(folder / "carla.db")
        sync = TeamSync(folder / "carla.db", carla, poll=0.5).start()
        anna_journal = SQLiteJournal.open(folder / "anna.db")
        team = PostgresJournal(anna)
        reader = TeamProtections(anna_journal, team, ProtectionCache(folder / "cache.db"))
        notices = TeamNotices(anna).start()
        assert notices.wait_connected(10)
        today = dt.date(2026, 11, 22)

        notice_lat: list[float] = []
        prot_lat: list[float] = []
        for kind, sink in (("notice", notice_lat), ("protections", prot_lat)):
            for i in range(args.events):
                account = f"ACC-{kind}-{i}"
                done = threading.Event()
                got: list[float] = []

                def hit(*_: object, got: list[float] = got, done: threading.Event = done) -> None:
                    got.append(time.perf_counter())
                    done.set()

                if kind == "notice":
                    unsubscribe = notices.subscribe(account, hit)
                else:
                    reader.read(account, today)  # the call started: the account is opened
                    unsubscribe = reader.follow(account, today, notices, hit)
                t0 = time.perf_counter()
                journal.append(NewEntry("hold_started", f"care-{i}", account, "benchn_carla", "hold", "ab" * 32,
                                        "hold", {"days": 30, "until": "2026-12-22", "reason": "care team"},
                                        dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")))
                sync.wake()
                if done.wait(5):
                    sink.append(got[0] - t0)
                unsubscribe()
                time.sleep(0.01)
        notices.stop()
        sync.stop()
        team.close()
        journal.close()
        anna_journal.close()

        b50, b99 = pct(base, 0.5), pct(base, 0.99)
        print(f"baseline bare NOTIFY -> LISTEN: p50 {b50:.2f} ms, p99 {b99:.2f} ms ({len(base)} events)")
        for name, lat in (("append -> sync -> ingest -> NOTIFY -> subscriber", notice_lat),
                          ("... -> protections read again -> callback", prot_lat)):
            p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
            print(f"{name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(lat) * 1000:.1f} ms "
                  f"({len(lat)}/{args.events} delivered); p50 {p50 / b50:.1f}x the bare NOTIFY; "
                  f"target 2 s: {'met' if len(lat) == args.events and max(lat) < 2 else 'NOT met'}")
        print(f"mean bare {statistics.mean(base) * 1000:.2f} ms")
    finally:
        if pg is not None:
            pg.destroy()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
