"""Where flows live, the submission gates, four eyes, go-live, review_needed and rollback, on real
flow files, real SQLite journals and the real engine."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3

import pytest

from callguide.library.live import LibraryRefused, load_for_calls, withheld_flows
from callguide.library.publish import (
    GateRefused,
    PublishError,
    approve,
    flow_status,
    open_store,
    reject,
    review_view,
    rollback,
)
from callguide.library.workspace import Workspace, WorkspaceError
from tests.library.conftest import REAL_FLOWS, who

MAIN_TEST = """\
flow: main
account: {id: T1, country: UK}
cases:
  - name: a positive budget reaches the offer
    events:
      - {next: null}
      - {answer: {income: "100", spend: "20"}}
      - {next: null}
    expect: {step: main/offer}
"""

MAIN_CASE = """\
name: "Main: a customer who can pay"
flow: main
persona: {name: Jo Bloggs, country: UK, lang: en}
script: {hello: "Hello?"}
expected:
  outcome: paid
solution:
  - {next: null}
  - {answer: {income: "100", spend: "20"}}
  - {next: null}
  - {next: "yes"}
  - {answer: {instalment: "20"}}
  - {next: null}
  - {next: null}
  - {next: null}
"""


def edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def bump(path, label):
    text = path.read_text(encoding="utf-8")
    import re

    path.write_text(re.sub(r'^version: .*$', f'version: "{label}"', text, count=1, flags=re.M), encoding="utf-8")


def ws(flows, db, pid):
    return Workspace(flows, db, person=who(pid))


def gates(e) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in e.value.refusals:
        out.setdefault(r.gate, []).append(f"{r.where} {r.message}")
    return out


# ---------------------------------------------------------------------- where flows live


def test_editing_a_shipped_flow_in_place_changes_nothing_for_the_next_live_call(tmp_path, monkeypatch):
    """Regression: an edit to a file of the app's own flows folder went live as "bundled (updated with
    the app)". Now the next live call still runs the published version, and nothing is adopted."""
    app_flows = tmp_path / "app" / "flows"
    shutil.copytree(REAL_FLOWS, app_flows)
    monkeypatch.setenv("CALLGUIDE_FLOWS", str(app_flows))  # this copy is the app's shipped folder
    db = tmp_path / "journal.db"
    first = load_for_calls(app_flows, db)
    say = first.flows["affordability"].step("income").say.get("en")
    edit(app_flows / "affordability.yaml", say, "EDITED IN PLACE")
    edit(app_flows / "hold.yaml", 'version: "1.0.0"', 'version: "1.0.1"')
    lib = load_for_calls(app_flows, db)
    assert lib.flows["affordability"].step("income").say.get("en") == say
    assert lib.flows["hold"].version == "1.0.0"
    with open_store(db) as store:
        assert [v.version_label for v in store.versions("affordability")] == ["1.0.0"]
        assert len(store.releases()) == 1
    # a call started now runs the published text, not the file
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.store.sqlite import SQLiteJournal

    store = SQLiteJournal.open(tmp_path / "calls.db")
    s = CallSession.start(lib, store, Account("A1", "Jo", "UK"), "agent-7", start_flow="affordability",
                          clock=FixedClock("2026-11-22T10:00:00+00:00", step_seconds=1), auto_wrap_up=False)
    assert s.flows["affordability"].content_hash == first.flows["affordability"].content_hash
    store.close()


def test_an_app_update_is_adopted_only_when_the_manifest_says_so(shipped, db):
    from callguide.library.manifest import build_manifest

    load_for_calls(shipped, db)
    edit(shipped / "main.yaml", "Hello {{ account.name }}", "Good morning {{ account.name }}")
    assert load_for_calls(shipped, db).flows["main"].step("hello").say.get("en") == "Hello {{ account.name }}"
    # the next release's manifest names the new text: adopted, once
    (shipped / "manifest.json").write_text(build_manifest(shipped, "test-2").to_json(), encoding="utf-8")
    lib = load_for_calls(shipped, db)
    assert lib.flows["main"].step("hello").say.get("en") == "Good morning {{ account.name }}"
    with open_store(db) as store:
        st = flow_status(store, "main")
        assert [vs.state for vs in st.versions] == ["superseded", "live"]
        assert st.live.origin == "shipped" and st.live.note == "shipped with CallGuide test-2"
        assert st.live.version_label.startswith("1+release.")  # the same label with a new text stays unique


