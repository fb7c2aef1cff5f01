"""The model-based proof, small profile (issue 8, §5): random commands over the real engine and the
real flows, with the safety invariants checked after every command (benchmarks/callmodel.py). The
long profile (at least 10,000 calls) is `python benchmarks/model_soak.py`."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from benchmarks.callmodel import CallModel

TestCallModel = CallModel.TestCase
TestCallModel.settings = settings(max_examples=40, stateful_step_count=60, deadline=None, derandomize=True,
                                  suppress_health_check=list(HealthCheck), print_blob=True)
