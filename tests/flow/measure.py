"""Run a `callguide` command in a child process and measure what it cost (CPU seconds, peak memory).

The child caps its own address space, so a regression fails fast with a MemoryError instead of
eating the machine, and the parent kills it after a timeout instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from callguide.cli import main
code = 0
try:
    main(sys.argv[1:], prog_name="callguide")
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
except MemoryError:
    code = "MemoryError"
ru = resource.getrusage(resource.RUSAGE_SELF)
peak_kb = ru.ru_maxrss  # on Linux this also counts the parent's size at fork; VmHWM is this process's own
try:
    with open("/proc/self/status") as fh:
        peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
except (OSError, StopIteration, ValueError):
    pass
sys.stderr.write("\nMEASURED " + json.dumps({"code": code, "cpu": ru.ru_utime + ru.ru_stime,
                                              "maxrss_mb": peak_kb / 1024}) + "\n")
"""


@dataclass
class Measured:
    code: int | str
    cpu: float
    maxrss_mb: float
    wall: float
    stdout: str
    stderr: str


def run_measured(*args: str, cwd: Path = REPO, timeout: float = 60, env: dict[str, str] | None = None) -> Measured:
    """`callguide ARGS...` in a child process: exit code, CPU and wall seconds, peak RSS in MB, output."""
    full_env = {**os.environ, "CALLGUIDE_CACHE": "off", **(env or {})}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, env=full_env)
    wall = time.perf_counter() - t0
    marker = r.stderr.rfind("\nMEASURED ")
    assert marker >= 0, f"the child died: {r.stderr[-2000:]}"
    m = json.loads(r.stderr[marker + len("\nMEASURED "):].strip())
    return Measured(m["code"], m["cpu"], m["maxrss_mb"], wall, r.stdout, r.stderr[:marker])
