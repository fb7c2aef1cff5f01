"""A long backlog pushed by the sync: does each batch cost the same, whatever the store holds?

One desktop's journal of --calls BLAKE-like calls (4 entries each: 16,000 entries by default) is
pushed into a fresh team store (the test server, `CALLGUIDE_TEST_PG`) by a real `TeamSync`; every
`ingest()` batch (500 entries) is timed. Printed: the push's total and entries per second, and the
ratio of the last quarter's batches to the first quarter's, measured in the same run: ~1× when the
cost of a batch does not grow with what the store already holds. (Before migration 0007 the fork
check merge-joined the desktop's whole primary-key range: the last batches cost ~13× the first,
16,000 entries took 12 s.)

    python benchmarks/bench_team_push_backlog.py [--calls 4000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callguide.team import sync as team_sync  # noqa: E402
from tests.team.conftest import PG_URL, new_team_server  # noqa: E402
from tests.team.test_console import BLAKE, Desk  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--url", default=PG_URL, help="a superuser URL (default: the test server)")
    args = ap.parse_args()
    batches: list[float] = []
    real_ingest = team_sync.ingest

    def timed(*a: object, **k: object) -> object:
        t0 = time.perf_counter()
        try:
            return real_ingest(*a, **k)  # type: ignore[arg-type]
        finally:
            batches.append(time.perf_counter() - t0)

    team_sync.ingest = timed  # type: ignore[assignment]
    team = new_team_server(args.url)
    try:
        who = team.person("anna", "agent")
        desk = Desk(Path(tempfile.mkdtemp(prefix="callguide-bench-backlog-")) / "anna.db", "anna", who)
        for i in range(args.calls):
            desk.call(f"ACC-B{i}", *BLAKE)
        entries = desk.journal.count()
        desk.journal.close()
        sync = team_sync.TeamSync(desk.path, desk.who)
        t0 = time.perf_counter()
        sync.start()
        if not sync.wait_synced(900):
            raise SystemExit(f"not synced: {sync.status}")
        total = time.perf_counter() - t0
        sync.stop()
    finally:
        team_sync.ingest = real_ingest
        team.drop()
    q = max(1, len(batches) // 4)
    first, last = statistics.median(batches[:q]), statistics.median(batches[-q:])
    print(f"{entries:,} entries in {len(batches)} batches: pushed in {total:.2f} s = {entries / total:,.0f} entries/s")
    print(f"a batch: first quarter median {first * 1000:.0f} ms, last quarter {last * 1000:.0f} ms: "
          f"last/first = {last / first:.2f}x (~1x: a batch's cost does not grow with the store)")


if __name__ == "__main__":
    main()
