"""Matching paths against a pattern, in time linear in the path's length times the pattern's.

No token but ``**`` crosses ``/``, so a path is matched component by component: each segment of
the pattern (``patterns.syntax``) matches exactly one component, and ``**`` any number of them
(at the end, at least one: ``dir/**`` does not match ``dir``). The segments are followed as a set
of positions, one step per component, so that every (component, segment) pair is tested at most
once. A segment is tested by string comparison when it is literal, by Python's ``re`` when it
has at most one star (a regex with one ``.*`` and no ``/`` to backtrack over tries each end of
that star once: linear), and by :func:`_wildcard` otherwise (the classic two-pointer algorithm,
which returns to the last star only).

:func:`covers` is the gate's rule: a lease covers a path when its pattern matches the path or one
of its parent directories. With ``casefold`` (``core.ignorecase``) ASCII letters match either case.

On the git hook's path: ``re`` is imported only to compile a segment that needs it.
"""

from __future__ import annotations

from maf_hooks.patterns import charsets, syntax
from maf_hooks.patterns.cache import Lru

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Callable

    Test = Callable[[str], bool]

_LOWER = {code: code + 32 for code in range(65, 91)}


def fold(text: str) -> str:
    """ASCII letters in lower case (git folds ASCII only)."""
    return text.translate(_LOWER)


def _any(component: str) -> bool:
    return True


def _char_test(chars: charsets.Intervals) -> Callable[[str], bool]:
    if charsets.size(chars) <= 64:
        members = frozenset(chr(code) for low, high in chars for code in range(low, high + 1))
        return members.__contains__
    return lambda char: charsets.contains(chars, ord(char))


def _single(chars: Any, casefold: bool) -> str | None:
    """The one character a set stands for on a (folded) path, or None."""
    if chars is syntax.STAR:
        return None
    members = [chr(code) for low, high in chars for code in range(low, min(high, low + 2) + 1)]
    if casefold:
        members = sorted({fold(member) for member in members})
    return members[0] if len(members) == 1 else None


def _class_text(chars: charsets.Intervals) -> str:
    import re

    if len(chars) == 1 and chars[0][0] == chars[0][1]:
        return re.escape(chr(chars[0][0]))
    head, others = "[", charsets.complement(chars) if chars else chars
    if chars and charsets.size(others) < charsets.size(chars):  # '[^/]', not every range but '/'
        head, chars = "[^\\x00", others  # NUL is in no path
    parts = [re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
             for low, high in chars]
    if head == "[" and not parts:
        return "(?!)"
    return head + "".join(parts) + "]"


def _regex_test(tokens: Sequence) -> Test:
    import re

    text = "".join(".*" if token is syntax.STAR else _class_text(token) for token in tokens)
    fullmatch = re.compile(text, re.DOTALL).fullmatch
    return lambda component: fullmatch(component) is not None


def _wildcard(tests: Sequence, component: str) -> bool:
    """Whether ``component`` matches tokens (None for a star, else a character test)."""
    i = j = 0
    star, mark = -1, 0
    n, m = len(component), len(tests)
    while i < n:
        if j < m and tests[j] is not None and tests[j](component[i]):
            i, j = i + 1, j + 1
        elif j < m and tests[j] is None:
            star, mark, j = j, i, j + 1
        elif star != -1:
            mark += 1
            i, j = mark, star + 1
        else:
            return False
    while j < m and tests[j] is None:
        j += 1
    return j == m


def segment_test(tokens: Sequence, casefold: bool = False, use_regex: bool = True) -> Test:
    """The test of one component against one segment's tokens (on a folded component with
    ``casefold``)."""
    singles = [_single(token, casefold) for token in tokens]
    if all(single is not None for single in singles):
        literal = "".join(singles)  # type: ignore[arg-type]
        return literal.__eq__
    stars = sum(token is syntax.STAR for token in tokens)
    if stars == 1 and len(tokens) == 1:
        return _any
    if stars <= 1 and use_regex:
        return _regex_test(tokens)
    tests = [None if token is syntax.STAR else _char_test(token) for token in tokens]
    return lambda component: _wildcard(tests, component)


