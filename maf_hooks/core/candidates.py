"""Which active leases might overlap a pattern (docs/leases.md, "How overlap candidates are found").

Every path a pattern covers starts with the same first component whenever its first segment is a
name (``src`` for ``src/**``, ``README``): the lease's *head* (:mod:`maf_hooks.store.leases`).
Two patterns can share a path only where their heads can be one name, and, deeper, where the
segments that follow their common literal prefix can. So the candidates of a pattern are read
through the store's indexes (the leases at and beneath its literal prefix, the root globs, the
leases of the heads its first segment can match), then each is put to a cheap textual test
(:func:`may_meet`), so that the exact rule (``patterns.overlaps``, which compiles both
patterns) runs only on the few left. Both steps only ever drop leases that cannot overlap.
"""

from __future__ import annotations

from maf_hooks import patterns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from maf_hooks.core.model import Lease
    from maf_hooks.core.reading import Reading
    from maf_hooks.store.base import Store

_STOPS = "*?[\\"  # a piece's literal start ends at the first of these
_STOPS_AT_END = "*?\\"  # and its literal end after the last of these (a '[' makes it unknown)


def ends(piece: str) -> tuple[str, str] | None:
    """What every component that the text ``piece`` (between two '/') matches starts and ends
    with, as far as its literal characters show; None when it may stand for any number of
    components (``**``, or the empty piece of a trailing '/').

    A conservative reading of the text: an escape ends the literal part, and after a '[' the
    end is unknown (the piece may be cut at a '/' inside a bracket expression)."""
    if not piece or (len(piece) >= 2 and piece.strip("*") == ""):
        return None
    stops = [i for i in (piece.find(char) for char in _STOPS) if i != -1]
    if not stops:
        return piece, piece
    start = piece[:min(stops)]
    if "[" in piece:
        return start, ""
    return start, piece[max(piece.rfind(char) for char in _STOPS_AT_END) + 1:]


def compatible(a: tuple[str, str] | None, b: tuple[str, str] | None) -> bool:
    """Whether one component could be matched by two pieces read by :func:`ends`."""
    if a is None or b is None:
        return True
    return ((a[0].startswith(b[0]) or b[0].startswith(a[0]))
            and (a[1].endswith(b[1]) or b[1].endswith(a[1])))


def may_meet(a: str, prefix_a: str, b: str, prefix_b: str) -> bool:
    """False only when patterns ``a`` and ``b`` (with their literal prefixes) cover no common
    path: their prefixes do not nest, or the segments right after the shorter prefix cannot
    match one name (any common path has that component, matched by both)."""
    if not (prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)):
        return False
    depth = min(prefix_a.count("/"), prefix_b.count("/"))
    return compatible(ends(a.split("/")[depth]), ends(b.split("/")[depth]))


def _ancestor_prefixes(prefix: str) -> list[str]:
    """``a/b/`` -> ``['a/', 'a/b/']``."""
    return [prefix[: index + 1] for index in range(len(prefix)) if prefix[index] == "/"]


def _above(low: str) -> str | None:
    """The least text above every text that starts with ``low`` (None: no bound)."""
    if not low:
        return None
    code = ord(low[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:
        code = 0xE000
    return low[:-1] + chr(code) if code <= 0x10FFFF else None


def _leases_near(store: Store, pattern: str, prefix: str, head: str, now: int) -> list[Lease]:
    """The candidates of a pattern whose paths all start with the component ``head``."""
    root = [glob for glob in store.leases.root_globs() if compatible(ends(glob.split("/")[0]), (head, head))]
    above = _ancestor_prefixes(prefix)
    if patterns.is_literal(pattern):
        # a path: the globs at or above its directory, the paths it lies in or is (named with or
        # without their '/'), and whatever lies beneath it (named as a directory); not the paths beside it
        name = patterns.unescape(pattern).rstrip("/")
        names = [name[:index] for index in range(len(name)) if name[index] == "/"] + [name]
        return store.leases.around(now, globs_at=above, names=[*names, *(n + "/" for n in names), *root],
                                   under=name + "/")
    return store.leases.around(now, prefixes=above, names=[head, *root], under=prefix)


def _leases_of_heads(store: Store, piece: str, mine: tuple[str, str], now: int) -> list[Lease]:
    """The candidates of a pattern whose first segment ``piece`` (read by :func:`ends`: ``mine``)
    is a glob: the root globs it may meet, and the leases of every head it matches."""
    root = [glob for glob in store.leases.root_globs() if compatible(ends(glob.split("/")[0]), mine)]
    heads = [head for head in store.leases.heads(mine[0], _above(mine[0])) if compatible((head, head), mine)]
    if heads and "[" not in piece:  # the piece is a whole segment: match it exactly
        heads = [head for head in heads if patterns.matches(piece, head)]
    found = {lease.id: lease for lease in store.leases.headed(now, heads)}
    found.update((lease.id, lease) for lease in store.leases.around(now, names=root))
    return sorted(found.values(), key=lambda lease: (lease.created_at, lease.id))


def candidates(store: Store, pattern: str, now: int, reading: Reading) -> list[Lease]:
    """Active leases that might overlap ``pattern``; every lease that does is among them."""
    if reading.casefold:  # prefixes and heads are stored as written: every open lease is a candidate
        return store.leases.near(now, (), "")
    piece = pattern.split("/")[0]
    prefix, first = patterns.literal_prefix(pattern), ends(piece)
    if first is None:  # '**' first: any path at all
        found = store.leases.near(now, (), "")
    elif prefix:
        found = _leases_near(store, pattern, prefix, prefix[: prefix.find("/")], now)
    elif patterns.is_literal(pattern):  # one name at the root ('README', 'src')
        found = _leases_near(store, pattern, prefix, patterns.unescape(pattern), now)
    else:  # a root glob ('*.cfg', 'c*/x')
        found = _leases_of_heads(store, piece, first, now)
    return [lease for lease in found if may_meet(pattern, prefix, lease.pattern, lease.prefix)]
