"""Lease patterns: validation, matching and an exact overlap test.

A lease pattern is repository-relative and anchored at the repository root, in git wildmatch
syntax (``*``, ``?``, ``[...]``, ``**``, backslash escapes).  ``*``, ``?`` and ``[...]`` never
match ``/``.  Which paths a pattern *matches* is defined by the ``pathspec`` library, with one
correction: ``compile_regex`` returns pathspec's regular expression for the pattern with every
bracket expression made unable to match ``/`` (pathspec hands ``[...]`` to Python's ``re`` as it
stands, so ``[!a]`` would match ``/``).  A repository-relative path is matched when that regex
matches at its start, so a pattern also matches everything beneath what it names: a changed
path beneath a match proves the match is a directory.

**Overlap readings.**  Two patterns overlap when some valid file path is *covered* by both.  A
pattern names paths that may not exist yet, so "a pattern naming a directory covers everything
beneath it" needs a syntactic reading.  A pattern is *file-like* when it does not end in ``/``,
its last segment is not ``**``, and its last segment contains a ``.`` that is not its first
character (``docs/x.txt``, ``*.md``, ``lib/x.py``, ``foo.d``); a file-like pattern covers its
matches only.  Every other pattern is *directory-capable* (``src``, ``src/``, ``src/*``,
``Makefile``, ``.github``, ``docs/**``, ``**``) and covers its matches and everything beneath
them.  So ``docs/**/*.md`` and ``docs/x.txt`` do not overlap, while ``src/a`` and ``**/x.py`` do
(``src/a/x.py``).  ``normalize(..., directory_slash=True)`` adds a trailing ``/`` to a literal
pattern naming an existing directory, so ``foo.d`` naming a real directory is read as one.

``overlaps`` decides exactly whether two patterns overlap.  It does not call pathspec; it
rebuilds the same language as a small automaton and searches a product:

1. **Automaton per pattern.**  The pattern is translated the way pathspec translates it (same
   segment rules, same special cases, same reading of ``[...]`` except that ``/`` is taken out
   of every bracket expression) but into a nondeterministic automaton instead of a regex.  Every
   transition reads one character accepted by a *predicate*, a set of code points kept as sorted
   disjoint intervals: a literal, "anything but ``/``" (for ``?`` and ``*``), a bracket
   expression, or "anything" (for ``**``).  The end of the pattern becomes an accepting state
   (the path ends there) plus, unless the pattern is read as file-like, a ``/`` into an
   accepting *sink* that loops on any character: that is the "and everything beneath" rule.
   Epsilon moves are folded away when the automaton is built, and automata are memoised per
   (pattern, reading).

2. **Product search.**  A search over triples (state in A, state in B, shape of the current
   path component).  A step is possible when the two predicates share a character; the
   characters of the intersection are sorted into three kinds (``/``, ``.``, anything else),
   which is all the third component needs: it tracks whether the component being read is empty,
   ``.``, ``..`` or an ordinary name, so that only *valid* file paths count as witnesses -- no
   empty component (no leading, doubled or trailing ``/``) and no ``.`` or ``..`` component.  An
   accepting triple is a common path, so the answer has neither false positives nor false
   negatives.

The universe of characters is every code point except NUL (impossible in a path) and newline
(pathspec's regexes use ``.`` and ``$``, which treat a newline specially; newline paths are
outside what leases reason about).

One quirk of pathspec is reproduced rather than corrected: ``**/``, ``**/*/`` and ``**/*/**``
compile to regexes that cover nothing.  ``normalize`` refuses patterns that cover no file at all,
with a hint, and a bracket expression whose range spans ``/`` (such as ``[+-0]``).

This module is imported on the git hook's hot path: it imports pathspec only inside
``compile_regex``.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections import deque
from typing import Dict, List, Optional, Sequence, Tuple

from maf_hooks.errors import UsageError

MAX_PATTERN_LENGTH = 4096
GLOB_CHARS = "*?[\\"

_META = "*?["
_ROOT_HINT = "to lease every file in the repository use '**'"

# --------------------------------------------------------------------------------------------
# Character sets ("predicates"): tuples of disjoint, sorted, inclusive (low, high) code points.
# --------------------------------------------------------------------------------------------

Intervals = Tuple[Tuple[int, int], ...]

_NEWLINE, _DOT, _SLASH = ord("\n"), ord("."), ord("/")
_UNIVERSE: Intervals = ((1, _NEWLINE - 1), (_NEWLINE + 1, 0x10FFFF))


def _merge(ranges: Sequence[Tuple[int, int]]) -> Intervals:
    """Sort and merge possibly overlapping ranges into canonical form."""
    merged: List[List[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((low, high) for low, high in merged)


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low <= high:
            out.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _complement(a: Intervals) -> Intervals:
    """Everything in the universe that is not in ``a``."""
    out = []
    start = 0
    for low, high in a:
        if start < low:
            out.append((start, low - 1))
        start = high + 1
    if start <= 0x10FFFF:
        out.append((start, 0x10FFFF))
    return _intersect(_UNIVERSE, tuple(out))


def _contains(a: Intervals, code: int) -> bool:
    return any(low <= code <= high for low, high in a)


def _size(a: Intervals) -> int:
    return sum(high - low + 1 for low, high in a)


# Predicates are interned: transitions carry small integers, and the "which kinds of character
# do these two predicates share" question is cached per pair of integers.
_PREDICATES: List[Intervals] = []
_PREDICATE_IDS: Dict[Intervals, int] = {}
_KIND_SLASH, _KIND_DOT, _KIND_OTHER = 1, 2, 4
_SHARED_KINDS: Dict[Tuple[int, int], int] = {}


def _predicate(intervals: Intervals) -> int:
    intervals = _intersect(_UNIVERSE, intervals)
    found = _PREDICATE_IDS.get(intervals)
    if found is None:
        found = _PREDICATE_IDS[intervals] = len(_PREDICATES)
        _PREDICATES.append(intervals)
    return found


def _literal(char: str) -> int:
    return _predicate(((ord(char), ord(char)),))


_NOT_SLASH_SET = _complement(((_SLASH, _SLASH),))
_ANY = _predicate(_UNIVERSE)
_NOT_SLASH = _predicate(_NOT_SLASH_SET)
_SLASH_ONLY = _literal("/")


def _shared_kinds(a: int, b: int) -> int:
    """Bit mask of the kinds of character (slash, dot, other) both predicates accept."""
    key = (a, b) if a <= b else (b, a)
    mask = _SHARED_KINDS.get(key)
    if mask is None:
        both = _intersect(_PREDICATES[a], _PREDICATES[b])
        has_slash, has_dot = _contains(both, _SLASH), _contains(both, _DOT)
        mask = (_KIND_SLASH if has_slash else 0) | (_KIND_DOT if has_dot else 0)
        if _size(both) > has_slash + has_dot:
            mask |= _KIND_OTHER
        _SHARED_KINDS[key] = mask
    return mask


# --------------------------------------------------------------------------------------------
# Pattern syntax, read the way pathspec reads it.
# --------------------------------------------------------------------------------------------


class _PatternError(ValueError):
    """A pattern pathspec cannot use; ``reason`` is a sentence fragment for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bracket_set(body: str) -> Intervals:
    """The characters of a bracket expression body, as Python's ``re`` reads ``[body]``.

    pathspec copies the body into the regex with every backslash doubled, so backslashes are
    ordinary characters here; ``x-y`` is a range unless the ``-`` is last; a leading ``]`` is
    literal (pathspec only passes a body with ``]`` in first position, if at all).
    """
    ranges = []
    k = 0
    while k < len(body):
        low = body[k]
        if k + 2 < len(body) and body[k + 1] == "-":
            high = body[k + 2]
            if ord(high) < ord(low):
                raise _PatternError(f"has the reversed range {low + '-' + high!r} in a bracket expression")
            ranges.append((ord(low), ord(high)))
            k += 3
        else:
            ranges.append((ord(low), ord(low)))
            k += 1
    return _merge(ranges)


