"""The core (flow language, engine, journal, library, CLI) imports and runs with no
PySide6 at all; every CLI command has help text."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_imports_and_runs_without_pyside6(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.modules["PySide6"] = None          # any import of PySide6 now fails
        sys.modules["shiboken6"] = None
        import callguide.flow.loader, callguide.flow.validate, callguide.engine.session
        import callguide.store.sqlite, callguide.cli, callguide.library.live
        from callguide.flow.loader import load_library
        from callguide.engine.session import Account, CallSession
        from callguide.store.sqlite import SQLiteJournal
        lib, _ = load_library([{str(ROOT / 'tests' / 'engine' / 'flows')!r}], signposts=False)
        store = SQLiteJournal.open({str(tmp_path / 'j.db')!r})
        s = CallSession.start(lib, store, Account("NQ", "No Qt", "UK"), "a", start_flow="main", auto_wrap_up=False)
        assert s.next().ok
        assert not any(m.startswith("PySide6.") for m in sys.modules)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_every_cli_command_has_help():
    import click

    from callguide.cli import main

    def walk(cmd, path):
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])

    for path, cmd in walk(main, ["callguide"]):
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
        for p in cmd.params:
            if isinstance(p, click.Option) and p.name not in ("help", "version"):
                assert (p.help or "").strip() or p.is_flag and p.name == "verbose", \
                    f"{' '.join(path)} {p.opts[0]} has no help text"