def test_a_shipped_file_that_does_not_match_its_manifest_is_never_adopted(shipped, db):
    edit(shipped / "pay.yaml", "id: pay", "id: pay\n# edited after the release", 1)
    with pytest.raises(LibraryRefused) as e:
        load_for_calls(shipped, db)
    assert "pay.yaml does not match the release manifest" in str(e.value)
    assert any("pay.yaml does not match the release manifest" in p for p in e.value.problems)


def test_an_app_update_never_replaces_a_trainers_live_version(shipped, flows, db):
    from callguide.library.manifest import build_manifest

    load_for_calls(shipped, db)
    bump(flows / "main.yaml", "1.1.0")
    ws(flows, db, "anna").submit(flows / "main.yaml", "trainer's own main")
    approve("main", "1.1.0", who("rita"), db)
    edit(shipped / "main.yaml", "Hello {{ account.name }}", "Hi there {{ account.name }}")
    (shipped / "manifest.json").write_text(build_manifest(shipped, "test-2").to_json(), encoding="utf-8")
    lib = load_for_calls(shipped, db)
    assert lib.flows["main"].version == "1.1.0"
    with open_store(db) as store:
        rel = store.releases()[-1]
        assert rel.result["flows"]["main"].startswith("offered 1; kept 1.1.0")


def test_nothing_reaches_a_live_call_except_through_publication(flows, adopted, db):
    edit(flows / "main.yaml", "Hello {{ account.name }}", "Saved but never submitted {{ account.name }}")
    (flows / "new.yaml").write_text((flows / "pay.yaml").read_text(encoding="utf-8").replace("id: pay", "id: new", 1),
                                    encoding="utf-8")
    lib = load_for_calls(None, db)
    assert lib.flows["main"].step("hello").say.get("en") == "Hello {{ account.name }}"
    assert "new" not in lib.flows


def test_the_shipped_folder_opens_read_only(shipped, db, monkeypatch):
    monkeypatch.setenv("CALLGUIDE_FLOWS", str(shipped))
    w = ws(shipped, db, "anna")
    assert w.read_only
    w.set_text(shipped / "main.yaml", w.text(shipped / "main.yaml") + "# edit\n")
    with pytest.raises(WorkspaceError, match="read-only"):
        w.save(shipped / "main.yaml")


# ---------------------------------------------------------------------- the gates


def test_each_gate_refuses_with_its_reason_and_where(flows, adopted, db):
    (flows / "tests").mkdir(exist_ok=True)
    (flows / "tests" / "main.test.yaml").write_text(MAIN_TEST, encoding="utf-8")
    w = ws(flows, db, "anna")
    main = flows / "main.yaml"
    # unchanged text, empty note
    with pytest.raises(GateRefused) as e:
        w.submit(main, "  ")
    g = gates(e)
    assert g["note"] == [f"{main} a change note is required (what changed and why)"] or "note" in g
    assert "already live as 1" in g["unchanged"][0]
    # a label that is not a semantic version, at the `version:` line
    edit(main, "Hello {{", "Hi {{")
    with pytest.raises(GateRefused) as e:
        w.submit(main, "warmer")
    assert list(gates(e)) == ["version"]
    assert gates(e)["version"][0].startswith(f"{main}:3 ") and "not a semantic version" in gates(e)["version"][0]
    # validation errors with file:line:col; warnings do not block
    bump(main, "2.0.0")
    edit(main, "next: route", "next: rout")
    with pytest.raises(GateRefused) as e:
        w.submit(main, "warmer")
    assert [x.split(" ", 1)[0] for x in gates(e)["validation"]] == [f"{main}:32:11"]
    assert "did you mean 'route'?" in gates(e)["validation"][0]
    edit(main, "next: rout", "next: route")
    # a failing flow test, by file:line and name, expected vs actual in words
    edit(main, '{to: offer, when: "income - spend > 0"}', '{to: offer, when: "income - spend > 500"}')
    with pytest.raises(GateRefused) as e:
        w.submit(main, "stricter")
    t = gates(e)["tests"]
    assert len(t) == 1
    assert t[0].startswith(f"{flows / 'tests' / 'main.test.yaml'}:4 (a positive budget reaches the offer)")
    assert "last step: expected main/offer; actual main/hold-it" in t[0]
    assert "{" not in t[0]  # no raw dicts
    edit(main, '"income - spend > 500"', '"income - spend > 0"')
    w.submit(main, "warmer greeting")  # every gate passes
    assert main.read_text(encoding="utf-8") == w.text(main)


