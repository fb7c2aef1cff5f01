"""Words that may mean a free-text note holds health or life-event details (special-category data).

The lists are data the trainers keep: `resources/sensitive_words/{en,da,cs}.yaml`, each a consent
`purpose` and a list of `words` (a word, a phrase, or a stem ending in `*`). `SensitiveWords.find(text)`
says which words of a note matched: whole words, case-insensitive, and diacritics either way
("kræft" = "kraeft", "rakovina" = "rakovína"; æ/ø/å as ae/oe/aa). All three lists are checked on every
note, whatever the call's language (an agent may write a word in any of them).

The rule that uses them is the gate's (`callguide.engine.policy.note_refusal`): a note that matches
is saved only under a consent in force for the lists' purpose. `CALLGUIDE_SENSITIVE_WORDS` names
another folder; a `CALLGUIDE_RESOURCES` folder without `sensitive_words/` uses the bundled lists.
A list that cannot be read is one line (`file:line:col: what`), never a traceback. No Qt.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from callguide.flow import yamlsafe

if TYPE_CHECKING:
    from callguide.engine.policy import TypedText

LANGS = ("en", "da", "cs")
#: A word is letters only: "has_cancer", "2cancer", "cancer_2" are read as the words they show (with `\w`,
#: the underscore and digits joined them into one token no list entry starts or is).
_WORD = re.compile(r"[^\W\d_]+")
_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})
#: Letters of other scripts that look exactly like a Latin letter, folded to it: "cаncer" with a
#: Cyrillic а is read as "cancer" by every person and must be found as such. Only lowercase forms
#: (folding casefolds first), only letters that render identical in the fonts the window uses; no
#: list of ours is written in these scripts (en, da, cs), so folding them costs no match. (Unicode's
#: confusables table has thousands of entries and no kept library ships it; these are the ones that
#: spell English, Danish and Czech words.)
_LOOKALIKE = str.maketrans({
    "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
    "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w", "ӏ": "l", "ԁ": "d",
    "ɡ": "g", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ı": "i",
})
#: Characters that show nothing (zero-width space and joiners, soft hyphen, word joiner, byte-order
#: mark, direction marks): "can\u200bcer" shows as "cancer" and is read as it.
_INVISIBLE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")  # combining marks
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_STEM = 3


class SensitiveWordsError(ValueError):
    """A word list that cannot be used (one line, with its file:line)."""


def fold(text: str) -> str:
    """Case and diacritics folded: "Kræft" -> "kraeft", "Rakovína" -> "rakovina"."""
    t = text.casefold()
    if t.isascii():
        return t
    t = unicodedata.normalize("NFC", _INVISIBLE.sub("", t)).translate(_DANISH).translate(_LOOKALIKE)
    return _MARKS.sub("", unicodedata.normalize("NFKD", t))


@dataclass(frozen=True)
class Entry:
    words: tuple[str, ...]   # folded words of the phrase
    stem: bool               # the last word is a stem (`*`)
    lang: str
    text: str                # as the trainers wrote it

    def matches(self, tokens: list[str], i: int) -> bool:
        n = len(self.words)
        if i + n > len(tokens):
            return False
        for k, w in enumerate(self.words):
            t = tokens[i + k]
            if k == n - 1 and self.stem:
                if not t.startswith(w):
                    return False
            elif t != w:
                return False
        return True


@dataclass(frozen=True)
class SensitiveWords:
    purpose: str
    entries: tuple[Entry, ...]
    source: str

    def __post_init__(self) -> None:
        # candidates per word: by the whole first word, or (a one-word stem) by its first letters
        by_word: dict[str, list[Entry]] = {}
        by_stem: dict[str, list[Entry]] = {}
        for e in self.entries:
            if e.stem and len(e.words) == 1:
                by_stem.setdefault(e.words[0][:MIN_STEM], []).append(e)
            else:
                by_word.setdefault(e.words[0], []).append(e)
        for lists in (by_word, by_stem):
            for k, v in lists.items():
                lists[k] = sorted(v, key=lambda e: -len(e.words))  # the longest phrase first
        object.__setattr__(self, "_by_word", by_word)
        object.__setattr__(self, "_by_stem", by_stem)

    def find(self, text: str) -> list[str]:
        """The words or phrases of `text` that are on a list, as they were typed, in order, once each."""
        if not self._any(text or ""):
            return []  # most notes: one pass over the folded text, no word-by-word work
        text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text or ""))  # as it shows ("can\u200bcer")
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        tokens = [fold(text[a:b]) for a, b in spans]
        found: list[str] = []
        by_word: dict[str, list[Entry]] = self._by_word  # type: ignore[attr-defined]
        by_stem: dict[str, list[Entry]] = self._by_stem  # type: ignore[attr-defined]
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            candidates = by_word.get(tok, []) + by_stem.get(tok[:MIN_STEM], [])
            hit = next((e for e in candidates if e.matches(tokens, i)), None)
            if hit is None:
                i += 1
                continue
            j = i + len(hit.words)
            words = text[spans[i][0]:spans[j - 1][1]]
            if words.casefold() not in (f.casefold() for f in found):
                found.append(words)
            i = j
        return found

    def _any(self, text: str) -> bool:
        tokens = _WORD.findall(fold(text))
        by_word: dict[str, list[Entry]] = self._by_word  # type: ignore[attr-defined]
        by_stem: dict[str, list[Entry]] = self._by_stem  # type: ignore[attr-defined]
        for i, tok in enumerate(tokens):
            for e in by_word.get(tok, ()):
                if e.matches(tokens, i):
                    return True
            for e in by_stem.get(tok[:MIN_STEM], ()):
                if e.matches(tokens, i):
                    return True
        return False

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and bool(self.find(text))


def check(action: str, text: str, consent_in_force: Callable[[str], bool], *, escalation: bool = False,
          sealable: bool = True) -> TypedText:
    """The typed-text rule (`policy.typed_text`) for a text a person typed outside a call (the
    console, `callguide review`): these lists, then the rule. SensitiveWordsError (one line) when
    a list cannot be read: the caller saves nothing (fail closed)."""
    from callguide.engine.policy import typed_text

    words = load()
    return typed_text(action, text, words.find(text), words.purpose, consent_in_force, escalation=escalation,
                      sealable=sealable)


def words_dir() -> Path:
    env = os.environ.get("CALLGUIDE_SENSITIVE_WORDS")
    if env:
        return Path(env)
    from callguide.paths import _root, resources_dir

    own = resources_dir() / "sensitive_words"  # a resources folder of one's own may leave them out:
    return own if own.is_dir() else _root() / "resources" / "sensitive_words"  # then the bundled lists


def load(directory: str | os.PathLike[str] | None = None) -> SensitiveWords:
    """The word lists (cached until a file changes). SensitiveWordsError, one line, if one is unusable."""
    key = str(directory) if directory is not None else "$" + os.environ.get("CALLGUIDE_SENSITIVE_WORDS", "") \
        + os.environ.get("CALLGUIDE_RESOURCES", "")
    now = time.monotonic()
    last = _LAST.get(key)
    if last is not None and now - last[0] < RECHECK_SECONDS:
        return last[1]  # the files are looked at again at most once a second
    d = Path(directory) if directory is not None else words_dir()
    stamps = tuple(_mtime(d / f"{lang}.yaml") for lang in LANGS)
    words = _load_cached(str(d), stamps)
    _LAST[key] = (now, words)
    return words


#: How often `load` looks at the files again (a trainer's edit counts from the next note after it).
RECHECK_SECONDS = 1.0
_LAST: dict[str, tuple[float, SensitiveWords]] = {}


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime_ns
    except OSError:
        return -1.0


@lru_cache(maxsize=4)
def _load_cached(directory: str, _stamps: tuple[float, ...]) -> SensitiveWords:
    entries: list[Entry] = []
    purposes: dict[str, str] = {}
    for lang in LANGS:
        path = Path(directory) / f"{lang}.yaml"
        file = yamlsafe.display_path(path)
        raw, diags = yamlsafe.read_bounded(path, file)
        data = None
        if raw is not None:
            text, diags = yamlsafe.decode(raw, file)
            if text is not None:
                data, diags = yamlsafe.parse_text(text, file)
        if diags:
            d = diags[0]
            raise SensitiveWordsError(f"{d.file}:{d.line}:{d.col}: sensitive words: {d.message}")
        purpose, mine = _read(data, file, lang)
        purposes[lang] = purpose
        entries += mine
    if len(set(purposes.values())) != 1:
        raise SensitiveWordsError(f"{directory}: every word list must name the same consent purpose; got "
                                  + ", ".join(f"{k}: {v}" for k, v in purposes.items()))
    return SensitiveWords(purposes["en"], tuple(entries), directory)


def _read(data: object, file: str, lang: str) -> tuple[str, list[Entry]]:
    if not isinstance(data, dict):
        raise SensitiveWordsError(f"{file}:1:1: sensitive words: expected a mapping with `purpose` and `words`")
    lc = getattr(data, "lc", (1, 1))
    extra = sorted(set(map(str, data)) - {"purpose", "words"})
    if extra:
        line, col = getattr(data, "kpos", {}).get(extra[0], lc)
        raise SensitiveWordsError(f"{file}:{line}:{col}: sensitive words: unknown key {extra[0]!r} "
                                  "(keys: purpose, words)")
    purpose = data.get("purpose")
    if not isinstance(purpose, str) or not _PURPOSE.match(purpose):
        line, col = getattr(data, "vpos", {}).get("purpose", lc)
        raise SensitiveWordsError(f"{file}:{line}:{col}: sensitive words: `purpose` must be a consent purpose "
                                  "like health_disclosure")
    words = data.get("words")
    if not isinstance(words, list) or not words:
        line, col = getattr(data, "vpos", {}).get("words", lc)
        raise SensitiveWordsError(f"{file}:{line}:{col}: sensitive words: `words` must be a list of words")
    out: list[Entry] = []
    positions = getattr(words, "ipos", [])
    for i, w in enumerate(words):
        line, col = positions[i] if i < len(positions) else lc
        where = f"{file}:{line}:{col}: sensitive words:"
        if not isinstance(w, str) or not w.strip():
            raise SensitiveWordsError(f"{where} each entry is a word, a phrase or a stem ending in *; got {w!r}")
        src = w.strip()
        stem = src.endswith("*")
        body = src[:-1] if stem else src
        if "*" in body:
            raise SensitiveWordsError(f"{where} {src!r}: * only at the end of an entry (a stem)")
        folded = _WORD.findall(fold(body))
        if not folded or "".join(folded) != re.sub(r"[\s\-'’]+", "", fold(body)):
            raise SensitiveWordsError(f"{where} {src!r}: only letters, spaces and hyphens, please")
        if stem and len(folded[-1]) < MIN_STEM:
            raise SensitiveWordsError(f"{where} {src!r}: a stem needs at least {MIN_STEM} letters "
                                      "(it would match too many words)")
        out.append(Entry(tuple(folded), stem, lang, src))
    return purpose, out
