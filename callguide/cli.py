"""`callguide`: thin commands over the core. Each command parses, calls the core and
prints; no logic of its own. Errors are one plain line (`Error: ...`), never a
traceback. The GUI commands import the Qt package only when they run."""

from __future__ import annotations

import importlib
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from callguide import paths
from callguide.store import entry_types as et
from callguide.store.base import StoreError


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _account_id(_ctx: Any, _param: Any, value: str | None) -> str | None:
    """Every `--account`: the id exactly as the account's register is kept under it (" G-1" would be
    an account of its own, with none of G-1's history or protections): the engine's rule, one line."""
    if value is not None:
        from callguide.engine.commands import EngineError
        from callguide.engine.session import check_account_id

        try:
            check_account_id(value)
        except EngineError as e:
            _fail(str(e))
    return value


def _open_store(db: str | None, readonly: bool = False, create: bool = False) -> Any:
    """The journal for normal use (checked on open); `readonly` for commands that only read it.
    Only a call starts a journal (`create`): any other command on a path with no journal says so,
    rather than making an empty one there and answering from it ("no unfinished calls")."""
    from callguide.store.sqlite import SQLiteJournal

    path = Path(db) if db else paths.default_db_path()
    if not create and not path.exists():
        raise StoreError(f"There is no journal at {path}.", "missing")
    try:
        return SQLiteJournal.open(path, readonly=readonly)
    except StoreError as e:
        if e.kind != "upgrade":
            raise
    try:
        return SQLiteJournal.open(path)  # an older journal: migrate it once, where that can be written
    except StoreError as e:
        if e.kind not in ("readonly", "full", "locked"):  # (why it could not be written, not what it holds)
            raise
        raise StoreError(f"{e} (The journal was written by an older CallGuide and needs an upgrade first.)",
                         e.kind) from None


class _Main(click.Group):
    """Every journal failure, from any command, is one `Error:` line saying what to do."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreError as e:
            _fail(str(e))
        except sqlite3.Error as e:
            _fail(f"the journal failed ({str(e).splitlines()[0] if str(e) else type(e).__name__}); run "
                  "`callguide audit verify` to check it.")


def _load_library(flow_paths: list[str] | None = None, quiet: bool = False) -> Any:
    """Load and validate; refuse to run a library with errors (warnings are printed)."""
    from callguide.flow.loader import load_library
    from callguide.flow.validate import validate_library

    lib, diags = load_library(flow_paths or [str(paths.flows_dir())])
    diags = list(validate_library(lib, diags))
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        for d in errors[:20]:
            click.echo(str(d), err=True)
        _fail(f"the flows have {len(errors)} error(s); fix them or run `callguide validate` for all of them.", 1)
    return lib


def _resolve_flow(lib: Any, flow: str) -> str:
    if flow in lib.flows:
        return flow
    p = Path(flow)
    for f in lib.flows.values():
        if Path(f.path).resolve() == p.resolve():
            return f.id
    _fail(f"no flow {flow!r}; known: {', '.join(sorted(lib.flows))}")
    return ""


def _flows_dir_for(flow: str) -> list[str]:
    p = Path(flow)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return [str(p.parent)]
    return [str(paths.flows_dir())]


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="callguide")
def main() -> None:
    """CallGuide: guided, audited vulnerability protocols for collection calls."""


@main.command()
@click.argument("targets", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
def validate(targets: tuple[str, ...], fmt: str) -> None:
    """Check flow files; exit 0 when clean, 1 with diagnostics (file:line:col: rule: message)."""
    from callguide.flow.loader import find_flow_files
    from callguide.flow.validate import validate_paths

    where = list(targets) or [str(paths.flows_dir())]
    files = find_flow_files(where)
    if not files:  # an empty folder is not "ok": nothing was checked
        _fail("no flow files found in " + ", ".join(where), 1)
    diags = validate_paths(files)
    errors = [d for d in diags if d.severity == "error"]
    if fmt == "json":
        click.echo(json.dumps([d.__dict__ for d in diags], indent=2, ensure_ascii=False))
    else:
        for d in diags:
            click.echo(str(d) if d.severity != "note" else f"{d} (note)")
        warnings = sum(1 for d in diags if d.severity == "warning")
        notes = sum(1 for d in diags if d.severity == "note")
        summary = f"{len(errors)} error(s), {warnings} warning(s)" + (f", {notes} note(s)" if notes else "")
        click.echo(summary if diags else "ok: no problems found", err=bool(errors or warnings))
    sys.exit(1 if errors else 0)


@main.command()
@click.argument("flow")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", help="Diagram syntax.")
def graph(flow: str, fmt: str) -> None:
    """Print FLOW (an id or a file) as a Mermaid or Graphviz diagram."""
    from callguide.flow.graph import to_dot, to_mermaid

    lib = _load_library(_flows_dir_for(flow))
    f = lib.flows[_resolve_flow(lib, flow)]
    click.echo(to_mermaid(f) if fmt == "mermaid" else to_dot(f))


def _account_options(fn: Any) -> Any:
    for opt in reversed([
        click.option("--account", "account_id", callback=_account_id, default="WALK-1", show_default=True, help="Account id."),
        click.option("--name", default="Test Customer", show_default=True, help="Customer name."),
        click.option("--country", default="UK", show_default=True, type=click.Choice(["UK", "DK", "CZ"],
                     case_sensitive=False), help="Account country (signposts, emergency number, contact hours)."),
        click.option("--lang", default=None, type=click.Choice(["en", "da", "cs"]), help="Call language."),
        click.option("--balance", default=None,
                     help="Balance owed, as typed in the call language (1.234,50 in Danish); unknown if left out."),
        click.option("--timezone", default=None, help="The customer's time zone, if not their country's "
                     "(an IANA name such as Europe/Prague)."),
    ]):
        fn = opt(fn)
    return fn


def _clock(now: str | None) -> Any:
    """The system clock, or a fixed one at `--now` (an ISO date-time; UTC unless it says otherwise)."""
    from callguide.engine.clock import FixedClock, SystemClock

    if not now:
        return SystemClock()
    try:
        clock = FixedClock(now, step_seconds=1)
    except ValueError:
        _fail(f"--now {now!r} is not an ISO date-time such as 2026-11-23T22:30:00+01:00")
    if not 1970 <= clock.now().year <= 2999:  # a hold's end or a review date must still be a date
        _fail(f"--now {now!r} is out of range: give a date-time from 1970 to 2999")
    return clock


def _read_events(script: str | None) -> list[Any]:
    from callguide.flow.yamlsafe import read_yaml

    if not script:
        return []
    data, _, _, diags = read_yaml(Path(script))
    if diags:
        _fail(str(diags[0]))
    events = data.get("events") if isinstance(data, dict) else data
    if not isinstance(events, list):
        _fail(f"{script}: expected a list of events (or a mapping with `events:`)")
    for i, event in enumerate(events, 1):
        bad = _non_finite(event)
        if bad is not None:  # JSON cannot write it: the trace would not be JSON, nor the journal's command
            _fail(f"{script}: event {i}: {bad} is not a finite number; write an amount as text, e.g. \"1850.00\"")
    return events


def _non_finite(value: Any) -> str | None:
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((b for b in map(_non_finite, items) if b is not None), None)


@main.command()
@click.argument("flow", required=False)
@click.option("--script", "script", type=click.Path(exists=True, dir_okay=False),
              help="YAML list of events: {next: CHOICE}, {answer: {...}}, {consent: given}, ... or commands "
                   "{cmd: ...} (needed unless --resume).")
@click.option("--db", help="Journal file (default: a throw-away file, removed afterwards), or a team store "
              "postgresql://HOST/DB: then the call's protections come from it and its entries are synced to it "
              "before walk returns.")
@click.option("--journal", type=click.Path(dir_okay=False),
              help="With a team store: the local journal (default: a throw-away file).")
@click.option("--sync-timeout", type=float, default=30.0, show_default=True,
              help="With a team store: seconds to wait for the team store to hold every entry.")
@click.option("--agent", default=None, help="Who makes the call (a person in the people file; default: walk, or "
              "with a team store the person it knows the login as).")
@click.option("--wrap-up/--no-wrap-up", default=False, help="Run the wrap-up flow when the flow ends.")
@click.option("--now", default=None, help="The time of the call (ISO date-time); default: now.")
@click.option("--resume", "resume_id", default=None, help="Continue the killed call CALL_ID from --db.")
@_account_options
def walk(flow: str | None, script: str | None, db: str | None, journal: str | None, sync_timeout: float,
         agent: str | None, wrap_up: bool, now: str | None, resume_id: str | None, account_id: str, name: str,
         country: str, lang: str | None, balance: str | None, timezone: str | None) -> None:
    """Drive FLOW with no window from a script of events, or continue a killed call (--resume); print
    a JSON trace. With --db postgresql://… the call runs as a desktop in team mode (docs/team.md)."""
    import tempfile

    from callguide.engine.script import ScriptError, read_events, run_events
    from callguide.engine.session import Account, CallSession, EngineError
    from callguide.store.base import StoreError
    from callguide.store.postgres.connect import is_team_url

    team = None
    if is_team_url(db):
        team = _team_target(db, None, None)
    elif journal:
        _fail("--journal is the local journal of a team-mode walk: give --db postgresql://… too")
    local_db = journal if team is not None else db
    if resume_id and not local_db:
        _fail("--resume needs the journal the call is in: --db PATH (with a team store: --journal PATH)")
    if not resume_id and (not flow or not script):
        _fail("walk needs FLOW and --script (or --resume CALL_ID --db PATH)")
    events = _read_events(script)
    try:
        read_events(events)  # every event readable before the call starts (or resumes): else nothing is done
    except ScriptError as e:
        _fail(f"{script}: {e}")
    clock = _clock(now)
    lib = _load_library(_flows_dir_for(flow) if flow else None)
    with tempfile.TemporaryDirectory(prefix="callguide-walk-") as tmp:
        desktop = None
        if team is not None:
            from callguide.team.desktop import TeamDesktop

            try:
                desktop = TeamDesktop(local_db or str(Path(tmp) / "walk.db"), team).start()
            except StoreError as e:
                _fail(str(e))
            store = desktop.store
            try:
                agent = _team_agent(desktop, agent)
            except StoreError as e:
                desktop.close()
                _fail(str(e))
        else:
            store = _open_store(db or str(Path(tmp) / "walk.db"), create=not resume_id)
            agent = agent or "walk"
        try:
            if resume_id:
                # Whoever resumes goes on with the call (never with a role its starter lacked), as
                # `start` makes a call the agent's: not the starter's.
                session = CallSession.resume(lib, store, resume_id, clock=clock, person=_person(agent))
                first = next(i for i, r in enumerate(session.records) if r["type"] == et.CALL_RESUMED)
                session.records = session.records[first:]
                session.visited = [f"{session.top.flow.id}/{session.top.step_id}"] if session.top else []
            else:
                flow_id = _resolve_flow(lib, flow or "")
                acct = Account(account_id, name, country.upper(), lang, balance, timezone=timezone)
                session = CallSession.start(lib, store, acct, agent, start_flow=flow_id, clock=clock,
                                            auto_wrap_up=wrap_up)
            result = run_events(session, events)
            if desktop is not None:
                result["team"] = _walk_team(desktop, sync_timeout)
        except (EngineError, ScriptError, StoreError) as e:
            _fail(f"{script}: {e}" if script and isinstance(e, ScriptError) else str(e))
        finally:
            if desktop is not None:
                desktop.close()
            else:
                store.close()
    click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))


