"""Key escrow's cost in the sync: a desktop journal of TEXAS-like calls (consent, a vulnerability
record sealed under `health_disclosure`, a care referral: every call makes a key to deposit, the
worst case) pushed into a fresh team store, against the same journal pushed into a team store whose
`consent_scopes` is empty (no purpose admitted to any reader: nothing is deposited), alternating,
in the same run on the same server. Prints entries/s of each and the ratio of the medians.

    python benchmarks/bench_team_escrow.py                    # 1,000 calls, 3 rounds each
    python benchmarks/bench_team_escrow.py --calls 2000 --rounds 5 --url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callguide.team.sync import TeamSync  # noqa: E402
from tests.team.conftest import PG_URL, new_team_server  # noqa: E402
from tests.team.test_console import Desk  # noqa: E402

CONSENT = ("consent", {"purpose": "health_disclosure", "decision": "given", "wording_hash": "cd" * 32,
                       "wording_lang": "en", "wording": "May I note that?"}, "texas", "consent")
RECORD = ("vulnerability", {"fields": {"condition": "a condition the customer described"}, "category": "mental_health",
                            "review_date": "2027-02-01", "consent": "health_disclosure"}, "texas", "record")
REFER = ("escalation", {"kind": "care_team", "reason": "TEXAS: disclosure"}, "texas", "refer")


def push_once(url: str, calls: int, escrow: bool) -> tuple[float, int, int]:
    """(seconds, entries, keys deposited) for one fresh team store and one fresh journal."""
    team = new_team_server(url)
    try:
        who = team.person("anna", "agent")
        if not escrow:
            with team.admin() as conn:
                conn.execute("DELETE FROM consent_scopes")
        folder = Path(tempfile.mkdtemp(prefix="callguide-bench-escrow-"))
        desk = Desk(folder / "anna.db", "anna", who)
        for i in range(calls):
            desk.call(f"ACC-{i}", CONSENT, RECORD, REFER)
        desk.journal.close()
        sync = TeamSync(folder / "anna.db", who)
        t0 = time.perf_counter()
        sync.start()
        if not sync.wait_synced(600):
            raise SystemExit(f"not synced: {sync.status}")
        seconds = time.perf_counter() - t0
        sync.stop()
        with team.admin() as conn:
            entries = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
            keys = conn.execute("SELECT count(*) FROM data_keys WHERE key IS NOT NULL").fetchone()[0]
        return seconds, entries, keys
    finally:
        team.drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", default=PG_URL, help="a superuser URL (default: the test server)")
    args = ap.parse_args()
    push_once(args.url, 50, True)  # warm up (imports, connections, the server's caches)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for escrow in (True, False):
            seconds, entries, keys = push_once(args.url, args.calls, escrow)
            assert keys == (args.calls if escrow else 0), keys
            times[escrow].append(seconds)
            print(f"  escrow {'on ' if escrow else 'off'}: {entries:,} entries, {keys:,} keys deposited in "
                  f"{seconds:.2f} s = {entries / seconds:,.0f} entries/s")
    on, off = statistics.median(times[True]), statistics.median(times[False])
    entries = args.calls * 4
    print(f"median: escrow on {entries / on:,.0f} entries/s, off {entries / off:,.0f} entries/s; "
          f"escrow costs {on / off:.2f}x the time of the same push without it")


if __name__ == "__main__":
    main()
