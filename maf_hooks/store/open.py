"""The one place a backend is chosen: configuration and environment in, an open store out.

The runtime (:func:`maf_hooks.store.runtime.effective`) decides: ``memory`` (``MAF_RUNTIME``,
``MAF_RUNTIME_MODE`` or ``storage.runtime``) wins, a private in-memory store of this process;
else PostgreSQL when ``storage.url`` (or ``MAF_DB_URL``) names a server, under the repository key
``storage.repository`` (default: the ``origin`` remote's normalised URL); else SQLite, a file in
the git common directory unless ``MAF_DB_PATH`` or ``storage.db_path`` says otherwise. Only this
module decides which; nothing else imports a backend to open it.
"""

from __future__ import annotations

import os

from maf_hooks.store import location

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping

    from maf_hooks.store.base import Store
    from maf_hooks.store.schema import Schema


def _migrate_here(location: StoreLocation | MemoryLocation, environ: Mapping[str, str]) -> tuple[int | None, Schema]:
    """Migrate a store this process opens itself (a file, or memory): its version before (None:
    none yet) and its schema now, with the migrations applied."""
    before = None
    if location.exists():
        with location.open(environ=environ, read_only=True) as probe:
            before = probe.schema().version
    with location.open(environ=environ) as store:
        return before, store.schema(applied=True)


class StoreLocation:
    """Where the configured store lives, before anything is opened (``exists`` never creates)."""

    backend = "sqlite"
    runtime = "sqlite"

    def __init__(self, root: str, common_dir: str, cfg: Any) -> None:
        self.path = location.db_path(root, common_dir, cfg.get("storage.db_path"))
        self.file_mode = cfg.get("storage.file_mode")  # validated: an octal string such as "0600"

    def __str__(self) -> str:
        return self.path

    def beside(self, name: str) -> str:
        """A small file of this clone's kept beside the database (the hooks' timings)."""
        return os.path.join(os.path.dirname(self.path), name)

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def migrate(self, *, environ: Mapping[str, str]) -> tuple[int | None, Schema]:
        """Create the file or bring its schema up to date (``maf db migrate``): the version it
        had (None: no file yet) and its schema now, with the migrations applied."""
        return _migrate_here(self, environ)

    def open(self, *, environ: Mapping[str, str], clock: Callable[[], int] | None = None,
             create: bool = True, migrate: bool = True, read_only: bool = False,
             timeout: float | None = None, upgrade: bool = False) -> Store:
        """Open the store (creating and migrating it unless told not to). ``environ`` decides
        whether events are also queued for the audit webhook (``AUDIT_WEBHOOK_URL``).

        ``migrate=False``: leave the schema (and the journal mode) as they are. ``read_only``:
        inspect only (nothing created, migrated or written; a newer schema is not refused, the
        caller reads ``store.schema()``). ``timeout``: seconds to wait for another writer.
        ``upgrade``: the server backend's explicit migration (a file migrates anyway). A
        database file made here gets ``storage.file_mode`` (default 0600), whatever the umask."""
        from maf_hooks.store.sqlite import open_file
        from maf_hooks.timeutil import now_ms

        return open_file(self.path, clock or now_ms, create=create, migrate=migrate, read_only=read_only, timeout=timeout,
                         audit_webhook=bool(environ.get("AUDIT_WEBHOOK_URL")), file_mode=self.mode())

    def mode(self) -> int:
        """The permissions of a database file made here: ``storage.file_mode``, default 0600."""
        from maf_hooks.store.sqlite.connection import FILE_MODE

        return int(self.file_mode, 8) if isinstance(self.file_mode, str) else FILE_MODE

    def snapshot(self, target: str) -> None:
        """An online, consistent copy of this database in the new file ``target`` (SQLite's
        backup API, :func:`maf_hooks.store.sqlite.backup.snapshot`), made with :meth:`mode`."""
        from maf_hooks.store.sqlite import backup

        backup.snapshot(self.path, target, self.mode())

    def restore_from(self, source: str, *, keep: str | None, guard: Callable[[], None]) -> None:
        """Write the database file ``source`` (a copy that may be changed) into this one under
        its write lock (:func:`maf_hooks.store.sqlite.backup.restore`): ``guard`` may refuse once
        the lock is held; the state replaced is saved to ``keep``; fencing tokens never repeat."""
        from maf_hooks.store.sqlite import backup

        backup.restore(source, self.path, mode=self.mode(), keep=keep, guard=guard)


