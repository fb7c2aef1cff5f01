"""The append path's shortcuts (benchmarks/bench_step_cpu.py) spell and read exactly what the plain
`json` calls do: the journal's bytes and hashes do not depend on them."""

from __future__ import annotations

import json
import threading

import pytest

from callguide.store.base import canonical_json
from callguide.store.sqlite import _read_back

VALUES = [
    {}, [], "", "æøå \u2028 \"q\" \\ \n\t\x01 😀", 0, -3, 1.5, -0.0, 1e300, 5e-324, 10**30, None, True, False,
    {"b": 1, "a": [1, 2.5, None, True, "é"], "c": {"z": {}, "y": []}},
    {2: "two", 10: "ten", 1.5: "x"}, {True: "t", False: "f"},
    (1, 2), {"t": (1, (2, 3))},
    {"say": {"$sealed": {"k": ["ab"], "p": ["personal"], "n": "AAAA", "c": "BBBB"}}, "flow_text": ["guidance"]},
]


def _plain(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@pytest.mark.parametrize("value", VALUES)
def test_canonical_json_is_json_dumps(value):
    assert canonical_json(value) == _plain(value)
    text = canonical_json(value)
    assert _read_back(text) == json.loads(text)


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": object()}, {(1, 2): 3}, [float("inf")]])
def test_canonical_json_raises_what_json_dumps_raises(bad):
    with pytest.raises((TypeError, ValueError)) as ours:
        canonical_json(bad)
    with pytest.raises((TypeError, ValueError)) as theirs:
        _plain(bad)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_a_failed_encoding_leaves_nothing_behind():
    """The encoder is kept between calls: a circular value (or a value failing half-way) must not
    leave marks that make a later, sound value look circular."""
    loop: list[object] = []
    loop.append(loop)
    shared = {"k": [1]}
    for _ in range(3):
        with pytest.raises(ValueError, match="Circular"):
            canonical_json({"a": shared, "b": loop})
        with pytest.raises(TypeError):
            canonical_json({"a": shared, "b": [shared, object()]})
        assert canonical_json({"a": shared, "b": [shared]}) == '{"a":{"k":[1]},"b":[{"k":[1]}]}'


def test_canonical_json_in_threads():
    values = [{"i": i, "l": list(range(i % 7)), "s": "x" * i} for i in range(300)]
    out: dict[int, list[str]] = {}

    def work(n: int) -> None:
        out[n] = [canonical_json(v) for v in values for _ in range(5)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = [_plain(v) for v in values for _ in range(5)]
    assert all(got == want for got in out.values())


@pytest.mark.parametrize("text", ['{"a":1} x', ' {"a":1}', '{"a":', "", "\ufeff{}"])
def test_read_back_of_what_is_not_canonical_is_json_loads(text):
    try:
        want = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            _read_back(text)
    else:
        assert _read_back(text) == want


def test_appended_data_is_read_back_not_the_callers(journal, make_entry):
    data = {"value": [1, 2], "n": {"x": 1}}
    e = journal.append(make_entry("flag", data))
    assert e.data == data and e.data is not data and e.data["n"] is not data["n"]


def test_hash_from_text_with_remembered_spellings_is_compute_hash():
    """`hash_from_text` remembers how it spelt the texts that repeat (call, account, flow, ...): the
    hash stays `compute_hash`'s, for new texts, repeated ones and after the memo is emptied."""
    from callguide.store.base import GENESIS_HASH, compute_hash, hash_from_text

    for i in list(range(700)) + list(range(5)):
        fields = {"ts": f"2026-11-26T06:{i % 60:02d}:00.000+00:00", "type": "step_shown", "call_id": f'C"{i % 3}é',
                  "account_id": "B1", "agent": "a\u2028", "flow_id": None if i % 2 else f"f{i}",
                  "flow_hash": "0" * 64, "step_id": "" if i % 5 else None, "data": {"i": i}}
        text = canonical_json(fields["data"])
        assert hash_from_text(GENESIS_HASH, *(fields[k] for k in list(fields)[:-1]), text) == \
            compute_hash(GENESIS_HASH, fields)


@pytest.mark.parametrize("cls", ["NewEntry", "Entry"])
def test_entry_classes_written_init_is_the_dataclass_one(cls):
    """`NewEntry` and `Entry` write their own `__init__` (cheaper than a frozen dataclass's): the
    same parameters, in the order of the fields, and the instances stay frozen dataclasses."""
    import dataclasses
    import inspect

    from callguide.store import base

    klass = getattr(base, cls)
    names = [f.name for f in dataclasses.fields(klass)]
    params = inspect.signature(klass.__init__).parameters
    assert list(params)[1:] == names
    assert all(p.default is inspect.Parameter.empty for p in list(params.values())[1:])
    values = {n: f"v{i}" for i, n in enumerate(names)}
    a, b = klass(**values), klass(*values.values())
    assert a == b and hash(a) == hash(b) and dataclasses.asdict(a) == values
    assert dataclasses.replace(a, ts="other").ts == "other" and a.ts == values["ts"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.ts = "x"  # type: ignore[misc]
    assert repr(a).startswith(f"{cls}(")


def test_canonical_json_called_again_while_encoding():
    """A mapping whose own code encodes again (while the thread's kept encoder is at work) gets the
    same text as json.dumps, and the kept encoder is fine afterwards."""

    class Noisy(dict):
        def items(self):  # the encoder asks a dict subclass for its items to sort them
            canonical_json({"inner": [self.get("a")]})
            return super().items()

    value = {"x": Noisy(a=1, b=[2]), "y": Noisy(a=3)}
    assert canonical_json(value) == _plain(value)
    assert canonical_json({"z": [1, {"q": None}]}) == '{"z":[1,{"q":null}]}'
