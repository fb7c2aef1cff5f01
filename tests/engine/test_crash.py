"""Kill a scripted call with SIGKILL at random points: every acknowledged entry
survives, the chain verifies, and resume restores the same step and answers.
A few runs here; `python benchmarks/crash_soak.py --runs 500` for the long version."""

from __future__ import annotations

import random
import sys

import pytest

from benchmarks.crashlib import one_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


@pytest.mark.parametrize("seed", range(6))
def test_kill_at_a_random_point_loses_nothing_acknowledged(tmp_path, seed):
    result = one_run(tmp_path / "crash.db", random.Random(seed))
    assert result["ops"] >= result["acked"]
