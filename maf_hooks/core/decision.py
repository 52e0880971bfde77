"""The commit and push decision: changed paths + active leases -> conflicts and shared warnings.

One rule for every front end (the git hooks, ``maf-preflight``'s reservations check): a changed
path under another agent's exclusive lease is a conflict; under another agent's shared lease, a
note. The git hook calls this on every commit, so it imports only the matcher.
"""

from __future__ import annotations

from maf_hooks.core.model import EXCLUSIVE, MODES, Lease
from maf_hooks.core.text import shown
from maf_hooks.errors import StorageError
from maf_hooks.patterns.index import LeaseIndex

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable


OPERATIONS = ("commit", "push", "edit")  # what a decision (and so a conflict record) is about


class Decision:
    """What a check found; ``conflicts``/``shared`` are ``(path, lease)`` pairs in path order."""

    def __init__(self, operation: str, agent: str | None, changed: Collection[str],
                 conflicts: list[tuple[str, Lease]], shared: list[tuple[str, Lease]]) -> None:
        self.operation = operation
        self.agent = agent
        self.changed = changed
        self.conflicts = conflicts
        self.shared = shared


def refuses(lease: Lease, agent: str | None) -> bool:
    """THE conflict rule for a change: another agent's exclusive lease covers the path (another
    agent's shared lease is a note; an agent's own leases never count). A mode that is neither is
    damage, never read as shared: the caller fails closed."""
    if lease.mode not in MODES:
        raise StorageError(f"The lease database is damaged: lease {shown(str(lease.id))} has the mode "
                           f"{shown(repr(lease.mode))}, neither exclusive nor shared. Run `maf-preflight "
                           "--only database` to inspect it, and restore it from a backup.")
    return lease.agent != agent and lease.mode == EXCLUSIVE


def lease_index(rows: Iterable[tuple], *, casefold: bool = False) -> LeaseIndex:
    """THE way a :class:`LeaseIndex` is built: over lease rows (``Lease.FIELDS`` order), each
    row its own item, matched from its pattern (``casefold``: ``core.ignorecase``)."""
    return LeaseIndex(((row[2], row) for row in rows), casefold=casefold)


def others_index(rows: Iterable[tuple], agent: str | None, *, casefold: bool = False) -> LeaseIndex:
    """The :func:`lease_index` of the other agents' leases among ``rows`` (an agent's own never
    count; with no agent, every lease is another's): what :func:`judge_index` judges with."""
    return lease_index((row for row in rows if row[1] != agent), casefold=casefold)


def judge(changed: Iterable[str], rows: Iterable[tuple], agent: str | None, *, casefold: bool = False
          ) -> tuple[list[tuple[str, Lease]], list[tuple[str, Lease]]]:
    """``(conflicts, shared)`` for ``changed`` paths against active lease ``rows``: the other
    agents' leases covering a path (:func:`others_index`, :func:`judge_index`)."""
    return judge_index(changed, others_index(rows, agent, casefold=casefold), agent)


def judge_index(changed: Iterable[str], index: LeaseIndex, agent: str | None
                ) -> tuple[list[tuple[str, Lease]], list[tuple[str, Lease]]]:
    """``(conflicts, shared)`` for ``changed`` paths against the other agents' leases in ``index``
    (:func:`others_index`, which the git hook builds while git still names the paths). A
    ``Lease`` is made only for a row that covers a path, once per lease."""
    conflicts: list[tuple[str, Lease]] = []
    shared: list[tuple[str, Lease]] = []
    if not len(index):
        return conflicts, shared
    made: dict[str, Lease] = {}
    for path, rows_found in index.covered(changed):  # in bulk: most paths are covered by none
        row: tuple
        for row in rows_found:
            lease = made.get(row[0])
            if lease is None:
                lease = made[row[0]] = Lease(*row)
            (conflicts if refuses(lease, agent) else shared).append((path, lease))
    return conflicts, shared