def _team_agent(desktop: Any, agent: str | None) -> str:
    """In team mode the calls' agent is the person the team store knows the login as; another
    `--agent` is refused (their own calls would not be readable to them). Offline: as given."""
    who = desktop.whoami()
    if agent and who and agent != who:
        raise StoreError(f"you are connected to the team store as {who}; --agent {agent} would make calls in "
                         "another person's name", "config")
    return agent or who or "walk"


def _walk_team(desktop: Any, timeout: float) -> dict[str, Any]:
    """After a team-mode walk: wait until the team store holds every entry (else one line, exit 1)
    and say where the call's protections came from."""
    read = desktop.store.last_read
    if not desktop.wait_synced(timeout):
        st = desktop.status
        _fail(f"the call is in the local journal {desktop.journal_path}, but the team store does not hold "
              f"{st.waiting or 'all'} of its entries after {timeout:g} s ({st.error or st.state})", 1)
    st = desktop.status
    return {"desktop": st.desktop_id, "synced": st.server_seq,
            "protections": read.source if read is not None else None,
            "protections_as_of": read.as_of.isoformat() if read is not None and read.as_of else None}


@main.command("test")
@click.argument("targets", nargs=-1, type=click.Path())
@click.option("--min-coverage", type=float, default=None, help="Fail when step or transition coverage is lower (%).")
@click.option("-v", "--verbose", is_flag=True, help="List every case, and the steps never reached.")
@click.option("--now", default=None, help="When the cases run unless they say (`now:`); an ISO date-time.")
def test_cmd(targets: tuple[str, ...], min_coverage: float | None, verbose: bool, now: str | None) -> None:
    """Run YAML flow tests (*.test.yaml) and report step and transition coverage."""
    from callguide.library.testrun import explain_text
    from callguide.library.workspace import Workspace

    if now:
        _clock(now)  # one line if it is not a date-time
    targets_l = list(targets) or [str(paths.flows_dir())]
    flow_dirs = sorted({str(Path(t) if Path(t).is_dir() else Path(t).parent) for t in targets_l})
    flow_dirs = [d[: -len("/tests")] if d.endswith("/tests") else d for d in flow_dirs]
    lib = _load_library(flow_dirs)
    from callguide.engine.testing import find_test_files

    files = find_test_files(list[str | Path](targets_l))
    if not files:
        _fail("no *.test.yaml files found in " + ", ".join(targets_l), 1)
    run = Workspace(flow_dirs[0]).run_tests(files, library=lib, now=now)
    for c in run.cases:
        if c.ok:
            if verbose:
                click.echo(f"PASS {c.where}: {c.name}")
        else:
            click.echo(f"FAIL {c.where}: {c.name}")
            click.echo(explain_text(c))
    cov = run.coverage
    click.echo("")
    click.echo(f"{'flow':<22} {'steps':>12} {'transitions':>16}")
    for fid, sh, st, th, tt in cov.rows():
        click.echo(f"{fid:<22} {sh:>4}/{st:<4}{_pct(sh, st):>5} {th:>6}/{tt:<4}{_pct(th, tt):>5}")
        if verbose:
            ms, mt = cov.missed(fid)
            if ms:
                click.echo(f"    steps never reached: {', '.join(ms)}")
            if mt:
                click.echo(f"    transitions never taken: {', '.join(mt)}")
    sh, st, th, tt = cov.totals()
    click.echo(f"{'total':<22} {sh:>4}/{st:<4}{_pct(sh, st):>5} {th:>6}/{tt:<4}{_pct(th, tt):>5}")
    failed = len(run.failed)
    if failed or verbose:
        click.echo(f"contact hours from {run.contact_rules}")
    click.echo(f"{run.passed} passed, {failed} failed")
    low = min_coverage is not None and (100 * sh / max(st, 1) < min_coverage or 100 * th / max(tt, 1) < min_coverage)
    if low:
        click.echo(f"coverage below {min_coverage:g}%", err=True)
    sys.exit(1 if failed or low else 0)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "-"


