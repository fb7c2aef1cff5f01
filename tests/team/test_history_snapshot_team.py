"""Team mode: the history snapshot a call keeps (`call_started.history`) refers to the desktop's own
sealed entries, never copies their opened values. The desktop's own rows are opened so the agent
sees them; before the fix the snapshot copied the consented health detail in plain text into the
local journal and, through the sync, into the team store's rows."""

from __future__ import annotations

import glob
from pathlib import Path

from callguide.engine.clock import FixedClock
from callguide.engine.commands import Withdraw
from callguide.engine.protections import history_from_snapshot
from callguide.engine.replay import _resolver
from callguide.engine.session import Account, CallSession
from callguide.flow.loader import load_library
from callguide.store.sealing import Gone
from callguide.team.desktop import TeamDesktop

from .test_key_escrow import MARK, texas_referred

ROOT = Path(__file__).resolve().parents[2]


def test_the_snapshot_refers_to_the_desktops_own_sealed_entry_never_copies_it(team, tmp_path):
    anna = team.person("anna", "agent")
    team.adopt_flows(ROOT / "flows")
    lib, _ = load_library([ROOT / "flows"])
    desk = TeamDesktop(tmp_path / "anna.db", anna).start()
    try:
        clock = FixedClock("2026-11-24T10:00:00+00:00", step_seconds=1)
        assert texas_referred(lib, desk.store, clock, "ACC-T", "anna").end_call("referred").ok
        assert desk.wait_synced(20)
        s = CallSession.start(lib, desk.store, Account("ACC-T", "Jana", "CZ", lang="en"), "anna",
                              start_flow="call-opening", clock=clock)
        # the agent is shown the detail (opened from this desktop's own journal) ...
        assert s.history.vulnerabilities[0]["fields"]["impact"] == MARK
        started = next(e for e in desk.local.call_entries(s.call_id) if e.type == "call_started")
        # ... the snapshot holds a reference to the entry that holds it sealed
        impact = started.data["history"]["vulnerabilities"][0]["fields"]["impact"]
        assert set(impact) == {"$ref"}
        held = {e.seq: e for e in desk.local.account_entries("ACC-T")}[impact["$ref"]["seq"]]
        assert held.type == "vulnerability"
        # a resume opens it through the reference; after a withdrawal it reads as withdrawn
        resolve = _resolver(desk.store, desk.local.sealer, "ACC-T", "en")
        again = history_from_snapshot("ACC-T", started.data["history"], resolve)
        assert again.vulnerabilities[0]["fields"]["impact"] == MARK
        assert s.apply(Withdraw("health_disclosure")).ok
        gone = history_from_snapshot("ACC-T", started.data["history"],
                                     _resolver(desk.store, desk.local.sealer, "ACC-T", "en"))
        assert isinstance(gone.vulnerabilities[0]["fields"]["impact"], Gone)
        s.end_call("referred")
        assert desk.wait_synced(20)
        raw = b"".join(Path(f).read_bytes() for f in glob.glob(str(tmp_path / "anna.db*")))
        assert MARK.encode() not in raw
        with team.admin() as conn:
            pushed = conn.execute("SELECT coalesce(string_agg(data::text, ' '), '') FROM entries").fetchone()[0]
        assert MARK not in pushed
    finally:
        desk.close()
