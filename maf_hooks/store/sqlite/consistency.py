"""Whether the SQLite lease rows agree with each other (``maf db check``): a lease is a task, a
``leases`` row and a ``file_leases`` row with one id (docs/storage.md, "How a file lease is
stored"), the open ones counted per key by triggers (migrations 11, 18) and their expiry copied to
``file_leases.expires_at`` (migration 6). Reads only."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from maf_hooks.store.sqlite.leases import SqliteLeaseRecords

_FILE_LEASE_TASK = ("CASE WHEN json_valid(t.payload_json) THEN json_extract(t.payload_json, '$.kind') END "
                    "= 'file_lease'")

# (a query giving lease ids, what is wrong with each)
_ROW_CHECKS = (
    ("SELECT f.task_id FROM file_leases f NOT INDEXED WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = f.task_id) "
     "ORDER BY f.task_id", "has a file_leases row but no tasks row"),
    ("SELECT f.task_id FROM file_leases f NOT INDEXED WHERE NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = f.task_id) "
     "ORDER BY f.task_id", "has a file_leases row but no leases row"),
    (f"SELECT t.id FROM tasks t NOT INDEXED WHERE {_FILE_LEASE_TASK} "
     "AND NOT EXISTS (SELECT 1 FROM file_leases f WHERE f.task_id = t.id) ORDER BY t.id",
     "is a file lease task without its file_leases row"),
    (f"SELECT t.id FROM tasks t NOT INDEXED WHERE {_FILE_LEASE_TASK} "
     "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id) ORDER BY t.id",
     "is a file lease task without its leases row"),
    ("SELECT f.task_id FROM file_leases f NOT INDEXED JOIN leases l ON l.task_id = f.task_id "
     "WHERE f.ended_at IS NULL AND f.expires_at IS NOT l.lease_expires_at ORDER BY f.task_id",
     "is open with an indexed expiry (file_leases.expires_at) that differs from its leases row's"),
)


def problems(records: SqliteLeaseRecords, limit: int) -> list[str]:
    """Each disagreement found, named (at most ``limit``, the last saying how many more)."""
    found: list[str] = []
    rows, scanned = records._scan()
    if scanned:
        found.append(scanned)
    elif records._miscounted(rows):
        found.append("the open leases do not match the counts kept for their keys (lease_key_counts)")
    for sql, what in _ROW_CHECKS:
        found += [f"lease {row[0]} {what}" for row in records.db.all(sql)]
    if len(found) > limit:
        found = found[:limit - 1] + [f"and {len(found) - limit + 1} more"]
    return found
