"""`maf db import-legacy`: an earlier MAF installation's records moved into this store.

Its leases (``file_reservations``, ``runtime_leases``) become file leases, each with the task id
the earlier runtime gave a file lease's synthetic task: ``file_`` + the first 16 hex characters
of the SHA-256 of its path (here the repository-relative path), so one file is one lease
whichever table or spelling named it (the one ending last is taken; the others are counted as
duplicates). Active leases stay active (through the acquire rule: :mod:`maf_hooks.core.adopted`),
ended ones become history. Heartbeats and queued messages become events (``legacy_heartbeat``,
``legacy_message``) through the event log, so the audit chain stays whole; a heartbeat newer
than the agent's last one also becomes its last heartbeat. Everything is written in one write
section; a second run finds the ids and event keys of the first and imports nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os

from maf_hooks.errors import Refused, UsageError
from maf_hooks.store.events import SYSTEM_TASK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from maf_hooks.core.reading import Reading
    from maf_hooks.store.base import Store
    from maf_hooks.store.open import Location
    from maf_hooks.store.sqlite.legacy import Record

DIRECTORY = ".maf"
FILES = ("reservations.db", "runtime.db")  # what a .maf/ directory holds; any other file is named on its own
EVENT_KINDS = {"heartbeat": "legacy_heartbeat", "message": "legacy_message"}


def lease_id(path: str) -> str:
    return "file_" + hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def legacy_files(given: str | None, root: str, cwd: str) -> list[str]:
    """The legacy databases to read: ``given`` (a ``.maf/`` directory, or one file in it), by
    default ``.maf/`` at the repository root. UsageError when there is nothing to read."""
    path = os.path.join(root, DIRECTORY) if given is None else os.path.join(cwd, given)
    if os.path.isdir(path):
        found = [os.path.join(path, name) for name in FILES if os.path.isfile(os.path.join(path, name))]
        if not found:
            raise UsageError(f"No earlier MAF database in {path} (looked for {' and '.join(FILES)}); name the "
                             "database file to read: maf db import-legacy PATH.")
        return found
    if not os.path.isfile(path):
        raise UsageError(f"No earlier MAF installation at {path}: give its .maf/ directory or a database file in it.")
    return [path]


def import_legacy(location: Location, files: Sequence[str], *, root: str, reading: Reading,
                  environ: Mapping[str, str], force: bool = False, dry_run: bool = False,
                  max_ms: int | None = None) -> dict[str, Any]:
    """Read ``files`` and write what they hold into this repository's store (nothing with
    ``dry_run``: the same work, rolled back); returns the report. Overlapping active leases
    refuse it all (Refused, exit 1) unless ``force``. ``max_ms``: the longest lease anyone may
    take (``reservation.max_timeout_minutes``): an active earlier lease running longer from now is
    cut to it (counted as ``capped``), so no import leaves a lease no one could have asked for."""
    from maf_hooks.store.sqlite import legacy

    sources, records = [], []
    for path in files:
        tables, found = legacy.read(path)
        sources.append({"path": path, "tables": tables})
        records.extend(found)
    if not any(source["tables"] for source in sources):
        raise UsageError(f"{', '.join(files)}: none of the earlier MAF tables ({', '.join(legacy.TABLES)}) is there.")
    plan = _Plan(records, root, max_ms)
    if dry_run and not location.exists():
        return _rehearsed(plan, reading, sources)
    with location.open(environ=environ, upgrade=not dry_run) as store:  # a dry run migrates no server
        try:
            with store.write() as now:
                report = plan.write(store, now, reading, force=force)
                if report["overlaps"] and not force and not dry_run:
                    raise Refused(_refusal(report["overlaps"]))
                if dry_run:
                    raise _Rehearsed(report)
        except _Rehearsed as rehearsed:
            report = rehearsed.report
    return {"sources": sources, "dry_run": dry_run, **report}


class _Rehearsed(Exception):
    """Ends a dry run's write section, which rolls it back, carrying what it would have done."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__("dry run")
        self.report = report


def _rehearsed(plan: _Plan, reading: Reading, sources: list[dict[str, Any]]) -> dict[str, Any]:
    """A dry run with no store yet: the same work on a new store in a temporary directory."""
    import tempfile

    from maf_hooks.store.sqlite import open_file
    from maf_hooks.timeutil import now_ms

    with tempfile.TemporaryDirectory(prefix="maf-dry-run-") as scratch:
        with open_file(os.path.join(scratch, "dry-run.db"), now_ms) as store, store.write() as now:
            report = plan.write(store, now, reading, force=False)
    return {"sources": sources, "dry_run": True, **report}


def _refusal(overlaps: list[dict[str, Any]]) -> str:
    listed = "; ".join(f"{o['pattern']} of {o['agent']} ({o['id']}) overlaps {o['holder_pattern']} held by "
                       f"{o['holder']} ({o['holder_lease']})" for o in overlaps[:10])
    more = f" and {len(overlaps) - 10} more" if len(overlaps) > 10 else ""
    return (f"Active earlier leases overlap active leases of other agents: {listed}{more}. Nothing was imported. "
            "Release those leases first, or give --force to have the earlier leases take them over (recorded as "
            "takeovers); --dry-run lists them all.")