def test_a_publish_with_failing_tests_does_not_go_through(flows, adopted, db):
    """Regression: a publish went through with 10 failing flow tests."""
    tests = flows / "tests"
    tests.mkdir(exist_ok=True)
    body = MAIN_TEST.split("cases:\n")[1]
    cases = "".join(body.replace("a positive budget reaches the offer", f"budget case {i}") for i in range(10))
    (tests / "main.test.yaml").write_text(MAIN_TEST.split("cases:\n")[0] + "cases:\n" + cases, encoding="utf-8")
    bump(flows / "main.yaml", "2.0.0")
    edit(flows / "main.yaml", '"income - spend > 0"', '"income - spend > 1000"')
    with pytest.raises(GateRefused) as e:
        ws(flows, db, "anna").submit(flows / "main.yaml", "stricter")
    assert len(gates(e)["tests"]) == 10
    assert "budget case 9" in str(e.value.problems)
    with open_store(db) as store:
        assert [v.version_label for v in store.versions("main")] == ["1"]


def test_the_version_label_must_be_new_and_above_live(flows, adopted, db):
    """Regression: two "1.0.0" rows of the same flow."""
    main = flows / "main.yaml"
    w = ws(flows, db, "anna")
    bump(main, "1.1.0")
    edit(main, "Hello {{", "Hi {{")
    w.submit(main, "first semver")
    edit(main, "Hi {{", "Hiya {{")
    with pytest.raises(GateRefused) as e:
        w.submit(main, "same label again")
    assert "main 1.1.0 already exists (submitted, by anna)" in gates(e)["version"][0]
    approve("main", "1.1.0", who("rita"), db)
    bump(main, "1.0.5")
    with pytest.raises(GateRefused) as e:
        w.submit(main, "lower")
    assert "must be above the live version 1.1.0" in gates(e)["version"][0]
    bump(main, "1.1.1-rc.1")
    assert w.submit(main, "a pre-release above 1.1.0").state == "submitted"
    with open_store(db) as store:
        labels = [v.version_label for v in store.versions("main")]
    assert len(labels) == len(set(labels)) == 3


def test_a_practice_case_that_no_longer_plays_refuses_the_submission(flows, adopted, db):
    (flows / "practice").mkdir(exist_ok=True)
    case = flows / "practice" / "main.practice.yaml"
    case.write_text(MAIN_CASE, encoding="utf-8")
    main = flows / "main.yaml"
    bump(main, "2.0.0")
    edit(main, "next: route", "next: extra", 1)
    edit(main, "  - id: route\n", "  - id: extra\n    kind: say\n    say: {en: One more thing, da: En ting til, "
                                  "cs: Ještě jedna věc}\n    next: route\n  - id: route\n")
    with pytest.raises(GateRefused) as e:
        ws(flows, db, "anna").submit(main, "one more step")
    p = gates(e)["practice"]
    assert p[0].startswith(str(case)) and "the model answer no longer plays to the expected result" in p[0]


def test_who_submits_is_a_named_trainer_not_root(flows, adopted, db, monkeypatch):
    """Regression: "Published by: root". The submitter is the named person, and needs the trainer role."""
    monkeypatch.setenv("CALLGUIDE_USER", "ole")
    bump(flows / "main.yaml", "2.0.0")
    with pytest.raises(GateRefused) as e:
        Workspace(flows, db).submit(flows / "main.yaml", "by an agent")
    assert "needs the trainer role; ole has agent" in gates(e)["role"][0]
    monkeypatch.setenv("CALLGUIDE_USER", "bo")
    vs = Workspace(flows, db).submit(flows / "main.yaml", "by a trainer")
    assert vs.version.created_by == "bo" and vs.submitted_by == "bo"


# ---------------------------------------------------------------------- four eyes and go-live


