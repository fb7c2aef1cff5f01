"""Flow graphs: the whole-library graph the invariants are proved on, layering and diagrams.

Nodes of the library graph are `"flow/step"` strings; edges come from transitions. A step that
runs `start_protocol: {flow: X}` edges to X's start instead of to its own successors, and X's
outcome steps edge back to those successors (the caller resumes after X ends). A guarded step
edges to its `when_blocked` route. The starts of interrupt protocols, and of flows that no
`start_protocol` starts, are the *entry points*.

`StateGraph` adds what the engine's gate does to that graph: the protections a path has set
(capacity doubt, hold, crisis, collection block) travel with it; a guarded step entered in a state
that forbids it is replaced by its `when_blocked` route; and from every step, each global interrupt
the step allows is an edge into that protocol plus a *return edge* back to the same step carrying
each state the protocol can leave behind (a summary per protocol and entry state). So "after BLAKE
the call returns to a payment step" is found on the graph as it happens at run time.

Also `layers`, `to_mermaid`, `to_dot` for one flow (plain text; no graphviz needed).
Never imports Qt, the engine or the store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from callguide.flow.guards import GuardIndex
from callguide.flow.model import Flow, FlowLibrary, Step

Node = str


def node_id(flow: Flow | str, step: Step | str) -> Node:
    return f"{flow if isinstance(flow, str) else flow.id}/{step if isinstance(step, str) else step.id}"


def started_flows(step: Step) -> list[str]:
    """Flow ids a step pushes with `start_protocol`."""
    return [a.params.get("flow") for a in step.actions
            if a.name == "start_protocol" and isinstance(a.params.get("flow"), str)]


class LibraryGraph:
    """The whole-library step graph (see the module docstring)."""

    def __init__(self, lib: FlowLibrary):
        self.lib = lib
        self.steps: dict[Node, tuple[Flow, Step]] = {}
        self.succ: dict[Node, list[Node]] = {}
        #: (from, to) -> the `when`s of the transitions behind an intra-flow edge (None: unconditional)
        self.edge_whens: dict[tuple[Node, Node], list[str | None]] = {}
        callers: dict[str, list[Node]] = {}
        intra: dict[Node, list[Node]] = {}
        self.guards = GuardIndex(lib.flows)
        #: guarded step -> the step the gate sends the call to instead (its `when_blocked` route)
        self.routes: dict[Node, Node] = {}
        for f in lib.flows.values():
            ids = {s.id for s in f.steps}
            for s in f.steps:
                n = node_id(f, s)
                if n in self.steps:
                    continue  # duplicate step id: reported elsewhere
                self.steps[n] = (f, s)
                out = []
                for t in s.transitions:
                    if t.to in ids:
                        m = node_id(f, t.to)
                        if m not in out:
                            out.append(m)
                        self.edge_whens.setdefault((n, m), []).append(t.when)
                route = f.route_when_blocked(s)
                if route in ids and route != s.id and self.guards.is_guarded(f, s):
                    m = node_id(f, route)
                    self.routes[n] = m
                    if m not in out:
                        out.append(m)
                    self.edge_whens.setdefault((n, m), []).append(None)
                intra[n] = out
        self.intra = intra
        for n, (_f, s) in self.steps.items():
            targets = [x for x in started_flows(s) if x in lib.flows and lib.flows[x].has_step(lib.flows[x].start)]
            if targets:
                self.succ[n] = [node_id(x, lib.flows[x].start) for x in targets]
                for x in targets:
                    callers.setdefault(x, []).append(n)
            else:
                self.succ[n] = list(intra[n])
        # where each flow's outcomes return to (fixed point: an outcome that starts X makes X return
        # wherever the caller's flow returns)
        ret: dict[str, set[Node]] = {fid: set() for fid in lib.flows}
        changed = True
        while changed:
            changed = False
            for x, cs in callers.items():
                before = len(ret[x])
                for c in cs:
                    cf, cs_step = self.steps[c]
                    if cs_step.is_terminal:
                        ret[x] |= ret[cf.id]
                    else:
                        ret[x].update(intra[c])
                if len(ret[x]) != before:
                    changed = True
        self.returns = ret
        calling = callers_of_any(callers)
        for fid, targets in ret.items():
            if not targets:
                continue
            for s in lib.flows[fid].steps:
                n = node_id(fid, s)
                if s.is_terminal and n not in calling and self.steps.get(n, (None, None))[1] is s:
                    self.succ[n] = self.succ[n] + sorted(targets - set(self.succ[n]))
        self.callers = callers
        entries: list[Node] = []
        started = set(callers)
        interrupt_protocols = {i.protocol for i in lib.interrupts.values()}
        for fid, f in lib.flows.items():
            if (fid not in started or fid in interrupt_protocols) and f.has_step(f.start):
                entries.append(node_id(f, f.start))
        if not entries:
            entries = [node_id(f, f.start) for f in lib.flows.values() if f.has_step(f.start)]
        self.entries = entries
        self._roots: list[Node] | None = None

    def roots(self) -> list[Node]:
        """The entries, plus the first steps of every part of the graph they cannot reach (a typo in a
        transition must not hide what comes after it from the invariants: it is checked as if reachable)."""
        if self._roots is None:
            reached = set(self.search(self.entries))
            preds: dict[Node, int] = dict.fromkeys(self.succ, 0)
            for n, ms in self.succ.items():
                for m in ms:
                    if m in preds and m not in reached and n not in reached:
                        preds[m] += 1
            rest = [n for n in self.steps if n not in reached]
            roots = list(self.entries)
            for n in [x for x in rest if preds.get(x, 0) == 0] + rest:
                if n not in reached:
                    roots.append(n)
                    reached |= set(self.search([n]))
            self._roots = roots
        return self._roots

    # ----------------------------------------------------------------- searches

    def search(self, sources: Iterable[Node], blocked: Callable[[Node], bool] | set[Node] = frozenset(),
               skip_edge: Callable[[Node, Node], bool] | None = None) -> dict[Node, Node | None]:
        """BFS from `sources`, never entering blocked nodes: node -> parent (for counter-examples)."""
        is_blocked = blocked if callable(blocked) else blocked.__contains__
        parent: dict[Node, Node | None] = {}
        q: deque[Node] = deque()
        for s in sources:
            if s not in parent and s in self.succ and not is_blocked(s):
                parent[s] = None
                q.append(s)
        succ = self.succ
        while q:
            n = q.popleft()
            for m in succ[n]:
                if m in parent or is_blocked(m):
                    continue
                if skip_edge is not None and skip_edge(n, m):
                    continue
                parent[m] = n
                q.append(m)
        return parent


# --------------------------------------------------------------------------- protections on paths

DOUBT, HOLD, CRISIS, BLOCK = 1, 2, 4, 8
#: which protections break each requirement
BREAKS = {"payment_allowed": DOUBT | HOLD | CRISIS | BLOCK, "collection_allowed": HOLD | CRISIS | BLOCK}
State = tuple[Node, int]


def action_effect(name: str, params: dict) -> tuple[int, int]:
    """(protections set, protections lifted) by one action."""
    if name == "flag_capacity_doubt":
        return DOUBT, 0
    if name == "clear_capacity_doubt":
        return 0, DOUBT
    if name == "start_hold":
        return HOLD, 0
    if name == "end_hold":
        return 0, HOLD
    if name == "emergency":
        return CRISIS, 0
    if name == "block_collection":
        return (CRISIS if params.get("reason") == "crisis" else BLOCK), 0
    if name == "unblock_collection":
        return 0, BLOCK
    return 0, 0


def _effects(actions) -> tuple[int, int]:
    add = lift = 0
    for a in actions:
        x, y = action_effect(a.name, a.params)
        add, lift = (add | x) & ~y, (lift | y) & ~x
    return add, lift


def _apply(effect: tuple[int, int], state: int) -> int:
    return (state | effect[0]) & ~effect[1]


class StateGraph:
    """The library graph with the gate's behaviour and interrupt returns (see the module docstring)."""

    def __init__(self, g: LibraryGraph):
        self.g = g
        lib = g.lib
        self.commit: dict[Node, tuple[int, int]] = {}
        self.on_entry: dict[Node, tuple[int, int]] = {}
        self.breaks: dict[Node, int] = {}
        self.interrupts_at: dict[Node, tuple[str, ...]] = {}
        self.outcome_nodes: dict[str, set[Node]] = {fid: set() for fid in lib.flows}
        interrupts = lib.interrupts  # a property that builds a dict: once, not per step
        protocols: dict[str, Flow] = {}
        ids_of: dict[str, set[str]] = {}  # protocol -> the ids of the interrupts that start it
        for i in interrupts.values():
            ids_of.setdefault(i.protocol, set()).add(i.id)
            f = lib.flows.get(i.protocol)
            if f is not None and f.has_step(f.start):
                protocols.setdefault(i.protocol, f)
        #: the interrupt protocols a step of this flow allows, per suppressed-interrupt set
        allowed: dict[tuple[str, frozenset[str]], tuple[str, ...]] = {}
        for n, (f, st) in g.steps.items():
            self.commit[n] = _effects(st.actions)
            mask = 0
            for req in g.guards.requirements(f, st):
                mask |= BREAKS.get(req, 0)
            self.breaks[n] = mask
            if st.is_terminal:
                self.outcome_nodes[f.id].add(n)
            k = (f.id, frozenset(st.suppress_interrupts))
            if k not in allowed:
                allowed[k] = tuple(sorted(
                    pid for pid, pf in protocols.items()
                    if pid != f.id and ids_of[pid] - k[1]
                    and (pf.priority == "general" or pf.priority_rank >= f.priority_rank)))
            self.interrupts_at[n] = allowed[k]
        for f in lib.flows.values():
            if f.on_start and f.has_step(f.start):
                self.on_entry[node_id(f, f.start)] = _effects(f.on_start)
        self._summaries: dict[tuple, dict[tuple[str, int], frozenset[int]]] = {}
        #: per search key: summary pair -> the pairs whose run read it (recomputed when it grows)
        self._deps: dict[tuple, dict[tuple[str, int], set[tuple[str, int]]]] = {}
        self._region: frozenset[Node] | None = None
        #: per search key: state -> the states one move away (before the search's blocked steps)
        self._moves: dict[tuple, dict[State, tuple[State, ...]]] = {}
        self._steps_from: dict[State, tuple[State, ...]] = {}

    def enter(self, m: Node, state: int) -> State | None:
        """Where the call really lands when it moves onto `m` in `state` (None: the protocol ends)."""
        state = _apply(self.on_entry[m], state) if m in self.on_entry else state
        if self.breaks.get(m, 0) & state:
            r = self.g.routes.get(m)
            if r is None or self.breaks.get(r, 0) & state:
                return None
            return r, state
        return m, state

    def start_of(self, protocol: str) -> Node:
        f = self.g.lib.flows[protocol]
        return node_id(f, f.start)

    # ----------------------------------------------------------------- interrupt summaries

    def interrupt_region(self) -> frozenset[Node]:
        """Every step an interrupt's run can touch (a superset): the closure of the interrupt protocols'
        starts over the graph's edges and the gate's routes. `_exits` asks `blocked` about these only."""
        if self._region is None:
            todo = [self.start_of(p) for p in {p for ps in self.interrupts_at.values() for p in ps}]
            region: set[Node] = set()
            while todo:
                n = todo.pop()
                if n in region or n not in self.g.succ:
                    continue
                region.add(n)
                r = self.g.routes.get(n)
                if r is not None:
                    todo.append(r)
                todo.extend(self.g.succ[n])
            self._region = frozenset(region)
        return self._region

    def summary(self, protocol: str, state: int, blocked: Callable[[Node], bool], key: tuple) -> frozenset[int]:
        """The states `protocol` can leave behind when it runs as an interrupt from `state`.

        The least fixed point over (protocol, entry state) pairs: a pair first met inside another's run is
        computed there and then (depth first), and a pair is computed again only when a pair its run read
        (a nested interrupt's summary) grew later. `_exits` is monotone in those summaries, so this is the
        same fixed point as recomputing every pair until nothing changes."""
        memo = self._summaries.setdefault(key, {})
        start = (protocol, state)
        if start not in memo:
            deps = self._deps.setdefault(key, {})
            memo[start] = frozenset()
            work: deque[tuple[str, int]] = deque([start])
            queued = {start}
            while work:
                item = work.popleft()
                queued.discard(item)
                got = self._exits(item, blocked, memo, deps, work, queued)
                if got != memo[item]:
                    memo[item] = got
                    for d in deps.get(item, ()):
                        if d not in queued:
                            queued.add(d)
                            work.append(d)
        return memo[start]

    def _exits(self, item: tuple[str, int], blocked: Callable[[Node], bool], memo: dict[tuple[str, int], frozenset[int]],
               deps: dict[tuple[str, int], set[tuple[str, int]]], work: deque[tuple[str, int]],
               queued: set[tuple[str, int]]) -> frozenset[int]:
        protocol, state = item
        first = self.enter(self.start_of(protocol), state)
        if first is None or blocked(first[0]):
            return frozenset()
        exits: set[int] = set()
        seen = {first}
        q = deque([first])
        own = self.outcome_nodes[protocol]
        enter, interrupts_at = self.enter, self.interrupts_at
        while q:
            cur = q.popleft()
            n, st = cur
            if n in own:
                exits.add(_apply(self.commit[n], st))
                continue
            for p in interrupts_at[n]:
                if p == protocol:
                    continue
                inner = (p, st)
                readers = deps.get(inner)
                if readers is None:
                    readers = deps[inner] = set()
                readers.add(item)
                got = memo.get(inner)
                if got is None:  # never asked yet: compute it now, depth first, rather than run this again later
                    memo[inner] = frozenset()
                    got = memo[inner] = self._exits(inner, blocked, memo, deps, work, queued)
                    if got:  # the readers that saw it empty meanwhile (a cycle of interrupts) run again
                        for r in deps.get(inner, ()):
                            if r != item and r not in queued:
                                queued.add(r)
                                work.append(r)
                for after in got:
                    x = enter(n, after)
                    if x is not None and x not in seen and not blocked(x[0]):
                        seen.add(x)
                        q.append(x)
            for x in self._step_moves(cur):
                if x not in seen and not blocked(x[0]):
                    seen.add(x)
                    q.append(x)
        return frozenset(exits)

    def _step_moves(self, cur: State) -> tuple[State, ...]:
        """Where a state's own transitions lead (the step's actions applied, the gate's routes taken):
        the same in every search, so computed once per state."""
        got = self._steps_from.get(cur)
        if got is None:
            n, st = cur
            after = _apply(self.commit[n], st)
            got = self._steps_from[cur] = tuple(x for x in (self.enter(m, after) for m in self.g.succ[n])
                                                if x is not None)
        return got

    # ----------------------------------------------------------------- searches

    def search(self, sources: Iterable[State], blocked: Callable[[Node], bool] | set[Node] = frozenset(),
               ) -> dict[State, State | None]:
        """BFS over (step, protections) from `sources`, never entering blocked steps; follows the
        gate's routes, interrupt edges and return edges. state -> parent (for counter-examples)."""
        is_blocked = blocked if callable(blocked) else blocked.__contains__
        # The interrupt summaries depend on the blocked steps only where an interrupt can go: searches
        # whose blocked sets agree there share them. A callable is kept in the key itself (never its
        # id(), which a later callable could reuse).
        key = ("blocked", blocked) if callable(blocked) else ("blocked", frozenset(blocked) & self.interrupt_region())
        # A state's moves depend on the summaries (so on the key), never on the sources: searches with
        # the same key share them, and only the blocked steps are filtered per search.
        moves = self._moves.setdefault(key, {})
        parent: dict[State, State | None] = {}
        q: deque[State] = deque()
        for src in sources:
            if src not in parent and src[0] in self.g.succ and not is_blocked(src[0]):
                parent[src] = None
                q.append(src)
        while q:
            cur = q.popleft()
            nxt = moves.get(cur)
            if nxt is None:
                n, st = cur
                found: list[State | None] = []
                for p in self.interrupts_at[n]:
                    found.append(self.enter(self.start_of(p), st))  # into the interrupt
                    found.extend(self.enter(n, after) for after in self.summary(p, st, is_blocked, key))  # and back
                nxt = moves[cur] = (*(x for x in found if x is not None), *self._step_moves(cur))
            for x in nxt:
                if x not in parent and not is_blocked(x[0]):
                    parent[x] = cur
                    q.append(x)
        return parent


