"""The flow-test loop shared by `callguide test`, the workbench (F9) and the submission gate.

`run_flow_tests(lib, files)` runs every case of every `*.test.yaml` through the real engine
(`callguide.engine.testing.run_case`, one temporary journal per case or one per file with
`shared_journal: true`), keeps each case's trace, and adds coverage. Every case checks its hours
against the contact rules a live call loads (`ContactRules.load()`: `CALLGUIDE_CONTACT_RULES`, else the
resources folder's, else the bundled file), loaded once per run and named in the run
(`TestRun.contact_rules`), so `callguide test`, the workbench and the gate say what they ran against. A case whose flow is not in
the library can be skipped (`skip_missing=True`, the gate: a test of a flow nobody published is
not about what goes live). `explain(case)` says what was expected and what happened, as text,
never as a Python dict. Never imports Qt.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callguide.engine.testing import CaseResult, Coverage, find_test_files, matches, run_case
from callguide.flow.model import FlowLibrary
from callguide.flow.yamlsafe import display_path

__all__ = ["CaseRun", "Mismatch", "TestRun", "explain", "find_test_files", "run_flow_tests"]


@dataclass(frozen=True)
class Mismatch:
    what: str
    expected: str
    actual: str


@dataclass
class CaseRun:
    result: CaseResult
    expect: dict[str, Any]
    trace: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def name(self) -> str:
        return self.result.name

    @property
    def where(self) -> str:
        return f"{display_path(self.result.file)}:{self.result.line}" if self.result.line > 0 \
            else display_path(self.result.file)


@dataclass
class TestRun:
    cases: list[CaseRun]
    coverage: Coverage
    skipped: list[str] = field(default_factory=list)   # "file:line (name): why"
    contact_rules: str = ""                             # the contact-rules file the cases ran against

    @property
    def failed(self) -> list[CaseRun]:
        return [c for c in self.cases if not c.ok]

    @property
    def passed(self) -> int:
        return sum(c.ok for c in self.cases)

    def summary(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": len(self.failed), "skipped": list(self.skipped),
                "failures": [f"{c.where} ({c.name})" for c in self.failed], "contact_rules": self.contact_rules}


def run_flow_tests(lib: FlowLibrary, files: list[Path], coverage: Coverage | None = None,
                   skip_missing: bool = False, workdir: Path | None = None, now: str | None = None) -> TestRun:
    """Run every case of `files` against `lib`. `now` (ISO datetime) is the clock for files and cases
    that do not set their own `now:`."""
    from callguide.engine.localtime import ContactRules, ContactRulesError, default_path
    from callguide.flow.yamlsafe import read_yaml
    from callguide.store.sqlite import SQLiteJournal

    cov = coverage or Coverage.for_library(lib)
    run = TestRun([], cov, contact_rules=display_path(default_path()))
    try:
        rules: ContactRules | None = ContactRules.load()
    except ContactRulesError:
        rules = None  # each case then fails with the one line CallSession.start gives
    work = Path(workdir or tempfile.mkdtemp(prefix="callguide-test-"))
    for path in files:
        data, _, _, diags = read_yaml(path)
        if diags or not isinstance(data, dict):
            msg = [str(d) for d in diags] or ["a flow test file is a mapping with `flow:` and `cases:`"]
            run.cases.append(CaseRun(CaseResult(str(path), "(file)", msg, 1), {}, None))
            continue
        if now and not data.get("now"):
            data = {**data, "now": now}
        cases = data.get("cases") or []
        if not cases:
            run.cases.append(CaseRun(CaseResult(str(path), "(file)", ["no cases"], 1), {}, None))
            continue
        shared = SQLiteJournal.open(work / f"{path.stem}.shared.db") if data.get("shared_journal") else None
        try:
            for i, case in enumerate(cases):
                flow_id = (case.get("start") if isinstance(case, dict) else None) or data.get("flow")
                line = _line(case)
                if skip_missing and flow_id not in lib.flows:
                    run.skipped.append(f"{display_path(path)}:{line} ({case.get('name', 'unnamed')}): "
                                       f"flow {flow_id!r} is not published")
                    continue

                def factory(i: int = i, shared: Any = shared, stem: str = path.stem) -> Any:
                    return shared if shared is not None else SQLiteJournal.open(work / f"{stem}.{i}.db")

                res, tr = run_case(lib, factory, data, case, str(path), cov, close_store=shared is None,
                                   contact_rules=rules)
                if res.line <= 0:
                    res.line = line
                run.cases.append(CaseRun(res, dict(case.get("expect") or {}) if isinstance(case, dict) else {}, tr))
        finally:
            if shared is not None:
                shared.close()
    return run


def _line(case: Any) -> int:
    lc = getattr(case, "lc", None)
    if isinstance(lc, tuple) and lc and isinstance(lc[0], int):
        return lc[0]
    return int(getattr(lc, "line", -1)) + 1


# ---------------------------------------------------------------------- expected vs actual, as text


def _v(value: Any) -> str:
    """A value in plain words: mappings as `key value, key value`, lists with commas."""
    if value is None:
        return "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_v(v)}" for k, v in value.items()) or "(empty)"
    if isinstance(value, (list, tuple)):
        return ", ".join(_v(v) for v in value) or "(nothing)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _record(r: dict[str, Any]) -> str:
    t = r.get("type", "record")
    bits = {k: v for k, v in r.items() if k in ("type",) or k not in ("seq", "flow", "step", "type")}
    bits.pop("type", None)
    where = f" at {r.get('flow')}/{r.get('step')}" if r.get("step") else ""
    return f"{t}{where}" + (f" ({_v(bits)})" if bits else "")


def _where_stopped(trace: dict[str, Any]) -> str:
    return f"the call stopped at {trace.get('step') or 'the end'}"


def explain(case: CaseRun) -> list[Mismatch]:
    """What the failed case expected and what actually happened, one mismatch per expectation."""
    tr = case.trace
    if tr is None:
        return [Mismatch("the case", "to run", f) for f in case.result.failures]
    exp = case.expect
    out: list[Mismatch] = []
    if "visited" in exp and tr["visited"] != list(exp["visited"]):
        out.append(Mismatch("steps visited", _v(list(exp["visited"])), _v(tr["visited"])))
    if "visits" in exp:
        it = iter(tr["visited"])
        if not all(any(n == h for h in it) for n in exp["visits"]):
            out.append(Mismatch("steps visited, in this order", _v(list(exp["visits"])), _v(tr["visited"])))
    for key, what in (("outcome", "outcome"), ("call_outcome", "call outcome"), ("step", "last step")):
        if key in exp and tr[key] != exp[key]:
            actual = _v(tr[key]) if tr[key] is not None else f"(none: {_where_stopped(tr)})"
            out.append(Mismatch(what, _v(exp[key]), actual))
    if "stack" in exp and tr["stack"] != list(exp["stack"]):
        out.append(Mismatch("protocols open at the end", _v(list(exp["stack"])), _v(tr["stack"])))
    recs = tr["records"]
    for want in exp.get("records") or []:
        if not any(matches(want, r) for r in recs):
            same = [r for r in recs if r.get("type") == (want or {}).get("type")]
            actual = ("; ".join(_record(r) for r in same) if same else
                      "no such record; recorded: " + (", ".join(dict.fromkeys(r["type"] for r in recs)) or "nothing"))
            out.append(Mismatch("a record", _record(dict(want)), actual))
    for unwanted in exp.get("no_records") or []:
        hits = [r for r in recs if matches(unwanted, r)]
        if hits:
            out.append(Mismatch("no record like", _record(dict(unwanted)), "recorded: " + _record(hits[0])))
    for want in exp.get("blocked") or []:
        if not any(matches(want, b) for b in tr["blocked"]):
            out.append(Mismatch("something blocked", _v(want), _v(tr["blocked"]) if tr["blocked"] else "nothing blocked"))
    if exp.get("no_blocked") and tr["blocked"]:
        out.append(Mismatch("nothing blocked", "nothing", _v(tr["blocked"])))
    errors = tr.get("errors") or []
    if errors and not exp.get("allow_errors") and "errors" not in exp:
        for e in errors[:5]:
            ev = json.dumps(e.get("input"), ensure_ascii=False)
            out.append(Mismatch(f"event {e.get('event')} {ev}", "to be accepted",
                                f"refused ({e.get('rule')}): {e.get('reason')}"))
    for f in case.result.failures:  # what the text above does not cover, in the engine's words
        if not out or f.startswith(("history ", "state ", "no error matches", "unexpected errors")):
            out.append(Mismatch("check", "to hold", f))
    return out


def explain_text(case: CaseRun, indent: str = "    ") -> str:
    lines = []
    for m in explain(case):
        lines.append(f"{indent}{m.what}")
        lines.append(f"{indent}  expected: {m.expected}")
        lines.append(f"{indent}  actual:   {m.actual}")
    return "\n".join(lines)