@main.group()
def audit() -> None:
    """Check the journal's integrity and its tamper evidence."""


@audit.command("verify")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
@click.option("--key", "key_files", multiple=True, type=click.Path(dir_okay=False),
              help="Also trust this public key (the .pub of the machine that wrote the journal); repeatable.")
@click.option("--anchors", "anchor_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Also check the anchors in this folder (e.g. a copy kept elsewhere); repeatable.")
@click.option("--team", "team_url", default=None,
              help="Also compare with the head the team store holds for this journal (postgresql://…).")
def audit_verify(db: str | None, key_files: tuple[str, ...], anchor_dirs: tuple[str, ...],
                 team_url: str | None) -> None:
    """Check the journal without writing to it: SQLite's integrity check, the append-only
    triggers, the hash chain, the signed checkpoints and every anchor found (and, with --team, the
    head the team store holds). Exit 1 if anything was changed, cut short, replaced or damaged;
    says what could not be checked."""
    from callguide.store.audit import audit_journal
    from callguide.store.checkpoints import AnchorFolder
    from callguide.store.keys import PublicKey

    path = Path(db) if db else paths.default_db_path()
    target = _team_target(team_url, None, None) if team_url else None
    report = audit_journal(path, trusted=[PublicKey.from_file(k) for k in key_files],
                           witnesses=[AnchorFolder(), *(AnchorFolder(d) for d in anchor_dirs)])
    if target is not None:
        from callguide.team.desktop import team_witness

        report.findings.append(team_witness(path, target, report.journal_id))
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else 1)


@audit.command("key")
def audit_key() -> None:
    """Print this machine's public journal key (for `audit verify --key` elsewhere)."""
    from callguide.store.keys import KeyStore

    keys = KeyStore()
    public = keys.public_key()
    if public is None:
        _fail(f"no journal key yet in {keys.folder}; it is made when a journal is first written.", 1)
    click.echo(f"# CallGuide journal key {public.fingerprint} ({keys.signing_path.with_suffix('.pub')})")
    click.echo(public.to_pem().decode("ascii"), nl=False)


@main.command()
@click.option("--account", "account_id", callback=_account_id, required=True, help="Account id.")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history(account_id: str, db: str | None, as_json: bool) -> None:
    """Show what the journal knows about an account (derived, never stored)."""
    import dataclasses
    import datetime as dt

    store = _open_store(db, readonly=True)
    try:
        st = store.account_state(account_id, dt.date.today())
    finally:
        store.close()
    if as_json:  # opened the way the text is; "withdrawn on DATE" as {"destroyed", "on"}; never an envelope
        from callguide.store.privacy import dumps

        click.echo(dumps(dataclasses.asdict(st)))
        return
    from callguide.engine.summary import format_history
    from callguide.store.derive import unsigned_lines

    click.echo(format_history(st))
    for line in unsigned_lines(st):  # relaxing entries the register did not count (forged or unsigned)
        click.echo(f"  ! {line}")


@main.command()
@click.option("--unfinished", is_flag=True, required=True, help="Calls killed mid-call (no call_ended).")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
@click.option("--abandon-after", "abandon_hours", type=float, default=None,
              help="First close unfinished calls idle this many hours as abandoned (default: "
                   "CALLGUIDE_ABANDON_AFTER_HOURS or 72; 0 closes every one).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def calls(unfinished: bool, db: str | None, abandon_hours: float | None, as_json: bool) -> None:
    """List calls that were killed and can be resumed (`walk --resume CALL_ID`); calls idle too long
    are first closed as abandoned, with the reason journalled."""
    from callguide.engine.lifecycle import abandon_after, close_abandoned, hours_delta
    from callguide.store.base import StoreError

    try:
        age = hours_delta(abandon_hours) if abandon_hours is not None else abandon_after()
    except ValueError as e:
        _fail(f"--abandon-after takes {e}")
    store = _open_store(db)
    try:
        closed = close_abandoned(store, older_than=age)
        rows = store.unfinished_calls()
    except StoreError as e:
        _fail(str(e))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"unfinished": [_call_row(c) for c in rows],
                               "abandoned": [_call_row(c) for c in closed]}, indent=2, ensure_ascii=False))
        return
    for c in closed:
        click.echo(f"closed as abandoned: {c.call_id}  account {c.account_id}  last activity {c.last_ts}")
    if not rows:
        click.echo("no unfinished calls")
    for c in rows:
        click.echo(f"{c.call_id}  account {c.account_id}  agent {c.agent}  started {c.started}  "
                   f"last activity {c.last_ts}  ({c.entries} entries)")


def _call_row(c: Any) -> dict[str, Any]:
    return {"call_id": c.call_id, "account_id": c.account_id, "agent": c.agent, "started": c.started,
            "last_ts": c.last_ts, "entries": c.entries, "start_flow": c.data.get("start_flow")}


@main.command()
@click.argument("kind", type=click.Choice(["capacity", "crisis", "dispute"]))
@click.option("--account", "account_id", callback=_account_id, required=True, help="Account id.")
@click.option("--result", required=True, help="capacity: confirmed | not_confirmed; crisis: resolved | continue; "
              "dispute: debt_confirmed | upheld.")
@click.option("--by", "by", required=True, help="Who made the review (a person in the people file, with the role).")
@click.option("--note", default="", help="What the review found (kept in the journal).")
@click.option("--review-in-days", type=int, default=None, help="crisis continue: days to the next review (30).")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
def review(kind: str, account_id: str, result: str, by: str, note: str, review_in_days: int | None,
           db: str | None) -> None:
    """Record a specialist review that closes (or keeps) an account protection: a capacity doubt or
    a crisis (care team), a dispute (care team or supervisor). A --note that may hold health or
    life-event details is refused unless their consent is in force (then sealed under it)."""
    import datetime as dt

    from callguide import identity
    from callguide.engine import sensitive
    from callguide.engine.reviews import ReviewError, record_review
    from callguide.store.base import StoreError

    try:
        who = identity.person(by)
    except identity.IdentityError as e:
        _fail(str(e))
    store = _open_store(db)
    try:
        note = (note or "").strip()
        purpose = None
        if note:
            in_force = {str(c.get("purpose")) for c in
                        store.account_state(account_id, dt.datetime.now(dt.UTC).date()).consents_in_force}
            kept = sensitive.check(f"{kind}_review", note, in_force.__contains__)
            if kept.refusal is not None:
                _fail(f"not saved: this note may hold health or life-event details and no consent for "
                      f"{str(kept.refusal.params.get('purpose')).replace('_', ' ')} is in force on account "
                      f"{account_id}; write it without them")
            purpose = kept.purpose
        entry = record_review(_SealedUnder(store, purpose) if purpose else store, kind, account_id, result, who,
                              note=note, review_in_days=review_in_days)
    except (ReviewError, StoreError, sensitive.SensitiveWordsError) as e:
        _fail(str(e))
    finally:
        store.close()
    click.echo(f"recorded: {kind} review of account {account_id} by {who.display_name} "
               f"({entry.data['role'].replace('_', ' ')}): {result} — {entry.data['meaning']} (entry {entry.seq})"
               + (f"; its note is sealed under the consent {purpose} (a withdrawal destroys it)" if purpose else ""))


