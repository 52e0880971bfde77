"""The lease records' interface: what the lease rules (:mod:`maf_hooks.core.leases`) ask of a store.

It answers questions and writes what it is told; it never decides (which lease conflicts, who may
end which lease: the core does). Reads take ``now`` and count a lease as active while its task is
``LEASED`` and its expiry is after ``now``. Lists come in the order ``created_at, id``. Writes run
inside a write section (:meth:`maf_hooks.store.base.Store.write`).

A *row* is a tuple in the order of :attr:`maf_hooks.core.model.Lease.FIELDS` (``Lease(*row)``):
the git hook reads rows and makes a ``Lease`` only for one that covers a changed path.
"""

from __future__ import annotations

import abc

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Generator, Iterator, Sequence

    from maf_hooks.core.model import AgentState, Lease

LISTING_BATCH = 1000  # rows a listing holds at a time


def glob_lead(glob: str) -> str:
    """What every text that ``glob`` (git wildmatch) matches starts with: its characters before
    the first ``*``, ``?``, ``[`` or ``\\``. A listing compares it in the query."""
    for i, char in enumerate(glob):
        if char in "*?[\\":
            return glob[:i]
    return glob


class LeaseRecords(abc.ABC):
    # --- the hook's reads (rows) -------------------------------------------------------------

    @abc.abstractmethod
    def has_active(self, now: int) -> bool:
        """Whether any lease is active (without reading them)."""

    @abc.abstractmethod
    def active_rows(self, now: int, *, agent: str | None = None) -> list[tuple]:
        """Every active lease (of ``agent`` when given), as rows."""

    @abc.abstractmethod
    def active_rows_near(self, now: int, patterns: Collection[str], prefixes: Collection[str]) -> list[tuple]:
        """The rows of :meth:`active_rows` whose pattern is one of ``patterns``, or whose pattern is
        a glob (``*?[`` or an escape) with its literal prefix among ``prefixes``: with the keys of
        ``matcher.lookup_keys``, every lease that can cover one of those paths. Cost follows the
        keys and the leases found, not every active lease. The rows found are checked against
        what the store knows of its own leases: StorageError when they prove damaged."""

    def open_count(self) -> int | None:
        """About how many leases are open (ended or not yet noticed expired), when the store can
        say so without reading them; None when it cannot. Chooses between :meth:`checked_rows`
        and :meth:`active_rows_near` for many paths (``services.lookup``)."""
        return None

    def checked_rows(self, now: int) -> list[tuple]:
        """Every active lease, as rows, for the hook: read so that a damaged index cannot hide
        one (StorageError when the store finds itself damaged). By default :meth:`active_rows`."""
        return self.active_rows(now)

    def stored_problems(self, now: int, limit: int) -> list[str]:
        """What the backend's own layout of a lease contradicts (``maf db check``), each named,
        at most ``limit``: SQLite keeps a lease in three rows and counts per key, which must
        agree. What every backend can contradict (an ended lease still ``LEASED``, one fencing
        token twice) is judged over :meth:`listing` by :mod:`maf_hooks.services.dbcheck`. By
        default nothing (a layout of one row per lease)."""
        return []

    # --- listings (maf-lease list) -----------------------------------------------------------

    def listing(self, now: int, *, active_only: bool = True, agent: str | None = None,
                patterns: Sequence[str] = (), glob: str | None = None, limit: int | None = None,
                batch: int = LISTING_BATCH) -> Iterator[Lease]:
        """Leases in ``created_at, id`` order, read ``batch`` rows at a time (memory follows
        ``batch``, never every lease): the active ones (every lease ever taken, without
        ``active_only``), of ``agent`` when given, whose pattern text is one of ``patterns`` when
        given, and matches ``glob`` (git wildmatch, the text read as a path) when given; the first
        ``limit`` of them when given. Filters run in the query, except the part of ``glob`` after
        its :func:`glob_lead`, tested on each row read."""
        test: Callable[[str], bool] | None = None
        if glob is not None:
            from functools import partial

            from maf_hooks.patterns import matches

            test = partial(matches, glob)
        pages = self._listing_pages(now, active_only=active_only, agent=agent, patterns=tuple(patterns),
                                    lead=None if glob is None else glob_lead(glob),
                                    limit=limit if test is None else None, batch=batch)
        from maf_hooks.core.model import Lease

        left = limit
        try:
            for page in pages:
                for row in page:
                    if test is None or test(row[2]):
                        yield Lease(*row)
                        if left is not None:
                            left -= 1
                            if left <= 0:
                                return
        finally:
            pages.close()  # a listing stopped early ends its query

    @abc.abstractmethod
    def _listing_pages(self, now: int, *, active_only: bool, agent: str | None, patterns: tuple[str, ...],
                       lead: str | None, limit: int | None, batch: int) -> Generator[list[tuple], None, None]:
        """The rows of :meth:`listing` in lists of at most ``batch``, from one query: ``lead`` a
        text every pattern starts with, ``limit`` at most that many rows."""

    # --- reads for the rules ---------------------------------------------------------------

    def active(self, now: int, *, agent: str | None = None) -> list[Lease]:
        from maf_hooks.core.model import Lease

        return [Lease(*row) for row in self.active_rows(now, agent=agent)]

    @abc.abstractmethod
    def all(self, *, agent: str | None = None) -> list[Lease]:
        """Every lease ever taken (of ``agent`` when given), ended ones too."""

    @abc.abstractmethod
    def near(self, now: int, prefixes: Collection[str], under: str | None) -> list[Lease]:
        """Active leases whose literal prefix is one of ``prefixes`` or (when ``under`` is not
        None) starts with ``under``; each lease once. An index read, not a scan, where it can be."""

    # --- overlap candidates (core.candidates; docs/leases.md) ----------------------------------
    # A lease's *head* is the first path component of every path it covers: the first directory
    # of its literal prefix, or its pattern itself when that prefix is empty (``README``,
    # ``*.cfg``, ``**/x``). Open leases (not ended) are read through indexes; the ones returned
    # as leases are the active ones.

    @abc.abstractmethod
    def around(self, now: int, *, prefixes: Collection[str] = (), globs_at: Collection[str] = (),
               names: Collection[str] = (), under: str | None = None) -> list[Lease]:
        """Active leases whose literal prefix is one of ``prefixes``; or whose pattern is a glob
        (a glob character or an escape) with its prefix among ``globs_at``; or whose pattern is
        one of ``names``; or (``under`` not None) whose prefix starts with ``under``. Each lease
        once, in ``created_at, id`` order; index reads whose cost follows the leases found."""

    @abc.abstractmethod
    def root_globs(self) -> list[str]:
        """The distinct patterns of the open leases that are globs with an empty literal prefix
        (``*.cfg``, ``**/x``, ``s*/a``): the leases whose head is not a name. An index read."""

    @abc.abstractmethod
    def heads(self, low: str = "", high: str | None = None) -> list[str]:
        """The distinct heads of the open leases from ``low`` (included) to ``high`` (excluded;
        None: no bound), in code point order: one index seek per head, not a read of every lease."""

    @abc.abstractmethod
    def headed(self, now: int, heads: Collection[str]) -> list[Lease]:
        """Active leases whose head is one of ``heads``, in ``created_at, id`` order."""

    @abc.abstractmethod
    def named(self, now: int, *, patterns: Sequence[str] = (), ids: Sequence[str] = (),
              agent: str | None = None) -> list[Lease]:
        """Active leases whose pattern is one of ``patterns`` or whose id is one of ``ids``
        (of ``agent`` only, when given); each lease once."""

    @abc.abstractmethod
    def due(self, now: int) -> list[Lease]:
        """Leases not ended whose expiry is at or before ``now``."""

    @abc.abstractmethod
    def count_due(self, now: int) -> int:
        """How many leases :meth:`due` would return."""

    @abc.abstractmethod
    def skewed(self, now: int, created_after: int, expires_after: int) -> list[Lease]:
        """Leases not ended, created after ``created_after`` or expiring after ``expires_after``,
        that have no ``clock_skew`` event yet (:func:`maf_hooks.core.leases.correct_skew`)."""

    @abc.abstractmethod
    def last_changes(self, ids: Sequence[str]) -> dict[str, int]:
        """``{lease id: the latest time recorded for it}``: its task's ``updated_at`` or its latest
        event's time, whichever is later."""

    # --- writes ----------------------------------------------------------------------------

    @abc.abstractmethod
    def insert(self, lease: Lease, payload: dict) -> None:
        """Store a new active lease (``payload`` is its task's description), giving it
        (``lease.token``) the repository's next fencing token: one more than any token this store
        ever gave, from a counter kept apart from the lease rows (removing leases never lowers it)."""

    @abc.abstractmethod
    def update(self, lease: Lease, now: int) -> None:
        """Write the lease's expiry, mode and reason (its task updated at ``now``)."""

    @abc.abstractmethod
    def end(self, lease: Lease) -> None:
        """Write the lease's end: its ``state``, ``ended_at`` and ``end_reason``."""

    # --- agents ----------------------------------------------------------------------------

    @abc.abstractmethod
    def heartbeat(self, agent: str, status: str | None, now: int) -> None:
        """Record ``agent`` alive at ``now``; ``status`` replaces its status line when given."""

    @abc.abstractmethod
    def agents(self, now: int) -> list[AgentState]:
        """Every agent that sent a heartbeat or holds an active lease, by id."""

    @abc.abstractmethod
    def heartbeats(self) -> dict[str, int]:
        """``{agent: last heartbeat}`` of every agent that sent one."""
