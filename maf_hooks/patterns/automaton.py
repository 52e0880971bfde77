"""Exact overlap of two patterns: an automaton per pattern, from its parse, and a product search.

**Readings.** At acquire time a pattern *covers* its matches and everything beneath them, with
one presumption: a name matched by a file-like pattern (:func:`syntax.is_file_like`) is a file,
so nothing lies beneath it, unless it is a *known directory*: one that exists now (the
``directories`` callable) or one that either pattern names literally (``build.d/x`` names
``build.d``). Two patterns overlap when some valid path (no empty, ``.`` or ``..`` component)
is covered by both.

**Automaton.** The parse becomes a nondeterministic automaton over characters: a character set
per token, a loop on "anything but ``/``" for ``*``, ``(|.*/)`` for ``**`` before a segment and
``.*`` for a final ``**``. Its end is accepting, followed (for a pattern not read as file-like)
by a ``/`` into an accepting sink that reads anything: what lies beneath. Each known directory
of a file-like pattern that it matches adds a branch: that directory, ``/``, the sink.

**Search.** Over triples (state in A, state in B, shape of the current component), a step is
possible when the two sets share a character; the shared characters are sorted into three
kinds (``/``, ``.``, anything else), which is all the shape needs to tell empty, ``.``, ``..``
and ordinary components apart. An accepting triple after an ordinary component is a common
valid path: no false positives, no false negatives.
"""

from __future__ import annotations

from collections import deque

from maf_hooks.patterns import charsets, match, syntax
from maf_hooks.patterns.cache import Lru

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Callable

    Directories = Callable[[str], Iterable[str]]

_ANY = charsets.UNIVERSE
_NOT_SLASH = charsets.without_slash(_ANY)
_SLASH_ONLY = ((charsets.SLASH, charsets.SLASH),)


class Nfa:
    """An epsilon-free automaton: ``moves[state]`` is a tuple of (set index, target); ``sets``
    holds the character sets of this automaton."""

    __slots__ = ("final", "moves", "sets", "start")

    def __init__(self, start: int, moves: tuple, final: tuple, sets: list) -> None:
        self.start, self.moves, self.final, self.sets = start, moves, final, sets


class _Builder:
    def __init__(self) -> None:
        self.moves: list[list[tuple[int, int]]] = []
        self.epsilon: list[list[int]] = []
        self.final: list[bool] = []
        self.sets: list = []
        self._set_ids: dict = {}
        self.sink: int | None = None

    def state(self) -> int:
        self.moves.append([])
        self.epsilon.append([])
        self.final.append(False)
        return len(self.moves) - 1

    def _id(self, chars) -> int:
        found = self._set_ids.get(chars)
        if found is None:
            found = self._set_ids[chars] = len(self.sets)
            self.sets.append(chars)
        return found

    def step(self, source: int, chars) -> int:
        target = self.state()
        self.moves[source].append((self._id(chars), target))
        return target

    def loop(self, source: int, chars) -> int:
        """``chars*`` after ``source``."""
        target = self.state()
        self.epsilon[source].append(target)
        self.moves[target].append((self._id(chars), target))
        return target

    def beneath(self, source: int) -> None:
        """``/`` and then anything, accepted."""
        if self.sink is None:
            self.sink = self.state()
            self.final[self.sink] = True
            self.moves[self.sink].append((self._id(_ANY), self.sink))
        self.moves[source].append((self._id(_SLASH_ONLY), self.sink))

    def finish(self, start: int) -> Nfa:
        moves, final = [], []
        for state in range(len(self.moves)):
            closure, todo = [state], [state]
            while todo:
                for target in self.epsilon[todo.pop()]:
                    if target not in closure:
                        closure.append(target)
                        todo.append(target)
            moves.append(tuple(dict.fromkeys(move for member in closure for move in self.moves[member])))
            final.append(any(self.final[member] for member in closure))
        return Nfa(start, tuple(moves), tuple(final), self.sets)


def _build(pattern: str, casefold: bool, beneath: bool, directories: tuple = ()) -> Nfa:
    """The automaton of the pattern's matches, with what lies beneath them when ``beneath``,
    and beneath each of ``directories`` (literal paths)."""
    builder = _Builder()
    start = current = builder.state()
    segments = syntax.parse(pattern, casefold).segments
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment is syntax.DSTAR:
            if index == last:  # anything, slashes included
                current = builder.loop(current, _ANY)
            else:  # nothing, or anything ending in '/'
                inner = builder.step(builder.loop(current, _ANY), _SLASH_ONLY)
                join = builder.state()
                builder.epsilon[current].append(join)
                builder.epsilon[inner].append(join)
                current = join
            continue
        for token in segment:
            current = builder.loop(current, _NOT_SLASH) if token is syntax.STAR else builder.step(current, token)
        if index < last:
            current = builder.step(current, _SLASH_ONLY)
    builder.final[current] = True
    if beneath:
        builder.beneath(current)
    for directory in directories:
        state = start
        for char in directory:
            code = ord(match.fold(char) if casefold else char)
            chars = charsets.fold_case(((code, code),)) if casefold else ((code, code),)
            state = builder.step(state, chars)
        builder.beneath(state)
    return builder.finish(start)