class _SealedUnder:
    """The journal, with a review's note sealed under the consent it was allowed under (the journal
    itself seals what is still plain under the personal key); the entry names the consent where its
    type declares one, as the engine's entries do."""

    def __init__(self, store: Any, purpose: str) -> None:
        self.store, self.purpose = store, purpose

    def account_state(self, account_id: str, today: Any) -> Any:
        return self.store.account_state(account_id, today)

    def append(self, entry: Any) -> Any:
        import dataclasses

        from callguide.store import entry_types as et

        data = {**entry.data, "note": self.store.sealer.seal(entry.account_id, [self.purpose], entry.data["note"])}
        if "consent" in et.REGISTRY[entry.type].keys:
            data["consent"] = [self.purpose]
        return self.store.append(dataclasses.replace(entry, data=data))


# ---------------------------------------------------------------------- the console (team mode)

@main.group(invoke_without_command=True)
@click.option("--url", "--db", "url", default=None,
              help="Team store: postgresql://HOST/DB or service=NAME (default: CALLGUIDE_DB_URL, then [team] url "
                   "in the config file). You connect as yourself; never a password here.")
@click.option("--schema", default=None, help="Schema holding the team store (default: callguide).")
@click.option("--role-prefix", "prefix", default=None, help="Prefix of the team store's roles (default: callguide).")
@click.option("--lang", default=None, type=click.Choice(["en", "da", "cs"]), help="Language of the window.")
@click.option("--journal", type=click.Path(dir_okay=False), default=None,
              help="The console's own journal (its actions, synced to the team store; default: in your data folder).")
@click.option("--levels", type=click.Path(dir_okay=False), default=None,
              help="Service levels file (default: resources/service_levels.yaml).")
@click.pass_context
def console(ctx: click.Context, url: str | None, schema: str | None, prefix: str | None, lang: str | None,
            journal: str | None, levels: str | None) -> None:
    """The console for supervisors and the care team: the live queue of escalations and the care
    team's worklist. Without a subcommand it opens the window; the subcommands do the same from a shell."""
    target = _team_target(url, schema, prefix)
    ctx.obj = {"target": target, "journal": journal, "levels": levels, "lang": lang}
    if ctx.invoked_subcommand is None:
        _gui("callguide.qt.console.app", "run_console", {"target": target, "lang": lang, "journal": journal,
                                                         "levels": levels})


def _console(ctx: click.Context) -> Any:
    from callguide.team.console import Console, ServiceLevels

    levels = ctx.obj["levels"]
    return Console(ctx.obj["target"], journal_path=ctx.obj["journal"],
                   levels=ServiceLevels.load(levels) if levels else None)


def _console_item(con: Any, ref: str) -> Any:
    item = next((i for i in con.queue() if i.ref == ref), None)
    if item is None:
        raise StoreError(f"no escalation {ref} in your queue (`callguide console queue` lists them)", "refused")
    return item


def _console_done(result: Any, what: str) -> None:
    """One line: what was done, its entry, and what became of a typed text (sealed under a consent,
    or held back: the console's typed-text rule, docs/team.md)."""
    e = result.entry
    how = ""
    if getattr(result, "held_back", False):
        how = ("; its text was HELD BACK (it may hold health or life-event details and no consent for them is in "
               "force): write it without them and add it again")
    elif getattr(result, "sealed_under", None):
        how = f"; its text is sealed under the consent {result.sealed_under} (a withdrawal destroys it)"
    click.echo(f"{what} (entry {e.seq}{'' if result.synced else '; not yet confirmed by the team store'}){how}")


@console.command("queue")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "show_all", is_flag=True, help="Resolved items too.")
@click.pass_context
def console_queue(ctx: click.Context, as_json: bool, show_all: bool) -> None:
    """List the queue: open items first, with their service level."""
    from callguide.store.sealing import held_back_text
    from callguide.team.console import counts

    with _console(ctx) as con:
        items = [i for i in con.queue() if show_all or i.open]
        now = con.clock()
    if as_json:
        lang = ctx.obj.get("lang") or "en"
        click.echo(json.dumps([{"ref": i.ref, "kind": i.kind, "level": i.level.name, "status": i.status,
                                "account": i.account_id, "agent": i.agent, "agent_name": i.agent_name,
                                "call_id": i.call_id, "flow": i.flow_id, "step": i.step_id, "raised": i.ts,
                                "reason": held_back_text(i.reason, lang), "overdue": i.overdue(now), "alarm": i.alarm(),
                                "acknowledged_by": i.acknowledged.name if i.acknowledged else None}
                               for i in items], indent=2, ensure_ascii=False))
        return
    c = counts(items, now)
    click.echo(f"{c.open} open, {c.new} not acknowledged, {c.overdue} overdue")
    for i in items:
        late = i.overdue(now)
        click.echo(f"{'!' if i.alarm() else ' '} {i.ref}  {i.level.name:<10} {i.status:<12} account {i.account_id}"
                   f"  agent {i.agent_name}  {i.flow_id or '-'}/{i.step_id or '-'}  {i.ts}"
                   + (f"  OVERDUE ({late})" if late else ""))


@console.command("ack")
@click.argument("ref")
@click.pass_context
def console_ack(ctx: click.Context, ref: str) -> None:
    """Acknowledge escalation REF (desktop/seq): the agent's window shows who."""
    with _console(ctx) as con:
        item = _console_item(con, ref)
        _console_done(con.acknowledge(item), f"acknowledged {item.kind} on account {item.account_id}; "
                                             f"{item.agent_name} is told")


@console.command("assign")
@click.argument("ref")
@click.argument("person")
@click.pass_context
def console_assign(ctx: click.Context, ref: str, person: str) -> None:
    """Assign escalation REF to PERSON."""
    with _console(ctx) as con:
        _console_done(con.assign(_console_item(con, ref), person), f"assigned {ref} to {person}")


@console.command("note")
@click.argument("ref")
@click.argument("text")
@click.pass_context
def console_note(ctx: click.Context, ref: str, text: str) -> None:
    """Add a note to escalation REF. A note that may hold health or life-event details is sealed
    under the account's consent in force; without one its text is held back (the note is added, its
    text is not kept: docs/team.md, "Typed texts")."""
    with _console(ctx) as con:
        _console_done(con.note(_console_item(con, ref), text), f"note added to {ref}")


