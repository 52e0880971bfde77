"""Reading an earlier MAF installation (`maf db import-legacy`): its SQLite files, opened read only.

The design documents name the tables (``file_reservations`` in ``.maf/reservations.db``, the
``runtime_leases``, ``runtime_heartbeats`` and ``runtime_message_queue`` tables of the runtime's
database) and what they held (a lease: a file path, an agent, an expiry; a heartbeat: an agent,
a status, a context; a queued protocol message), not their columns. So a table is read by its
columns' names, each of several spellings (:data:`COLUMNS`, case ignored; docs/operations.md
lists them), and a table missing a required one is refused (UsageError) rather than guessed.
Times are integer milliseconds (the runtime's ``Date.now()``); a number below 10^11 is taken as
seconds, a text as ISO 8601.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from typing import Any, NamedTuple

from maf_hooks.errors import UsageError

LEASES = ("file_reservations", "runtime_leases")
HEARTBEATS = "runtime_heartbeats"
MESSAGES = "runtime_message_queue"
TABLES = (*LEASES, HEARTBEATS, MESSAGES)

# a field -> the column names it may have, first found wins
COLUMNS: dict[str, tuple[str, ...]] = {
    "path": ("file_path", "path", "filepath", "file"),
    "agent": ("agent_id", "agentid", "agent", "holder"),
    "expires": ("expires_at", "lease_expires_at", "expiresat", "expires"),
    "created": ("created_at", "acquired_at", "createdat"),
    "released": ("released_at", "ended_at", "releasedat"),
    "reason": ("reason", "purpose", "description"),
    "status": ("status", "state"),
    "context": ("context_json", "context"),
    "seen": ("last_seen", "last_heartbeat", "heartbeat_at", "updated_at", "timestamp", "created_at"),
    "body": ("message_json", "envelope_json", "payload_json", "message", "payload", "data"),
    "recipient": ("agent_id", "recipient", "to_agent", "agentid", "target"),
    "queued": ("created_at", "enqueued_at", "timestamp", "createdat"),
}
REQUIRED = {"lease": ("path", "agent", "expires"), "heartbeat": ("agent", "seen"), "message": ("body",)}


class Record(NamedTuple):
    """One legacy row: its ``kind`` (lease, heartbeat, message), where it came from
    (``file:table``), a key naming it whatever file it is read from (a digest of its table and
    values), its fields, and a problem when a value cannot be read (the row is then skipped)."""

    kind: str
    source: str
    key: str
    fields: dict[str, Any]
    problem: str | None = None


def read(path: str) -> tuple[dict[str, int], list[Record]]:
    """The legacy tables of the SQLite file ``path`` (read only): rows per table found, and the
    records in table order, then rowid order. UsageError for a file that is not SQLite, or a
    table without a required column."""
    from urllib.parse import quote

    uri = "file:" + quote(os.path.abspath(path)) + "?mode=ro"  # %, ? and # in a name escaped
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise UsageError(f"Cannot open {path} as an SQLite database ({exc}).") from None
    try:
        names = {row[0].lower(): row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        found: dict[str, int] = {}
        records: list[Record] = []
        for table in TABLES:
            if table in names:
                rows = _table(conn, path, names[table], table)
                found[table] = len(rows)
                records.extend(rows)
        return found, records
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path} is not a readable SQLite database ({exc}); nothing was imported.") from None
    finally:
        conn.close()


def _kind(table: str) -> str:
    return "lease" if table in LEASES else "heartbeat" if table == HEARTBEATS else "message"


def _table(conn: sqlite3.Connection, path: str, name: str, table: str) -> list[Record]:
    kind = _kind(table)
    columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')]
    lowered = {column.lower(): i for i, column in enumerate(columns)}
    wanted = ("recipient", "queued") if kind == "message" else ()
    fields = {field: next((lowered[n] for n in names if n in lowered), None) for field, names in COLUMNS.items()
              if field in (*REQUIRED[kind], *_OPTIONAL[kind], *wanted)}
    missing = [field for field in REQUIRED[kind] if fields.get(field) is None]
    if missing:
        spelled = "; ".join(f"{field}: one of {', '.join(COLUMNS[field])}" for field in missing)
        raise UsageError(f"{path}: the table {name} has no column for {spelled} (its columns: "
                         f"{', '.join(columns) or 'none'}). Nothing was imported.")
    source = f"{os.path.basename(path)}:{table}"
    records = []
    for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
        key = hashlib.sha256(json.dumps([table, [_plain(v) for v in row]]).encode()).hexdigest()[:24]
        values = {field: row[i] for field, i in fields.items() if i is not None}
        try:
            records.append(Record(kind, source, key, _converted(kind, values)))
        except ValueError as exc:
            records.append(Record(kind, source, key, {k: _plain(v) for k, v in values.items()}, str(exc)))
    return records


_OPTIONAL = {"lease": ("created", "released", "reason"), "heartbeat": ("status", "context"), "message": ()}


def _plain(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _converted(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for field in ("expires", "created", "released", "seen", "queued"):
        if field in out:
            out[field] = ms(out[field], field, required=field in REQUIRED[kind])
    for field in ("path", "agent", "recipient", "status", "reason"):
        if isinstance(out.get(field), bytes):
            out[field] = out[field].decode("utf-8", "surrogateescape")
    for field in REQUIRED[kind]:
        if field in ("path", "agent") and (not isinstance(out.get(field), str) or not out[field]):
            raise ValueError(f"no {field}")
    for field in ("context", "body"):
        if field in out:
            out[field] = _document(out[field])
    return out


def _document(value: Any) -> Any:
    """A JSON text as the value it holds; any other text (or bytes) as text."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def ms(value: Any, field: str, *, required: bool = False) -> int | None:
    """A legacy time in milliseconds: an integer (seconds when below 10^11), a numeric text, or
    an ISO 8601 text. ValueError names what cannot be read."""
    if value is None or value == "":
        if required:
            raise ValueError(f"no {field} time")
        return None
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = int(value)
        return number * 1000 if abs(number) < 10**11 else number
    if isinstance(value, str):
        from maf_hooks.timeutil import parse_iso_ms

        try:
            return parse_iso_ms(value)
        except UsageError:
            raise ValueError(f"{field} time {value!r} is neither milliseconds nor ISO 8601") from None
    raise ValueError(f"{field} time {value!r} is not a time")