def _linear_regex(segments: Sequence) -> str | None:
    """The whole pattern as a regex, for the shapes where ``re`` provably stays linear; else None.

    At most one star per segment: a star cannot cross the '/' that ends its component, so only one
    of its lengths reaches that '/' and a failure behind it costs no second pass over the path.
    At most one ``**``, after which only the last segment may have a star: its ``(?:.*/)?`` tries
    each '/' once, each try reads a fixed length and then one component with the last segment,
    and each component is that one for one try only.
    """
    stars = [-1 if segment is syntax.DSTAR else sum(token is syntax.STAR for token in segment) for segment in segments]
    if stars.count(-1) > 1 or max(stars) > 1:
        return None
    if -1 in stars and any(stars[stars.index(-1) + 1 : -1]):
        return None
    parts, last = [], len(segments) - 1
    for index, segment in enumerate(segments):
        if segment is syntax.DSTAR:
            parts.append(".*" if index == last else "(?:.*/)?")
            continue
        parts.append("".join("[^/]*" if token is syntax.STAR else _class_text(token) for token in segment))
        if index < last:
            parts.append("/")
    return "".join(parts)


class Compiled:
    """A pattern ready to match. ``regex`` is the text of :func:`_linear_regex` when the pattern's
    shape allows one (compiled on first use, for a match or for a match and what lies beneath);
    otherwise ``steps`` is a list of segment tests, None standing for ``**``."""

    __slots__ = ("casefold", "compiled", "fixed", "regex", "steps")

    def __init__(self, pattern: str, casefold: bool, use_regex: bool = True) -> None:
        segments = list(syntax.parse(pattern, casefold).segments)
        self.casefold = casefold
        self.regex = _linear_regex(segments) if use_regex else None
        self.compiled: dict = {}
        self.steps: list = []
        self.fixed = True
        if self.regex is not None:
            return
        if segments[-1] is syntax.DSTAR:  # at the end, '**' is at least one component
            segments[-1:] = [(syntax.STAR,), syntax.DSTAR]
        steps = self.steps
        for segment in segments:
            if segment is syntax.DSTAR:
                if not steps or steps[-1] is not None:
                    steps.append(None)
            else:
                steps.append(segment_test(segment, casefold, use_regex))
        self.fixed = None not in steps

    def _regex(self, prefixes: bool):
        import re  # only for a glob lease

        text = (self.regex or "") + ("(?:/.*)?" if prefixes else "")
        found = self.compiled[prefixes] = re.compile(text, re.DOTALL).fullmatch
        return found

    def run(self, path: str, prefixes: bool) -> bool:
        """Whether the path matches (or, with ``prefixes``, the path or one of its parents)."""
        if self.casefold:
            path = fold(path)
        if self.regex is not None:
            regex = self.compiled.get(prefixes) or self._regex(prefixes)
            return regex(path) is not None
        return self._components(path, prefixes)

    def tester(self, prefixes: bool) -> Callable[[str], object]:
        """:meth:`run` as a function of a path already folded (with ``casefold``) whose result is
        true or false: for the index, which tests many paths against one pattern."""
        if self.regex is not None:
            return self.compiled.get(prefixes) or self._regex(prefixes)
        return lambda path: self._components(path, prefixes)

    def _components(self, path: str, prefixes: bool) -> bool:
        components = path.split("/")
        steps = self.steps
        if self.fixed:
            count = len(steps)
            if len(components) < count or (len(components) > count and not prefixes):
                return False
            return all(test(component) for test, component in zip(steps, components))
        end = len(steps)
        current = self._closure({0})
        last = len(components) - 1
        for index, component in enumerate(components):
            following = set()
            for position in current:
                if position == end:
                    continue
                test = steps[position]
                if test is None:
                    following.add(position)
                elif test(component):
                    following.add(position + 1)
            current = self._closure(following)
            if end in current and (prefixes or index == last):
                return True
            if not current:
                return False
        return False

    def _closure(self, positions: set) -> set:
        steps, end = self.steps, len(self.steps)
        for position in list(positions):
            while position < end and steps[position] is None:
                position += 1
                positions.add(position)
        return positions


_compiled = Lru(4096, Compiled)


def compiled(pattern: str, casefold: bool = False) -> Compiled:
    return _compiled(pattern, casefold)


def matches(pattern: str, path: str, casefold: bool = False) -> bool:
    """Whether the pattern matches the whole repository-relative path (git's wildmatch with
    WM_PATHNAME, and WM_CASEFOLD with ``casefold``)."""
    return _compiled(pattern, casefold).run(path, False)


def covers(pattern: str, path: str, casefold: bool = False) -> bool:
    """The gate's rule: the pattern matches the path or one of its parent directories."""
    return _compiled(pattern, casefold).run(path, True)
