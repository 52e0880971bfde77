"""Transitional: a :class:`SqliteStore` over a raw connection, for callers that still hold one
(``Context.database()``); goes once every caller opens ``Context.store()``.

The store's clock is ``now`` fixed, so that those callers keep passing their time in. Whether
events are queued for the audit webhook is read from ``os.environ`` here, as the raw-connection
callers always did; a store opened properly gets it from the environ its caller passes.
"""

from __future__ import annotations

import os

from maf_hooks.store.sqlite import SqliteStore
from maf_hooks.store.sqlite.connection import Database

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3


def store_for(conn: sqlite3.Connection, now: int) -> SqliteStore:
    """The store over ``conn`` (not closed with it: the caller owns the connection)."""
    return SqliteStore(Database(conn, ""), lambda: now, audit_webhook=bool(os.environ.get("AUDIT_WEBHOOK_URL")))
