"""The partition test: the team store goes away in the middle of several calls and comes back.
The calls go on (local writes never wait for the network), the sync catches up, and the team
store ends with every entry exactly once and every desktop's chain continuous.

Two ways of going away: the sync connections are killed (pg_terminate_backend) again and again,
and a throw-away server of our own is really stopped and started."""

from __future__ import annotations

import itertools
import random
import threading
import time
from pathlib import Path

import pytest

from callguide.store.postgres.connect import TeamTarget
from callguide.store.postgres.journal import PostgresJournal
from callguide.store.postgres.migrate import add_person, init
from callguide.store.sqlite import SQLiteJournal
from callguide.team.sync import SyncStatus, TeamSync

from . import cluster
from .conftest import TeamServer, with_user
from .scripted import Clock, call_steps

CALLS = 6


def _writer(path: Path, agent: str, calls: int, errors: list[BaseException], seed: int,
            pause: float = 0.01) -> threading.Thread:
    def run() -> None:
        try:
            j = SQLiteJournal.open(path)
            rng = random.Random(seed)
            clock = Clock(step_ms=500)
            for c in range(calls):
                for op in call_steps(f"ACC-{rng.randrange(5)}", agent, clock, rng,
                                     extra=("capacity_doubt", None, "vulnerability")[c % 3]):
                    j.append_many(op)  # durable locally: the call never waits for the team store
                    time.sleep(pause)
            j.close()
        except BaseException as e:  # noqa: BLE001 - the test asserts there were none
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    return t


def _check_exactly_once(auditor: TeamTarget, paths: dict[str, Path], syncs: dict[str, TeamSync]) -> None:
    with PostgresJournal(auditor) as pj:
        server: dict[str, list[tuple[int, str]]] = {}
        for e in pj.iter_entries(0):
            server.setdefault(e.desktop_id, []).append((e.seq, e.hash))
        for agent, path in paths.items():
            j = SQLiteJournal.open(path)
            local = [(e.seq, e.hash) for e in j.iter_entries(0)]
            j.close()
            got = sorted(server[syncs[agent].desktop_id or ""])
            assert got == local, f"{agent}: the team store differs from the desktop's journal"
        result = pj.verify()
        assert result.ok, result
        assert result.checked == sum(len(v) for v in server.values())


def test_killed_connections_mid_calls(team: TeamServer, tmp_path: Path) -> None:
    agents = ["anna", "ben", "carl", "dora"]
    targets = {a: team.person(a, "agent") for a in agents}
    auditor = team.person("audrey", "auditor")
    paths = {a: tmp_path / f"{a}.db" for a in agents}
    for p in paths.values():
        SQLiteJournal.open(p).close()
    seen: dict[str, list[SyncStatus]] = {a: [] for a in agents}
    syncs = {a: TeamSync(paths[a], targets[a], batch=20, poll=0.05, backoff=(0.05, 0.5)) for a in agents}
    for a, s in syncs.items():
        s.add_listener(seen[a].append)
        s.start()
    errors: list[BaseException] = []
    writers = [_writer(paths[a], a, CALLS, errors, i) for i, a in enumerate(agents)]
    killed = 0
    stop = time.monotonic() + 30
    while any(w.is_alive() for w in writers) and time.monotonic() < stop:
        time.sleep(0.15)
        killed += team.terminate("callguide-sync")
    for w in writers:
        w.join(30)
    assert not errors, errors
    for a, s in syncs.items():
        assert s.wait_synced(30), (a, s.status)
        s.stop()
    assert killed >= 4, "the partition did happen"
    assert any(st.state == "offline" for a in agents for st in seen[a])
    _check_exactly_once(auditor, paths, syncs)


@pytest.mark.skipif(cluster.available() is not None, reason=f"no throw-away server: {cluster.available()}")
def test_server_stopped_and_started_mid_calls(tmp_path: Path) -> None:
    pg = cluster.ThrowawayCluster().init()
    try:
        pg.start()
        admin = TeamTarget(pg.url, "callguide", "callguide")
        init(admin)
        agents = ["anna", "ben", "carl"]
        targets = {}
        for a in agents:
            login = add_person(admin, a, ["agent"])
            targets[a] = TeamTarget(with_user(pg.url, login), "callguide", "callguide")
        add_person(admin, "audrey", ["auditor"])
        auditor = TeamTarget(with_user(pg.url, "audrey"), "callguide", "callguide")
        paths = {a: tmp_path / f"{a}.db" for a in agents}
        for p in paths.values():
            SQLiteJournal.open(p).close()
        seen: dict[str, list[SyncStatus]] = {a: [] for a in agents}
        syncs = {a: TeamSync(paths[a], targets[a], batch=20, poll=0.05, backoff=(0.05, 0.5)) for a in agents}
        for a, s in syncs.items():
            s.add_listener(seen[a].append)
            s.start()
        errors: list[BaseException] = []
        writers = [_writer(paths[a], a, CALLS, errors, i, pause=0.02) for i, a in enumerate(agents)]
        time.sleep(0.5)
        pg.stop("immediate")  # a crash, not a polite shutdown
        deadline = time.monotonic() + 10
        while not all(s.status.state == "offline" for s in syncs.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        offline = {a: s.status for a, s in syncs.items()}
        time.sleep(1.0)  # the calls go on while the server is down
        pg.start()
        for w in writers:
            w.join(60)
        assert not errors, errors
        for a, s in syncs.items():
            assert s.wait_synced(30), (a, s.status)
            s.stop()
        for a, st in offline.items():
            assert st.state == "offline" and st.offline_since is not None, (a, st)
        assert any(st.waiting > 0 for st in itertools.chain.from_iterable(seen.values()) if st.state == "offline")
        _check_exactly_once(auditor, paths, syncs)
    finally:
        pg.destroy()
