"""Safe YAML reading with a position for every node.

ruamel.yaml composes the node graph (never constructs Python objects from tags); this module
turns the nodes into plain dicts/lists/scalars that remember where each value came from, and
refuses what a flow file must never contain: tags, anchors/aliases, duplicate keys, tabs in
indentation, bad UTF-8, files over 1 MiB. Every problem becomes a `Diagnostic`, never a traceback.
Never imports Qt.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

MAX_BYTES = 1024 * 1024

_T = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_T + n for n in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")}


@dataclass
class Diagnostic:
    """One problem found in a file: `file:line:col: rule: message`."""

    file: str
    line: int
    col: int
    rule: str
    message: str
    severity: str = "error"

    def __post_init__(self) -> None:
        self.message = " ".join(str(self.message).split())

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.rule}: {self.message}"

    @property
    def sort_key(self) -> tuple:
        return (self.file, self.line, self.col, self.rule, self.message)


class PDict(dict):
    """A mapping that remembers its position and those of its keys and values (1-based)."""

    __slots__ = ("lc", "kpos", "vpos")

    def __init__(self, lc: tuple[int, int]):
        super().__init__()
        self.lc = lc
        self.kpos: dict[str, tuple[int, int]] = {}
        self.vpos: dict[str, tuple[int, int]] = {}


class PList(list):
    """A sequence that remembers its position and those of its items (1-based)."""

    __slots__ = ("lc", "ipos")

    def __init__(self, lc: tuple[int, int]):
        super().__init__()
        self.lc = lc
        self.ipos: list[tuple[int, int]] = []


def display_path(path: str | os.PathLike) -> str:
    """The path as shown in diagnostics: relative to the working directory when inside it."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return p.as_posix()
    return p.as_posix()


def _pos(node) -> tuple[int, int]:
    m = node.start_mark
    return (m.line + 1, m.column + 1)


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.diags: list[Diagnostic] = []

    def err(self, lc: tuple[int, int], rule: str, msg: str) -> None:
        self.diags.append(Diagnostic(self.file, lc[0], lc[1], rule, msg))

    def build(self, node) -> Any:
        anchor = getattr(node, "anchor", None)
        if anchor:
            self.err(_pos(node), "yaml-alias", f"anchors and aliases are not allowed (&{anchor}); write the value out")
            return None
        tag = node.tag if isinstance(node.tag, str) else str(node.tag)
        if tag not in _ALLOWED_TAGS:
            self.err(_pos(node), "yaml-tag", f"tags are not allowed ({tag.replace(_T, '!!')}); remove the tag")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, tag)
        if isinstance(node, SequenceNode):
            out = PList(_pos(node))
            for item in node.value:
                out.append(self.build(item))
                out.ipos.append(_pos(item))
            return out
        if isinstance(node, MappingNode):
            out = PDict(_pos(node))
            for knode, vnode in node.value:
                if not isinstance(knode, ScalarNode):
                    self.err(_pos(knode), "yaml-syntax", "keys must be plain scalars")
                    continue
                if getattr(knode, "anchor", None) or knode.tag not in _ALLOWED_TAGS:
                    self.build(knode)  # reports the tag or anchor
                    continue
                key = knode.value
                if key in out.kpos:
                    first = out.kpos[key]
                    self.err(_pos(knode), "duplicate-key", f"duplicate key '{key}' (first at line {first[0]})")
                    continue
                out.kpos[key] = _pos(knode)
                out.vpos[key] = _pos(vnode)
                out[key] = self.build(vnode)
            return out
        self.err(_pos(node), "yaml-syntax", "unsupported YAML node")
        return None

    def scalar(self, node, tag: str) -> Any:
        v = node.value
        try:
            if tag == _T + "str":
                return v
            if tag == _T + "null":
                return None
            if tag == _T + "bool":
                return v.lower() in ("true", "yes", "on", "y")
            if tag == _T + "int":
                s = v.replace("_", "")
                try:
                    return int(s, 0)
                except ValueError:
                    return int(s, 10)
            if tag == _T + "float":
                s = v.replace("_", "").lower()
                if s in (".inf", "+.inf"):
                    return math.inf
                if s == "-.inf":
                    return -math.inf
                if s == ".nan":
                    return math.nan
                return float(s)
            if tag == _T + "timestamp":
                if len(v) == 10:
                    return _dt.date.fromisoformat(v)
                return _dt.datetime.fromisoformat(v.replace("t", "T").replace(" ", "T", 1))
        except ValueError:
            self.err(_pos(node), "yaml-syntax", f"cannot read {tag.replace(_T, '')} value {v!r}")
            return v
        return v