def test_approval_needs_another_person_with_the_reviewer_role(flows, adopted, db):
    bump(flows / "main.yaml", "2.0.0")
    ws(flows, db, "sam").submit(flows / "main.yaml", "by sam, who is also a reviewer")
    with pytest.raises(GateRefused) as e:
        approve("main", "2.0.0", who("sam"), db)
    assert "sam submitted this version; another person with the reviewer role must approve it" in \
        gates(e)["four-eyes"][0]
    with pytest.raises(GateRefused) as e:
        approve("main", "2.0.0", who("bo"), db)
    assert "needs the reviewer role; bo has trainer" in gates(e)["role"][0]
    assert load_for_calls(None, db).flows["main"].version == "1"
    view = review_view("main", "2.0.0", db)
    assert "version label changed" in view.diff_text and "Flow tests: 0 passed, 0 failed" in view.evidence_lines()
    vs = approve("main", "2.0.0", who("rita"), db, seen_diff_hash=view.diff_hash)
    assert vs.state == "live" and vs.approved_by == "rita"
    assert load_for_calls(None, db).flows["main"].version == "2.0.0"
    with open_store(db) as store:
        log = store.log("main")
        appr = next(e for e in log if e.event == "approved")
        assert (appr.by_person, appr.roles) == ("rita", ["reviewer"])
        assert appr.diff_hash == hashlib.sha256(view.diff_text.encode()).hexdigest()
        assert store.verify().ok
        conn = sqlite3.connect(db)
        for sql in ("UPDATE publication_log SET by_person = 'x'", "DELETE FROM publication_log",
                    "UPDATE flow_versions SET text = ''", "DELETE FROM flow_versions"):
            with pytest.raises(sqlite3.DatabaseError):
                conn.execute(sql)
        conn.close()


def test_go_live_at_a_set_time_and_calls_in_progress_stay_pinned(flows, adopted, db, tmp_path):
    from callguide.engine.clock import FixedClock
    from callguide.engine.session import Account, CallSession
    from callguide.store.sqlite import SQLiteJournal

    t0 = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    bump(flows / "main.yaml", "2.0.0")
    edit(flows / "main.yaml", "Hello {{", "Good evening {{")
    ws(flows, db, "anna").submit(flows / "main.yaml", "evening greeting", now=t0)
    vs = approve("main", "2.0.0", who("rita"), db, at=t0 + dt.timedelta(hours=9), now=t0)
    assert vs.state == "scheduled" and vs.go_live == (t0 + dt.timedelta(hours=9)).isoformat()
    before = load_for_calls(None, db, now=t0 + dt.timedelta(hours=8))
    assert before.flows["main"].version == "1"
    calls = SQLiteJournal.open(tmp_path / "calls.db")
    s = CallSession.start(before, calls, Account("A1", "Jo", "UK"), "agent-7", start_flow="main",
                          clock=FixedClock((t0 + dt.timedelta(hours=8)).isoformat(), step_seconds=1), auto_wrap_up=False)
    after = load_for_calls(None, db, now=t0 + dt.timedelta(hours=9, minutes=1))
    assert after.flows["main"].step("hello").say.get("en") == "Good evening {{ account.name }}"
    resumed = CallSession.resume(after, calls, s.call_id)
    assert resumed.flows["main"].version == "1"  # the call in progress stays on its version
    calls.close()


def test_rollback_is_one_journalled_decision(flows, adopted, db):
    bump(flows / "main.yaml", "2.0.0")
    ws(flows, db, "anna").submit(flows / "main.yaml", "v2")
    approve("main", "2.0.0", who("rita"), db)
    with pytest.raises(GateRefused):
        rollback("main", "1", who("ole"), db)
    vs = rollback("main", "1", who("anna"), db, "agents confused by v2")
    assert vs.state == "live"
    assert load_for_calls(None, db).flows["main"].version == "1"
    with open_store(db) as store:
        last = store.log("main")[-1]
        assert (last.event, last.by_person, last.note, last.data) == ("rollback", "anna", "agents confused by v2",
                                                                      {"from": "2.0.0"})
    with pytest.raises(PublishError, match="already live"):
        rollback("main", "1", who("anna"), db)