class _Plan:
    """The records read, as what to write: one lease per file (the one ending last), the events."""

    def __init__(self, records: list[Record], root: str, max_ms: int | None = None) -> None:
        from maf_hooks import patterns

        self.max_ms = max_ms
        self.skipped: list[dict[str, Any]] = []
        self.duplicates = 0
        self.leases: dict[str, tuple[str, Record]] = {}  # id -> (pattern, record)
        self.events: list[Record] = []
        for record in records:
            if record.problem is None and record.kind == "lease":
                try:
                    path = patterns.normalize_path(record.fields["path"], root)
                    _agent(record.fields["agent"])
                except UsageError as exc:
                    record = record._replace(problem=str(exc))
            if record.problem is not None:
                self.skipped.append({"source": record.source, "kind": record.kind, "problem": record.problem,
                                     "record": {k: v for k, v in record.fields.items() if k not in ("body", "context")}})
            elif record.kind == "lease":
                key = lease_id(path)
                held = self.leases.get(key)
                if held is not None:
                    self.duplicates += 1
                    if _ends(held[1]) >= _ends(record):
                        continue
                self.leases[key] = (patterns.escape(path), record)
            else:
                self.events.append(record)

    def write(self, store: Store, now: int, reading: Reading, *, force: bool) -> dict[str, Any]:
        from maf_hooks.core.adopted import adopt

        known_ids, known_keys = _already(store)
        counts = {"active": 0, "history": 0, "already_imported": 0, "duplicates": self.duplicates, "capped": 0}
        overlaps: list[dict[str, Any]] = []
        order = sorted(self.leases.items(), key=lambda item: (_starts(item[1][1], now), item[0]))
        for key, (pattern, record) in order:
            if key in known_ids:
                counts["already_imported"] += 1
                continue
            fields = record.fields
            expires, origin = fields["expires"], {"source": record.source, "legacy_path": fields["path"]}
            if self.max_ms and fields.get("released") is None and expires > now + self.max_ms:
                expires, origin["legacy_expires_at"] = now + self.max_ms, fields["expires"]  # cut to the longest lease
                counts["capped"] += 1
            lease, found = adopt(store, key, fields["agent"], pattern, str(fields.get("reason") or ""),
                                 _starts(record, now), expires, now, released_at=fields.get("released"),
                                 origin=origin, force=force, reading=reading)
            counts["active" if lease.end_reason is None else "history"] += 1
            overlaps.extend({"id": key, "pattern": pattern, "agent": lease.agent, "holder": c.lease.agent,
                             "holder_lease": c.lease.id, "holder_pattern": c.lease.pattern, "taken_over": force}
                            for c in found)
        events = {"heartbeats": 0, "messages": 0, "already_imported": 0}
        fresh = [record for record in self.events if record.key not in known_keys]
        events["already_imported"] = len(self.events) - len(fresh)
        store.events.append_many([_event(record) for record in fresh], now)
        agents = _heartbeats(store, [record for record in fresh if record.kind == "heartbeat"])
        for record in fresh:
            events["heartbeats" if record.kind == "heartbeat" else "messages"] += 1
        return {"leases": counts, "events": events, "agents_updated": agents, "overlaps": overlaps,
                "skipped": self.skipped}


def _agent(value: str) -> str:
    from maf_hooks.identity import validate_agent_id

    return validate_agent_id(value, source="agent id")


def _ends(record: Record) -> int:
    released = record.fields.get("released")
    return released if released is not None else record.fields["expires"]


def _starts(record: Record, now: int) -> int:
    created = record.fields.get("created")
    return created if created is not None else min(record.fields["expires"], now)


def _event(record: Record) -> tuple[str, str, str | None, dict[str, Any]]:
    from maf_hooks.identity import is_valid_agent_id

    fields = record.fields
    data: dict[str, Any] = {"source": record.source, "legacy_key": record.key}
    if record.kind == "heartbeat":
        data.update(status=fields.get("status"), context=fields.get("context"), at=fields["seen"])
        agent = fields["agent"]
    else:
        body = fields["body"]
        data.update(message=body, queued_at=fields.get("queued"), recipient=fields.get("recipient"))
        if isinstance(body, dict) and isinstance(body.get("type"), str):
            data["type"] = body["type"]
        agent = fields.get("recipient")
    return SYSTEM_TASK, EVENT_KINDS[record.kind], agent if isinstance(agent, str) and is_valid_agent_id(agent) else None, data


def _heartbeats(store: Store, records: list[Record]) -> int:
    """Make a heartbeat the agent's last one where it is newer than what the store has."""
    from maf_hooks.identity import is_valid_agent_id

    last = store.leases.heartbeats()
    newest: dict[str, Record] = {}
    for record in records:
        agent = record.fields["agent"]
        if is_valid_agent_id(agent) and record.fields["seen"] > last.get(agent, -1):
            if agent not in newest or record.fields["seen"] > newest[agent].fields["seen"]:
                newest[agent] = record
    for agent, record in newest.items():
        status = record.fields.get("status")
        store.leases.heartbeat(agent, status if isinstance(status, str) else None, record.fields["seen"])
    return len(newest)


def _already(store: Store) -> tuple[set[str], set[str]]:
    """The lease ids in the store, and the keys of the legacy events already written: one read
    of the leases' ids and of the events, a page at a time (a one-off migration's cost)."""
    from maf_hooks.store.transfer import KINDS, transfer_of

    reader = transfer_of(store)
    ids = {row[0] for page in reader.dump("leases") for row in page}
    kind_at, data_at = KINDS["events"].index("kind"), KINDS["events"].index("data_json")
    keys = set()
    for page in reader.dump("events"):
        for row in page:
            if row[kind_at] in EVENT_KINDS.values():
                keys.add(json.loads(row[data_at]).get("legacy_key"))
    return ids, keys
