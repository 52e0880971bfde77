"""Lease patterns: git's wildmatch (WM_PATHNAME) read by one parser, matched and compared.

- ``syntax``: the parser (pattern text -> segments of tokens) and textual questions
  (:func:`is_literal`, :func:`literal_prefix`, :func:`is_file_like`, :func:`unescape`);
- ``normal``: user input -> canonical repository-relative patterns and paths;
- ``match``: linear-time matching, and the gate's rule :func:`covers`;
- ``automaton`` and ``overlap``: exact overlap at acquire time;
- ``index``: the hook's :class:`~maf_hooks.patterns.index.LeaseIndex`.

What is stored for a lease is its normalised pattern; anything compiled from it may be cached
under :data:`SEMANTICS_VERSION`, which changes whenever what a pattern means changes.

Names are loaded on first use, so that the hook (which imports ``patterns.index``) does not pay
for the overlap machinery.
"""

from __future__ import annotations

SEMANTICS_VERSION = 1
GLOB_CHARS = "*?[\\"  # a pattern without any of these is a path


def has_glob_chars(text: str) -> bool:
    """Whether ``text`` holds one of :data:`GLOB_CHARS` (a glob character or an escape): four
    searches in C, several times faster than testing each character (the hook asks it of every
    lease it reads)."""
    return "*" in text or "?" in text or "[" in text or "\\" in text

_EXPORTS = {
    "PatternError": "syntax",
    "escape": "syntax",
    "is_file_like": "syntax",
    "is_literal": "syntax",
    "literal_prefix": "syntax",
    "named_directories": "syntax",
    "parse": "syntax",
    "unescape": "syntax",
    "MAX_PATTERN_LENGTH": "normal",
    "normalize": "normal",
    "normalize_path": "normal",
    "covers": "match",
    "matches": "match",
    "example_overlap": "overlap",
    "overlaps": "overlap",
}

TYPE_CHECKING = False
if TYPE_CHECKING:  # what __getattr__ returns, for type checkers
    from maf_hooks.patterns.match import covers as covers
    from maf_hooks.patterns.match import matches as matches
    from maf_hooks.patterns.normal import MAX_PATTERN_LENGTH as MAX_PATTERN_LENGTH
    from maf_hooks.patterns.normal import normalize as normalize
    from maf_hooks.patterns.normal import normalize_path as normalize_path
    from maf_hooks.patterns.overlap import example_overlap as example_overlap
    from maf_hooks.patterns.overlap import overlaps as overlaps
    from maf_hooks.patterns.syntax import PatternError as PatternError
    from maf_hooks.patterns.syntax import escape as escape
    from maf_hooks.patterns.syntax import is_file_like as is_file_like
    from maf_hooks.patterns.syntax import is_literal as is_literal
    from maf_hooks.patterns.syntax import literal_prefix as literal_prefix
    from maf_hooks.patterns.syntax import named_directories as named_directories
    from maf_hooks.patterns.syntax import parse as parse
    from maf_hooks.patterns.syntax import unescape as unescape

__all__ = [
    "GLOB_CHARS",
    "has_glob_chars",
    "MAX_PATTERN_LENGTH",
    "SEMANTICS_VERSION",
    "PatternError",
    "covers",
    "escape",
    "example_overlap",
    "is_file_like",
    "is_literal",
    "literal_prefix",
    "matches",
    "named_directories",
    "normalize",
    "normalize_path",
    "overlaps",
    "parse",
    "unescape",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