def test_reject_says_why_and_a_rejected_version_never_goes_live(flows, adopted, db):
    bump(flows / "main.yaml", "2.0.0")
    ws(flows, db, "anna").submit(flows / "main.yaml", "v2")
    with pytest.raises(GateRefused):
        reject("main", "2.0.0", who("rita"), " ", db)
    vs = reject("main", "2.0.0", who("rita"), "the Czech greeting is too informal", db)
    assert vs.state == "rejected"
    with pytest.raises(PublishError, match="is rejected"):
        approve("main", "2.0.0", who("rita"), db)
    with pytest.raises(PublishError, match="never approved"):
        rollback("main", "2.0.0", who("anna"), db)


# ---------------------------------------------------------------------- review_needed and HARMED


def test_review_needed_is_practice_only_until_a_reviewed_version_removes_the_mark(tmp_path, monkeypatch):
    app = tmp_path / "app"
    shutil.copytree(REAL_FLOWS, app)
    monkeypatch.setenv("CALLGUIDE_FLOWS", str(app))
    db = tmp_path / "journal.db"
    lib = load_for_calls(app, db)
    assert "harmed" not in lib.flows  # shipped with review_needed: practice only
    assert [w.flow_id for w in withheld_flows(db)] == ["harmed"]
    from callguide.library.workspace import create_workspace

    flows = create_workspace(tmp_path / "ws", app, git=False)
    harmed = flows / "harmed.yaml"
    bump(harmed, "0.9.1")
    w = ws(flows, db, "anna")
    w.submit(harmed, "small wording fix, still to be checked")
    assert approve("harmed", "0.9.1", who("rita"), db).state == "practice"
    assert "harmed" not in load_for_calls(app, db).flows
    with pytest.raises(PublishError, match="review_needed and can never be live"):
        rollback("harmed", "0.9.0", who("anna"), db)
    text = harmed.read_text(encoding="utf-8")
    start = text.index("review_needed:")
    harmed.write_text(text[:start] + text[text.index("\n", start) + 1:], encoding="utf-8")
    bump(harmed, "1.0.0")
    w.submit(harmed, "checked against our HARMED training; mark removed")
    assert approve("harmed", "1.0.0", who("rita"), db).state == "live"
    assert load_for_calls(app, db).flows["harmed"].version == "1.0.0"
    assert withheld_flows(db) == []


# ---------------------------------------------------------------------- migrating an old journal


def test_an_old_publications_database_is_migrated_safely(tmp_path):
    from sqlite_utils import Database, Migrations

    from callguide.store import publications as pubs

    db = tmp_path / "old.db"
    old = Migrations(pubs.MIGRATION_SET)
    old(name="0001_publications")(pubs._m0001)
    conn = sqlite3.connect(db)
    old.apply(Database(conn))
    harmed = (REAL_FLOWS / "harmed.yaml").read_text(encoding="utf-8")
    texas = (REAL_FLOWS / "texas.yaml").read_text(encoding="utf-8")
    rows = [("texas", texas, "1.0.0", "system", "2026-11-01T10:00:00+00:00", "bundled"),
            ("harmed", harmed, "0.9.0", "system", "2026-11-01T10:00:00+00:00", "bundled"),
            ("texas", texas + "# edited\n", "1.0.0", "root", "2026-11-20T10:00:00+00:00", "trainer's edit")]
    for fid, text, label, by, at, note in rows:
        conn.execute("INSERT INTO publications (flow_id, content_hash, version_label, published_by, published_at, "
                     "note, file_name, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (fid, pubs.text_hash(text), label, by, at, note, f"{fid}.yaml", text))
    conn.commit()
    conn.close()
    with open_store(db) as store:
        texas_versions = store.versions("texas")
        assert [(v.version_label, v.origin, v.created_by) for v in texas_versions] == [
            ("1.0.0", "shipped", "system"), ("1.0.0+legacy.3", "legacy", "root")]
        st = flow_status(store, "texas")
        assert st.live.version_label == "1.0.0+legacy.3"
        h = flow_status(store, "harmed")
        assert h.live is None and h.versions[0].state == "withdrawn"
        assert h.pointer.event == "withdrawn" and "review_needed" in h.pointer.note
        assert store.verify().ok
        assert len(store.log()) == 4
    with open_store(db) as store:  # opening again migrates nothing twice
        assert len(store.log()) == 4
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM publications").fetchone()[0] == 3  # the old rows are kept
    conn.close()
