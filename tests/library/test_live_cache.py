"""load_for_calls reuses its validated library while nothing changed, and notices when
the signposts change."""

from __future__ import annotations

import shutil
from pathlib import Path

from callguide.library import live

ROOT = Path(__file__).resolve().parent.parent.parent


def test_second_load_is_served_from_the_cache(tmp_path, monkeypatch):
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    monkeypatch.setenv("CALLGUIDE_FLOWS", str(flows))
    sp = tmp_path / "signposts.yaml"
    sp.write_bytes((ROOT / "resources" / "signposts.yaml").read_bytes())
    monkeypatch.setenv("CALLGUIDE_SIGNPOSTS", str(sp))
    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    db = tmp_path / "j.db"
    first = live.load_for_calls(flows, db)
    import callguide.library.publish as publish
    loads = []
    real = publish.load_version
    monkeypatch.setattr(publish, "load_version", lambda *a, **k: loads.append(a) or real(*a, **k))
    second = live.load_for_calls(flows, db)
    assert loads == []  # nothing parsed again
    assert {f: second.flows[f].content_hash for f in second.flows} == \
        {f: first.flows[f].content_hash for f in first.flows}
    assert second.signposts["countries"]["DK"]["emergency"]["phone"] == "112"
    sp.write_text(sp.read_text(encoding="utf-8").replace('"112"', '"113"', 1), encoding="utf-8")
    third = live.load_for_calls(flows, db)
    assert loads  # signposts changed: rebuilt
    assert third.signposts["countries"]["DK"]["emergency"]["phone"] == "113"