class ServerLocation:
    """A PostgreSQL server and this repository's key on it (``path``: the URL without password)."""

    backend = "postgresql"
    runtime = "postgres"

    def __init__(self, root: str, cfg: Any, common_dir: str) -> None:
        from maf_hooks.store.url import redact

        self.root = root
        self.common_dir = common_dir
        self.url = cfg.get("storage.url")
        self.path = redact(self.url)
        self.cfg = cfg

    def __str__(self) -> str:
        return self.path

    def beside(self, name: str) -> str:
        """A small file of this clone's, kept where a database file would be (``maf/`` in the git
        common directory): what this machine measures, such as the hooks' timings, stays local."""
        return os.path.join(self.common_dir, os.path.dirname(location.DEFAULT_RELATIVE), name)

    def exists(self) -> bool:
        """A configured server always counts: whether it is reachable is for :meth:`open` to say
        (an unreachable server must refuse a commit, not look like "no leases")."""
        return True

    def repository(self) -> str:
        from maf_hooks.errors import ConfigError

        key = self.cfg.get("storage.repository")
        if key:
            return str(key)
        from maf_hooks.git import origin_url
        from maf_hooks.store.url import repository_key

        remote = origin_url(self.root)
        key = repository_key(remote) if remote else None
        if not key:
            raise ConfigError(
                "storage.url names a shared server, but this repository has no key on it: set "
                "storage.repository in maf.toml (every clone that should coordinate uses the same key), "
                "or add the origin remote it defaults to (`maf init` writes the key for you).")
        return key

    def settings(self, environ: Mapping[str, str]) -> Any:
        from maf_hooks.errors import ConfigError
        from maf_hooks.store.postgres.connection import Settings

        password = None
        variable = self.cfg.get("storage.password_env")
        if variable:
            password = environ.get(variable)
            if password is None:
                raise ConfigError(f"storage.password_env names the variable {variable}, which is not set: "
                                  "set it to the lease server's password, or remove the key to use "
                                  "PGPASSWORD or ~/.pgpass.")
        return Settings(self.url, password=password,
                        connect_timeout=float(self.cfg.get("storage.connect_timeout_seconds")),
                        statement_timeout=float(self.cfg.get("storage.statement_timeout_seconds")))

    def migrate(self, *, environ: Mapping[str, str]) -> tuple[int | None, Schema]:
        """Bring the server's schema up to date (``maf db migrate``): the version it had (None:
        none yet) and its schema now, with the migrations applied."""
        with self.open(environ=environ, upgrade=True) as store:
            applied, schema = store.upgraded, store.schema(applied=True)  # type: ignore[attr-defined]
        before = (applied[0] - 1) if applied else schema.version
        return before or None, schema

    def open(self, *, environ: Mapping[str, str], clock: Callable[[], int] | None = None,
             create: bool = True, migrate: bool = True, read_only: bool = False,
             timeout: float | None = None, upgrade: bool = False) -> Store:
        """Connect (see :meth:`StoreLocation.open`). A shared server is never migrated here
        unless ``upgrade`` (``maf db migrate``, ``maf init``); ``create``, ``migrate`` and
        ``read_only`` are the file backend's and change nothing on a server. The local wall
        clock (:func:`maf_hooks.timeutil.now_ms`) is replaced by the server's."""
        from maf_hooks.timeutil import now_ms

        try:
            from maf_hooks.store.postgres import (
                connection,  # noqa: F401 - the driver, or why not
                open_server,
            )
        except ImportError as exc:
            from maf_hooks.errors import StorageError

            raise StorageError(
                f"storage.url names a PostgreSQL server, but its driver is not installed ({exc}). Install "
                "the extra: pip install 'maf-hooks[postgres]' (in a pre-commit hook: additional_dependencies, "
                "see docs/fleet.md).") from None
        return open_server(self.settings(environ), self.repository(), None if clock is now_ms else clock,
                           migrate=upgrade, audit_webhook=bool(environ.get("AUDIT_WEBHOOK_URL")))