@console.command("resolve")
@click.argument("ref")
@click.option("--note", default="", help="What was done.")
@click.pass_context
def console_resolve(ctx: click.Context, ref: str, note: str) -> None:
    """Resolve escalation REF. A --note that may hold health or life-event details is refused (nothing
    written) unless the account's consent for them is in force (then sealed under it)."""
    with _console(ctx) as con:
        _console_done(con.resolve(_console_item(con, ref), note), f"resolved {ref}")


@console.command("end-hold")
@click.option("--account", "account_id", callback=_account_id, required=True, help="Account id.")
@click.option("--reason", required=True, help="Why the hold ends (kept in the journal).")
@click.pass_context
def console_end_hold(ctx: click.Context, account_id: str, reason: str) -> None:
    """A hold decision: end the account's hold (care team or supervisor), for every later call. A
    reason that may hold health or life-event details is refused unless their consent is in force."""
    with _console(ctx) as con:
        _console_done(con.end_hold(account_id, reason), f"hold ended on account {account_id}")


@console.command("watch")
@click.pass_context
def console_watch(ctx: click.Context) -> None:
    """Follow the queue live (LISTEN/NOTIFY) and print one JSON line per new item or change of
    status, until stdin closes or the process is stopped: the console without a window."""
    import threading

    from callguide.team.console import ConsoleFeed

    seen: dict[str, str] = {}
    lock = threading.Lock()

    def show(update: Any) -> None:
        now = con.clock()
        with lock:
            for i in update.items:
                if seen.get(i.ref) == i.status:
                    continue
                event = "item" if i.ref not in seen else "status"
                seen[i.ref] = i.status
                click.echo(json.dumps({"event": event, "ref": i.ref, "kind": i.kind, "level": i.level.name,
                                       "status": i.status, "account": i.account_id, "agent": i.agent,
                                       "call_id": i.call_id, "flow": i.flow_id, "step": i.step_id, "raised": i.ts,
                                       "alarm": i.alarm(), "overdue": i.overdue(now)}, ensure_ascii=False),
                           nl=True)
                sys.stdout.flush()

    with _console(ctx) as con:
        feed = ConsoleFeed(con, show, interval=5.0).start()
        try:
            sys.stdin.read()  # until stdin closes
        except KeyboardInterrupt:
            pass
        finally:
            feed.stop()


@console.command("review")
@click.argument("kind", type=click.Choice(["capacity", "crisis", "dispute"]))
@click.option("--account", "account_id", callback=_account_id, required=True, help="Account id.")
@click.option("--result", required=True, help="capacity: confirmed | not_confirmed; crisis: resolved | continue; "
              "dispute: debt_confirmed | upheld.")
@click.option("--note", default="", help="What the review found.")
@click.pass_context
def console_review(ctx: click.Context, kind: str, account_id: str, result: str, note: str) -> None:
    """Record a specialist review in the team store (as `callguide review`, for every later call). A
    --note that may hold health or life-event details is refused unless their consent is in force."""
    with _console(ctx) as con:
        r = con.record_review(kind, account_id, result, note)
        _console_done(r, f"recorded: {kind} review of account {account_id} by {con.person.display_name}: {result} "
                         f"— {r.entry.data['meaning']}")


@main.command(context_settings={"ignore_unknown_options": False})
@click.option("--db", help="Journal file (default: the live journal), or a team store postgresql://HOST/DB "
              "(team mode; also CALLGUIDE_DB_URL or [team] url in the config file).")
@click.option("--journal", type=click.Path(dir_okay=False),
              help="Team mode: this desktop's local journal (default: the live journal).")
@click.option("--flows", "flows_dir", type=click.Path(file_okay=False), help="Flows folder (default: bundled).")
@click.option("--agent", default=None, help="Agent id (default: your login name).")
@click.option("--account", "account_id", callback=_account_id, default=None, help="Account id (screen-pop from a dialer/CRM).")
@click.option("--name", default=None, help="Customer name.")
@click.option("--country", default=None, type=click.Choice(["UK", "DK", "CZ"], case_sensitive=False),
              help="Account country (signposts, emergency number).")
@click.option("--lang", default=None, type=click.Choice(["en", "da", "cs"]), help="Call and screen language.")
@click.option("--balance", default=None, help="Balance owed (shown as unknown when not given).")
@click.option("--large-text", is_flag=True, help="Large text, high contrast.")
@click.option("--demo", is_flag=True, help="Try it out: a sample account on a throw-away journal, deleted afterwards.")
def call(**kwargs: Any) -> None:
    """Open the agent's live-call window."""
    _gui("callguide.qt.app", "run_call", kwargs)


@main.command()
@click.argument("flows_dir", required=False, type=click.Path(file_okay=False))
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file with publications and flags.")
@click.option("--by", default=None, help="Who is working (default: CALLGUIDE_USER, else your login name).")
def workbench(flows_dir: str | None, db: str | None, by: str | None) -> None:
    """Open the trainer's workbench on FLOWS_DIR (default: your workspace, created from the shipped flows)."""
    _gui("callguide.qt.workbench_app", "run_workbench", {"flows_dir": flows_dir, "db": db, "user": by})


_DB_HELP = "Journal file holding the publications (default: the live journal)."


def _publications_there(db: str | None) -> None:
    """Commands that only read the publications kept in the journal's file (versions, flags list):
    on a path with no journal they say so, as `_open_store` does, rather than make one and list
    nothing from it. A team store (postgresql://…) is the team store's business."""
    from callguide.store.postgres.connect import is_team_url

    if db and is_team_url(db):
        return
    path = Path(db) if db else paths.default_db_path()
    if not path.exists():
        raise StoreError(f"There is no journal at {path}.", "missing")
_BY_HELP = "Who you are (default: CALLGUIDE_USER, else your login name); roles come from the people file."


def _person(by: str | None) -> Any:
    from callguide.identity import IdentityError, person

    try:
        return person(by)
    except IdentityError as e:
        _fail(str(e))


def _flow_id(flow: str) -> str:
    p = Path(flow)
    if p.suffix in (".yaml", ".yml"):
        from callguide.flow.loader import load_flow

        if not p.exists():
            _fail(f"{flow}: no such file")
        f, diags = load_flow(p)
        if f is None:
            _fail(str(diags[0]) if diags else f"{flow}: does not load", 1)
        assert f is not None
        return f.id
    return flow


def _refused(e: Any) -> None:
    if len(e.problems) > 1:
        for p in e.problems[:40]:
            click.echo(f"  {p}", err=True)
    _fail(str(e), 1)


