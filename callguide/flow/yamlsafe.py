"""Safe YAML reading with a position for every value.

libyaml's C parser (PyYAML's `CParser`) turns the text into events, each with its line and
column; this module builds them into plain dicts/lists/scalars that remember where each value
came from (`PDict`, `PList`), resolving plain scalars by the YAML 1.2 core schema. No Python
object is ever constructed from a tag: tags, anchors and aliases, merge keys, duplicate keys,
tabs in indentation, bad UTF-8, nesting over `MAX_DEPTH` and files over `MAX_BYTES` are all
refused, each as a `Diagnostic` at its line:col, never a traceback. Aliases are never expanded,
so an alias bomb costs nothing. Files are read by `read_bounded`: regular files only, at most
`MAX_BYTES + 1` bytes. ruamel's round-trip parser is for editing with comments
(`callguide.library.editing`), not for reading. Never imports Qt.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml import YAMLError
from yaml._yaml import CParser
from yaml.error import MarkedYAMLError
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

#: The most bytes read from any file (flows, signposts, flow tests, walk scripts, practice cases).
MAX_BYTES = 1024 * 1024
#: The deepest nesting of mappings and lists (a flow needs about 8).
MAX_DEPTH = 100

_T = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _NULL = _T + "str", _T + "map", _T + "seq", _T + "null"
_ALLOWED_TAGS = {_T + n for n in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")}
_SCALAR_TAGS = _ALLOWED_TAGS - {_MAP, _SEQ}


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


# --------------------------------------------------------------------------- reading files

_KINDS = ((stat.S_ISDIR, "it is a folder"), (stat.S_ISCHR, "it is a character device"),
          (stat.S_ISBLK, "it is a block device"), (stat.S_ISFIFO, "it is a named pipe"),
          (stat.S_ISSOCK, "it is a socket"))


def _not_regular(mode: int) -> str:
    for test, words in _KINDS:
        if test(mode):
            return words
    return "it is not a regular file"


def _too_large(file: str, size: int | None) -> Diagnostic:
    what = f"file is {size} bytes" if size is not None else "file is larger than that"
    return Diagnostic(file, 1, 1, "file-too-large", f"{what}; the limit is {MAX_BYTES} bytes (1 MiB)")


def read_bounded(path: str | os.PathLike, file: str | None = None, *,
                 head: bool = False) -> tuple[bytes | None, list[Diagnostic]]:
    """The bytes of a regular file, never more than `MAX_BYTES` of them.

    Devices, pipes, sockets and folders are refused without reading (a symlink to /dev/zero
    costs nothing), a file whose size is over the limit is refused from its size alone (a sparse
    2 GB file costs nothing), and a file that grows while read is cut at the limit. With
    `head=True` an oversized file gives its first `MAX_BYTES` instead of a refusal. Every problem
    (missing, unreadable, symlink loop) is one `io` diagnostic, never an exception.
    """
    file = file or display_path(path)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return None, [Diagnostic(file, 1, 1, "io", f"cannot read the file: {_not_regular(st.st_mode)}, "
                                     "not a regular file")]
        if st.st_size > MAX_BYTES and not head:
            return None, [_too_large(file, st.st_size)]
        # O_NONBLOCK: if the path was swapped for a pipe since the stat, opening it must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_BINARY", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None, [Diagnostic(file, 1, 1, "io", "cannot read the file: it is not a regular file")]
            chunks: list[bytes] = []
            n = 0
            while n <= MAX_BYTES:
                chunk = os.read(fd, MAX_BYTES + 1 - n)
                if not chunk:
                    break
                chunks.append(chunk)
                n += len(chunk)
        finally:
            os.close(fd)
    except OSError as e:
        return None, [Diagnostic(file, 1, 1, "io", f"cannot read the file: {(e.strerror or str(e)).lower()}")]
    data = b"".join(chunks)
    if len(data) > MAX_BYTES:
        if head:
            return data[:MAX_BYTES], []
        return None, [_too_large(file, None)]
    return data, []


def _line_col_of_offset(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset into UTF-8 `data`."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, len(data[start:offset].decode("utf-8", "replace")) + 1


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
        return None, [_too_large(file, len(data))]
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


# --------------------------------------------------------------------------- scalars (YAML 1.2 core schema)

# The implicit types of plain scalars, by first character, in the order YAML 1.2 tries them
# (the same patterns as ruamel's 1.2 resolver, so values read as they always did: `yes`/`no`/`on`
# stay strings, `0o17` is an int, `2026-11-01` a date).
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
                        |[-+]?\.(?:inf|Inf|INF)
                        |\.(?:nan|NaN|NAN))$""", re.X)
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULLS = re.compile(r"^(?:~|null|Null|NULL)$")
_TIMESTAMP = re.compile(r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                            |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
                            (?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
                            (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.X)
_MERGE = "tag:yaml.org,2002:merge"
_RESOLVERS: dict[str, list[tuple[str, Any]]] = {}
for _tag, _rx, _first in ((_T + "bool", _BOOL, "tTfF"), (_T + "float", _FLOAT, "-+0123456789."),
                          (_T + "int", _INT, "-+0123456789"), (_NULL, _NULLS, "~nN"),
                          (_T + "timestamp", _TIMESTAMP, "0123456789")):
    for _c in _first:
        _RESOLVERS.setdefault(_c, []).append((_tag, _rx))


def _resolve_plain(v: str) -> str:
    if not v:
        return _NULL
    if v == "<<":
        return _MERGE
    for tag, rx in _RESOLVERS.get(v[0], ()):
        if rx.match(v):
            return tag
    return _STR


def _scalar(v: str, tag: str) -> Any:
    """A scalar's value for its (allowed) tag; raises ValueError when it cannot be read as one."""
    if tag == _STR:
        return v
    if tag == _NULL:
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
    return v


# --------------------------------------------------------------------------- events -> positioned data

_SKIP = object()  # a mapping frame's key slot when the next value is to be skipped
_STARTS = (MappingStartEvent, SequenceStartEvent)


def _tag_words(tag: str) -> str:
    return tag.replace(_T, "!!")


class _Composer:
    """Builds PDict/PList/scalars from libyaml's events, refusing what a flow file must not contain.

    Iterative (no recursion, so depth costs no stack), one pass, aliases never followed.
    """

    def __init__(self, file: str):
        self.file = file
        self.diags: list[Diagnostic] = []

    def err(self, mark: Any, rule: str, msg: str) -> None:
        self.diags.append(Diagnostic(self.file, mark.line + 1, mark.column + 1, rule, msg))

    def refused(self, e: Any) -> str | None:
        """Why the node starting with event `e` is refused (anchors, aliases, tags), or None."""
        if e.__class__ is AliasEvent:
            return f"anchors and aliases are not allowed (*{e.anchor}); write the value out"
        if e.anchor is not None:
            return f"anchors and aliases are not allowed (&{e.anchor}); write the value out"
        tag = e.tag
        if tag is None or tag == "!":
            if e.__class__ is ScalarEvent and e.implicit[0] and e.value == "<<":
                return "merge keys (<<) are not allowed; write the values out"
            return None
        if tag not in _ALLOWED_TAGS:
            return f"tags are not allowed ({_tag_words(tag)}); remove the tag"
        fits = _SCALAR_TAGS if e.__class__ is ScalarEvent else {_MAP if e.__class__ is MappingStartEvent else _SEQ}
        if tag not in fits:
            kind = {ScalarEvent: "a scalar", MappingStartEvent: "a mapping"}.get(e.__class__, "a list")
            return f"the tag {_tag_words(tag)} does not fit {kind}; remove the tag"
        return None

    @staticmethod
    def skip(get: Any, e: Any) -> None:
        """Consume the rest of the node that starts with `e` (a whole subtree for a collection)."""
        if e.__class__ not in _STARTS:
            return
        depth = 1
        while depth:
            c = get().__class__
            if c is MappingStartEvent or c is SequenceStartEvent:
                depth += 1
            elif c is MappingEndEvent or c is SequenceEndEvent:
                depth -= 1

    def value(self, e: Any) -> Any:
        """The value of a scalar event (already checked by `refused`)."""
        v = e.value
        tag = e.tag
        if tag is None or tag == "!":
            if not e.implicit[0]:
                return v  # quoted or block scalar, or the non-specific tag `!`: a string
            if v and v[0] not in _RESOLVERS:
                return v  # the common case: a plain word
            tag = _resolve_plain(v)
            if tag is _STR:
                return v
        try:
            return _scalar(v, tag)
        except ValueError:
            self.err(e.start_mark, "yaml-syntax", f"cannot read {tag.replace(_T, '')} value {v!r}")
            return v

    def document(self, get: Any) -> Any:
        """The single document's root value; the parser stands after StreamStartEvent."""
        e = get()
        if e.__class__ is StreamEndEvent:
            return _EMPTY
        if e.__class__ is not DocumentStartEvent:  # pragma: no cover - libyaml always sends one
            self.err(e.start_mark, "yaml-syntax", "expected a document")
            return None
        root = self.root(get)
        get()  # DocumentEndEvent
        e = get()
        if e.__class__ is DocumentStartEvent:
            self.err(e.start_mark, "yaml-syntax",
                     "expected a single document in the stream: but found another document")
        return root

    def root(self, get: Any) -> Any:  # noqa: C901 - the hot loop of every flow read, kept flat
        """The document's root value, built from its events (the parser stands after DocumentStart)."""
        err = self.err
        value = self.value
        root: Any = None
        stack: list[tuple[Any, bool, Any, Any]] = []
        cur: Any = None  # the open PDict/PList (None at the root)
        is_map = False
        key: Any = None  # in a mapping: None = a key comes next; _SKIP = drop the next value
        kpos: Any = None
        while True:
            e = get()
            c = e.__class__
            if c is MappingEndEvent or c is SequenceEndEvent:
                cur, is_map, key, kpos = stack.pop()
                if cur is None:
                    return root
                continue
            m = e.start_mark
            if is_map and key is None:  # a mapping key
                if c is ScalarEvent and e.anchor is None and e.tag is None and e.value != "<<":
                    key = e.value
                    if key in cur.kpos:
                        err(m, "duplicate-key", f"duplicate key '{key}' (first at line {cur.kpos[key][0]})")
                        key = _SKIP
                    else:
                        kpos = (m.line + 1, m.column + 1)
                    continue
                why = self.refused(e)
                if why is None and c is ScalarEvent:  # a key with an allowed tag (`!!str 5: x`)
                    key = e.value
                    if key in cur.kpos:
                        err(m, "duplicate-key", f"duplicate key '{key}' (first at line {cur.kpos[key][0]})")
                        key = _SKIP
                    else:
                        kpos = (m.line + 1, m.column + 1)
                    continue
                why = why or "keys must be plain scalars"
                err(m, _rule(why, "yaml-syntax"), why)
                self.skip(get, e)
                key = _SKIP
                continue
            if key is _SKIP:
                self.skip(get, e)
                key = None
                continue
            lc = (m.line + 1, m.column + 1)
            if c is ScalarEvent:
                opens = False
                if e.anchor is None and e.tag is None and e.value != "<<":
                    v = value(e)
                else:
                    why = self.refused(e)
                    if why is None:
                        v = value(e)
                    else:
                        err(m, _rule(why, "yaml-tag"), why)
                        v = None
            elif c is AliasEvent or e.anchor is not None or e.tag is not None:
                why = self.refused(e)
                if why is not None:
                    err(m, _rule(why, "yaml-tag"), why)
                    self.skip(get, e)
                    v, opens = None, False
                else:
                    v, opens = (PDict(lc) if c is MappingStartEvent else PList(lc)), True
            elif len(stack) >= MAX_DEPTH:
                err(m, "yaml-syntax", f"nesting is too deep (over {MAX_DEPTH} levels)")
                self.skip(get, e)
                v, opens = None, False
            else:
                v, opens = (PDict(lc) if c is MappingStartEvent else PList(lc)), True
            if cur is None:
                root = v
            elif is_map:
                cur[key] = v
                cur.kpos[key] = kpos
                cur.vpos[key] = lc
                key = None
            else:
                cur.append(v)
                cur.ipos.append(lc)
            if opens:
                stack.append((cur, is_map, key, kpos))
                cur, is_map, key, kpos = v, c is MappingStartEvent, None, None
            elif cur is None:
                return root


def _rule(why: str, default: str) -> str:
    return "yaml-alias" if ("alias" in why or "merge" in why) else "yaml-tag" if "tag" in why else default


_EMPTY = object()


def _found(text: str, mark: Any) -> tuple[str, str]:
    """(the character at `mark`, a short description of what stands there) for error messages."""
    lines = text.split("\n", mark.line + 1)
    rest = lines[mark.line][mark.column:] if mark.line < len(lines) else ""
    if not rest.strip():
        later = mark.line + 1 < len(lines) and lines[mark.line + 1].strip()
        return "", "the end of the line" if later else "the end of the file"
    if rest[:1].isspace():
        return rest[:1], "a space"
    token = rest.split()[0]
    return rest[:1], repr(token if len(token) <= 20 else token[:17] + "...")


def _syntax_problem(e: MarkedYAMLError, text: str) -> tuple[int, int, str]:
    """(line, col, message) for a libyaml scanner/parser error, saying where it started and what was found."""
    mark = e.problem_mark or e.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = (e.problem or e.context or "YAML syntax error").replace("end of stream", "end of the file")
    if mark is not None:
        ch, found = _found(text, mark)
        if problem == "found character that cannot start any token":
            problem = f"found character '{ch}' that cannot start any token"
        elif problem == "found unknown escape character":
            problem = f"found unknown escape character '{text.split(chr(10))[mark.line][mark.column:mark.column + 2]}'"
        elif "end of the file" not in problem:
            problem = f"{problem}, found {found}"
    cm = e.context_mark
    if e.context and e.problem:
        started = cm is not None and mark is not None and (cm.line, cm.column) != (mark.line, mark.column)
        where = f" (started at {cm.line + 1}:{cm.column + 1})" if started else ""
        problem = f"{e.context}{where}: {problem}"
    return line, col, problem


def parse_text(text: str, file: str) -> tuple[Any, list[Diagnostic]]:
    """YAML text -> positioned plain data. Returns (None, diagnostics) when unusable."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        line = text.count("\n", 0, e.start) + 1
        col = e.start - (text.rfind("\n", 0, e.start) + 1) + 1
        return None, [Diagnostic(file, line, col, "bad-utf8", "text contains characters that are not valid UTF-8")]
    if size > MAX_BYTES:
        return None, [Diagnostic(file, 1, 1, "file-too-large", f"text is over the {MAX_BYTES} byte (1 MiB) limit")]
    tabs = _check_tabs(text, file)
    if tabs:
        return None, tabs
    b = _Composer(file)
    parser = CParser(text)
    try:
        parser.get_event()  # StreamStartEvent
        data = b.document(parser.get_event)
    except MarkedYAMLError as e:
        line, col, problem = _syntax_problem(e, text)
        return None, [Diagnostic(file, line, col, "yaml-syntax", problem)]
    except YAMLError as e:  # reader errors (control characters): the position is a byte offset
        pos = getattr(e, "position", None)
        line, col = _line_col_of_offset(text.encode("utf-8"), pos) if isinstance(pos, int) else (1, 1)
        msg = str(e).splitlines()[0] if str(e) else "YAML error"
        return None, [Diagnostic(file, line, col, "yaml-syntax", msg)]
    finally:
        parser.dispose()
    if data is _EMPTY:
        return None, [Diagnostic(file, 1, 1, "yaml-syntax", "the file is empty")]
    if b.diags:
        return None, b.diags
    return data, []


def parse_config(raw: bytes, file: str) -> Any:
    """A small hand-edited config file (the people file, the contact-time rules) -> plain data, read
    like a flow (no tags or aliases; a key written twice is an error, never the second silently
    replacing the first). Raises ValueError with one line, `file:line:col: ...`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{file}: not UTF-8 text (byte {e.start + 1})") from None
    data, diags = parse_text(text, file)
    if diags:
        d = diags[0]
        raise ValueError(f"{d.file}:{d.line}:{d.col}: not valid YAML ({d.message})")
    return data


def read_yaml(path: str | os.PathLike, file: str | None = None) -> tuple[Any, str | None, bytes | None,
                                                                          list[Diagnostic]]:
    """Read a YAML file safely: (data, text, raw bytes, diagnostics)."""
    file = file or display_path(path)
    data, diags = read_bounded(path, file)
    if data is None:
        return None, None, None, diags
    text, diags = decode(data, file)
    if text is None:
        return None, None, data, diags
    value, diags = parse_text(text, file)
    return value, text, data, diags
