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
    sp = tmp_path / "signposts.yaml"
    sp.write_bytes((ROOT / "resources" / "signposts.yaml").read_bytes())
    monkeypatch.setenv("CALLGUIDE_SIGNPOSTS", str(sp))
    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    db = tmp_path / "j.db"
    first = live.load_for_calls(flows, db)
    import callguide.library.publish as publish
    loads = []
    real = publish.load_publication
    monkeypatch.setattr(publish, "load_publication", lambda *a, **k: loads.append(a) or real(*a, **k))
    second = live.load_for_calls(flows, db)
    assert loads == []  # nothing parsed again
    assert {f: second.flows[f].content_hash for f in second.flows} == \
        {f: first.flows[f].content_hash for f in first.flows}
    assert second.signposts["countries"]["DK"]["emergency"]["phone"] == "112"
    sp.write_text(sp.read_text(encoding="utf-8").replace('"112"', '"113"', 1), encoding="utf-8")
    third = live.load_for_calls(flows, db)
    assert loads  # signposts changed: rebuilt
    assert third.signposts["countries"]["DK"]["emergency"]["phone"] == "113"


def test_bundled_flows_follow_app_updates_until_a_trainer_publishes(tmp_path, monkeypatch):
    import pytest

    from callguide.library.publish import publish

    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    monkeypatch.setenv("CALLGUIDE_FLOWS", str(flows))  # this folder is "the bundled flows"
    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    db = tmp_path / "j.db"
    live.load_for_calls(flows, db)  # baseline
    blake = flows / "blake.yaml"
    blake.write_text(blake.read_text(encoding="utf-8").replace("Take all the time you need.",
                                                               "Take all the time you need, really."), "utf-8")
    lib = live.load_for_calls(flows, db)  # an app update: adopted, because blake was still bundled
    assert "really." in lib.flows["blake"].step("listen").say.get("en")
    texas = flows / "texas.yaml"
    texas.write_text(texas.read_text(encoding="utf-8") + "\n# trainer's edit\n", "utf-8")
    publish(texas, "trainer-ann", "note for reviewers", db)
    texas.write_text(texas.read_text(encoding="utf-8") + "# app update after the trainer's edit\n", "utf-8")
    with pytest.raises(live.LibraryRefused, match="texas.yaml has unpublished changes"):
        live.load_for_calls(flows, db)
