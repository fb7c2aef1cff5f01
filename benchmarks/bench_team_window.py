"""A protection raised on another desktop, to the agent's WINDOW: the whole path of issue 13 §2.

The real window (offscreen) runs a call in team mode (`open_call(..., team=...)`: local journal,
sync, LISTEN). Another desktop (the care team's) appends a hold on the same account to its own
journal; its sync pushes it (ingest, NOTIFY at commit); the window's `TeamDesktop` reads the
account's protections again and `TeamLink` applies them to the running call on the Qt thread
(state, banners, the gate's re-check). Measured: the care team's append -> `protections_applied`
emitted on the window's thread, over --events holds. Baseline in the same run: a bare NOTIFY ->
LISTEN (psycopg). Target: within 2 s.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_team_window.py [--events 50] [--url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CALLGUIDE_CONTACT_RULES", str(ROOT / "tests" / "contact_rules_any_time.yaml"))
os.environ.setdefault("CALLGUIDE_CACHE_DIR", tempfile.mkdtemp(prefix="callguide-bench-cache-"))
os.environ.setdefault("CALLGUIDE_KEYS_DIR", tempfile.mkdtemp(prefix="callguide-bench-keys-"))
os.environ.setdefault("CALLGUIDE_ANCHORS_DIR", tempfile.mkdtemp(prefix="callguide-bench-anchors-"))

from bench_team_notify import bare, pct  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from callguide.library.publish import adopt_release  # noqa: E402
from callguide.store.base import NewEntry  # noqa: E402
from callguide.store.postgres.connect import TeamTarget  # noqa: E402
from callguide.store.postgres.migrate import add_person, init  # noqa: E402
from callguide.store.postgres.publications import PostgresPublications  # noqa: E402
from callguide.store.sqlite import SQLiteJournal  # noqa: E402
from callguide.team.sync import TeamSync  # noqa: E402
from tests.team import cluster  # noqa: E402
from tests.team.conftest import TeamServer, with_user  # noqa: E402

SCHEMA = "benchw"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=50)
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
    folder = Path(tempfile.mkdtemp(prefix="callguide-bench-window-"))
    app = QApplication.instance() or QApplication([])
    try:
        admin = TeamTarget(url, SCHEMA, SCHEMA)
        init(admin)
        with PostgresPublications(admin) as pubs:
            adopt_release(ROOT / "flows", pubs)
        for who, role in (("benchw_anna", "agent"), ("benchw_carla", "care_team")):
            add_person(admin, who, [role], login=who)
        anna = TeamTarget(with_user(url, "benchw_anna"), SCHEMA, SCHEMA)
        carla = TeamTarget(with_user(url, "benchw_carla"), SCHEMA, SCHEMA)
        base = bare(url, max(args.events, 50))

        from callguide.qt.app import open_call

        window, code = open_call(folder / "anna.db", ROOT / "flows", "agent-7",
                                 {"account_id": "ACC-W", "name": "Jo", "country": "UK", "balance": "10"}, team=anna)
        assert code == 0 and window is not None
        link = window.launcher.team_link
        desktop = window.launcher.desktop
        end = time.monotonic() + 10
        while not desktop.notices.connected.is_set() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        applied: list[float] = []
        link.protections_applied.connect(lambda _raised: applied.append(time.perf_counter()))
        carla_journal = SQLiteJournal.open(folder / "carla.db")
        sync = TeamSync(folder / "carla.db", carla, poll=0.5).start()
        lat: list[float] = []
        first_hold_shown: float | None = None
        for i in range(args.events):
            applied.clear()
            t0 = time.perf_counter()
            carla_journal.append(NewEntry("hold_started", f"care-{i}", "ACC-W", "benchw_carla", "hold", "ab" * 32,
                                          "hold", {"days": 30, "until": "2026-12-31", "reason": "care team"},
                                          dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")))
            sync.wake()
            deadline = time.monotonic() + 5
            while not applied and time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.001)
            if applied:
                lat.append(applied[0] - t0)
                if i == 0:
                    first_hold_shown = lat[0] if window.session.state.hold_active else None
            # let the NOTIFYs of this event drain before the next one
            end = time.perf_counter() + 0.05
            while time.perf_counter() < end:
                app.processEvents()
        sync.stop()
        carla_journal.close()
        window.close()
        window.launcher.close_store()
        b50, b99 = pct(base, 0.5), pct(base, 0.99)
        p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
        print(f"baseline bare NOTIFY -> LISTEN: p50 {b50:.2f} ms, p99 {b99:.2f} ms ({len(base)} events)")
        print(f"care team's append -> sync -> NOTIFY -> protections read -> applied in the window: p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {max(lat) * 1000:.1f} ms ({len(lat)}/{args.events} delivered); "
              f"p50 {p50 / b50:.0f}x the bare NOTIFY; target 2 s: "
              f"{'met' if len(lat) == args.events and max(lat) < 2 else 'NOT met'}")
        print(f"first hold in force in the call: {'yes' if first_hold_shown is not None else 'NO'}"
              + (f" after {first_hold_shown * 1000:.1f} ms" if first_hold_shown is not None else ""))
    finally:
        if pg is not None:
            pg.destroy()
        else:  # an existing server: leave nothing behind
            TeamServer(url, TeamTarget(url, SCHEMA, SCHEMA), ["benchw_anna", "benchw_carla"]).drop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
