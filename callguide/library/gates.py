"""The gates a flow version must pass to be submitted for review.

`check_submission` runs them all and reports every refusal at once, each naming its gate and where
(file:line, or the test or practice case):

- **note**: a change note;
- **role**: the submitter holds the trainer role (people file, `callguide.identity`);
- **validation**: the flow loads and has no errors inside today's published flows (warnings are
  allowed and listed; notes, such as a waived built-in invariant, are listed apart for the reviewer);
- **unchanged**: the text is not already the live version;
- **version**: the `version:` label is a semantic version, new for this flow, and above the live one;
- **tests**: every flow test passes against today's published flows with this version in place
  (cases of flows nobody published are skipped and listed);
- **practice**: every practice case's model answer still plays to its expected result.

The evidence (warnings, notes, test counts, coverage, practice scores) is kept with the version for the
reviewer. Never imports Qt.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callguide.flow.yamlsafe import Diagnostic
from callguide.identity import IdentityError, Person, require_role
from callguide.library.practice import PracticeCase, PracticeError, run_practice_case
from callguide.library.publish import (
    SUBMIT_ROLES,
    FlowStatus,
    Refusal,
    is_semver,
    label_line,
    library_of,
    version_key,
)
from callguide.library.testrun import TestRun, explain, run_flow_tests
from callguide.store.publications import FlowVersion, text_hash


def next_patch(label: str) -> str:
    """1.2.3 -> 1.2.4 (a suggestion for the trainer)."""
    k = version_key(label)
    return f"{k[0]}.{k[1]}.{k[2] + 1}" if k else "1.0.1"


@dataclass
class GateReport:
    refusals: list[Refusal] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    #: what the reviewer should know but is no problem: a built-in invariant the flow waives, and why
    notes: list[Diagnostic] = field(default_factory=list)
    tests: TestRun | None = None
    practice: list[tuple[PracticeCase, int]] = field(default_factory=list)
    flow_id: str | None = None
    label: str | None = None

    @property
    def ok(self) -> bool:
        return not self.refusals

    def evidence(self, live: FlowVersion | None) -> dict[str, Any]:
        ev: dict[str, Any] = {"warnings": [str(d) for d in self.warnings], "notes": [str(d) for d in self.notes],
                              "live_before": live.version_label if live else None}
        if self.tests is not None:
            ev["tests"] = self.tests.summary()
            ev["coverage"] = {fid: [sh, st, th, tt] for fid, sh, st, th, tt in self.tests.coverage.rows()}
        ev["practice"] = [{"case": Path(c.path).name, "score": s} for c, s in self.practice]
        return ev


def check_submission(*, text: str, name: str, note: str, person: Person, status: FlowStatus | None,
                     published: dict[str, FlowVersion], test_files: list[Path],
                     practice_cases: list[PracticeCase]) -> GateReport:
    """Every gate for submitting `text` (the working copy called `name`). `published`: the versions
    in use today per flow (live, else practice-only); `status`: this flow's publication state."""
    from callguide.flow.loader import load_flow_text
    from callguide.flow.validate import validate_library

    rep = GateReport()
    if not (note or "").strip():
        rep.refusals.append(Refusal("note", name, "a change note is required (what changed and why)"))
    try:
        require_role(person, SUBMIT_ROLES, "Submitting a flow version")
    except IdentityError as e:
        rep.refusals.append(Refusal("role", name, str(e)))
    flow, diags = load_flow_text(text, name)
    if flow is None:
        rep.refusals += [Refusal("validation", f"{d.file}:{d.line}:{d.col}", f"{d.rule}: {d.message}")
                         for d in diags if d.severity == "error"] or [Refusal("validation", name, "does not load")]
        return rep
    rep.flow_id, rep.label = flow.id, flow.version
    lib = library_of({fid: v for fid, v in published.items() if fid != flow.id})
    lib.flows[flow.id] = flow
    mine = [d for d in validate_library(lib, diags) if d.file == name]
    rep.warnings = [d for d in mine if d.severity == "warning"]
    rep.notes = [d for d in mine if d.severity == "note"]
    rep.refusals += [Refusal("validation", f"{d.file}:{d.line}:{d.col}", f"{d.rule}: {d.message}")
                     for d in mine if d.severity == "error"]
    live = status.live if status is not None else None
    where = f"{name}:{label_line(text)}"
    if live is not None and live.content_hash == text_hash(text):
        rep.refusals.append(Refusal("unchanged", name, f"this exact text is already live as {live.version_label}"))
    elif not is_semver(flow.version):
        rep.refusals.append(Refusal("version", where, f"version {flow.version!r} is not a semantic version "
                                                       "(MAJOR.MINOR.PATCH, e.g. 1.2.0)"))
    else:
        same = status.by_label(flow.version) if status is not None else None
        if same is not None and live is not None and same.version.id == live.id:
            rep.refusals.append(Refusal("version", where, f"{flow.version} is the label of the live version; give "
                                                           f"this version a higher one (e.g. {next_patch(flow.version)})"))
        elif same is not None:
            rep.refusals.append(Refusal("version", where, f"{flow.id} {flow.version} already exists ({same.state}, "
                                                           f"by {same.submitted_by}); give this version a new label"))
        elif live is not None and not (version_key(flow.version) or ()) > (version_key(live.version_label) or ()):
            rep.refusals.append(Refusal("version", where, f"version {flow.version} must be above the live version "
                                                           f"{live.version_label}"))
    if any(r.gate == "validation" for r in rep.refusals):
        return rep  # tests and practice need a flow that validates
    rep.tests = run_flow_tests(lib, test_files, skip_missing=True)
    for c in rep.tests.failed:
        first = explain(c)[:1]
        why = f"{first[0].what}: expected {first[0].expected}; actual {first[0].actual}" if first else "fails"
        rep.refusals.append(Refusal("tests", f"{c.where} ({c.name})", why))
    with tempfile.TemporaryDirectory(prefix="callguide-gate-") as tmp:
        for case in practice_cases:
            if case.flow not in lib.flows:
                continue
            try:
                score, tr = run_practice_case(lib, case, Path(tmp) / "practice.db")
            except PracticeError as e:
                rep.refusals.append(Refusal("practice", case.path, str(e)))
                continue
            rep.practice.append((case, score.score))
            if not score.passed or tr["errors"]:
                why = (f"event {tr['errors'][0]['event']} of the model answer was refused: {tr['errors'][0]['reason']}"
                       if tr["errors"] else score.differences[0])
                rep.refusals.append(Refusal("practice", f"{case.path}", f"the model answer no longer plays to the "
                                                                        f"expected result ({score.score}/100): {why}"))
    return rep