def _line_col_of_offset(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def _check_tabs(text: str, file: str) -> list[Diagnostic]:
    if "\t" not in text:
        return []
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent and stripped and not stripped.startswith("#"):
            out.append(Diagnostic(file, n, indent.index("\t") + 1, "yaml-tab",
                                  "tab in indentation; YAML indents with spaces only"))
    return out


def decode(data: bytes, file: str) -> tuple[str | None, list[Diagnostic]]:
    """Bytes -> text, refusing oversized files and bad UTF-8 (with the offending line:col)."""
    if len(data) > MAX_BYTES:
        return None, [Diagnostic(file, 1, 1, "file-too-large",
                                 f"file is {len(data)} bytes; the limit is {MAX_BYTES} bytes (1 MiB)")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _line_col_of_offset(data, e.start)
        return None, [Diagnostic(file, line, col, "bad-utf8",
                                 f"not valid UTF-8 at byte offset {e.start} (byte 0x{data[e.start]:02x}); "
                                 "save the file as UTF-8")]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


def parse_text(text: str, file: str) -> tuple[Any, list[Diagnostic]]:
    """YAML text -> positioned plain data. Returns (None, diagnostics) when unusable."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return None, [Diagnostic(file, 1, 1, "file-too-large", f"text is over the {MAX_BYTES} byte (1 MiB) limit")]
    tabs = _check_tabs(text, file)
    if tabs:
        return None, tabs
    yaml = YAML(typ="safe", pure=True)  # composes only (no constructor runs); keeps marks, skips comment gathering
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = e.problem or e.context or "YAML syntax error"
        if e.context and e.problem and e.context not in problem:
            problem = f"{e.context}: {e.problem}"
        return None, [Diagnostic(file, line, col, "yaml-syntax", problem)]
    except YAMLError as e:  # reader errors (control characters) and the like
        mark = getattr(e, "position", None)
        line, col = 1, 1
        if isinstance(mark, int):
            line = text.count("\n", 0, mark) + 1
            col = mark - (text.rfind("\n", 0, mark) + 1) + 1
        msg = str(e).splitlines()[0] if str(e) else "YAML error"
        return None, [Diagnostic(file, line, col, "yaml-syntax", msg)]
    except RecursionError:
        return None, [Diagnostic(file, 1, 1, "yaml-syntax", "nesting is too deep")]
    if node is None:
        return None, [Diagnostic(file, 1, 1, "yaml-syntax", "the file is empty")]
    b = _Builder(file)
    try:
        data = b.build(node)
    except RecursionError:
        return None, [Diagnostic(file, 1, 1, "yaml-syntax", "nesting is too deep")]
    if b.diags:
        return None, b.diags
    return data, []


def read_yaml(path: str | os.PathLike, file: str | None = None) -> tuple[Any, str | None, bytes | None,
                                                                          list[Diagnostic]]:
    """Read a YAML file safely: (data, text, raw bytes, diagnostics)."""
    file = file or display_path(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return None, None, None, [Diagnostic(file, 1, 1, "file-too-large",
                                                 f"file is {size} bytes; the limit is {MAX_BYTES} bytes (1 MiB)")]
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as e:
        return None, None, None, [Diagnostic(file, 1, 1, "io", f"cannot read the file: {e.strerror or e}")]
    text, diags = decode(data, file)
    if text is None:
        return None, None, data, diags
    value, diags = parse_text(text, file)
    return value, text, data, diags