def state_path(parent: dict[State, State | None], state: State) -> list[Node]:
    out = [state]
    while parent.get(out[-1]) is not None:
        out.append(parent[out[-1]])  # type: ignore[arg-type]
    nodes: list[Node] = []
    for n, _st in reversed(out):
        if not nodes or nodes[-1] != n:
            nodes.append(n)
    return nodes


def path_to(parent: dict[Node, Node | None], node: Node) -> list[Node]:
    out = [node]
    while parent.get(out[-1]) is not None:
        out.append(parent[out[-1]])
    return out[::-1]


def format_path(path: list[Node], limit: int = 24) -> str:
    if len(path) > limit:
        path = path[: limit // 2] + ["…"] + path[-limit // 2:]
    return " → ".join(path)


def callers_of_any(callers: dict[str, list[Node]]) -> set[Node]:
    return {c for cs in callers.values() for c in cs}


# --------------------------------------------------------------------------- one flow


def _intra(flow: Flow) -> dict[str, list[str]]:
    """Step -> the steps it can go to inside the flow: its transitions, and its `when_blocked` route
    when it is guarded (the gate sends the call there instead)."""
    ids = {s.id for s in flow.steps}
    guards = GuardIndex({flow.id: flow})
    out: dict[str, list[str]] = {}
    for s in flow.steps:
        if s.id in out:
            continue
        targets: list[str] = []
        for t in s.transitions:
            if t.to in ids and t.to not in targets:
                targets.append(t.to)
        route = flow.route_when_blocked(s)
        if route in ids and route not in targets and route != s.id and guards.is_guarded(flow, s):
            targets.append(route)
        out[s.id] = targets
    return out


def reachable(flow: Flow, start: str | None = None) -> dict[str, str | None]:
    """Steps reachable from the start inside the flow: step -> parent step."""
    succ = _intra(flow)
    start = start or flow.start
    if start not in succ:
        return {}
    parent: dict[str, str | None] = {start: None}
    q = deque([start])
    while q:
        n = q.popleft()
        for m in succ[n]:
            if m not in parent:
                parent[m] = n
                q.append(m)
    return parent


def layers(flow: Flow) -> dict[str, int]:
    """A layer (0 = start) for every step: longest path over the flow with back edges removed.

    Steps the start cannot reach are layered from their own roots (layer 0).
    """
    succ = _intra(flow)
    order = [flow.start] if flow.start in succ else []
    order += [s for s in succ if s != flow.start]
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    topo: list[str] = []
    dag: dict[str, list[str]] = {s: [] for s in succ}
    for root in order:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            n, it = stack[-1]
            for m in it:
                st = state.get(m)
                if st == 1:
                    continue  # back edge
                dag[n].append(m)
                if st is None:
                    state[m] = 1
                    stack.append((m, iter(succ[m])))
                    break
            else:
                state[n] = 2
                topo.append(n)
                stack.pop()
    topo.reverse()
    layer = dict.fromkeys(succ, 0)
    for n in topo:
        for m in dag[n]:
            if layer[m] < layer[n] + 1:
                layer[m] = layer[n] + 1
    return layer


def _edge_label(t) -> str:
    parts = []
    if t.id:
        parts.append(t.id)
    if t.label is not None and not t.id:
        parts.append(t.label.get("en"))
    if t.when:
        parts.append(f"if {t.when}")
    return " ".join(parts)


_SHAPES = {"outcome": ("([", "])"), "decision": ("{", "}"), "consent": ("[/", "/]"), "action": ("[[", "]]")}


def _mermaid_text(s: str) -> str:
    return (s.replace("&", "#amp;").replace('"', "#quot;").replace("|", "#124;").replace("<", "#lt;")
            .replace(">", "#gt;").replace("\n", " "))


def to_mermaid(flow: Flow) -> str:
    """A Mermaid `flowchart TD` of one flow (layered by step order)."""
    names = {s.id: f"s{i}_{s.id.replace('-', '_')}" for i, s in enumerate(flow.steps)}
    lines = ["flowchart TD", f"  %% {flow.id} {flow.version}"]
    for s in flow.steps:
        a, b = _SHAPES.get(s.kind, ("[", "]"))
        extra = f": {s.outcome}" if s.outcome else ""
        lines.append(f'  {names[s.id]}{a}"{_mermaid_text(s.id)}<br/>({s.kind}{_mermaid_text(extra)})"{b}')
    for s in flow.steps:
        for t in s.transitions:
            if t.to not in names:
                continue
            label = _edge_label(t)
            arrow = "-.->" if t.when else "-->"
            lines.append(f'  {names[s.id]} {arrow}|"{_mermaid_text(label)}"| {names[t.to]}' if label
                         else f"  {names[s.id]} {arrow} {names[t.to]}")
        for x in started_flows(s):
            ext = f"flow_{x.replace('-', '_')}"
            lines.append(f'  {names[s.id]} ==>|"start_protocol"| {ext}(("{_mermaid_text(x)}"))')
    if flow.start in names:
        lines.append(f"  classDef start stroke-width:3px;\n  class {names[flow.start]} start;")
    return "\n".join(lines) + "\n"


def _dot_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_DOT_SHAPES = {"outcome": "doubleoctagon", "decision": "diamond", "consent": "parallelogram", "action": "box3d",
               "ask": "box", "capture": "note", "say": "box"}


def to_dot(flow: Flow) -> str:
    """A Graphviz DOT digraph of one flow (plain text)."""
    lines = [f"digraph {_dot_str(flow.id)} {{", "  rankdir=TB;", '  node [fontname="sans-serif"];']
    lay = layers(flow)
    for s in flow.steps:
        label = f"{s.id}\n({s.kind}{': ' + s.outcome if s.outcome else ''})"
        attrs = [f"label={_dot_str(label)}", f"shape={_DOT_SHAPES.get(s.kind, 'box')}"]
        if s.id == flow.start:
            attrs.append("penwidth=3")
        lines.append(f"  {_dot_str(s.id)} [{', '.join(attrs)}];")
    by_layer: dict[int, list[str]] = {}
    for sid, n in lay.items():
        by_layer.setdefault(n, []).append(sid)
    for n in sorted(by_layer):
        lines.append("  { rank=same; " + " ".join(_dot_str(x) + ";" for x in by_layer[n]) + " }")
    for s in flow.steps:
        for t in s.transitions:
            label = _edge_label(t)
            attrs = [f"label={_dot_str(label)}"] if label else []
            if t.when:
                attrs.append("style=dashed")
            lines.append(f"  {_dot_str(s.id)} -> {_dot_str(t.to)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
        for x in started_flows(s):
            lines.append(f"  {_dot_str('flow:' + x)} [shape=ellipse, style=bold];")
            lines.append(f"  {_dot_str(s.id)} -> {_dot_str('flow:' + x)} [label=\"start_protocol\", style=bold];")
    lines.append("}")
    return "\n".join(lines) + "\n"
