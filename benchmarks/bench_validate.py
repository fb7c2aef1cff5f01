"""Benchmark: validating a generated library vs composing the same files with libyaml alone.

Generates FLOWS flows of STEPS steps (every step kind, 3 languages, conditions, templates, fields,
actions, start_protocol links between flows, invariants) into a temporary directory, then times,
best of N interleaved runs in the same process:

  * baseline: read each file and `yaml.compose()` it with PyYAML's libyaml `CSafeLoader` (the C parser
    the loader uses: a node graph with line/column marks, no Python objects built) - the least any
    position-keeping reader pays;
  * `validate_paths()`: safe load + JSON Schema + model + every semantic rule and invariant, warm
    (the expression caches filled, as in the workbench) and cold (caches emptied, as in a fresh
    `callguide validate`);
  * for reference, ruamel's round-trip load of the same files (what the editor pays to keep comments).

Prints the times and the ratio validate / libyaml compose (target: <= 3x, warm and cold), then the
workbench's live diagnostics for each bundled flow: parse the editor text and validate it inside the
working library (what `revalidate` does after a keystroke), median of 20: a keystroke in a text (the
workbench's `GraphMemo` carries the graph searches over) and an edit of the flow's shape (everything
computed again), against one frame (16 ms) and against a libyaml compose of the same text. Usage:
    python benchmarks/bench_validate.py [--flows 200] [--steps 60] [--repeat 5] [--ruamel]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from callguide import paths
from callguide.flow import expr
from callguide.flow.loader import load_flow_text, load_library
from callguide.flow.model import FlowLibrary
from callguide.flow.validate import GraphMemo, validate_library, validate_paths
from callguide.flow.yamlsafe import display_path

LANGS = ("en", "da", "cs")


def _text(s: str, tid: str | None = None) -> str:
    parts = [f"id: {tid}"] if tid else []
    parts += [f'{lang}: "{s} ({lang})"' for lang in LANGS]
    return "{" + ", ".join(parts) + "}"


def generate_flow(i: int, n_flows: int, n_steps: int) -> str:
    fid = f"flow{i:03d}"
    nxt = f"flow{(i + 1) % n_flows:03d}"
    out = [
        "# yaml-language-server: $schema=../resources/schema/flow.schema.json",
        "schema: callguide/flow@1",
        f"id: {fid}",
        'version: "1.0.0"',
        "priority: general",
        f"title: {_text('Flow ' + str(i))}",
        f"description: {_text('Generated flow number ' + str(i))}",
        "languages: [en, da, cs]",
        "start: s0",
        f"when_blocked: s{n_steps - 1}",
        "on_start:",
        "  - block_collection: {reason: generated}",
        "interrupts:",
        f"  - id: int{i:03d}",
        "    protocol: flow000",
        f"    label: {_text('Interrupt ' + str(i))}",
        "invariants:",
        "  - {id: outcomes, kind: ends_in_outcome}",
        "  - {id: consent-first, kind: consent_before_special}",
        "  - {id: one-away, kind: one_action_away, protocol: flow000}",
        '  - {id: pay-after-check, kind: requires_before, target: "category:payment", via: "action:record_arrangement"}',
        '  - {id: no-pay-with-doubt, kind: no_path, from: "action:flag_capacity_doubt", to: "category:payment",'
        ' unless: "action:clear_capacity_doubt"}',
        "steps:",
    ]
    last = n_steps - 1
    for k in range(n_steps):
        sid = f"s{k}"
        to1, to2, to3 = (f"s{min(k + j, last)}" for j in (1, 2, 3))
        kind = ("say", "ask", "consent", "capture", "decision", "action")[k % 6] if k < last - 1 else "outcome"
        out.append(f"  - id: {sid}")
        out.append(f"    kind: {kind}")
        if kind == "outcome":
            out.append(f"    outcome: done_{k}")
            out.append("    actions: [{set_outcome: {code: finished}}]")
            continue
        out.append(f"    say: {_text('Say {{ account.name }} at step ' + str(k))}")
        out.append(f"    guidance: {_text('Guidance for step ' + str(k))}")
        if kind == "say":
            out.append(f"    next: {to1}")
        elif kind == "ask":
            out.append("    transitions:")
            out.append(f"      - {{id: yes, label: {_text('Yes')}, to: {to1}}}")
            out.append(f"      - {{id: no, label: {_text('No')}, to: {to1}, when: \"account.balance > 0\"}}")
        elif kind == "consent":
            out.append("    consent:")
            out.append(f"      purpose: p{k}")
            out.append(f"      wording: {_text('May I note that?')}")
            out.append(f"      covers: [f{i}_{k + 1}]")
            out.append("    transitions:")
            out.append(f"      - {{to: {to1}, when: \"consent.p{k}\"}}")
            out.append(f"      - {{to: {to3}}}")
        elif kind == "capture":
            out.append("    fields:")
            out.append(f"      - id: f{i}_{k}")
            out.append("        type: choice")
            out.append(f"        label: {_text('Category')}")
            out.append("        sensitivity: special")
            out.append(f"        consent: p{k - 1}")
            out.append("        choices:")
            out.append(f"          - {{value: health, label: {_text('Health')}}}")
            out.append(f"          - {{value: life_event, label: {_text('Life event')}}}")
            out.append(f"      - {{id: g{i}_{k}, type: money, label: {_text('Amount')}, min: 0, max: 100000,"
                       f" visible_when: \"f{i}_{k} == 'health'\"}}")
            out.append(f"    next: {to1}")
        elif kind == "decision":
            out.append("    transitions:")
            out.append(f"      - {{to: {to2}, when: \"g{i}_{k - 1} and state.hold_active\"}}")
            out.append(f"      - {{to: {to1}}}")
        elif kind == "action":
            if k % 12 == 5:
                out.append("    category: payment")
                out.append("    actions:")
                out.append(f"      - record_arrangement: {{fields: [g{i}_{k - 2}]}}")
            elif k == 11 and i + 1 < n_flows:
                out.append("    actions:")
                out.append(f"      - start_protocol: {{flow: {nxt}}}")
            elif k % 12 == 11:
                out.append("    actions: [flag_capacity_doubt, {clear_capacity_doubt: {reason: supports worked}}]")
            else:
                out.append("    actions:")
                out.append("      - refer_care_team: {reason: \"step {{ call.agent }}\"}")
                out.append("      - schedule_callback: {in_days: 7}")
            out.append(f"    next: {to1}")
    return "\n".join(out) + "\n"


def generate(dirpath: Path, n_flows: int, n_steps: int) -> list[Path]:
    files = []
    for i in range(n_flows):
        p = dirpath / f"flow{i:03d}.yaml"
        p.write_text(generate_flow(i, n_flows, n_steps), encoding="utf-8")
        files.append(p)
    return files


def best_of(n: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def clear_expression_caches() -> None:
    for fn in vars(expr).values():
        if callable(getattr(fn, "cache_clear", None)):
            fn.cache_clear()


def _typed(text: str, i: int) -> str:
    """The text after `i` keystrokes in its first English text (what a trainer mostly edits)."""
    at = text.index("en: ") + 4
    if text[at] in "\"'":
        at += 1
    return text[:at] + "x" * i + text[at:]


def live_diagnostics() -> list[tuple[str, float, float, float]]:
    """(flow file, median ms of one live-diagnostics pass after a keystroke in a text (the workbench's
    GraphMemo carries the graph searches), median ms of a pass that recomputes everything (an edit that
    changes the flow's shape: a transition, an action, a `when`), ms of a libyaml compose of its text)."""
    lib0, _ = load_library([paths.flows_dir()])
    out = []
    for p in sorted(paths.flows_dir().glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        name = display_path(p)

        def once(text: str = text, name: str = name, memo: GraphMemo | None = None) -> list:
            flow, diags = load_flow_text(text, name)
            lib = FlowLibrary()
            lib.flows.update({k: f for k, f in lib0.flows.items() if f.pos.file != name})
            lib.signposts = lib0.signposts
            if flow is not None:
                lib.flows[flow.id] = flow
            return [d for d in validate_library(lib, list(diags), memo) if d.file == name]

        memo = GraphMemo()
        once(memo=memo)
        typed, full = [], []
        for i in range(1, 21):
            t0 = time.perf_counter()
            once(_typed(text, i), memo=memo)
            typed.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            once(_typed(text, i))
            full.append(time.perf_counter() - t0)
        assert memo.hits == 20, f"{name}: a keystroke in a text changed the flow's shape"
        t_compose, _ = best_of(5, lambda text=text: yaml.compose(text, Loader=yaml.CSafeLoader))
        out.append((p.name, statistics.median(typed) * 1000, statistics.median(full) * 1000, t_compose * 1000))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=200)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--target", type=float, default=3.0)
    ap.add_argument("--ruamel", action="store_true", help="also time ruamel's round-trip load, for reference")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "flows"
        d.mkdir()
        files = generate(d, args.flows, args.steps)
        size = sum(p.stat().st_size for p in files)

        def libyaml_compose():
            # each tree is dropped once composed, as a reader does once it has built its values:
            # keeping 200 node trees alive would mostly time the garbage collector (5x slower here)
            for p in files:
                yaml.compose(p.read_bytes().decode("utf-8"), Loader=yaml.CSafeLoader)

        def ruamel_rt():
            rt = YAML(typ="rt")
            return [rt.load(p.read_bytes().decode("utf-8")) for p in files]

        def validate():
            return validate_paths([d], signposts=False)

        def validate_cold():
            clear_expression_caches()
            return validate_paths([d], signposts=False)

        diags = validate()  # warm caches (schema compile, imports) once, as a long-running workbench would be
        # interleaved (compose, warm, cold, compose, ...) so that a change in the machine's load
        # between the runs weighs on the baseline and on validation alike; best of each
        t_base = t_val = t_cold = float("inf")
        for _ in range(args.repeat):
            t_base = min(t_base, best_of(1, libyaml_compose)[0])
            t_val = min(t_val, best_of(1, validate)[0])
            t_cold = min(t_cold, best_of(1, validate_cold)[0])
        t_rt, _ = best_of(1, ruamel_rt) if args.ruamel else (None, None)
        errors = [x for x in diags if x.severity == "error"]
        ratio = t_val / t_base
        print(f"library: {args.flows} flows x {args.steps} steps, {size / 1e6:.1f} MB, {len(diags)} diagnostics "
              f"({len(errors)} errors)")
        for x in diags[:5]:
            print("  ", x)
        print(f"libyaml compose only: {t_base:8.3f} s  (best of {args.repeat})")
        print(f"validate_paths warm : {t_val:8.3f} s  (best of {args.repeat})")
        print(f"validate_paths cold : {t_cold:8.3f} s  (best of {args.repeat}, expression caches emptied)")
        if t_rt is not None:
            print(f"(ruamel rt load     : {t_rt:8.3f} s  (one run), for reference)")
        cold = t_cold / t_base
        ok = ratio <= args.target and cold <= args.target
        print(f"ratio               : {ratio:8.2f}x warm, {cold:.2f}x cold  (target <= {args.target}x) "
              f"{'OK' if ok else 'OVER TARGET'}")
    print("\nlive diagnostics (workbench, one keystroke in a text / an edit of the flow's shape), median of 20:")
    worst = worst_full = 0.0
    for name, ms, full_ms, compose_ms in live_diagnostics():
        worst, worst_full = max(worst, ms), max(worst_full, full_ms)
        print(f"  {name:28} {ms:6.2f} ms  / {full_ms:6.2f} ms  (libyaml compose {compose_ms:5.2f} ms, "
              f"{ms / compose_ms:4.1f}x / {full_ms / compose_ms:4.1f}x)")
    print(f"  slowest: {worst:.2f} ms typing, {worst_full:.2f} ms after a change of shape; one frame is 16 ms "
          f"{'OK' if worst <= 16 else 'OVER A FRAME'}")
    return 0 if ok and worst <= 16 else 1


if __name__ == "__main__":
    sys.exit(main())
