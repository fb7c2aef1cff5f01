"""The store never imports Qt."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_store_imports_with_pyside6_blocked(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.modules["PySide6"] = None
        sys.modules["shiboken6"] = None
        import datetime
        import callguide.store
        from callguide.store import SQLiteJournal, NewEntry
        j = SQLiteJournal.open({str(tmp_path / "j.db")!r})
        j.append(NewEntry("note", "c", "a", "ag", None, None, None, {{}}, "2026-01-01T00:00:00Z"))
        j.account_state("a", datetime.date(2026, 1, 1))
        assert j.verify().ok
        assert not any(m.startswith(("PySide6.", "shiboken6.")) for m in sys.modules)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