def _bracket(segment: str, i: int) -> Tuple[int, int, bool]:
    """Read the bracket expression whose ``[`` is at ``segment[i - 1]``.

    Returns (predicate, next index, spans_slash).  The predicate never accepts ``/``;
    ``spans_slash`` tells that a positive expression, as written, has a range containing ``/``
    (``normalize`` refuses those: the author expected a '/' the expression cannot match).
    """
    end, j = len(segment), i
    if j < end and segment[j] in "!^":
        j += 1
    if j < end and segment[j] == "]":
        j += 1
    while j < end and segment[j] != "]":
        j += 1
    if j >= end:
        raise _PatternError(
            "has a '[' with no closing ']' in its path segment (pathspec would ignore the whole "
            "pattern); write '\\[' for a literal '['"
        )
    negate = segment[i] in "!^"
    chars = _bracket_set(segment[i + negate : j])
    accepted = _complement(chars) if negate else chars
    spans_slash = not negate and _contains(chars, _SLASH)
    return _predicate(_intersect(accepted, _NOT_SLASH_SET)), j + 1, spans_slash


# A token is (predicate, repeat): repeat means "zero or more" (only ``*`` within a segment).
Token = Tuple[int, bool]


def _segment_tokens(segment: str, slash_brackets: Optional[List[str]] = None) -> List[Token]:
    """Tokens of one path segment, as pathspec's segment glob translation reads it.

    The text of each positive bracket expression whose range spans ``/`` is appended to
    ``slash_brackets`` when given.
    """
    tokens: List[Token] = []
    i, end = 0, len(segment)
    while i < end:
        char = segment[i]
        i += 1
        if char == "\\":
            if i == end:
                raise _PatternError(
                    "has a backslash with nothing to escape at the end of a path segment "
                    "('/' cannot be escaped); write '\\\\' for a literal backslash"
                )
            tokens.append((_literal(segment[i]), False))
            i += 1
        elif char == "*":
            tokens.append((_NOT_SLASH, True))
        elif char == "?":
            tokens.append((_NOT_SLASH, False))
        elif char == "[":
            start = i - 1
            predicate, i, spans_slash = _bracket(segment, i)
            if spans_slash and slash_brackets is not None:
                slash_brackets.append(segment[start:i])
            tokens.append((predicate, False))
        else:
            tokens.append((_literal(char), False))
    return tokens


