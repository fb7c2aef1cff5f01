"""The CLI end to end, on real files: walk, test, audit verify, history, errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from callguide.cli import main

ROOT = Path(__file__).resolve().parent.parent
ENGINE_FLOWS = ROOT / "tests" / "engine" / "flows"


ENV = {"CALLGUIDE_SIGNPOSTS": str(ROOT / "tests" / "engine" / "signposts.yaml")}


def run(*args: str):
    return CliRunner().invoke(main, list(args), env=ENV, catch_exceptions=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_walk_prints_a_json_trace_and_writes_the_journal(tmp_path):
    script = write(tmp_path / "s.yaml", """
- {next: null}
- {answer: {income: "900", spend: "1200"}}
- {next: null}
- {next: null}
- {next: null}
""")
    db = tmp_path / "walk.db"
    res = run("walk", str(ENGINE_FLOWS / "main.yaml"), "--script", str(script), "--db", str(db),
              "--account", "W-9", "--country", "DK", "--lang", "da")
    assert res.exit_code == 0, res.output
    trace = json.loads(res.output)
    assert trace["visited"] == ["main/hello", "main/income", "main/route", "main/hold-it", "main/held"]
    assert trace["outcome"] == "hold"
    assert {"hold_started", "signpost", "protocol_ended"} <= {r["type"] for r in trace["records"]}
    assert trace["records"][0]["account"]["country"] == "DK"
    assert trace["blocked"] == [] and trace["errors"] == []
    hist = run("history", "--account", "W-9", "--db", str(db))
    assert hist.exit_code == 0 and "On hold until" in hist.output
    hj = json.loads(run("history", "--account", "W-9", "--db", str(db), "--json").output)
    assert hj["holds"][0]["days"] == 30


def test_walk_reports_refusals_in_the_trace(tmp_path):
    script = write(tmp_path / "s.yaml", """
events:
  - {next: null}
  - {answer: {income: "2000", spend: "100"}}
  - {next: null}
  - {interrupt: doubt}
  - {next: remains}
  - {next: null}
  - {next: "yes"}
""")
    res = run("walk", str(ENGINE_FLOWS / "main.yaml"), "--script", str(script), "--db", str(tmp_path / "w.db"))
    trace = json.loads(res.output)
    assert trace["blocked"][0]["rule"] == "capacity-doubt"
    assert trace["errors"][0]["event"] == 7 and trace["step"] == "main/offer"


def test_walk_bad_script_is_one_line(tmp_path):
    script = write(tmp_path / "s.yaml", "- {next: null\n")
    res = CliRunner().invoke(main, env=ENV, args=["walk", str(ENGINE_FLOWS / "main.yaml"), "--script", str(script)])
    assert res.exit_code != 0
    err = res.output.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ") and "s.yaml:" in err[0]
    assert "Traceback" not in res.output


def test_walk_unknown_event_is_one_line(tmp_path):
    script = write(tmp_path / "s.yaml", "- {jump: somewhere}\n")
    res = CliRunner().invoke(main, env=ENV, args=["walk", str(ENGINE_FLOWS / "main.yaml"), "--script", str(script)])
    assert res.exit_code != 0 and "event 1" in res.output and "Traceback" not in res.output


def test_audit_verify_names_the_first_bad_entry(tmp_path):
    script = write(tmp_path / "s.yaml", "- {next: null}\n- {answer: {income: '5'}}\n")
    db = tmp_path / "a.db"
    assert run("walk", str(ENGINE_FLOWS / "main.yaml"), "--script", str(script), "--db", str(db)).exit_code == 0
    ok = run("audit", "verify", "--db", str(db))
    assert ok.exit_code == 0 and ok.output.startswith("ok:")
    con = sqlite3.connect(db)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{name}"')
    con.execute("UPDATE entries SET data = replace(data, '5.00', '500.00') WHERE type = 'answer'")
    seq = con.execute("SELECT seq FROM entries WHERE type='answer'").fetchone()[0]
    con.commit()
    con.close()
    bad = CliRunner().invoke(main, env=ENV, args=["audit", "verify", "--db", str(db)])
    assert bad.exit_code == 1 and f"BROKEN at entry {seq}" in bad.output


def test_locked_or_foreign_database_is_one_line(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    res = CliRunner().invoke(main, env=ENV, args=["history", "--account", "X", "--db", str(junk)])
    assert res.exit_code != 0
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "junk.db" in lines[0]


def test_validate_reports_file_line_col(tmp_path):
    bad = write(tmp_path / "bad.yaml", (ENGINE_FLOWS / "pay.yaml").read_text().replace("next: confirm",
                                                                                     "next: nowhere"))
    res = CliRunner().invoke(main, env=ENV, args=["validate", str(bad)])
    assert res.exit_code == 1
    assert any(line.startswith(f"{bad}:") and "unknown-target" in line for line in res.output.splitlines()) or \
        "unknown-target" in res.output


def test_graph_mermaid(tmp_path):
    res = run("graph", str(ENGINE_FLOWS / "main.yaml"))
    assert res.exit_code == 0 and "hold-it" in res.output or "hold_it" in res.output


def test_flow_tests_and_coverage(tmp_path):
    tests_dir = tmp_path / "flows" / "tests"
    tests_dir.mkdir(parents=True)
    for f in ENGINE_FLOWS.glob("*.yaml"):
        (tmp_path / "flows" / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    write(tests_dir / "pay.test.yaml", """
flow: pay
account: {id: T1, country: UK}
cases:
  - name: arranged
    events:
      - {answer: {instalment: "20"}}
      - {next: null}
      - {next: null}
    expect:
      visited: [pay/terms, pay/confirm]
      outcome: arranged
      records: [{type: arrangement, fields: {instalment: "20.00"}}]
      no_records: [{type: blocked}]
  - name: wrong expectation is reported
    events: [{next: null}]
    expect: {outcome: arranged}
""")
    res = CliRunner().invoke(main, env=ENV, args=["test", str(tmp_path / "flows")])
    assert res.exit_code == 1
    assert "FAIL" in res.output and "wrong expectation is reported" in res.output
    assert "1 passed, 1 failed" in res.output
    assert any(line.startswith("pay ") and "2/2" in line and "100%" in line for line in res.output.splitlines())
