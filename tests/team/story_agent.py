"""One agent's desktop as a real process, for the team story test (tests/team/test_story.py).

What a desktop in team mode does, with the real engine, the bundled flows and a real window part:
its own local journal first, the background sync (`TeamSync`) into the team store, the account's
protections read from the team store at call start (`TeamProtections`), and, while a call runs,
the acknowledgement notice (`AckNotice`, offscreen Qt) fed by `AckWatcher` over LISTEN/NOTIFY.

Commands come on stdin, one JSON object per line; answers go to stdout, one JSON object per line:

    {"op": "start", "account": "ACC-S", "flow": "bruce"}   -> {"event": "started", "history": {...}}
    {"op": "events", "events": [{"next": null}, ...]}       -> {"event": "trace", ...run_events' trace}
    {"op": "end", "outcome": "referred"}                    -> {"event": "ended", "synced": true}
    {"op": "quit"}
and, by itself, whenever the notice on the window changes: {"event": "notice", "text": "..."}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import select
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--journal", required=True)
    ap.add_argument("--agent", required=True)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from callguide import paths
    from callguide.engine.commands import EndCall
    from callguide.engine.script import run_events, trace
    from callguide.engine.session import Account, CallSession
    from callguide.flow.loader import load_library
    from callguide.qt.ack_notice import AckNotice
    from callguide.store.postgres.cache import ProtectionCache
    from callguide.store.postgres.connect import TeamTarget
    from callguide.store.postgres.journal import PostgresJournal
    from callguide.store.sqlite import SQLiteJournal
    from callguide.team.notify import TeamNotices
    from callguide.team.protections import TeamProtections
    from callguide.team.sync import TeamSync

    app = QApplication.instance() or QApplication([])
    target = TeamTarget(args.url, args.schema, args.prefix)
    journal = Path(args.journal)
    lib, diags = load_library([paths.flows_dir()])
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        say({"event": "error", "error": str(errors[0])})
        return 2
    store = SQLiteJournal.open(journal)
    sync = TeamSync(journal, target).start()
    team = PostgresJournal(target)
    notices = TeamNotices(target, channels=("escalations", "protections")).start()
    notices.wait_connected(10)
    protections = TeamProtections(store, team, ProtectionCache(journal.with_suffix(".cache.db")))
    session: CallSession | None = None
    notice: AckNotice | None = None
    shown = ""
    say({"event": "ready", "agent": args.agent})
    while True:
        app.processEvents()
        if notice is not None and notice.text() != shown:
            shown = notice.text()
            say({"event": "notice", "text": shown, "visible": notice.isVisible(), "at": time.time()})
        ready, _, _ = select.select([sys.stdin], [], [], 0.02)
        if not ready:
            continue
        line = sys.stdin.readline()
        if not line:
            break
        cmd = json.loads(line)
        op = cmd.get("op")
        if op == "start":
            read = protections.read(cmd["account"], dt.date.today())
            h = read.state
            session = CallSession.start(lib, store, Account(cmd["account"], "Tom Reed", "UK", lang="en"), args.agent,
                                        start_flow=cmd.get("flow", "call-opening"), history=h, auto_wrap_up=False)
            sync.wake()
            if notice is not None:
                notice.stop()
            notice = AckNotice()
            notice.watch(team, notices, session.call_id, cmd["account"])
            shown = ""
            say({"event": "started", "call_id": session.call_id, "source": read.source,
                 "history": {"calls": h.calls, "capacity_doubts": [d.get("reason") for d in h.capacity_doubts],
                             "capacity_reviews": [(r.get("result"), r.get("name")) for r in h.capacity_reviews],
                             "holds": [x.get("until") for x in h.holds], "third_parties": len(h.third_parties),
                             "crises": len(h.crises), "last_outcome": (h.last_outcome or {}).get("code")},
                 "payment_blocked": session.state.payment_blocked})
        elif op == "events":
            assert session is not None
            out = run_events(session, cmd["events"])
            sync.wake()
            say({"event": "trace", **out})
        elif op == "end":
            assert session is not None
            res = session.apply(EndCall(cmd.get("outcome")))
            synced = sync.wait_synced(20)
            say({"event": "ended", "ok": res.ok, "rule": res.rule, "synced": synced, **trace(session)})
        elif op == "sync":
            say({"event": "synced", "ok": sync.wait_synced(20)})
        elif op == "quit":
            break
    if notice is not None:
        notice.stop()
    notices.stop()
    sync.stop()
    team.close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
