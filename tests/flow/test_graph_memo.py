"""The workbench's GraphMemo: graph searches carried from one validation to the next only while the
library's shape is unchanged, and the diagnostics always exactly those of a validation from scratch."""

from __future__ import annotations

from callguide import paths
from callguide.flow.loader import load_flow_text, load_library
from callguide.flow.model import FlowLibrary
from callguide.flow.validate import GraphMemo, validate_library
from callguide.flow.yamlsafe import display_path

PAYMENT = paths.flows_dir() / "payment-arrangement.yaml"
VIA = 'via: "step:call-opening/purpose"'


def _validate(lib0: FlowLibrary, text: str, name: str, memo: GraphMemo | None) -> list:
    flow, diags = load_flow_text(text, name)
    lib = FlowLibrary()
    lib.flows.update({k: f for k, f in lib0.flows.items() if f.pos.file != name})
    lib.signposts = lib0.signposts
    if flow is not None:
        lib.flows[flow.id] = flow
    return validate_library(lib, list(diags), memo)


def _key(diags: list) -> list[tuple]:
    return [(d.file, d.line, d.col, d.rule, d.message, d.severity) for d in diags]


def test_memo_reuses_searches_for_text_edits_and_recomputes_for_shape_edits():
    lib0, _ = load_library([paths.flows_dir()])
    original = PAYMENT.read_text(encoding="utf-8")
    name = display_path(PAYMENT)
    assert VIA in original
    at = original.index("en: ") + 4
    edits = [
        ("text", original[:at] + "Hello " + original[at:]),          # a keystroke in a say text
        ("text", original[:at] + "Hello there " + original[at:]),
        ("shape", original.replace(VIA, 'via: "step:call-opening/later"')),  # payment reachable without it
        ("text", original.replace(VIA, 'via: "step:call-opening/later"').replace("en: ", "en: Hi ", 1)),
        ("shape", original),                                           # undone: proofs computed again
        ("text", "\n\n" + original),                                   # every line moves: same shape
    ]
    memo = GraphMemo()
    _validate(lib0, original, name, memo)
    hits = memo.hits
    seen_violation = False
    for kind, text in edits:
        with_memo = _key(_validate(lib0, text, name, memo))
        fresh = _key(_validate(lib0, text, name, None))
        assert with_memo == fresh, kind
        if kind == "text":
            assert memo.hits == hits + 1, "a text edit must reuse the graph searches"
        else:
            assert memo.hits == hits, "an edit of the shape must compute the searches again"
        hits = memo.hits
        seen_violation |= any("payment-after-identity" in d[4] for d in fresh)
    assert seen_violation, "the shape edit must change what the invariant finds"
    # the moved lines are reported at the current text's positions, never the remembered ones
    bad = original.replace(VIA, 'via: "step:call-opening/later"')
    plain = _key(_validate(lib0, bad, name, memo))
    hits = memo.hits
    moved = _key(_validate(lib0, "\n\n" + bad, name, memo))
    assert memo.hits == hits + 1
    assert [d[1] for d in moved if "payment-after-identity" in d[4]] == \
        [d[1] + 2 for d in plain if "payment-after-identity" in d[4]]