_cached = Lru(2048, _build)


def automaton(pattern: str, casefold: bool = False, beneath: bool = True) -> Nfa:
    """The (remembered) automaton of a pattern without known directories."""
    return _cached(pattern, casefold, beneath)


# --- the product search ---------------------------------------------------------------------------

_KIND_SLASH, _KIND_DOT, _KIND_OTHER = 1, 2, 4
# Shape of the component read so far: empty (start, or just after '/'), '.', '..', a name.
_EMPTY, _ONE_DOT, _TWO_DOTS, _NAME = 0, 1, 2, 3
_NEXT_SHAPE = {
    _KIND_SLASH: (None, None, None, _EMPTY),  # a component ends: it must be a name
    _KIND_DOT: (_ONE_DOT, _TWO_DOTS, _NAME, _NAME),
    _KIND_OTHER: (_NAME, _NAME, _NAME, _NAME),
}
_KINDS = (_KIND_OTHER, _KIND_SLASH, _KIND_DOT)  # names first: readable examples
# _STEPS[mask][shape]: the (kind, next shape) moves open to a shared-kinds mask from a shape
_STEPS = tuple(
    tuple(
        tuple((kind, _NEXT_SHAPE[kind][shape]) for kind in _KINDS if mask & kind and _NEXT_SHAPE[kind][shape] is not None)
        for shape in range(4)
    )
    for mask in range(8)
)


def _shared_kinds(both) -> int:
    has_slash, has_dot = charsets.contains(both, charsets.SLASH), charsets.contains(both, charsets.DOT)
    mask = (_KIND_SLASH if has_slash else 0) | (_KIND_DOT if has_dot else 0)
    if charsets.size(both) > has_slash + has_dot:
        mask |= _KIND_OTHER
    return mask


_PREFERRED = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"


def _pick(both, kind: int) -> str:
    """A readable character of the given kind in the set."""
    if kind == _KIND_SLASH:
        return "/"
    if kind == _KIND_DOT:
        return "."
    for char in _PREFERRED:
        if charsets.contains(both, ord(char)):
            return char
    for low, high in both:
        for code in range(low, high + 1):
            if code not in (charsets.DOT, charsets.SLASH):
                return chr(code)
    raise AssertionError("no character of kind 'other' in the set")


def search(a: Nfa, b: Nfa, want_path: bool = False):
    """True/False (depth first), or with ``want_path`` a shortest common valid path or None."""
    start = (a.start, b.start, _EMPTY)
    parents: dict = {start: None}
    pending: deque = deque([start])
    take = pending.popleft if want_path else pending.pop
    masks: dict = {}  # per call: (set in a, set in b) -> shared kinds
    a_moves, b_moves, a_final, b_final, a_sets, b_sets = a.moves, b.moves, a.final, b.final, a.sets, b.sets
    while pending:
        state = take()
        qa, qb, shape = state
        if shape == _NAME and a_final[qa] and b_final[qb]:
            return _spell(state, parents, a_sets, b_sets) if want_path else True
        for pa, ta in a_moves[qa]:
            for pb, tb in b_moves[qb]:
                mask = masks.get((pa, pb))
                if mask is None:
                    mask = masks[(pa, pb)] = _shared_kinds(charsets.intersect(a_sets[pa], b_sets[pb]))
                for kind, next_shape in _STEPS[mask][shape]:
                    target = (ta, tb, next_shape)
                    if target not in parents:
                        parents[target] = (state, pa, pb, kind)
                        pending.append(target)
    return None if want_path else False


def _spell(state: tuple, parents: dict, a_sets: list, b_sets: list) -> str:
    chars = []
    link = parents[state]
    while link is not None:
        state, pa, pb, kind = link
        chars.append(_pick(charsets.intersect(a_sets[pa], b_sets[pb]), kind))
        link = parents[state]
    return "".join(reversed(chars))


# --- overlap ----------------------------------------------------------------------------------------


def known_directories(pattern: str, other: str, directories: Directories | None, casefold: bool) -> list[str]:
    """The known directories (see the module docstring) that the pattern matches."""
    known = set(syntax.named_directories(pattern)) | set(syntax.named_directories(other))
    if directories is not None:
        known.update(directories(syntax.literal_prefix(pattern)))
    return sorted(name for name in known if name and match.matches(pattern, name, casefold))


def cover_automaton(pattern: str, other: str, directories: Directories | None, casefold: bool) -> Nfa:
    """The automaton of what ``pattern`` covers, when its overlap with ``other`` is decided."""
    if not syntax.is_file_like(pattern):
        return automaton(pattern, casefold)
    known = known_directories(pattern, other, directories, casefold)
    if not known:
        return automaton(pattern, casefold, False)
    return _build(pattern, casefold, False, tuple(known))
