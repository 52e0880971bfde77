"""The one place a backend is chosen: configuration and environment in, an open store out.

Today every store is SQLite (a file in the git common directory unless ``MAF_DB_PATH`` or
``storage.db_path`` says otherwise); a server backend is chosen here too when it exists.
"""

from __future__ import annotations

import os

from maf_hooks.store import location

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping

    from maf_hooks.store.base import Store


class StoreLocation:
    """Where the configured store lives, before anything is opened (``exists`` never creates)."""

    backend = "sqlite"

    def __init__(self, root: str, common_dir: str, cfg: Any) -> None:
        self.path = location.db_path(root, common_dir, cfg.get("storage.db_path"))
        self.file_mode = cfg.get("storage.file_mode")  # validated: an octal string such as "0600"

    def __str__(self) -> str:
        return self.path

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def open(self, *, environ: Mapping[str, str], clock: Callable[[], int] | None = None,
             create: bool = True, migrate: bool = True, read_only: bool = False,
             timeout: float | None = None) -> Store:
        """Open the store (creating and migrating it unless told not to). ``environ`` decides
        whether events are also queued for the audit webhook (``AUDIT_WEBHOOK_URL``).

        ``migrate=False``: leave the schema (and the journal mode) as they are. ``read_only``:
        inspect only (nothing created, migrated or written; a newer schema is not refused, the
        caller reads ``store.schema()``). ``timeout``: seconds to wait for another writer. A
        database file made here gets ``storage.file_mode`` (default 0600), whatever the umask."""
        from maf_hooks.store.sqlite import open_file
        from maf_hooks.timeutil import now_ms

        mode = int(self.file_mode, 8) if isinstance(self.file_mode, str) else None
        return open_file(self.path, clock or now_ms, create=create, migrate=migrate, read_only=read_only, timeout=timeout,
                         audit_webhook=bool(environ.get("AUDIT_WEBHOOK_URL")), file_mode=mode)


def locate(root: str, common_dir: str, cfg: Any) -> StoreLocation:
    return StoreLocation(root, common_dir, cfg)
