"""YAML flow tests: events in, expected steps, outcome and records out, with step
and transition coverage over the library (`callguide test`).

Each case runs through the real engine on a real SQLite journal in a temporary
directory (or one journal shared by all cases of a file with `shared_journal: true`,
to test what a later call on the same account sees). No Qt.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callguide.engine.clock import FixedClock
from callguide.engine.script import ScriptError, run_events
from callguide.engine.session import Account, CallSession, EngineError
from callguide.flow.model import FlowLibrary

#: When a flow test runs unless the case (or the file, or `callguide test --now`) says otherwise:
#: a Monday morning, inside every country's contact hours.
DEFAULT_NOW = "2026-11-23T10:00:00+00:00"


@dataclass
class CaseResult:
    file: str
    name: str
    failures: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Coverage:
    steps: dict[str, set[str]] = field(default_factory=dict)         # flow -> all steps
    steps_hit: dict[str, set[str]] = field(default_factory=dict)
    transitions: dict[str, set[tuple[str, int]]] = field(default_factory=dict)
    transitions_hit: dict[str, set[tuple[str, int]]] = field(default_factory=dict)

    @classmethod
    def for_library(cls, lib: FlowLibrary) -> Coverage:
        c = cls()
        for f in lib.flows.values():
            c.steps[f.id] = {s.id for s in f.steps}
            c.transitions[f.id] = {(s.id, i) for s in f.steps for i in range(len(s.transitions))}
            c.steps_hit[f.id] = set()
            c.transitions_hit[f.id] = set()
        return c

    def add(self, session: CallSession) -> None:
        for v in session.visited:
            flow, _, step = v.partition("/")
            self.steps_hit.setdefault(flow, set()).add(step)
        for flow, step, idx in session.taken:
            self.transitions_hit.setdefault(flow, set()).add((step, idx))

    def rows(self) -> list[tuple[str, int, int, int, int]]:
        out = []
        for fid in sorted(self.steps):
            out.append((fid, len(self.steps_hit[fid] & self.steps[fid]), len(self.steps[fid]),
                        len(self.transitions_hit[fid] & self.transitions[fid]), len(self.transitions[fid])))
        return out

    def missed(self, fid: str) -> tuple[list[str], list[str]]:
        steps = sorted(self.steps[fid] - self.steps_hit[fid])
        trans = sorted(f"{s}#{i}" for s, i in self.transitions[fid] - self.transitions_hit[fid])
        return steps, trans

    def totals(self) -> tuple[int, int, int, int]:
        rows = self.rows()
        return (sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows), sum(r[4] for r in rows))


def matches(expected: Any, actual: Any) -> bool:
    """Does `actual` contain `expected`? Dicts match as subsets, lists element-wise, numbers by value."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            matches(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(actual, str):
        try:
            return float(actual) == float(expected)
        except ValueError:
            return False
    return expected == actual or (expected is not None and str(expected) == str(actual) and not isinstance(
        expected, bool))


def _subsequence(needles: list[str], hay: list[str]) -> bool:
    it = iter(hay)
    return all(any(n == h for h in it) for n in needles)


def check_expectations(trace: dict[str, Any], expect: dict[str, Any], session: CallSession) -> list[str]:
    fails: list[str] = []
    if "visited" in expect and trace["visited"] != list(expect["visited"]):
        fails.append(f"visited {trace['visited']} != expected {list(expect['visited'])}")
    if "visits" in expect and not _subsequence(list(expect["visits"]), trace["visited"]):
        fails.append(f"visited {trace['visited']} does not contain, in order, {list(expect['visits'])}")
    if "outcome" in expect and trace["outcome"] != expect["outcome"]:
        fails.append(f"outcome {trace['outcome']!r} != expected {expect['outcome']!r}")
    if "call_outcome" in expect and trace["call_outcome"] != expect["call_outcome"]:
        fails.append(f"call outcome {trace['call_outcome']!r} != expected {expect['call_outcome']!r}")
    if "step" in expect and trace["step"] != expect["step"]:
        fails.append(f"ended on step {trace['step']!r}, expected {expect['step']!r}")
    if "stack" in expect and trace["stack"] != list(expect["stack"]):
        fails.append(f"stack {trace['stack']} != expected {list(expect['stack'])}")
    for want in expect.get("records", []) or []:
        if not any(matches(want, r) for r in trace["records"]):
            fails.append(f"no record matches {want}")
    for unwanted in expect.get("no_records", []) or []:
        hits = [r for r in trace["records"] if matches(unwanted, r)]
        if hits:
            fails.append(f"unexpected record {hits[0]['type']} (seq {hits[0]['seq']}) matches {unwanted}")
    for want in expect.get("blocked", []) or []:
        if not any(matches(want, b) for b in trace["blocked"]):
            fails.append(f"nothing blocked matching {want}; blocked: {trace['blocked']}")
    if expect.get("no_blocked") and trace["blocked"]:
        fails.append(f"unexpected blocks: {trace['blocked']}")
    if "errors" in expect:
        want_errors = expect["errors"]
        if want_errors in (0, [], False) and trace["errors"]:
            fails.append(f"unexpected errors: {trace['errors']}")
        elif isinstance(want_errors, list):
            for w in want_errors:
                if not any(matches(w, e) for e in trace["errors"]):
                    fails.append(f"no error matches {w}; errors: {trace['errors']}")
    elif trace["errors"] and not expect.get("allow_errors"):
        fails.append(f"events failed: {trace['errors']}")
    if "history" in expect:
        h = session.history
        for key, want in expect["history"].items():
            got = getattr(h, key, None)
            if isinstance(want, int) and not isinstance(want, bool):
                if len(got or []) != want:
                    fails.append(f"history {key}: {len(got or [])} entries, expected {want}")
            elif not matches(want, got):
                fails.append(f"history {key}: {got!r} does not match {want!r}")
    if "state" in expect:
        for key, want in expect["state"].items():
            got = session.state.as_namespace().get(key)
            if got != want:
                fails.append(f"state {key} is {got!r}, expected {want!r}")
    return fails