@main.command()
@click.argument("flow", type=click.Path(exists=True, dir_okay=False))
@click.option("--note", "-m", required=True, help="Change note kept with the version (what changed and why).")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def publish(flow: str, note: str, by: str | None, db: str | None) -> None:
    """Submit FLOW (a file in a workspace) for review, through every gate: validation, version label,
    flow tests, practice cases, change note. A reviewer then approves it with `callguide approve`."""
    from callguide.library.publish import PublishError
    from callguide.library.workspace import Workspace

    path = Path(flow)
    ws = Workspace(path.parent.parent if path.parent.name in ("tests", "practice") else path.parent, db,
                   person=_person(by))
    try:
        vs = ws.submit(path, note)
    except PublishError as e:
        _refused(e)
    v = vs.version
    for w in v.evidence.get("warnings") or []:
        click.echo(f"warning: {w}")
    t = v.evidence.get("tests") or {}
    notes = v.evidence.get("notes") or []
    only = " (practice only: the flow is marked review_needed)" if v.review_needed else ""
    click.echo(f"submitted {v.flow_id} {v.version_label} ({v.short_hash}) by {v.created_by}{only}: "
               f"{t.get('passed', 0)} flow test(s) passed, {len(v.evidence.get('warnings') or [])} warning(s)"
               + (f", {len(notes)} note(s)" if notes else ""))
    for n in notes:  # not problems: what the reviewer will read with the version (a waived built-in invariant)
        click.echo(f"note: {n}")
    click.echo(f"a reviewer approves it with `callguide approve {v.flow_id} {v.version_label}`")


@main.command()
@click.argument("flow")
@click.argument("version")
@click.option("--at", "at", default=None, help="Go live at this date and time (ISO, local time unless it has "
                                               "an offset), e.g. 2026-12-01T18:00. Default: now.")
@click.option("--yes", "-y", is_flag=True, help="Approve without asking (the diff and results are still shown).")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def approve(flow: str, version: str, at: str | None, yes: bool, by: str | None, db: str | None) -> None:
    """Approve a submitted VERSION of FLOW (reviewer role; not the person who submitted it). Shows the
    semantic diff against the live version, the test results and the coverage first."""
    import datetime as dt

    from callguide.library.publish import PublishError, check_approver, review_view
    from callguide.library.publish import approve as do_approve

    fid = _flow_id(flow)
    who = _person(by)
    when = None
    if at:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            _fail(f"--at {at!r}: not an ISO date and time (e.g. 2026-12-01T18:00)")
    try:
        check_approver(fid, version, who, db)
        view = review_view(fid, version, db)
        click.echo(view.diff_text)
        for line in view.evidence_lines():
            click.echo(line)
        click.echo(f"Submitted by {view.status.submitted_by}: {view.version.note}")
        click.echo(f"Diff hash: {view.diff_hash}")
        if not yes and not click.confirm(f"Approve {fid} {version}?", default=False):
            _fail("not approved", 1)
        vs = do_approve(fid, version, who, db, at=when, seen_diff_hash=view.diff_hash)
    except PublishError as e:
        _refused(e)
    if vs.state == "practice":
        click.echo(f"approved {fid} {version} by {who.id}: practice only (marked review_needed)")
    elif vs.state == "scheduled":
        click.echo(f"approved {fid} {version} by {who.id}: goes live at {vs.go_live}")
    else:
        click.echo(f"approved {fid} {version} by {who.id}: live now")


@main.command()
@click.argument("flow")
@click.argument("version")
@click.option("--note", "-m", "why", required=True, help="Why it is rejected (the trainer reads this).")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def reject(flow: str, version: str, why: str, by: str | None, db: str | None) -> None:
    """Reject a submitted VERSION of FLOW, saying why (reviewer role, or the submitter withdrawing it)."""
    from callguide.library.publish import PublishError
    from callguide.library.publish import reject as do_reject

    fid = _flow_id(flow)
    try:
        do_reject(fid, version, _person(by), why, db)
    except PublishError as e:
        _refused(e)
    click.echo(f"rejected {fid} {version}: {why.strip()}")


@main.command()
@click.argument("flow")
@click.argument("version")
@click.option("--note", "-m", default="", help="Why (kept in the publication log).")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def rollback(flow: str, version: str, note: str, by: str | None, db: str | None) -> None:
    """Put an earlier approved VERSION of FLOW live again, now (trainer, reviewer or supervisor)."""
    from callguide.library.publish import PublishError
    from callguide.library.publish import rollback as do_rollback

    fid = _flow_id(flow)
    try:
        vs = do_rollback(fid, version, _person(by), db, note)
    except PublishError as e:
        _refused(e)
    click.echo(f"rolled back {fid} to {vs.version.version_label}: live now")


@main.command()
@click.argument("flow", required=False)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
@click.option("--log", "show_log", is_flag=True, help="Also print the publication log (every decision).")
@click.option("--verify", is_flag=True, help="Recompute the publication log's hash chain.")
def versions(flow: str | None, db: str | None, show_log: bool, verify: bool) -> None:
    """List the versions of FLOW (or of every flow) with their state, who submitted and approved them,
    and when they went live."""
    from callguide.library.publish import PublishError, all_status, open_store

    _publications_there(db)
    try:
        with open_store(db) as store:
            status = all_status(store)
            log = store.log(_flow_id(flow) if flow else None) if show_log else []
            check = store.verify() if verify else None
    except PublishError as e:
        _fail(str(e), 1)
    fids = [_flow_id(flow)] if flow else sorted(status)
    for fid in fids:
        st = status.get(fid)
        if st is None:
            click.echo(f"{fid}: no versions")
            continue
        live = f"live {st.live.version_label}" if st.live else "nothing live"
        click.echo(f"{fid} ({live})")
        for vs in reversed(st.versions):
            v = vs.version
            when = f" {vs.go_live}" if vs.go_live and vs.state in ("live", "scheduled", "superseded") else ""
            appr = f", approved by {vs.approved_by}" if vs.approved_by else ""
            mark = " [review needed]" if v.review_needed else ""
            click.echo(f"  {v.version_label:<14} {vs.state:<10}{when}  {v.short_hash}  by {vs.submitted_by}{appr}"
                       f"{mark}: {v.note}")
            rej = vs.first("rejected")
            if rej is not None:
                click.echo(f"      rejected by {rej.by_person}: {rej.note}")
    for le in log:
        extra = f" effective {le.effective_at}" if le.effective_at else ""
        dh = f" diff {le.diff_hash[:12]}" if le.diff_hash else ""
        click.echo(f"#{le.seq} {le.ts} {le.flow_id} {le.version_label} {le.event} by {le.by_person}{extra}{dh}: "
                   f"{le.note}")
    if check is not None:
        if check.ok:
            click.echo(f"ok: publication log, {check.checked} entries, chain intact")
        else:
            click.echo(f"BROKEN publication log at entry {check.first_bad_seq}: {check.reason}")
            sys.exit(1)


@main.command()
@click.argument("flow")
@click.argument("v1")
@click.argument("v2", default="working")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
@click.option("--flows", "flows_dir", type=click.Path(file_okay=False), help="Workspace folder (default: yours).")
def diff(flow: str, v1: str, v2: str, db: str | None, flows_dir: str | None) -> None:
    """Semantic diff of FLOW (id or file) between V1 and V2: a version label, a hash prefix,
    `live`, `#ID` or `working` (the file in the workspace; the default for V2)."""
    from callguide.library.diff import diff_flows, render_diff, resolve_version
    from callguide.library.publish import PublishError

    try:
        old, la = resolve_version(flow, v1, db, flows_dir)
        new, lb = resolve_version(flow, v2, db, flows_dir)
    except PublishError as e:
        _fail(str(e), 1)
    click.echo(render_diff(diff_flows(old, new), la, lb, new.id), nl=False)


@main.group()
def flags() -> None:
    """Agents' flags on steps: list them and triage them (trainer role)."""


