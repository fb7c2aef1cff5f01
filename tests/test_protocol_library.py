"""The bundled protocol library: validates clean (zero missing translations), every
flow cites its sources, and its flow tests pass with full step and transition coverage."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from callguide.cli import main
from callguide.engine.testing import Coverage, find_test_files, run_test_file
from callguide.flow.loader import load_library
from callguide.flow.validate import validate_library

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
PROTOCOLS = {"call-opening", "texas", "idea", "bruce", "harmed", "blake", "affordability", "hold",
             "payment-arrangement", "care-referral", "wrap-up"}


def test_the_library_validates_clean():
    res = CliRunner().invoke(main, ["validate", str(FLOWS)])
    assert res.exit_code == 0, res.output
    lib, diags = load_library([FLOWS])
    all_diags = validate_library(lib, diags)
    assert not [d for d in all_diags if d.rule == "missing-translation"]
    assert PROTOCOLS <= set(lib.flows)


def test_every_flow_cites_its_sources_and_speaks_three_languages():
    lib, _ = load_library([FLOWS])
    for flow in lib.flows.values():
        assert flow.sources, f"{flow.id} cites no sources"
        assert set(flow.languages) == {"en", "da", "cs"}, flow.id
        for text in flow.texts():
            for lang in ("en", "da", "cs"):
                assert (text.by_lang.get(lang) or "").strip(), f"{flow.id}: {text.id} has no {lang}"


def test_harmed_does_not_pretend_to_be_the_official_model():
    lib, _ = load_library([FLOWS])
    harmed = lib.flows["harmed"]
    assert harmed.review_needed
    assert "training" in harmed.description.get("en").lower()


def test_flow_tests_pass_with_full_coverage():
    lib, diags = load_library([FLOWS])
    cov = Coverage.for_library(lib)
    failures = []
    files = find_test_files([FLOWS])
    assert files
    for f in files:
        for r in run_test_file(lib, f, cov):
            if not r.ok:
                failures.append(f"{r.file}: {r.name}: {r.failures}")
    assert not failures, "\n".join(failures)
    for fid, sh, st, th, tt in cov.rows():
        ms, mt = cov.missed(fid)
        assert (sh, th) == (st, tt), f"{fid}: steps never reached {ms}, transitions never taken {mt}"
