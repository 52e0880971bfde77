"""The one parser of lease patterns: git's wildmatch with WM_PATHNAME, read into segments.

A pattern is read character by character, as git reads it. An unbracketed ``/`` ends a segment.
Each segment is either :data:`DSTAR` (a whole segment of two or more stars: any number of
directories) or a tuple of tokens, each token :data:`STAR` (a run of stars inside a segment: any
run of characters but ``/``) or a character set (``?``, ``[...]``, a literal, an escaped
character) as intervals of code points from which ``/`` is taken out (in WM_PATHNAME mode
nothing but ``/`` itself matches ``/``).

Bracket expressions follow git: ``!`` or ``^`` first negates; a ``]`` first is literal; ``x-y``
is a range unless the ``-`` is last or follows a range or a class; ``[:name:]`` is a POSIX class
(an unknown name is an error, a ``[:`` without ``:]`` is a literal ``[``); a backslash escapes
the next character, also as the end of a range. A trailing ``/`` reads as ``/**``: what lies
beneath. With ``casefold`` every set also holds the other case of its ASCII letters before a
negation applies, which is git's WM_CASEFOLD.

:func:`parse` also returns the pattern's canonical text (star runs collapsed: ``a/***/b`` is
``a/**/b``, ``a**b`` is ``a*b``) and the first bracket expression whose set holds ``/``.
"""

from __future__ import annotations

from maf_hooks.patterns import GLOB_CHARS, charsets, has_glob_chars
from maf_hooks.patterns.cache import Lru

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Union

    from maf_hooks.patterns.charsets import Intervals

    Token = Union[str, Intervals]
    Segment = Union[str, tuple[Token, ...]]

STAR = "*"
DSTAR = "**"
_META = "*?["
_NOT_SLASH = charsets.without_slash(charsets.UNIVERSE)


