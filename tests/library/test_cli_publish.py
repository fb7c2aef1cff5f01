from __future__ import annotations

from click.testing import CliRunner

from callguide.cli import main


def test_publish_and_diff_commands(flows, db):
    r = CliRunner()
    res = r.invoke(main, ["publish", str(flows / "main.yaml"), "-m", "first", "--by", "anna", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("published main 1 (")
    path = flows / "main.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('cs: "Dobrý den', 'cs: "Dobrý večer'), encoding="utf-8")
    res = r.invoke(main, ["diff", str(path), "1", "working", "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "what the agent says changed in Czech" in res.output
    res = r.invoke(main, ["diff", str(path), "9", "--db", str(db)])
    assert res.exit_code == 1 and "no published version '9'" in res.output
    assert "Traceback" not in res.output


def test_publish_refuses_a_broken_flow_in_one_line(flows, db):
    path = flows / "main.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("next: route", "next: nowhere"), encoding="utf-8")
    res = CliRunner().invoke(main, ["publish", str(path), "-m", "x", "--db", str(db)])
    assert res.exit_code == 1
    assert "unknown-target" in res.output and "Traceback" not in res.output