@flags.command("list")
@click.argument("flow", required=False)
@click.option("--all", "show_all", is_flag=True, help="Also show rejected and fixed flags.")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def flags_list(flow: str | None, show_all: bool, db: str | None) -> None:
    """List agents' flags (of FLOW, or all): who, when, flow version and step, their words, the triage."""
    from callguide.library.flags import FlagsError, list_flags

    _publications_there(db)
    try:
        items = list_flags(db, _flow_id(flow) if flow else None)
    except FlagsError as e:
        _fail(str(e), 1)
    shown = [f for f in items if show_all or f.active]
    for f in shown:
        fe = f.entry
        click.echo(f"{f.ref:<6} {fe.ts[:16].replace('T', ' ')}  {fe.agent:<12} {fe.flow_id} {fe.flow_version} "
                   f"{fe.step_id}  [{f.describe_state()}]")
        click.echo(f"       \u201c{fe.comment or '(no words)'}\u201d")
    click.echo(f"{len(shown)} flag(s)" + ("" if show_all else f" open or accepted ({len(items)} in all)"))


def _triage(ref: str, state: str, reason: str, version: str | None, by: str | None, db: str | None) -> None:
    from callguide.library.flags import FlagsError, triage

    try:
        f = triage(db, ref, state, _person(by), reason, version)
    except FlagsError as e:
        _fail(str(e), 1)
    click.echo(f"flag {f.ref} ({f.entry.flow_id}/{f.entry.step_id}): {f.describe_state()}")


@flags.command("accept")
@click.argument("ref")
@click.option("--note", "-m", default="", help="A note for the record.")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def flags_accept(ref: str, note: str, by: str | None, db: str | None) -> None:
    """Accept flag REF (#SEQ): the wording will be changed."""
    _triage(ref, "accepted", note, None, by, db)


@flags.command("reject")
@click.argument("ref")
@click.option("--note", "-m", required=True, help="Why the flag is rejected.")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def flags_reject(ref: str, note: str, by: str | None, db: str | None) -> None:
    """Reject flag REF (#SEQ), saying why."""
    _triage(ref, "rejected", note, None, by, db)


@flags.command("fixed")
@click.argument("ref")
@click.argument("version")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def flags_fixed(ref: str, version: str, by: str | None, db: str | None) -> None:
    """Mark flag REF (#SEQ) fixed in VERSION of its flow; the agent sees it once that version is live."""
    _triage(ref, "fixed", "", version, by, db)


@flags.command("reopen")
@click.argument("ref")
@click.option("--note", "-m", default="", help="Why it is open again.")
@click.option("--by", default=None, help=_BY_HELP)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def flags_reopen(ref: str, note: str, by: str | None, db: str | None) -> None:
    """Open flag REF (#SEQ) again."""
    _triage(ref, "open", note, None, by, db)


# ---------------------------------------------------------------- team store (docs/team.md)


def _team_target(url: str | None, schema: str | None, prefix: str | None) -> Any:
    try:
        from callguide.store.postgres.connect import TeamStoreError, resolve
    except ImportError as e:  # pragma: no cover - the team extra is missing
        _fail(f"team mode needs psycopg ({e}); install with `pip install -e .[team]`.")
    try:
        return resolve(url, schema=schema, prefix=prefix)
    except TeamStoreError as e:
        _fail(str(e))


def _team_options(fn: Any) -> Any:
    for opt in reversed([
        click.option("--url", "--db", "url", default=None,
                     help="Team store: postgresql://HOST/DB or service=NAME (default: CALLGUIDE_DB_URL, then "
                          "[team] url in the config file). Never a password: use ~/.pgpass or a service file."),
        click.option("--schema", default=None, help="Schema holding the team store (default: callguide)."),
        click.option("--role-prefix", "prefix", default=None,
                     help="Prefix of the team store's PostgreSQL roles (default: callguide)."),
    ]):
        fn = opt(fn)
    return fn


@main.group()
def server() -> None:
    """Set up and inspect the team store (PostgreSQL)."""


@server.command("init")
@_team_options
@click.option("--flows", "flows_dir", type=click.Path(file_okay=False),
              help="Adopt this release's flows (its manifest.json) as the live flows (default: the bundled flows).")
def server_init(url: str | None, schema: str | None, prefix: str | None, flows_dir: str | None) -> None:
    """Create or upgrade the team store: roles, schema, row-level security, and the shipped flows'
    release as the live publications until trainers publish their own (safe to run again)."""
    from callguide.library.publish import PublishError, adopt_release
    from callguide.store.postgres.connect import TeamStoreError
    from callguide.store.postgres.migrate import init
    from callguide.store.postgres.publications import PostgresPublications

    target = _team_target(url, schema, prefix)
    try:
        rep = init(target)
        with PostgresPublications(target) as pubs:
            adopted = adopt_release(flows_dir or paths.flows_dir(), pubs)
    except (TeamStoreError, PublishError) as e:
        _fail(str(e), 1)
    click.echo(f"team store {rep.schema}: schema version {rep.version}"
               + (" (schema created)" if rep.created_schema else ""))
    click.echo("  roles created: " + (", ".join(rep.created_roles) or "none (all present)"))
    click.echo("  migrations applied: " + (", ".join(rep.applied) or "none (up to date)"))
    if adopted is None:
        click.echo("  flows: release already adopted (or no manifest)")
    else:
        click.echo(f"  flows: release {adopted.release} adopted" + (f", {len(adopted.problems)} problem(s): "
                                                                     f"{adopted.problems[0]}" if adopted.problems else ""))


@server.command("status")
@_team_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def server_status(url: str | None, schema: str | None, prefix: str | None, as_json: bool) -> None:
    """Say what the team store holds: schema version, roles, entry counts, desktops and their heads."""
    from callguide.store.postgres.connect import TeamStoreError
    from callguide.store.postgres.migrate import status

    target = _team_target(url, schema, prefix)
    try:
        st = status(target)
    except TeamStoreError as e:
        _fail(str(e), 1)
    if as_json:
        click.echo(json.dumps(st, indent=2, ensure_ascii=False))
        return
    click.echo(f"PostgreSQL {st['server_version']}, schema {st['schema']}: version {st['version']}"
               f" (this CallGuide: {st['known_version']})")
    if st["version"] == 0:
        click.echo("  not set up: run `callguide server init`")
    for role, info in st["roles"].items():
        click.echo(f"  role {role}: " + ("missing" if info is None else f"{info['members']} member(s)"))
    for table, n in st.get("counts", {}).items():
        click.echo(f"  {table}: {n}")
    for d in st.get("desktops", []):
        click.echo(f"  desktop {d['desktop']} ({d['owner']}): head {d['head_seq']} {d['head_hash'][:12]}"
                   f" at {d['head_at'] or '-'}")


@server.command("person")
@click.argument("person_id")
@click.option("--role", "roles", multiple=True, required=True,
              help="A role (repeat): agent, care_team, supervisor, trainer, reviewer, auditor.")
