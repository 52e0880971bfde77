"""Appending to the ``events`` table: the one place where event rows are written.

Every row is chained: ``prev_hash`` is the previous row's ``hash`` and ``hash`` is the SHA-256 of
``prev_hash`` and the row's canonical content (id, task, time, kind, data, agent), so that
``maf audit validate`` can find a row that was changed, removed or inserted afterwards.
Call inside a write transaction (``BEGIN IMMEDIATE``): the previous hash must not move under us.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from typing import Sequence


def canonical(row: Sequence) -> str:
    """``(id, task_id, ts, kind, data_json, agent_id)`` as one unambiguous string."""
    event_id, task_id, ts, kind, data_json, agent_id = row
    return json.dumps([event_id, task_id, ts, kind, data_json, agent_id], separators=(",", ":"), ensure_ascii=False)


def chain_hash(previous: str, row: Sequence) -> str:
    return hashlib.sha256((previous + "\n" + canonical(row)).encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, task_id: str, kind: str, agent: str | None, data: dict, ts: int) -> int:
    """Insert one chained event row; return its id. Queue it for AUDIT_WEBHOOK_URL when set."""
    payload = dict(data)
    if agent is not None:
        payload.setdefault("agent", agent)
    data_json = json.dumps(payload, sort_keys=True)
    last = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    previous = (last[1] or "") if last else ""
    sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    event_id = max(sequence[0] if sequence else 0, last[0] if last else 0) + 1
    row = (event_id, task_id, ts, kind, data_json, agent)
    conn.execute(
        "INSERT INTO events (id, task_id, ts, kind, data_json, agent_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (*row, previous, chain_hash(previous, row)),
    )
    if os.environ.get("AUDIT_WEBHOOK_URL"):
        document = {"id": event_id, "task_id": task_id, "ts": ts, "kind": kind, "agent": agent, "data": payload}
        conn.execute(
            "INSERT INTO audit_outbox (event_id, payload_json, next_attempt_at) VALUES (?, ?, ?)",
            (event_id, json.dumps(document, sort_keys=True), ts),
        )
    return event_id
