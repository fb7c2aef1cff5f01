"""The fast reader (libyaml events -> positioned data) keeps every safety property of the ruamel
reader it replaced, and reads every YAML file of the repository to the same values and positions."""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from callguide.flow.yamlsafe import MAX_BYTES, MAX_DEPTH, PDict, PList, parse_text

REPO = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(p for pattern in ("flows/**/*.yaml", "resources/**/*.yaml", "tests/**/*.yaml")
                    for p in REPO.glob(pattern))


def _ruamel(text: str):
    """(values, node) the way the old reader saw the text: ruamel's 1.2 safe loader and composer."""
    return YAML(typ="safe", pure=True).load(text), YAML(typ="safe", pure=True).compose(text)


def _same(ours, value, node, path="$") -> None:
    pos = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(ours, PDict):
        assert isinstance(value, dict) and list(ours) == [str(k) for k in value], path
        assert ours.lc == pos, path
        for (knode, vnode), key in zip(node.value, ours, strict=True):
            assert ours.kpos[key] == (knode.start_mark.line + 1, knode.start_mark.column + 1), f"{path}.{key}"
            if ours[key] is not None:  # an empty value: libyaml marks it after the colon, ruamel on the next line
                assert ours.vpos[key] == (vnode.start_mark.line + 1, vnode.start_mark.column + 1), f"{path}.{key}"
            _same(ours[key], value[key if key in value else int(key)], vnode, f"{path}.{key}")
    elif isinstance(ours, PList):
        assert isinstance(value, list) and len(value) == len(ours) and ours.lc == pos, path
        for i, (x, v, n) in enumerate(zip(ours, value, node.value, strict=True)):
            if x is not None:
                assert ours.ipos[i] == (n.start_mark.line + 1, n.start_mark.column + 1), f"{path}[{i}]"
            _same(x, v, n, f"{path}[{i}]")
    elif isinstance(ours, float) and math.isnan(ours):
        assert math.isnan(value)
    else:
        assert ours == value and type(ours) is type(value), f"{path}: {ours!r} != {value!r}"


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_repo_yaml_reads_as_ruamel_read_it(path):
    text = path.read_bytes().decode("utf-8", "replace")
    ours, diags = parse_text(text, "f.yaml")
    if diags:  # the invalid golden cases: they are refused, as they were
        assert "invalid" in path.parts
        return
    value, node = _ruamel(text)
    _same(ours, value, node)


@pytest.mark.parametrize(("text", "value"), [
    ("k: yes", "yes"), ("k: no", "no"), ("k: on", "on"), ("k: y", "y"), ("k: true", True), ("k: False", False),
    ("k: null", None), ("k: ~", None), ("k:", None), ("k: 0o17", 15), ("k: 017", 17), ("k: 0x1F", 31),
    ("k: 1_000", 1000), ("k: -5", -5), ("k: 1.5", 1.5), ("k: .5", 0.5), ("k: 1e3", 1000.0), ("k: .inf", math.inf),
    ("k: 2026-11-01", dt.date(2026, 11, 1)), ("k: 2026-11-01 10:30:00", dt.datetime(2026, 11, 1, 10, 30)),
    ("k: '5'", "5"), ('k: "true"', "true"), ("k: !!str 5", "5"), ("k: !!int '7'", 7), ("k: =", "="),
    ("k: 12:30", "12:30"), ("k: 1,5", "1,5"), ("k: |\n  two\n  lines\n", "two\nlines\n"),
])
def test_scalars_follow_yaml_1_2(text, value):
    data, diags = parse_text(text, "t.yaml")
    assert diags == []
    assert data["k"] == value and type(data["k"]) is type(value)