def run_case(lib: FlowLibrary, store_factory: Any, spec: dict[str, Any], case: dict[str, Any],
             file: str, coverage: Coverage | None = None,
             close_store: bool = True, now: str | None = None,
             contact_rules: Any = None) -> tuple[CaseResult, dict[str, Any] | None]:
    """Run one case. `contact_rules`: the `ContactRules` the call checks its hours against (default: the
    ones a live call loads, `ContactRules.load()`)."""
    name = str(case.get("name", "unnamed"))
    result = CaseResult(file, name, line=int(getattr(getattr(case, "lc", None), "line", -1)) + 1)
    acct = {**(spec.get("account") or {}), **(case.get("account") or {})}
    acct.setdefault("id", "TEST-1")
    flow_id = case.get("start") or spec.get("flow")
    if flow_id not in lib.flows:
        result.failures.append(f"no flow {flow_id!r} in the library")
        return result, None
    store = store_factory()
    try:
        clock = FixedClock(str(case.get("now") or spec.get("now") or now or DEFAULT_NOW), step_seconds=1)
        session = CallSession.start(lib, store, Account(**{k: str(v) for k, v in acct.items()}),
                                    str(case.get("agent") or spec.get("agent") or "tester"),
                                    start_flow=flow_id, clock=clock, lang=acct.get("lang"),
                                    contact_rules=contact_rules,
                                    auto_wrap_up=bool(case.get("wrap_up", spec.get("wrap_up", False))))
        trace = run_events(session, list(case.get("events") or []))
        result.failures.extend(check_expectations(trace, dict(case.get("expect") or {}), session))
        if coverage is not None:
            coverage.add(session)
        if not session.ended and case.get("end_call", True):
            session.end_call()
        return result, trace
    except (EngineError, ScriptError, TypeError, ValueError) as e:
        result.failures.append(str(e))
        return result, None
    finally:
        if close_store:
            store.close()


def run_test_file(lib: FlowLibrary, path: Path, coverage: Coverage | None = None,
                  tmpdir: Path | None = None, now: str | None = None) -> list[CaseResult]:
    from callguide.flow.yamlsafe import read_yaml
    from callguide.store.sqlite import SQLiteJournal

    data, _, _, diags = read_yaml(path)
    if diags or not isinstance(data, dict):
        return [CaseResult(str(path), "(file)", [str(d) for d in diags] or ["a flow test file is a mapping with "
                                                                            "`flow:` and `cases:`"])]
    cases = data.get("cases") or []
    if not cases:
        return [CaseResult(str(path), "(file)", ["no cases"])]
    work = Path(tmpdir or tempfile.mkdtemp(prefix="callguide-test-"))
    shared = None
    if data.get("shared_journal"):
        shared = SQLiteJournal.open(work / f"{path.stem}.shared.db")
    results = []
    for i, case in enumerate(cases):
        def factory(i: int = i) -> Any:
            return shared if shared is not None else SQLiteJournal.open(work / f"{path.stem}.{i}.db")
        res, _ = run_case(lib, factory, data, case, str(path), coverage, close_store=shared is None, now=now)
        results.append(res)
    if shared is not None:
        shared.close()
    return results


def find_test_files(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.test.yaml")))
        elif p.name.endswith(".test.yaml"):
            out.append(p)
    return out