def _segments(pattern: str) -> Tuple[Optional[List[str]], bool, str]:
    """pathspec's view of ``'/' + pattern``: (segments, is_dir, special).

    ``special`` is ``''`` when the segments are to be translated, ``'all'`` or ``'none'`` when
    pathspec replaces the whole pattern by a regex that matches every path or no valid path.
    """
    text = "/" + pattern
    if not text.endswith("\\ "):
        text = text.rstrip()
    if text == "/":
        return None, False, "none"
    segments = text.split("/")[1:]
    is_dir = not segments[-1]
    if is_dir:
        segments[-1] = "**"
    for i in range(len(segments) - 1, 0, -1):
        if segments[i - 1] == "**" and segments[i] == "**":
            del segments[i]
    if segments == ["**"]:
        return None, is_dir, "none" if is_dir else "all"
    if segments == ["**", "*"]:
        return None, is_dir, "all"
    if segments == ["**", "*", "**"]:
        return None, is_dir, "none"
    return segments, is_dir, ""


# --------------------------------------------------------------------------------------------
# Automata.
# --------------------------------------------------------------------------------------------


class _Builder:
    """An automaton under construction, with epsilon moves; ``finish`` folds them away."""

    def __init__(self) -> None:
        self.moves: List[List[Tuple[int, int]]] = []
        self.epsilon: List[List[int]] = []
        self.final: List[bool] = []
        self.sink: Optional[int] = None
        self.slash_brackets: List[str] = []

    def state(self) -> int:
        self.moves.append([])
        self.epsilon.append([])
        self.final.append(False)
        return len(self.moves) - 1

    def step(self, source: int, predicate: int) -> int:
        target = self.state()
        self.moves[source].append((predicate, target))
        return target

    def repeat(self, source: int, predicate: int) -> int:
        """``predicate*`` after ``source``."""
        loop = self.state()
        self.epsilon[source].append(loop)
        self.moves[loop].append((predicate, loop))
        return loop

    def steps(self, source: int, predicates: Sequence[int]) -> int:
        for predicate in predicates:
            source = self.step(source, predicate)
        return source

    def optional(self, source: int, end: int) -> int:
        """Close an optional group that starts at ``source`` and was built up to ``end``."""
        join = self.state()
        self.epsilon[source].append(join)
        self.epsilon[end].append(join)
        return join

    def everything(self) -> int:
        """The accepting sink: from here on, anything (including nothing more)."""
        if self.sink is None:
            self.sink = self.state()
            self.final[self.sink] = True
            self.moves[self.sink].append((_ANY, self.sink))
        return self.sink

    def beneath(self, source: int) -> None:
        """``/`` followed by anything."""
        self.moves[source].append((_SLASH_ONLY, self.everything()))

    def finish(self, start: int) -> "_Nfa":
        moves, final = [], []
        for state in range(len(self.moves)):
            closure = self._closure(state)
            seen = {}
            for member in closure:
                for move in self.moves[member]:
                    seen[move] = None
            moves.append(tuple(seen))
            final.append(any(self.final[member] for member in closure))
        slash_bracket = self.slash_brackets[0] if self.slash_brackets else None
        return _Nfa(start, tuple(moves), tuple(final), slash_bracket)

    def _closure(self, state: int) -> List[int]:
        found, todo = [state], [state]
        while todo:
            for target in self.epsilon[todo.pop()]:
                if target not in found:
                    found.append(target)
                    todo.append(target)
        return found


