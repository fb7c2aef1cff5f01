"""Key escrow catch-up: what it costs a desktop whose journal was pushed before the team store
admitted `health_disclosure` (or before 0006). A journal of 1,250 calls, 5,000 entries, of which 500
are TEXAS-like calls on 500 accounts (each seals a record under a key of its own: 500 keys) and 750
BLAKE calls (nothing to escrow), is pushed into a fresh team store with an empty `consent_scopes`
(the plain push: nothing deposited); then the purpose is admitted and a new sync connects: the time
from its start until the catch-up has deposited the 500 keys, against the plain push of the same
entries measured in the same run; then a third connect, with nothing to catch up (it reads no entry).

    python benchmarks/bench_team_escrow_catchup.py                  # 500 keys, 5,000 entries, 3 rounds
    python benchmarks/bench_team_escrow_catchup.py --keys 2000 --plain 3000 --rounds 5 --url postgresql://...
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
from tests.team.test_console import BLAKE, VULNERABLE, Desk  # noqa: E402


def _connect_and_wait(desk: Desk) -> tuple[float, TeamSync]:
    sync = TeamSync(desk.path, desk.who)
    t0 = time.perf_counter()
    sync.start()
    if not (sync.wait_synced(600) and sync.wait_caught_up(600)):
        raise SystemExit(f"not synced: {sync.status} {sync.catchup_error}")
    seconds = time.perf_counter() - t0
    sync.stop()
    return seconds, sync


def one_round(url: str, keys: int, plain: int) -> tuple[float, float, float, int, int]:
    """(plain push s, catch-up s, idle reconnect s, entries, keys deposited) on a fresh store and journal."""
    team = new_team_server(url)
    try:
        who = team.person("anna", "agent")
        with team.admin() as conn:
            conn.execute("DELETE FROM consent_scopes")
        folder = Path(tempfile.mkdtemp(prefix="callguide-bench-catchup-"))
        desk = Desk(folder / "anna.db", "anna", who)
        every = max(1, round(plain / keys)) if keys else 1
        made = 0
        for i in range(keys):
            desk.call(f"ACC-{i}", *VULNERABLE)
            for _ in range(every):
                if made < plain:
                    desk.call(f"ACC-B{made}", *BLAKE)
                    made += 1
        while made < plain:
            desk.call(f"ACC-B{made}", *BLAKE)
            made += 1
        entries = desk.journal.count()
        desk.journal.close()
        push, first = _connect_and_wait(desk)
        assert first.keys_deposited == 0
        with team.admin() as conn:
            conn.execute("INSERT INTO consent_scopes (purpose, reader) VALUES ('health_disclosure', 'care_team')")
        catchup, second = _connect_and_wait(desk)
        assert second.catchup_deposited == keys and second.catchup_read == entries, \
            (second.catchup_deposited, second.catchup_read)
        idle, third = _connect_and_wait(desk)
        assert third.catchup_read == 0 and third.catchup_deposited == 0
        with team.admin() as conn:
            held = conn.execute("SELECT count(key) FROM data_keys").fetchone()[0]
        assert held == keys, held
        return push, catchup, idle, entries, held
    finally:
        team.drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=500, help="TEXAS-like calls, one key each (4 entries a call)")
    ap.add_argument("--plain", type=int, default=750, help="BLAKE calls, nothing to escrow (4 entries a call)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", default=PG_URL, help="a superuser URL (default: the test server)")
    args = ap.parse_args()
    one_round(args.url, 20, 30)  # warm up (imports, connections, the server's caches)
    got: list[tuple[float, float, float]] = []
    for _ in range(args.rounds):
        push, catchup, idle, entries, held = one_round(args.url, args.keys, args.plain)
        got.append((push, catchup, idle))
        print(f"  {entries:,} entries, {held:,} keys: plain push {push:.3f} s, catch-up {catchup:.3f} s "
              f"({catchup / push:.2f}x), connect with nothing to catch up {idle * 1000:.0f} ms")
    push, catchup, idle = (statistics.median(g[i] for g in got) for i in range(3))
    print(f"median of {args.rounds}: plain push {push:.3f} s, catch-up (connect to all keys deposited) {catchup:.3f} s"
          f" = {catchup / push:.2f}x the plain push; a later connect {idle * 1000:.0f} ms (reads no entry)")


if __name__ == "__main__":
    main()
