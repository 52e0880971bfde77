"""Whether two lease patterns can be granted together: :func:`overlaps` and a witness path.

The readings are those of ``patterns.automaton`` (exact over every valid path, a file-like
pattern's matches presumed files unless known as directories). Pairs involving a literal are
decided without a product search, since most leases are paths:

- two literals overlap when their names nest (equal, or one a directory of the other: the
  shorter is then named as a directory by the longer, so it is known to be one);
- a file-like literal ``L`` that is not a known directory covers ``L`` alone, and every parent
  of ``L`` is named by it, so the other pattern overlaps it when it covers ``L`` at the gate
  (matches ``L`` or a parent of it).
"""

from __future__ import annotations

from maf_hooks.patterns import automaton, match, syntax

TYPE_CHECKING = False
if TYPE_CHECKING:

    from maf_hooks.patterns.automaton import Directories


def _nested(a: str, b: str) -> bool:
    """Whether one of two '/'-terminated prefixes starts with the other."""
    return a.startswith(b) or b.startswith(a)


def _name(pattern: str, casefold: bool) -> str:
    name = syntax.unescape(pattern).rstrip("/") + "/"
    return match.fold(name) if casefold else name


def _is_known_directory(literal: str, other: str, directories: Directories | None, casefold: bool) -> bool:
    return bool(automaton.known_directories(literal, other, directories, casefold))


def overlaps(a: str, b: str, directories: Directories | None = None, *, casefold: bool = False) -> bool:
    """True iff some valid path is covered by both normalised patterns (see ``automaton``).

    ``directories(prefix)`` returns the directories that exist now under ``prefix`` (repository
    relative, without a trailing '/'); None means none are known.
    """
    if a == b:
        return True
    prefix_a, prefix_b = syntax.literal_prefix(a), syntax.literal_prefix(b)
    if casefold:
        prefix_a, prefix_b = match.fold(prefix_a), match.fold(prefix_b)
    if not _nested(prefix_a, prefix_b):
        return False
    literal_a, literal_b = syntax.is_literal(a), syntax.is_literal(b)
    if literal_a and literal_b:
        return _nested(_name(a, casefold), _name(b, casefold))
    for literal, other, is_literal in ((a, b, literal_a), (b, a, literal_b)):
        if (is_literal and syntax.is_file_like(literal)
                and not _is_known_directory(literal, other, directories, casefold)):
            return match.covers(other, syntax.unescape(literal), casefold)
    return automaton.search(
        automaton.cover_automaton(a, b, directories, casefold),
        automaton.cover_automaton(b, a, directories, casefold),
    )


def example_overlap(
    a: str, b: str, directories: Directories | None = None, *, casefold: bool = False
) -> str | None:
    """A shortest valid path covered by both patterns, or None when they do not overlap."""
    prefix_a, prefix_b = syntax.literal_prefix(a), syntax.literal_prefix(b)
    if casefold:
        prefix_a, prefix_b = match.fold(prefix_a), match.fold(prefix_b)
    if not _nested(prefix_a, prefix_b):
        return None
    return automaton.search(
        automaton.cover_automaton(a, b, directories, casefold),
        automaton.cover_automaton(b, a, directories, casefold),
        want_path=True,
    )