class _Nfa:
    """An epsilon-free automaton: ``moves[state]`` is a tuple of (predicate id, target).

    ``slash_bracket`` is the first positive bracket expression of the pattern whose range
    spans ``/`` (the automaton leaves ``/`` out of it), or None.
    """

    __slots__ = ("start", "moves", "final", "slash_bracket")

    def __init__(self, start: int, moves: tuple, final: tuple, slash_bracket: Optional[str]) -> None:
        self.start, self.moves, self.final = start, moves, final
        self.slash_bracket = slash_bracket


def _translate(segments: List[str], builder: _Builder, start: int, file_like: bool) -> None:
    """Build the automaton of pathspec's segment-by-segment regex translation.

    With ``file_like`` the end of the last segment gets no "and everything beneath" move.
    """
    current, need_slash, last = start, False, len(segments) - 1
    for i, segment in enumerate(segments):
        if segment == "**":
            if i == 0:  # ^(?:.+/)?  -- any number of leading directories
                inner = builder.repeat(builder.step(current, _ANY), _ANY)
                current = builder.optional(current, builder.step(inner, _SLASH_ONLY))
            elif i < last:  # (?:/.+)?  -- then the next segment's '/'
                inner = builder.repeat(builder.steps(current, (_SLASH_ONLY, _ANY)), _ANY)
                current = builder.optional(current, inner)
                need_slash = True
            else:  # trailing '/': only what lies beneath
                builder.beneath(current)
            continue
        if need_slash:
            current = builder.step(current, _SLASH_ONLY)
        if segment == "*":  # a whole-segment '*' is [^/]+
            current = builder.repeat(builder.step(current, _NOT_SLASH), _NOT_SLASH)
        else:
            for predicate, repeat in _segment_tokens(segment, builder.slash_brackets):
                current = builder.repeat(current, predicate) if repeat else builder.step(current, predicate)
        if i == last:  # (?:/|$): the path ends here, or goes on beneath
            builder.final[current] = True
            if not file_like:
                builder.beneath(current)
        need_slash = True


@functools.lru_cache(maxsize=8192)
def _nfa(pattern: str, file_like: bool) -> _Nfa:
    """The memoised automaton of a pattern; raises ``_PatternError`` where pathspec fails.

    ``file_like=False`` is the matching language (what ``compile_regex`` matches);
    ``file_like=True`` drops "and everything beneath" after the last segment, which only
    changes patterns whose last segment is not ``**`` (``is_file_like`` patterns).
    """
    builder = _Builder()
    start = builder.state()
    segments, _is_dir, special = _segments(pattern)
    if special == "all":  # every non-empty path
        builder.moves[start].append((_ANY, builder.everything()))
    elif special == "" and segments is not None:
        _translate(segments, builder, start, file_like)
    return builder.finish(start)


_EVERYTHING = "**"

# Shape of the path component read so far: empty (start, or just after '/'), '.', '..', a name.
_EMPTY, _ONE_DOT, _TWO_DOTS, _NAME = 0, 1, 2, 3
_NEXT_SHAPE = {
    _KIND_SLASH: (None, None, None, _EMPTY),  # a component ends: it must be a name
    _KIND_DOT: (_ONE_DOT, _TWO_DOTS, _NAME, _NAME),
    _KIND_OTHER: (_NAME, _NAME, _NAME, _NAME),
}
_KINDS = (_KIND_OTHER, _KIND_SLASH, _KIND_DOT)  # names first: readable examples
# _STEPS[mask][shape]: the (kind, next shape) moves open to a shared-kinds mask from a shape.
_STEPS = tuple(
    tuple(
        tuple(
            (kind, _NEXT_SHAPE[kind][shape])
            for kind in _KINDS
            if mask & kind and _NEXT_SHAPE[kind][shape] is not None
        )
        for shape in range(4)
    )
    for mask in range(8)
)


