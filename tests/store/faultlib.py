"""Helpers for the storage-fault tests: run the real CLI in a subprocess, optionally as another
user, or inside a private mount namespace with a small tmpfs (a real full disk, a real read-only
mount). Nothing is mocked: the faults are the kernel's.

`python tests/store/faultlib.py PLAN_JSON` is the driver that runs inside the namespace."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "tests" / "engine" / "flows"
CLI = [sys.executable, "-m", "callguide.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "CALLGUIDE_SIGNPOSTS": str(ROOT / "tests" / "engine" / "signposts.yaml"),
            "PYTHONPATH": str(ROOT), **extra}


def cli(*args: str, env: dict[str, str] | None = None, user: int | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if user is not None:
        prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    return subprocess.run([*prefix, *CLI, *args], capture_output=True, text=True, env=env or cli_env(),
                          timeout=timeout, cwd=ROOT)


def one_error_line(out: str, err: str = "") -> str:
    text = (out + err).strip()
    assert "Traceback" not in text, text
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("Error: "), text
    return lines[0]


@functools.cache
def unshare_prefix() -> tuple[str, ...] | None:
    """How to get a private mount namespace where tmpfs can be mounted: `unshare -m` as root,
    `unshare -rm` (a user namespace) otherwise; None when neither works here."""
    if not shutil.which("unshare") or not shutil.which("mount"):
        return None
    candidates = [("unshare", "-m"), ("unshare", "-rm")] if os.geteuid() == 0 else [("unshare", "-rm")]
    for prefix in candidates:
        with tempfile.TemporaryDirectory() as d:
            try:
                r = subprocess.run([*prefix, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                                   capture_output=True, timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode == 0:
                return prefix
    return None


def in_private_mount(plan: list[list[Any]], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run `plan` (see `_drive`) inside a private mount namespace; the results of its `cli` steps."""
    prefix = unshare_prefix()
    assert prefix is not None
    r = subprocess.run([*prefix, sys.executable, __file__, json.dumps(plan)], capture_output=True, text=True,
                       env=env or cli_env(), timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _drive(plan: list[list[Any]]) -> list[dict[str, Any]]:
    """Steps: ["mount", DIR, SIZE] a tmpfs; ["ro", DIR] remount it read-only; ["fill", DIR] write a
    file until the disk is full; ["cli", ARGS...] run the CLI and keep its result."""
    results = []
    for step in plan:
        kind = step[0]
        if kind == "mount":
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={step[2]}", "tmpfs", step[1]], check=True)
        elif kind == "ro":
            subprocess.run(["mount", "-o", "remount,ro", step[1]], check=True)
        elif kind == "fill":
            fd = os.open(Path(step[1]) / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while True:
                    os.write(fd, b"\0" * 65536)
            except OSError as exc:
                assert exc.errno == 28, exc
            finally:
                os.close(fd)
            # the last few bytes too
            fd = os.open(Path(step[1]) / "filler2", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while True:
                    os.write(fd, b"\0" * 512)
            except OSError:
                pass
            finally:
                os.close(fd)
        elif kind == "cli":
            r = subprocess.run([*CLI, *step[1:]], capture_output=True, text=True, timeout=120)
            results.append({"rc": r.returncode, "out": r.stdout, "err": r.stderr})
        else:
            raise ValueError(kind)
    return results


if __name__ == "__main__":
    print(json.dumps(_drive(json.loads(sys.argv[1]))))
