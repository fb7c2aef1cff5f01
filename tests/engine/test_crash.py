"""Kill a scripted call with SIGKILL: every acknowledged entry survives, the journal opens and
passes the audit (chain, checkpoints, anchors), and every unfinished call resumes at the right
step. A few runs here, at random moments and once inside each kill point (open, first creation,
migration, call start, checkpoint, anchor, key creation); `python benchmarks/crash_soak.py
--runs 400` for the long version."""

from __future__ import annotations

import random
import sys

import pytest

from benchmarks.crashlib import KILL_POINTS, Soak, one_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


@pytest.mark.parametrize("seed", range(6))
def test_kill_at_a_random_point_loses_nothing_acknowledged(tmp_path, seed):
    result = one_run(tmp_path / "crash.db", random.Random(seed))
    assert result["ops"] >= result["acked"]


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    return Soak(tmp_path_factory.mktemp("soak"))


@pytest.mark.parametrize("point", [p for p in KILL_POINTS if p != "ack"])
def test_kill_inside_each_point(soak, point):
    outcome = soak.run(KILL_POINTS.index(point), point, random.Random(point))
    assert outcome.killed, outcome  # really SIGKILLed, inside the phase it aimed at
    assert outcome.landed == point