def _search(a: _Nfa, b: _Nfa, want_path: bool = False):
    """Search the product for a valid path both automata accept.

    Returns True/False (depth first), or with ``want_path`` the shortest such path or None
    (breadth first).
    """
    start = (a.start, b.start, _EMPTY)
    parents: Dict[tuple, Optional[tuple]] = {start: None}
    pending = deque([start])
    take = pending.popleft if want_path else pending.pop
    a_moves, b_moves, a_final, b_final = a.moves, b.moves, a.final, b.final
    kinds_cache = _SHARED_KINDS
    while pending:
        state = take()
        qa, qb, shape = state
        if shape == _NAME and a_final[qa] and b_final[qb]:
            return _spell(state, parents) if want_path else True
        for pa, ta in a_moves[qa]:
            for pb, tb in b_moves[qb]:
                mask = kinds_cache.get((pa, pb) if pa <= pb else (pb, pa))
                if mask is None:
                    mask = _shared_kinds(pa, pb)
                for kind, next_shape in _STEPS[mask][shape]:
                    target = (ta, tb, next_shape)
                    if target not in parents:
                        parents[target] = (state, pa, pb, kind)
                        pending.append(target)
    return None if want_path else False


_PREFERRED = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"


def _pick(pa: int, pb: int, kind: int) -> str:
    """A readable character of the given kind accepted by both predicates."""
    if kind == _KIND_SLASH:
        return "/"
    if kind == _KIND_DOT:
        return "."
    both = _intersect(_PREDICATES[pa], _PREDICATES[pb])
    for char in _PREFERRED:
        if _contains(both, ord(char)):
            return char
    for low, high in both:
        for code in range(low, high + 1):
            if code not in (_DOT, _SLASH):
                return chr(code)
    raise AssertionError("no character of kind 'other' in the intersection")


def _spell(state: tuple, parents: Dict[tuple, Optional[tuple]]) -> str:
    chars = []
    link = parents[state]
    while link is not None:
        state, pa, pb, kind = link
        chars.append(_pick(pa, pb, kind))
        link = parents[state]
    return "".join(reversed(chars))


def _accepts(pattern: str, path: str, file_like: bool = False) -> bool:
    """Whether the automaton of ``pattern`` (read as file-like or not) accepts ``path``."""
    nfa = _nfa(pattern, file_like)
    current = {nfa.start}
    for char in path:
        code = ord(char)
        current = {
            target
            for state in current
            for predicate, target in nfa.moves[state]
            if _contains(_PREDICATES[predicate], code)
        }
    return any(nfa.final[state] for state in current)


# --------------------------------------------------------------------------------------------
# Public API.
# --------------------------------------------------------------------------------------------


def _refuse(raw: str, problem: str, accepted: str) -> UsageError:
    return UsageError(f"Invalid pattern {raw!r}: {problem}. {accepted}")


_ACCEPTED = (
    "A pattern is a path relative to the repository root (or an absolute path inside it) with "
    "optional git wildcards, e.g. 'src/app.py', 'docs/' or 'src/**/*.py'."
)