@click.option("--name", default="", help="Display name.")
@click.option("--team", default=None, help="Team (supervisors read their own team's calls).")
@click.option("--login", default=None, help="PostgreSQL login role (default: the person id).")
@_team_options
def server_person(person_id: str, roles: tuple[str, ...], name: str, team: str | None, login: str | None,
                  url: str | None, schema: str | None, prefix: str | None) -> None:
    """Add or change a person: their own login role, exactly these roles, their team."""
    from callguide.store.postgres.connect import TeamStoreError
    from callguide.store.postgres.migrate import add_person

    target = _team_target(url, schema, prefix)
    try:
        login_role = add_person(target, person_id, list(roles), name=name, team=team, login=login)
    except TeamStoreError as e:
        _fail(str(e), 1)
    click.echo(f"{person_id}: login {login_role}, roles {', '.join(sorted(roles))}"
               + (f", team {team}" if team else "") + " (set a password with psql's \\password, or use the "
               "site's own authentication)")


# ---------------------------------------------------------------------- privacy (issue 10; docs/journal.md "Sealed values")

@audit.command("export")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
@click.option("--call", "call_id", default=None, help="Only this call.")
@click.option("--account", "account_id", callback=_account_id, default=None, help="Only this account.")
def audit_export(db: str | None, call_id: str | None, account_id: str | None) -> None:
    """The redacted export for auditors, as JSON: every entry type, rendered text included, and no
    special-category value (names and other personal data are shown; what was erased says so)."""
    from callguide.store.privacy import auditor_export, dumps

    store = _open_store(db, readonly=True)
    try:
        click.echo(dumps(auditor_export(store, call_id=call_id, account_id=account_id)))
    finally:
        store.close()


@main.group()
def privacy() -> None:
    """Subject access, consent withdrawal, erasure and the retention schedule (crypto-shredding)."""


def _privacy_person(by: str | None) -> Any:
    from callguide import identity

    try:
        return identity.person(by)
    except identity.IdentityError as e:
        _fail(str(e))


def _privacy_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from callguide.store.privacy import PrivacyError

    try:
        return fn(*args, **kwargs)
    except PrivacyError as e:
        _fail(str(e))


@privacy.command("export")
@click.option("--account", "account_id", callback=_account_id, required=True, help="Account id.")
@click.option("--format", "fmt", type=click.Choice(["json", "html"]), default="json", show_default=True,
              help="JSON, or one HTML page a person can read.")
@click.option("--lang", default="en", type=click.Choice(["en", "da", "cs"]), help="Language of dates and markers.")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
def privacy_export(account_id: str, fmt: str, lang: str, db: str | None) -> None:
    """Everything the journal holds about an account (subject access): decrypted where the keys
    exist, marked where they were destroyed."""
    from callguide.store.privacy import dumps, subject_access, subject_access_html

    store = _open_store(db, readonly=True)
    try:
        rep = subject_access(store, account_id, lang=lang)
    finally:
        store.close()
    if not rep["entries"]:
        _fail(f"the journal holds nothing about account {account_id}.", 1)
    click.echo(subject_access_html(rep) if fmt == "html" else dumps(rep))


@privacy.command("erase")
@click.option("--account", "account_id", callback=_account_id, required=True, help="Account id.")
@click.option("--reason", required=True, help="Why (kept in the journal's tombstone).")
@click.option("--by", "by", default=None, help="Who erases (a supervisor or care-team member; default: you).")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
def privacy_erase(account_id: str, reason: str, by: str | None, db: str | None) -> None:
    """Erase an account's personal and special-category data: its keys are destroyed, a tombstone
    is journalled; `audit verify` still passes. The reason stays readable for ever (it is the
    tombstone's): one that may hold health or life-event details is refused (nothing is erased)."""
    from callguide.engine import sensitive
    from callguide.store.privacy import erase

    try:  # no consent covers the tombstone: an erased account keeps none
        kept = sensitive.check("erasure", reason, lambda _purpose: False)
    except sensitive.SensitiveWordsError as e:
        _fail(str(e))
    if kept.refusal is not None:
        _fail("not erased: the reason is kept readable in the tombstone for ever and may hold health or "
              "life-event details; write it without them (for example 'customer request, Art. 17')")
    who = _privacy_person(by)
    store = _open_store(db)
    try:
        entry = _privacy_call(erase, store, account_id, reason, who)
    finally:
        store.close()
    click.echo(f"erased: account {account_id}, {entry.data['keys']} key(s) destroyed "
               f"({', '.join(entry.data['purposes']) or 'none left'}); tombstone entry {entry.seq}")


@privacy.command("withdraw")
@click.option("--account", "account_id", callback=_account_id, required=True, help="Account id.")
@click.option("--purpose", required=True, help="The consent purpose (e.g. health_disclosure).")
@click.option("--by", "by", default=None, help="Who records it (a supervisor or care-team member; default: you).")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
def privacy_withdraw(account_id: str, purpose: str, by: str | None, db: str | None) -> None:
    """Withdraw a consent outside a call (the customer wrote in): what was captured under it is shredded."""
    from callguide.store.privacy import withdraw

    who = _privacy_person(by)
    store = _open_store(db)
    try:
        entry = _privacy_call(withdraw, store, account_id, purpose, who)
    finally:
        store.close()
    if entry.data.get("kept"):
        click.echo(f"withdrawn: {purpose} on account {account_id}; details kept under: {entry.data['kept']} "
                   f"(entry {entry.seq})")
    else:
        click.echo(f"withdrawn: {purpose} on account {account_id}; {entry.data.get('shredded', 0)} key(s) "
                   f"destroyed (entry {entry.seq})")


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Only say what is due.")
@click.option("--retention", "retention_file", type=click.Path(dir_okay=False),
              help="Retention schedule (default: resources/retention.yaml, or CALLGUIDE_RETENTION).")
@click.option("--today", default=None, help="The date to apply the schedule on (ISO date; default: today).")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
def privacy_purge(dry_run: bool, retention_file: str | None, today: str | None, db: str | None) -> None:
    """Apply the retention schedule: shred what is past its time and say what, under which rule and why."""
    import datetime as dt

    from callguide.store.privacy import load_retention, purge

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        _fail(f"--today takes an ISO date like 2027-01-31 (got {today!r})")
    retention = _privacy_call(load_retention, retention_file)
    store = _open_store(db, readonly=dry_run)
    try:
        due = _privacy_call(purge, store, retention=retention, today=day, dry_run=dry_run)
    finally:
        store.close()
    for d in due:
        click.echo(d.line(dry_run))
    if not due:
        click.echo("nothing is due under " + str(retention.path))


@privacy.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--db", type=click.Path(dir_okay=False), help="Journal file (default: the live journal).")
def privacy_report(as_json: bool, db: str | None) -> None:
    """Consents given, declined, withdrawn and expired, erasures and purges, per purpose and month."""
    from callguide.store.privacy import report

    store = _open_store(db, readonly=True)
    try:
        rows = report(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    cols = ("given", "declined", "withdrawn", "expired", "erased", "purged")
    click.echo(f"{'month':8} {'purpose':28} " + " ".join(f"{c:>9}" for c in cols))
    for r in rows:
        click.echo(f"{r['month']:8} {r['purpose']:28} " + " ".join(f"{r[c]:>9}" for c in cols))
    if not rows:
        click.echo("no consent decisions, erasures or purges in the journal")


def _gui(module: str, func: str, kwargs: dict[str, Any]) -> None:
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        _fail(f"the window needs PySide6 ({e}); install with `pip install -e .[gui]`.")
    sys.exit(getattr(mod, func)(**kwargs))


if __name__ == "__main__":
    main()
