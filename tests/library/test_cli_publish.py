"""The publishing commands: publish (submit), approve, reject, versions, rollback, diff, flags."""

from __future__ import annotations

from click.testing import CliRunner

from callguide.cli import main


def run(*args, user=None):
    env = {"CALLGUIDE_USER": user} if user else {}
    return CliRunner().invoke(main, list(map(str, args)), env=env)


def bump(path, label, old='version: "1"'):
    path.write_text(path.read_text(encoding="utf-8").replace(old, f'version: "{label}"'), encoding="utf-8")


def test_submit_approve_versions_rollback(flows, adopted, db):
    path = flows / "main.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('cs: "Dobrý den', 'cs: "Dobrý večer'), encoding="utf-8")
    res = run("publish", path, "-m", "evening in Czech", "--db", db)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "[version] version '1' is not a semantic version" in res.output
    bump(path, "1.1.0")
    res = run("publish", path, "-m", "evening in Czech", "--db", db, user="anna")
    assert res.exit_code == 0, res.output
    assert res.output.startswith("submitted main 1.1.0 (") and "by anna" in res.output
    # The built-in invariant main waives is no warning: it is listed as a note, for the reviewer.
    assert "0 warning(s), 1 note(s)" in res.output and "warning:" not in res.output
    assert "\nnote: " in res.output and "waiver: main opts out of the built-in invariant collection_state" in res.output
    res = run("approve", "main", "1.1.0", "--yes", "--db", db, user="anna")
    assert res.exit_code == 1 and "needs the reviewer role; anna has trainer" in res.output
    assert "Changes to flow main" not in res.output  # refused before showing anything
    res = run("approve", "main", "1.1.0", "--db", db, "--by", "rita", user="anna")
    assert res.exit_code == 1 and "Approve main 1.1.0? [y/N]" in res.output  # asked; no answer means no
    assert "what the agent says changed in Czech" in res.output and "Flow tests:" in res.output
    assert "Validation: no errors, 0 warning(s), 1 note(s)" in res.output and "  note: " in res.output
    res = CliRunner().invoke(main, ["approve", "main", "1.1.0", "--db", str(db), "--by", "rita"], input="y\n")
    assert res.exit_code == 0, res.output
    assert "approved main 1.1.0 by rita: live now" in res.output
    res = run("versions", "main", "--db", db, "--log", "--verify")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "main (live 1.1.0)"
    assert "1.1.0" in lines[1] and "live" in lines[1] and "by anna, approved by rita" in lines[1]
    assert "superseded" in lines[2]
    assert any(" approved by rita diff " in ln for ln in lines)
    assert lines[-1].startswith("ok: publication log")
    res = run("rollback", "main", "1", "-m", "back to the shipped text", "--db", db, "--by", "sven")
    assert res.exit_code == 0, res.output
    assert "rolled back main to 1: live now" in res.output
    res = run("diff", path, "live", "1.1.0", "--db", db)
    assert res.exit_code == 0 and "what the agent says changed in Czech" in res.output
    res = run("diff", path, "9", "--db", db)
    assert res.exit_code == 1 and "no version '9'" in res.output


def test_reject_and_a_broken_flow_refused_in_plain_lines(flows, adopted, db):
    path = flows / "main.yaml"
    bump(path, "2.0.0")
    path.write_text(path.read_text(encoding="utf-8").replace("next: route", "next: nowhere"), encoding="utf-8")
    res = run("publish", path, "-m", "x", "--db", db, "--by", "anna")
    assert res.exit_code == 1
    assert "[validation] unknown-target" in res.output and "Traceback" not in res.output
    path.write_text(path.read_text(encoding="utf-8").replace("next: nowhere", "next: route"), encoding="utf-8")
    assert run("publish", path, "-m", "v2", "--db", db, "--by", "anna").exit_code == 0
    res = run("reject", "main", "2.0.0", "-m", "greeting too informal", "--db", db, "--by", "rita")
    assert res.exit_code == 0 and "rejected main 2.0.0: greeting too informal" in res.output
    res = run("versions", "main", "--db", db)
    assert "rejected by rita: greeting too informal" in res.output


def test_flags_commands(flows, adopted, db):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.library.live import load_for_calls
    from callguide.store.sqlite import SQLiteJournal

    store = SQLiteJournal.open(db)
    s = CallSession.start(load_for_calls(None, db), store, Account("A1", "Jo", "UK"), "agent-7", start_flow="main",
                          clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
    s.flag_step("customers find this cold")
    seq = store.call_entries(s.call_id)[-1].seq
    store.close()
    res = run("flags", "list", "--db", db)
    assert res.exit_code == 0, res.output
    assert f"#{seq}" in res.output and "agent-7" in res.output and "main 1 hello  [open]" in res.output
    assert "customers find this cold" in res.output and "2026-11-22 10:00" in res.output
    res = run("flags", "reject", f"#{seq}", "--db", db, "--by", "anna")
    assert res.exit_code == 2 and "Missing option" in res.output
    res = run("flags", "reject", f"#{seq}", "-m", "required wording", "--db", db, "--by", "anna")
    assert res.exit_code == 0 and "rejected: required wording" in res.output
    assert "0 flag(s) open or accepted (1 in all)" in run("flags", "list", "--db", db).output
    res = run("flags", "fixed", str(seq), "7.0.0", "--db", db, "--by", "anna")
    assert res.exit_code == 1 and "main has no version '7.0.0'" in res.output
