"""Alert latency (issue 13 §6): BLAKE pressed on a desktop -> the item shown in the console's model.

On a throw-away PostgreSQL server (or --url), over --events BLAKEs:
- baseline: a bare `NOTIFY` on one connection to a bare `LISTEN` loop on another (psycopg), same run;
- alert: the agent's desktop appends BLAKE's entries (crisis, emergency escalation, supervisor
  alert) to its local journal in one durable transaction, its sync pushes them (`ingest`, NOTIFY
  at commit), the supervisor's `ConsoleFeed` hears it and reads the queue again (RLS), and the
  update crosses to the Qt thread (queued signal) into `QueueTableModel`: the clock stops when the
  model has the row. Also: the acknowledgement path, the console's `acknowledge` -> the agent's
  `AckWatcher` callback (target 2 s).
Prints p50/p99/max and the ratio against the baseline. Target: p99 < 1 s over loopback.

    python benchmarks/bench_team_alert.py [--events 100] [--url postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from PySide6.QtCore import QCoreApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.bench_team_notify import bare, pct  # noqa: E402
from callguide.qt.console.models import QueueTableModel  # noqa: E402
from callguide.qt.console.window import FeedBridge  # noqa: E402
from callguide.store.base import NewEntry  # noqa: E402
from callguide.store.postgres.connect import TeamTarget, quote_ident  # noqa: E402
from callguide.store.postgres.journal import PostgresJournal  # noqa: E402
from callguide.store.postgres.migrate import add_person, init  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from callguide.team.acks import AckWatcher  # noqa: E402
from callguide.team.console import Console, ConsoleFeed  # noqa: E402
from callguide.team.notify import TeamNotices  # noqa: E402
from callguide.team.sync import TeamSync  # noqa: E402
from tests.team import cluster  # noqa: E402
from tests.team.conftest import with_user  # noqa: E402

SCHEMA = "bencha"


def blake(account: str, agent: str) -> list[NewEntry]:
    call = uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")

    def e(type_: str, data: dict, step: str = "escalate", flow: str = "blake") -> NewEntry:
        return NewEntry(type_, call, account, agent, flow, "ab" * 32, step, data, now)

    return [e("call_started", {"account": {"id": account}, "start_flow": "call-opening", "lang": "en",
                               "practice": False}, step="start", flow="call-opening"),
            e("crisis", {"reason": "emergency", "review_date": "2026-12-22"}),
            e("escalation", {"kind": "emergency", "number": "999", "service": "Emergency services", "country": "UK",
                             "reason": ""}),
            e("escalation", {"kind": "supervisor", "reason": "BLAKE: immediate danger"})]


def drop(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(SCHEMA)} CASCADE")
        for name in ("bencha_anna", "bencha_sam"):
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (name,))
            conn.execute(f"DROP OWNED BY {quote_ident(name)}") if conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() else None
            conn.execute(f"DROP ROLE IF EXISTS {quote_ident(name)}")
        for role in ("owner", "agent", "care_team", "supervisor", "trainer", "reviewer", "auditor"):
            name = f"{SCHEMA}_{role}"
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                conn.execute(f"DROP OWNED BY {quote_ident(name)}")
                conn.execute(f"DROP ROLE {quote_ident(name)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100)
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
    folder = Path(tempfile.mkdtemp(prefix="callguide-bench-alert-"))
    app = QApplication.instance() or QApplication([])
    try:
        drop(url)
        admin = TeamTarget(url, SCHEMA, SCHEMA)
        init(admin)
        add_person(admin, "anna", ["agent"], login="bencha_anna", name="Anna Holm")
        add_person(admin, "sam", ["supervisor"], login="bencha_sam", name="Sam Jensen")
        anna = TeamTarget(with_user(url, "bencha_anna"), SCHEMA, SCHEMA)
        sam = TeamTarget(with_user(url, "bencha_sam"), SCHEMA, SCHEMA)

        base = bare(url, args.events)

        desk = SQLiteJournal.open(folder / "anna.db")
        sync = TeamSync(folder / "anna.db", anna).start()
        console = Console(sam, journal_path=folder / "sam-console.db")
        model = QueueTableModel(console.clock)
        bridge = FeedBridge()
        bridge.updated.connect(lambda u: model.set_items(u.items))
        feed = ConsoleFeed(console, bridge.updated.emit).start()
        assert feed.notices.wait_connected(10)
        anna_pj = PostgresJournal(anna)
        anna_notices = TeamNotices(anna, channels=("escalations",)).start()
        assert anna_notices.wait_connected(10)

        alert: list[float] = []
        acks: list[float] = []
        reads: list[float] = []
        for i in range(args.events):
            entries = blake(f"ACC-{i}", "anna")
            t0 = time.perf_counter()
            written = desk.append_many(entries)
            sync.wake()
            deadline = t0 + 5
            while time.perf_counter() < deadline:
                QCoreApplication.processEvents()
                if sync.desktop_id and model.row_of(f"{sync.desktop_id}/{written[2].seq}") >= 0:
                    alert.append(time.perf_counter() - t0)
                    break
                time.sleep(0.0005)
            ref = f"{sync.desktop_id}/{written[2].seq}"
            # the acknowledgement path, on every 5th BLAKE
            if i % 5 == 0:
                item = next(x for x in model.items if x.ref == ref)
                got = threading.Event()
                watcher = AckWatcher(anna_pj, anna_notices, item.call_id, item.account_id, lambda a, got=got: got.set()).start()
                t1 = time.perf_counter()
                console.acknowledge(item)
                if got.wait(5):
                    acks.append(time.perf_counter() - t1)
                watcher.stop()
            r0 = time.perf_counter()
            console.queue()
            reads.append(time.perf_counter() - r0)
        feed.stop()
        anna_notices.stop()
        anna_pj.close()
        console.close()
        sync.stop()
        desk.close()

        b50, b99 = pct(base, 0.5), pct(base, 0.99)
        print(f"baseline bare NOTIFY -> LISTEN: p50 {b50:.2f} ms, p99 {b99:.2f} ms ({len(base)} events)")
        p50, p99 = pct(alert, 0.5), pct(alert, 0.99)
        print(f"BLAKE appended on a desktop -> row in the console's QueueTableModel: p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {max(alert) * 1000:.1f} ms ({len(alert)}/{args.events} shown); "
              f"p99 {p99 / b99:.1f}x the bare NOTIFY's p99; target p99 < 1 s: "
              f"{'met' if len(alert) == args.events and p99 < 1000 else 'NOT met'}")
        a50, a99 = pct(acks, 0.5), pct(acks, 0.99)
        print(f"console acknowledge -> the agent's AckWatcher callback: p50 {a50:.1f} ms, p99 {a99:.1f} ms, "
              f"max {max(acks) * 1000:.1f} ms ({len(acks)} acks); target 2 s: "
              f"{'met' if max(acks) < 2 else 'NOT met'}")
        print(f"one queue read as the supervisor (up to {2 * args.events} escalations): "
              f"p50 {pct(reads, 0.5):.1f} ms, p99 {pct(reads, 0.99):.1f} ms")
    finally:
        del app
        try:
            drop(url)
        except psycopg.Error:
            pass
        if pg is not None:
            pg.destroy()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