def _resolve(parts: Sequence[str], raw: str) -> List[str]:
    """Drop empty and '.' segments and resolve '..'; refuse a pattern that escapes the root."""
    out: List[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                raise _refuse(raw, "it leads outside the repository root", _ACCEPTED)
            out.pop()
        else:
            out.append(part)
    return out


def _absolute_segments(path: str) -> List[str]:
    """Syntactically normalised segments of an absolute path ('..' at '/' stays at '/')."""
    out: List[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return out


def _relative_to_root(raw: str, repo_root: str) -> List[str]:
    """The segments of absolute ``raw`` below the repository root, trying real paths too."""
    segments = _absolute_segments(raw)
    roots = [_absolute_segments(os.path.abspath(repo_root)), _absolute_segments(os.path.realpath(repo_root))]
    candidates = [segments]
    for keep in range(len(segments), 0, -1):
        existing = "/" + "/".join(segments[:keep])
        if os.path.lexists(existing):
            candidates.append(_absolute_segments(os.path.realpath(existing)) + segments[keep:])
            break
    for candidate in candidates:
        for root in roots:
            if candidate[: len(root)] == root:
                return candidate[len(root) :]
    raise _refuse(
        raw,
        f"it is an absolute path outside the repository {repo_root!r}",
        "Give a path inside the repository, absolute or relative to its root.",
    )


def _automaton(pattern: str, raw: Optional[str] = None, file_like: bool = False) -> _Nfa:
    """``_nfa`` with pathspec's failures reported as ``UsageError`` about ``raw``."""
    try:
        return _nfa(pattern, file_like)
    except _PatternError as error:
        raise _refuse(pattern if raw is None else raw, "it " + error.reason, _ACCEPTED) from None


def _covers_nothing(pattern: str) -> str:
    """Why a pattern whose automaton accepts no valid path covers nothing."""
    if _segments(pattern)[2] == "none":
        return (
            "it covers no file: pathspec reads '**/', '**/*/' and '**/*/**' as matching nothing "
            "(use '**' for every file, '*/**' for every file in a subdirectory)"
        )
    return "it covers no file: every path it could match has an empty, '.' or '..' component"


def normalize(raw: str, repo_root: str, *, directory_slash: bool = False) -> str:
    """Validate a user-given pattern and return its canonical repository-relative form.

    Absolute paths inside the repository become relative; './', '.' segments and repeated '/'
    disappear; '..' is resolved; a trailing '/' is kept.  Raises ``UsageError`` for an empty or
    multi-line pattern, one longer than ``MAX_PATTERN_LENGTH``, one outside the repository or
    naming the root itself, one ending in unescaped whitespace, one pathspec cannot use (lone
    trailing backslash, unclosed '[', reversed range), one with a bracket expression whose range
    spans '/' (brackets never match '/') and one that covers no file path.

    With ``directory_slash`` (for patterns to lease, not for paths to check) a literal pattern
    naming an existing directory under ``repo_root`` gets a trailing '/', so that it is read as
    directory-capable by ``overlaps`` even when its name looks like a file's (``foo.d``).  A
    symbolic link to a directory is a file to git and keeps its form.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise _refuse(raw, "it is empty", _ACCEPTED)
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"Invalid pattern {raw!r}: it is not valid UTF-8. Patterns are text; name such a file "
            "through a glob instead (for example 'src/bad*.txt')."
        ) from None
    if any(char in raw for char in "\0\n\r"):
        raise _refuse(raw, "it contains a NUL, newline or carriage-return character", "A pattern is one line of text.")
    if len(raw) > MAX_PATTERN_LENGTH:
        raise UsageError(
            f"Invalid pattern {raw[:60]!r}...: it is {len(raw)} characters long. "
            f"Patterns are at most {MAX_PATTERN_LENGTH} characters."
        )
    if not raw.strip("/"):
        raise _refuse(raw, "it names the repository root itself", f"Name files or directories inside it; {_ROOT_HINT}.")
    is_dir = raw.endswith("/")
    if os.path.isabs(raw):
        segments = _relative_to_root(raw, repo_root)
    else:
        segments = raw.split("/")
    segments = _resolve(segments, raw)
    if not segments:
        raise _refuse(raw, "it names the repository root itself", f"Name files or directories inside it; {_ROOT_HINT}.")
    pattern = "/".join(segments) + ("/" if is_dir else "")
    text = "/" + pattern
    if not text.endswith("\\ ") and text.rstrip() != text:
        raise _refuse(
            raw,
            "it ends with whitespace, which git patterns ignore",
            "Remove it, or write '\\ ' for a file name that really ends with a space.",
        )
    nfa = _automaton(pattern, raw)
    if nfa.slash_bracket is not None:
        raise _refuse(
            raw,
            f"its bracket expression {nfa.slash_bracket!r} has a range that spans '/'",
            "A bracket expression never matches '/', which separates directories: list the "
            "characters on either side of '/' instead (e.g. '[+-.0-9]' rather than '[+-9]'), "
            "or use '**' to match across directories.",
        )
    if not _search(nfa, _nfa(_EVERYTHING, False)):
        raise _refuse(raw, _covers_nothing(pattern), _ACCEPTED)
    if directory_slash and not pattern.endswith("/") and is_literal(pattern):
        target = os.path.join(repo_root, unescape(pattern))
        if os.path.isdir(target) and not os.path.islink(target):
            pattern += "/"
    return pattern


def _set_char(regex: str, j: int) -> Tuple[int, int]:
    """One character of a regex set at ``regex[j]``: (code point, next index).

    pathspec doubles every backslash of a bracket body, so an escape here is ``\\\\`` (or, in
    general, a backslash before a non-alphanumeric character, which stands for that character).
    """
    if regex[j] == "\\":
        return ord(regex[j + 1]), j + 2
    return ord(regex[j]), j + 1


def _regex_set(regex: str, j: int) -> Tuple[bool, Intervals, int, int]:
    """Parse the regex set whose ``[`` is at ``regex[j]`` the way Python's ``re`` parses it.

    Returns (negated, characters, insert, end): ``insert`` is an index where a '/' can be
    inserted to join the set as a single character without changing how anything else in the
    set is read, and ``end`` is one past the closing ``]``.  As in ``re``: a ``]`` closes the set
    unless it is its first item; ``x-y`` is a range unless the ``-`` is followed by the closing
    ``]``, in which case ``x`` and ``-`` are single characters.

    ``insert`` is right before the closing ``]`` (after a complete item, so the '/' is read
    alone), except in the ``x-]`` case, where it is right before that ``-``: ``x`` is then
    followed by '/' rather than '-', so it stays a single character, and '/-]' reads as '/' and
    '-'.
    """
    j += 1
    negated = regex[j] == "^"
    j += negated
    ranges: List[Tuple[int, int]] = []
    while True:
        if regex[j] == "]" and ranges:
            return negated, _merge(ranges), j, j + 1
        low, j = _set_char(regex, j)
        if regex[j] != "-":
            ranges.append((low, low))
        elif regex[j + 1] == "]":
            ranges.extend(((low, low), (ord("-"), ord("-"))))
            return negated, _merge(ranges), j, j + 2
        else:
            high, j = _set_char(regex, j + 1)
            ranges.append((low, high))


def _exclude_slash(regex: str) -> str:
    """pathspec's regex with every character set made unable to match '/'.

    A negated set gets a '/' inserted (``[^a]`` -> ``[^a/]``) where ``_regex_set`` shows it joins
    the set on its own; pathspec's own ``[^/]`` already excludes it.  A positive set that
    contains '/' (a range such as ``[+-0]``, refused by ``normalize``) is preceded by ``(?!/)``.
    Outside sets, a backslash escapes the next character (pathspec writes ``\\[`` for a literal
    ``[``), so a set starts at every other ``[``.
    """
    if "[" not in regex:
        return regex
    out: List[str] = []
    i, end = 0, len(regex)
    while i < end:
        char = regex[i]
        if char == "\\":
            out.append(regex[i : i + 2])
            i += 2
        elif char == "[":
            negated, chars, insert, close = _regex_set(regex, i)
            if not _contains(chars, _SLASH):
                out.append(regex[i:insert] + "/" + regex[insert:close] if negated else regex[i:close])
            else:
                out.append(regex[i:close] if negated else "(?!/)" + regex[i:close])
            i = close
        else:
            out.append(char)
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def compile_regex(pattern: str) -> str:
    """The regex string (for ``re.match`` against repository-relative paths) of a normalised pattern.

    pathspec's regex, with every bracket expression made unable to match '/'.
    """
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    try:
        regex, _include = GitIgnoreSpecPattern.pattern_to_regex("/" + pattern)
    except ValueError as error:
        raise UsageError(f"Invalid pattern {pattern!r}: {error}. {_ACCEPTED}") from None
    if regex is None:
        raise UsageError(f"Invalid pattern {pattern!r}: it matches nothing. {_ACCEPTED}")
    return _exclude_slash(regex)


BENEATH_TAIL = "(?:(?P<ps_d>/)|$)"  # how pathspec ends a regex: the path ends here, or goes on beneath


def lease_regex(pattern: str) -> str:
    """The regex a lease on ``pattern`` matches changed paths with (stored with the lease).

    ``compile_regex`` under the lease's own reading, the one ``overlaps`` uses: a file-like pattern
    (``is_file_like``) covers its matches only, so its regex must end where the path ends; any
    other pattern also covers what lies beneath its matches. Matching and overlap therefore agree,
    and two agents are never granted leases that the hook would both enforce on one path."""
    regex = compile_regex(pattern)
    if is_file_like(pattern) and regex.endswith(BENEATH_TAIL):
        return regex[: -len(BENEATH_TAIL)] + "$"
    return regex


@functools.lru_cache(maxsize=8192)
def _compiled(pattern: str) -> "re.Pattern[str]":
    regex = compile_regex(pattern)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "possible nested set" and the like
            return re.compile(regex)
    except re.error as error:
        raise UsageError(f"Invalid pattern {pattern!r}: {error}. {_ACCEPTED}") from None


def matches(pattern: str, path: str) -> bool:
    """Whether the pattern covers the repository-relative path (or one of its parents)."""
    return _compiled(pattern).match(path) is not None


def _has_meta(segment: str) -> bool:
    """Whether the segment has an unescaped '*', '?' or '['."""
    i = 0
    while i < len(segment):
        if segment[i] == "\\":
            i += 2
            continue
        if segment[i] in _META:
            return True
        i += 1
    return False


def unescape(text: str) -> str:
    """The text with each backslash escape replaced by the character it escapes."""
    if "\\" not in text:
        return text
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def is_literal(pattern: str) -> bool:
    """True when the pattern has no unescaped glob character: it names one path (and matches
    what lies beneath it).  ``unescape(pattern)`` is that path, with its trailing '/' if any."""
    return not _has_meta(pattern)


def literal_prefix(pattern: str) -> str:
    """The leading directories of the pattern without glob characters, unescaped, ending in '/'.

    ``'src/a/*.py'`` -> ``'src/a/'``, ``'docs/**/x'`` -> ``'docs/'``, ``'*.py'`` -> ``''``,
    ``'src/'`` -> ``'src/'``, ``'src/a.py'`` -> ``'src/'``.  Every path the pattern covers starts
    with it.
    """
    segments = pattern.split("/")[:-1]  # the last piece is not followed by '/': not a directory
    prefix = []
    for segment in segments:
        if _has_meta(segment):
            break
        prefix.append(unescape(segment) + "/")
    return "".join(prefix)


def is_file_like(pattern: str) -> bool:
    """Whether ``overlaps`` reads the pattern as naming files only (see the module docstring).

    True when the pattern does not end in '/', its last segment is not ``**``, and its last
    segment contains a '.' after its first character: ``docs/x.txt``, ``*.md``, ``foo.d``, but
    not ``src``, ``src/*``, ``.github`` or ``docs/**``.  An escaped first character counts as
    the first character (``\\.github`` is read like ``.github``).
    """
    if pattern.endswith("/"):
        return False
    last = pattern[pattern.rfind("/") + 1 :]
    if last == "**":
        return False
    if last.startswith("\\"):
        last = last[1:]
    return "." in last[1:]


def _nested(a: str, b: str) -> bool:
    """Whether one of two '/'-terminated prefixes starts with the other."""
    return a.startswith(b) or b.startswith(a)


def _literal_covers(pattern: str, path: str) -> bool:
    """Whether a literal pattern covers the valid path under its overlap reading."""
    target = unescape(pattern)
    if target.endswith("/"):  # only what lies beneath
        return path.startswith(target)
    return path == target or (not is_file_like(pattern) and path.startswith(target + "/"))


def overlaps(a: str, b: str) -> bool:
    """True iff some valid file path is covered by both (normalised) patterns.  Exact.

    A file-like pattern covers its matches only, a directory-capable one its matches and
    everything beneath them (see ``is_file_like``).
    """
    if a == b:
        return True
    if not _nested(literal_prefix(a), literal_prefix(b)):
        return False
    file_a, file_b = is_file_like(a), is_file_like(b)
    if is_literal(a) and is_literal(b):
        # A literal names one path; it covers that path (unless it ends in '/') and, unless it
        # is file-like, everything beneath it.
        if file_a:
            return _literal_covers(b, unescape(a))
        if file_b:
            return _literal_covers(a, unescape(b))
        return _nested(unescape(a).rstrip("/") + "/", unescape(b).rstrip("/") + "/")
    # a file-like literal covers exactly one path: the other pattern overlaps it iff it covers that
    # path (no product search, and no automaton for the literal: leases are mostly such paths)
    if file_a and is_literal(a):
        return _accepts(b, unescape(a), file_b)
    if file_b and is_literal(b):
        return _accepts(a, unescape(b), file_a)
    return _search(_automaton(a, file_like=file_a), _automaton(b, file_like=file_b))


def example_overlap(a: str, b: str) -> Optional[str]:
    """A shortest valid path covered by both patterns, or None when they do not overlap."""
    if not _nested(literal_prefix(a), literal_prefix(b)):
        return None
    nfa_a = _automaton(a, file_like=is_file_like(a))
    return _search(nfa_a, _automaton(b, file_like=is_file_like(b)), want_path=True)
