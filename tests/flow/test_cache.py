"""The content-keyed library cache: same texts, same answer without re-reading; any
change of text, signposts or code rebuilds; a damaged entry is rebuilt; it can be off."""

from __future__ import annotations

from callguide.flow import cache


def test_hit_miss_and_damage(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path))
    built = []

    def build(v):
        def _b():
            built.append(v)
            return {"value": v}
        return _b

    assert cache.cached("t", ["a", b"1"], build(1)) == {"value": 1}
    assert cache.cached("t", ["a", b"1"], build(2)) == {"value": 1}  # hit: not rebuilt
    assert cache.cached("t", ["a", b"2"], build(3)) == {"value": 3}  # other content: rebuilt
    assert built == [1, 3]
    for p in tmp_path.glob("t-*.pickle"):
        p.write_bytes(b"garbage")
    assert cache.cached("t", ["a", b"1"], build(4)) == {"value": 4}
    assert built == [1, 3, 4]


def test_off(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CALLGUIDE_CACHE", "off")
    calls = []
    cache.cached("t", ["x"], lambda: calls.append(1))
    cache.cached("t", ["x"], lambda: calls.append(1))
    assert len(calls) == 2 and not list(tmp_path.iterdir())


def test_key_depends_on_code_version(monkeypatch):
    k1 = cache.key_for(["a"])
    monkeypatch.setattr(cache, "code_version", lambda: "other")
    assert cache.key_for(["a"]) != k1


def test_a_library_read_by_the_fast_reader_comes_back_whole(tmp_path, monkeypatch, library_dir):
    """The positioned values (PDict/PList in action params) and the model survive the pickle."""
    from pathlib import Path

    from callguide.flow.loader import load_library
    from callguide.flow.validate import validate_library

    monkeypatch.setenv("CALLGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    texts = [p.read_bytes() for p in sorted(library_dir.glob("*.yaml"))]

    def build():
        lib, diags = load_library([library_dir], signposts=False)
        return lib, [str(d) for d in validate_library(lib, diags)]

    fresh = cache.cached("lib", texts, build)
    again = cache.cached("lib", texts, lambda: (_ for _ in ()).throw(AssertionError("rebuilt")))
    assert fresh is not again and again[1] == fresh[1] == []
    assert again[0].flows == fresh[0].flows
    params = again[0].flows["texas"].step("recorded").actions[0].params
    assert params == {"fields": ["category", "impact"], "review_in_days": 90} and params.vpos
    assert {p.name.split("-")[0] for p in Path(tmp_path / "cache").glob("*.pickle")} == {"lib"}
    assert "schemacheck.py" in {p.name for p in Path(cache.__file__).parent.glob("*.py")}  # in the code key