@pytest.mark.parametrize(("text", "expected"), [
    ("a: &x 1\nb: *x\n", ["t.yaml:1:4: yaml-alias: anchors and aliases are not allowed (&x); write the value out",
                          "t.yaml:2:4: yaml-alias: anchors and aliases are not allowed (*x); write the value out"]),
    ("a: &x [1]\n", ["t.yaml:1:4: yaml-alias: anchors and aliases are not allowed (&x); write the value out"]),
    ("a: {<<: {b: 1}}\n", ["t.yaml:1:5: yaml-alias: merge keys (<<) are not allowed; write the values out"]),
    ("? [complex, key]\n: v\n", ["t.yaml:1:3: yaml-syntax: keys must be plain scalars"]),
    ("!!str k: v\n", []),
    ("!secret k: v\n", ["t.yaml:1:1: yaml-tag: tags are not allowed (!secret); remove the tag"]),
    ("k: !!python/name:os.system x\n",
     ["t.yaml:1:4: yaml-tag: tags are not allowed (!!python/name:os.system); remove the tag"]),
    ("k: !!map [1]\n", ["t.yaml:1:4: yaml-tag: the tag !!map does not fit a list; remove the tag"]),
    ("k: !!binary aGk=\n", ["t.yaml:1:4: yaml-tag: tags are not allowed (!!binary); remove the tag"]),
    ("k: !!int abc\n", ["t.yaml:1:4: yaml-syntax: cannot read int value 'abc'"]),
    ("a: 1\na: 2\nb: {c: 1, c: 2}\n", ["t.yaml:2:1: duplicate-key: duplicate key 'a' (first at line 1)",
                                       "t.yaml:3:11: duplicate-key: duplicate key 'c' (first at line 3)"]),
    ("--- 1\n--- 2\n", ["t.yaml:2:1: yaml-syntax: expected a single document in the stream: but found another document"]),
    ("", ["t.yaml:1:1: yaml-syntax: the file is empty"]),
    ("# only a comment\n", ["t.yaml:1:1: yaml-syntax: the file is empty"]),
    ("a:\n\tb: 1\n", ["t.yaml:2:1: yaml-tab: tab in indentation; YAML indents with spaces only"]),
    ("a: ok\nb: é\x07\n", ["t.yaml:2:5: yaml-syntax: unacceptable character #x0007: control characters are not allowed"]),
    ("a: b: c\n", ["t.yaml:1:5: yaml-syntax: mapping values are not allowed in this context, found ':'"]),
    ("a: [1, 2\nb: 3\n", ["t.yaml:2:2: yaml-syntax: while parsing a flow sequence (started at 1:4): "
                          "did not find expected ',' or ']', found ':'"]),
    ("a: `b`\n", ["t.yaml:1:4: yaml-syntax: while scanning for the next token: "
                  "found character '`' that cannot start any token"]),
    ("k: \ud800\n", ["t.yaml:1:4: bad-utf8: text contains characters that are not valid UTF-8"]),
])
def test_what_a_flow_file_must_not_contain(text, expected):
    data, diags = parse_text(text, "t.yaml")
    assert [str(d) for d in diags] == expected
    assert (data is None) == bool(expected)


def test_nesting_is_bounded_without_recursion():
    ok = "k: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert parse_text(ok, "t.yaml")[1] == []
    deeper = "k: " + "[" * (MAX_DEPTH + 50) + "]" * (MAX_DEPTH + 50) + "\n"
    data, diags = parse_text(deeper, "t.yaml")
    assert data is None and [str(d) for d in diags] == [
        f"t.yaml:1:{MAX_DEPTH + 3}: yaml-syntax: nesting is too deep (over {MAX_DEPTH} levels)"]
    deepest = "k: " + "[" * 50000 + "]" * 50000 + "\n"  # libyaml stops this one itself
    data, diags = parse_text(deepest, "t.yaml")
    assert data is None and len(diags) == 1 and "nesting depth" in diags[0].message


def test_an_alias_bomb_costs_nothing():
    # 40 levels of 9 aliases each: 9**40 values if anything expanded it
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 40))
    t0 = time.process_time()
    data, diags = parse_text(text, "bomb.yaml")
    assert time.process_time() - t0 < 0.5
    assert data is None and len(diags) == 40 and {d.rule for d in diags} == {"yaml-alias"}


def test_text_over_the_limit_is_refused_before_parsing():
    data, diags = parse_text("k: v\n" + "#" * MAX_BYTES, "t.yaml")
    assert data is None and diags[0].rule == "file-too-large"