class PatternError(ValueError):
    """A pattern that cannot be read; ``reason`` is a sentence fragment for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Parsed:
    """What :func:`parse` returns: ``segments``, ``text`` (canonical) and ``slash_bracket``."""

    __slots__ = ("segments", "slash_bracket", "text")

    def __init__(self, segments: tuple, text: str, slash_bracket: str | None) -> None:
        self.segments, self.text, self.slash_bracket = segments, text, slash_bracket


def _escaped(pattern: str, i: int) -> str:
    """The character a backslash at ``pattern[i - 1]`` escapes."""
    if i >= len(pattern):
        raise PatternError(
            "has a backslash with nothing to escape at its end; write '\\\\' for a literal backslash"
        )
    if pattern[i] == "/":
        raise PatternError("has a backslash before '/', which cannot be escaped (it separates directories)")
    return pattern[i]


def _bracket(pattern: str, i: int) -> tuple[Intervals, bool, int]:
    """Read the bracket expression whose ``[`` is at ``pattern[i - 1]``: (set, negated, end)."""
    end = len(pattern)
    negated = i < end and pattern[i] in "!^"
    i += negated
    ranges: list[tuple[int, int]] = []
    previous: int | None = None  # the last single character, which may start a range
    first = True
    while True:
        if i >= end:
            raise PatternError("has a '[' with no closing ']'; write '\\[' for a literal '['")
        char = pattern[i]
        if char == "]" and not first:
            return charsets.merge(ranges), negated, i + 1
        first = False
        if char == "\\":
            code = ord(_escaped(pattern, i + 1))
            ranges.append((code, code))
            previous, i = code, i + 2
        elif char == "-" and previous is not None and i + 1 < end and pattern[i + 1] != "]":
            i += 1
            high = pattern[i]
            if high == "\\":
                high = _escaped(pattern, i + 1)
                i += 1
            if ord(high) < previous:
                raise PatternError(f"has the reversed range {chr(previous) + '-' + high!r} in a bracket expression")
            ranges.append((previous, ord(high)))
            previous, i = None, i + 1
        elif char == "[" and pattern.startswith(":", i + 1):
            close = pattern.find("]", i + 2)
            if close == -1:
                raise PatternError("has a '[' with no closing ']'; write '\\[' for a literal '['")
            name = pattern[i + 2 : close - 1] if pattern[close - 1] == ":" and close - 1 >= i + 2 else None
            if name is None:  # no ':]': a literal '['
                ranges.append((ord("["), ord("[")))
                previous, i = ord("["), i + 1
                continue
            if name not in charsets.CLASSES:
                raise PatternError(f"has the unknown character class '[:{name}:]'")
            ranges.extend(charsets.CLASSES[name])
            previous, i = None, close + 1
        else:
            ranges.append((ord(char), ord(char)))
            previous, i = ord(char), i + 1


def _set(chars: Intervals, negated: bool, casefold: bool) -> Intervals:
    if not (negated or casefold) and len(chars) == 1 and chars[0][0] == chars[0][1] != charsets.SLASH:
        return chars  # a literal, the common case
    if casefold:
        chars = charsets.fold_case(chars)
    return charsets.without_slash(charsets.complement(chars) if negated else chars)


def _parse(pattern: str, casefold: bool) -> Parsed:
    segments: list = []
    tokens: list = []
    text: list[str] = []
    slash_bracket = None
    i, end, start = 0, len(pattern), 0
    while i < end:
        char = pattern[i]
        if char == "/":
            segments.append(tuple(tokens))
            tokens = []
            text.append("/")
            i += 1
            start = i
        elif char == "*":
            j = i
            while j < end and pattern[j] == "*":
                j += 1
            if j - i >= 2 and i == start and (j == end or pattern[j] == "/"):
                segments.append(DSTAR)
                text.append(DSTAR)
                i = j
                if i < end:  # the '/' after it
                    text.append("/")
                    i += 1
                    start = i
                else:
                    start = -1
                continue
            if not tokens or tokens[-1] is not STAR:
                tokens.append(STAR)
                text.append("*")
            i = j
        elif char == "?":
            tokens.append(_NOT_SLASH)
            text.append("?")
            i += 1
        elif char == "[":
            chars, negated, j = _bracket(pattern, i + 1)
            if slash_bracket is None and not negated and charsets.contains(chars, charsets.SLASH):
                slash_bracket = pattern[i:j]
            tokens.append(_set(chars, negated, casefold))
            text.append(pattern[i:j])
            i = j
        else:
            if char == "\\":
                char = _escaped(pattern, i + 1)
                text.append(pattern[i : i + 2])
                i += 2
            else:
                text.append(char)
                i += 1
            tokens.append(_set(((ord(char), ord(char)),), False, casefold))
    if start != -1:  # the last segment was not '**'
        if tokens or not segments:
            segments.append(tuple(tokens))
        else:  # a trailing '/': what lies beneath
            segments.append(DSTAR)
    return Parsed(tuple(segments), "".join(text), slash_bracket)


_parsed = Lru(4096, _parse)


def parse(pattern: str, casefold: bool = False) -> Parsed:
    """The segments of ``pattern``; raises :class:`PatternError` for one git cannot use."""
    return _parsed(pattern, casefold)


# --- textual questions about a (normalised) pattern ---------------------------------------------


def has_meta(segment: str) -> bool:
    """Whether the text has an unescaped '*', '?' or '['."""
    if "\\" not in segment:  # no escape: three searches in C
        return "*" in segment or "?" in segment or "[" in segment
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
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def escape(path: str) -> str:
    """The pattern that matches exactly ``path`` (every glob character escaped)."""
    if not has_glob_chars(path):
        return path
    return "".join("\\" + char if char in GLOB_CHARS else char for char in path)


def is_literal(pattern: str) -> bool:
    """True when the pattern has no unescaped glob character: it names one path (with its
    trailing '/' if any, ``unescape(pattern)``)."""
    return not has_meta(pattern)


def literal_prefix(pattern: str) -> str:
    """The leading directories of the pattern without glob characters, unescaped, ending in '/'.

    ``'src/a/*.py'`` -> ``'src/a/'``, ``'docs/**/x'`` -> ``'docs/'``, ``'*.py'`` -> ``''``,
    ``'src/'`` -> ``'src/'``, ``'src/a.py'`` -> ``'src/'``. Every path the pattern covers
    starts with it.
    """
    if "\\" not in pattern:  # no escape: up to the last '/' before the first glob character
        first = min((at for at in (pattern.find("*"), pattern.find("?"), pattern.find("[")) if at != -1),
                    default=len(pattern))
        return pattern[: pattern.rfind("/", 0, first) + 1]
    prefix = []
    for segment in pattern.split("/")[:-1]:  # the last piece is not followed by '/'
        if has_meta(segment):
            break
        prefix.append(unescape(segment) + "/")
    return "".join(prefix)


def longest_literal(pattern: str, skip: int = 0) -> str:
    """The longest run of literal characters that every path the pattern covers contains, read
    from its segment ``skip`` on (a '/' between two segments is part of a run; ``**`` ends one):
    ``'src/*.min.js'`` -> ``'.min.js'``, ``'*.py'`` -> ``'.py'``, ``'*'`` -> ``''``. A cheap pre-test
    of many paths at once (``LeaseIndex.covered``); not for ``casefold``."""
    best = run = ""
    follows = False  # whether the previous segment was one component (so a '/' comes next)
    for segment in parse(pattern).segments[skip:]:
        if segment is DSTAR:
            best, run, follows = max(best, run, key=len), "", False
            continue
        if follows:
            run += "/"
        for token in segment:
            if token is not STAR and len(token) == 1 and token[0][0] == token[0][1]:
                run += chr(token[0][0])
            else:
                best, run = max(best, run, key=len), ""
        follows = True
    return max(best, run, key=len)


def named_directories(pattern: str) -> list[str]:
    """The directories the pattern names literally: those of its literal prefix
    (``'build.d/x'`` -> ``['build.d']``, ``'src/conf.d/'`` -> ``['src', 'src/conf.d']``)."""
    prefix = literal_prefix(pattern)
    return [prefix[:index] for index in range(len(prefix)) if prefix[index] == "/"]


def is_file_like(pattern: str) -> bool:
    """Whether the pattern's matches are presumed to be files when overlap is decided.

    True when the pattern does not end in '/', its last segment is not ``**``, and its last
    segment contains a '.' after its first character: ``docs/x.txt``, ``*.md``, ``foo.d``, but
    not ``src``, ``src/*``, ``.github`` or ``docs/**``. An escaped first character counts as
    the first character (``\\.github`` is read like ``.github``).
    """
    if pattern.endswith("/"):
        return False
    last = pattern[pattern.rfind("/") + 1 :]
    if len(last) >= 2 and last.strip("*") == "":
        return False
    last = last.removeprefix("\\")
    return "." in last[1:]
