"""The compiled schema check says exactly what jsonschema says, only faster."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from callguide.flow.loader import schema_diagnostics
from callguide.flow.schemacheck import Unsupported, compile_schema, equal
from callguide.flow.yamlsafe import parse_text

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "resources/schema/flow.schema.json").read_text(encoding="utf-8"))
JS = Draft202012Validator(SCHEMA)
FAST = compile_schema(SCHEMA)
FLOWS = [parse_text(p.read_text(encoding="utf-8"), p.name)[0] for p in sorted((REPO / "flows").glob("*.yaml"))]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.just(1.0),
                    st.sampled_from(["", "x", "en", "say", "ask", "outcome", "step:a", "F2", "Bad Id", "a-b",
                                     "callguide/flow@1", "payment", "health", "1.0.0"]),
                    st.just(dt.date(2026, 1, 1)))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(st.sampled_from(
                                                                ["id", "kind", "en", "to", "say", "x"]),
                                                                inner, max_size=3)), max_leaves=8)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*prefix, i))


@st.composite
def mutated_flows(draw):
    doc = copy.deepcopy(draw(st.sampled_from(FLOWS)))
    for _ in range(draw(st.integers(1, 3))):
        all_paths = list(paths(doc))
        path = draw(st.sampled_from(all_paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        op = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        if not path:
            continue
        key = path[-1]
        if op == "replace":
            parent[key] = draw(json_values)
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["colour", "id", "kind", "next", "when", "de", "fields"]))] = draw(json_values)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_flows())
def test_compiled_check_agrees_with_jsonschema_on_mutated_flows(doc):
    assert FAST(doc) == JS.is_valid(doc)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_compiled_check_agrees_with_jsonschema_on_any_value(doc):
    assert FAST(doc) == JS.is_valid(doc)


def test_every_bundled_flow_is_valid_both_ways():
    for doc in FLOWS:
        assert FAST(doc) and JS.is_valid(doc)


def test_json_equality_keeps_true_apart_from_one():
    assert not equal(True, 1) and not equal([0], [False]) and equal({"a": [1.0]}, {"a": [1]})


def test_unknown_keywords_fall_back_to_jsonschema():
    for schema in ({"type": "object", "propertyNames": {"maxLength": 3}}, {"prefixItems": [{"type": "string"}]},
                   {"$ref": "https://example.com/x.json"}, {"properties": {"a": {"$id": "other", "type": "string"}}}):
        with pytest.raises(Unsupported):
            compile_schema(schema)


def test_invalid_documents_still_get_jsonschema_messages():
    doc = copy.deepcopy(FLOWS[0])
    doc["steps"][0]["kind"] = "shout"
    (d,) = schema_diagnostics(doc, "f.yaml")
    assert d.message.startswith("'shout' is not one of: say, ask")
