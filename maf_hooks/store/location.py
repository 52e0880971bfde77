"""Where the lease database lives.

Default: ``maf/runtime.db`` inside the git common directory, so every linked worktree of one
repository shares one database, it is never committed or stashed, and survives ``git clean -fdx``.
``MAF_DB_PATH`` or ``storage.db_path`` (relative to the repository root) override it.
"""

from __future__ import annotations

import os

DEFAULT_RELATIVE = os.path.join("maf", "runtime.db")


def db_path(root: str, common_dir: str, configured: str | None) -> str:
    """The database path in use: the configured one (relative to ``root``) or the default."""
    if configured:
        return os.path.normpath(os.path.join(root, os.path.expanduser(configured)))
    return os.path.join(common_dir, DEFAULT_RELATIVE)
