"""The storage interface: what the core and the services ask of a lease store.

A backend implements :class:`Store` (``store/sqlite/`` today). The rules never see SQL or a
driver: they call the store's record keepers (``store.leases``, ``store.events``, ...), each an
interface of its own module in this package, and open write sections.

**The write guarantee.** Inside ``with store.write() as now:`` no other lease or event write
interleaves: whatever the section reads stays true until it ends, and everything it writes is
kept together or not at all (an exception rolls it back). A rule that reads and then writes (no
overlapping exclusive leases; an unbroken audit chain) relies on nothing else. ``now`` is the
section's time in epoch milliseconds, taken after the section's lock is held; the rules use it
and never read a clock of their own (SQLite: the injected clock; a server backend may use its
own). Sections nest: an inner one joins the outer (a savepoint) and sees its ``now``.

Every failure of the backend reaches the caller as :class:`maf_hooks.errors.StorageError`, so
that front ends know one error type (exit code 3) and never a driver's.
"""

from __future__ import annotations

import abc
import contextlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Any, Callable, Iterator

    from maf_hooks.store.audit import AuditTrail
    from maf_hooks.store.conflicts import ConflictRecords
    from maf_hooks.store.escalations import DeliveryOutbox, EscalationRecords
    from maf_hooks.store.events import EventLog
    from maf_hooks.store.leases import LeaseRecords
    from maf_hooks.store.mailboxes import Mailboxes
    from maf_hooks.store.preflight import PreflightRecords
    from maf_hooks.store.retention import Retention
    from maf_hooks.store.schema import Health, Schema
    from maf_hooks.store.tallies import Tallies


class Keeper:
    """A record keeper made on first use (its module is imported only then) and kept."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name, self.attr = module, name, ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr

    def __get__(self, store: Any, owner: type | None = None) -> Any:
        if store is None:
            return self
        import importlib

        keeper = getattr(importlib.import_module(self.module), self.name)(store)
        store.__dict__[self.attr] = keeper
        return keeper


class Store(abc.ABC):
    """One open store. ``backend`` names the implementation, ``location`` where it lives (for
    messages: a file path, or a URL without its password)."""

    backend: str = ""
    location: str = ""
    repository: str | None = None  # the repository's key on a server that holds many; None: a store of its own

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock

    _now: int | None = None  # the outermost open section's time

    @contextlib.contextmanager
    def write(self) -> Iterator[int]:
        """A write section (see the module's docstring); yields the section's ``now``. An inner
        section joins the outer one (the backend's savepoint) and yields the outer ``now``."""
        with self._transaction():
            outer = self._now is None
            if outer:
                self._now = self._locked_now()
            try:
                yield self._now  # type: ignore[misc]
            finally:
                if outer:
                    self._now = None

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """The backend's transaction, taken with the write lock (a savepoint when nested)."""

    @abc.abstractmethod
    def _locked_now(self) -> int:
        """The outermost section's time, read once the write lock is held."""

    def now(self) -> int:
        """The time for a read outside a write section (the same clock the sections use)."""
        return self.clock()

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection; the store is unusable afterwards."""

    def long_lived(self) -> None:
        """This process keeps the store open for many operations: move the housekeeping that would
        fall on one of them off the request path (SQLite: the log's checkpoints, to a thread of
        this process; :mod:`maf_hooks.store.sqlite.checkpoints`). Nothing to move by default."""
        return

    @abc.abstractmethod
    def schema(self, *, applied: bool = False) -> Schema:
        """The schema's version and the newest this code knows (``applied``: with the list of
        migrations recorded)."""

    @abc.abstractmethod
    def health(self, *, thorough: bool = True, full: bool = False) -> Health:
        """Schema and storage facts for ``maf-preflight`` (``thorough``: also check the pages and
        foreign keys, which reads every page; ``full``: the full integrity check, which also
        compares every index with its table, instead of the quick one). Reads only."""

    # Record keepers, one interface each; a backend creates them on first use, so that a
    # caller pays only for the ones it touches (the git hook reads leases and nothing else).

    @property
    @abc.abstractmethod
    def events(self) -> EventLog:
        """The hash-chained event log (:mod:`maf_hooks.store.events`)."""

    @property
    @abc.abstractmethod
    def preflight(self) -> PreflightRecords:
        """The preflight run history (:mod:`maf_hooks.store.preflight`)."""

    @property
    @abc.abstractmethod
    def leases(self) -> LeaseRecords:
        """File leases and agents (:mod:`maf_hooks.store.leases`)."""

    @property
    @abc.abstractmethod
    def conflicts(self) -> ConflictRecords:
        """Conflict records and the conflict mail log (:mod:`maf_hooks.store.conflicts`)."""

    @property
    @abc.abstractmethod
    def audit(self) -> AuditTrail:
        """The audit trail's reads and the audit webhook's outbox (:mod:`maf_hooks.store.audit`)."""

    @property
    @abc.abstractmethod
    def escalations(self) -> EscalationRecords:
        """Escalations and their mirrored paths (:mod:`maf_hooks.store.escalations`)."""

    @property
    @abc.abstractmethod
    def deliveries(self) -> DeliveryOutbox:
        """The escalation messages' outbox (:mod:`maf_hooks.store.escalations`)."""

    @property
    @abc.abstractmethod
    def retention(self) -> Retention:
        """What ``maf db gc`` counts, deletes and compacts (:mod:`maf_hooks.store.retention`)."""

    @property
    @abc.abstractmethod
    def tallies(self) -> Tallies:
        """The grouped counts ``maf metrics`` exposes (:mod:`maf_hooks.store.tallies`)."""

    mailboxes: Mailboxes | None = None
    """The agents' mailboxes when this store keeps the mail (:mod:`maf_hooks.store.mailboxes`); None
    (the default) when mail lives in Maildir files under the mail root."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