class MemoryLocation:
    """A private store in this process's memory (the memory runtime): the SQLite backend on an
    in-memory database (:mod:`maf_hooks.store.sqlite.memory`), so every rule is the one a file
    has; every open in this process sees the same records, no other process sees them, and they
    are gone when the process exits."""

    backend = "sqlite"
    runtime = "memory"
    path = ":memory:"

    def __init__(self, common_dir: str, source: str = "the configuration") -> None:
        self.key = os.path.realpath(common_dir)  # one store per repository, as a file is
        self.source = source  # where storage.runtime = memory came from (env:MAF_RUNTIME)

    def __str__(self) -> str:
        return ":memory: (storage.runtime = memory: private to this process, gone when it exits; no file)"

    def beside(self, name: str) -> str:
        """Where a file store of this repository would keep ``name`` (``maf/`` in the git common
        directory): the memory store has no directory of its own."""
        return os.path.join(self.key, os.path.dirname(location.DEFAULT_RELATIVE), name)

    def exists(self) -> bool:
        from maf_hooks.store.sqlite import memory

        return memory.exists(self.key)

    def migrate(self, *, environ: Mapping[str, str]) -> tuple[int | None, Schema]:
        """As :meth:`StoreLocation.migrate`: made on first use, then current."""
        return _migrate_here(self, environ)

    def open(self, *, environ: Mapping[str, str], clock: Callable[[], int] | None = None,
             create: bool = True, migrate: bool = True, read_only: bool = False,
             timeout: float | None = None, upgrade: bool = False) -> Store:
        """Open it (see :meth:`StoreLocation.open`; ``upgrade`` changes nothing here)."""
        from maf_hooks.store.sqlite import open_memory
        from maf_hooks.timeutil import now_ms

        return open_memory(self.key, clock or now_ms, create=create, migrate=migrate, read_only=read_only,
                           timeout=timeout, audit_webhook=bool(environ.get("AUDIT_WEBHOOK_URL")))


def locate(root: str, common_dir: str, cfg: Any, *, guarding: bool = False) -> Location:
    """Where the configured store lives (nothing is opened). ``guarding``: the caller checks
    changes against the leases other processes took (the git hooks, the agents' edit hooks),
    which a private in-memory store cannot do: refused (ConfigError, :func:`unguarded`)."""
    from maf_hooks.store import runtime

    chosen = runtime.effective(cfg)
    if chosen == runtime.MEMORY:
        found = MemoryLocation(common_dir, cfg.source("storage.runtime") if hasattr(cfg, "source") else
                               "the configuration")
        if guarding:
            from maf_hooks.errors import ConfigError

            raise ConfigError(unguarded(found))
        return found
    if chosen == runtime.POSTGRES:
        return ServerLocation(root, cfg, common_dir)
    return StoreLocation(root, common_dir, cfg)


def unguarded(found: Location) -> str | None:
    """Why a check of changes against other agents' leases cannot use ``found`` (the memory
    runtime), or None: the hooks' and the preflight's one message."""
    if found.runtime != "memory":
        return None
    from maf_hooks.store.runtime import where

    return (f"storage.runtime is memory ({where(found.source)}): a private in-memory lease store "  # type: ignore[union-attr]
            "that no other process sees, so it cannot guard anything, and the hooks refuse it. Unset MAF_RUNTIME "
            "(and MAF_RUNTIME_MODE, storage.runtime) where the hooks run; the memory runtime is for experiments "
            "and dry runs in one process (`maf mcp`, in-process use).")


def locate_given(root: str, common_dir: str, cfg: Any, given: str, cwd: str) -> StoreLocation | ServerLocation:
    """A store named on the command line (``maf db copy --to``): a ``postgresql://`` URL, under
    this repository's key and with the configured password variable and timeouts; anything else
    is a SQLite file path, relative to ``cwd``. A URL that cannot be ``storage.url`` (a password
    in it, a bad port) is refused (UsageError)."""
    from types import SimpleNamespace

    from maf_hooks.errors import UsageError
    from maf_hooks.store.url import url_problem

    if "://" in given:
        problem = url_problem(given)
        if problem:
            raise UsageError(f"--to: {problem}.")
        key, value = "storage.url", given
    else:
        key, value = "storage.db_path", os.path.abspath(os.path.join(cwd, os.path.expanduser(given)))
    # the configuration as it is, with the one key the command line names replaced
    named = SimpleNamespace(get=lambda dotted, default=None: value if dotted == key else cfg.get(dotted, default))
    if key == "storage.url":
        return ServerLocation(root, named, common_dir)
    return StoreLocation(root, common_dir, named)


def file_location(path: str, file_mode: str | None) -> StoreLocation:
    """The SQLite file at ``path`` (a backup), a file made there getting ``file_mode`` (an octal
    string; None: 0600)."""
    from types import SimpleNamespace

    full = os.path.abspath(path)
    keys = {"storage.db_path": full, "storage.file_mode": file_mode}
    named = SimpleNamespace(get=lambda dotted, default=None: keys.get(dotted, default))
    directory = os.path.dirname(full)
    return StoreLocation(directory, directory, named)


if TYPE_CHECKING:
    from typing import Union

    Location = Union[StoreLocation, ServerLocation, MemoryLocation]  # what locate() gives
