"""``maf db check``: whether a store is sound, each problem named. Read through the store
interface, so that every backend answers the same questions:

- its pages and foreign keys (:meth:`Store.health`, read by :func:`maf_hooks.core.health.findings`,
  as ``maf-preflight``'s database check reads them; quick_check, or integrity_check with ``full``);
- its schema version (no schema at all is damage);
- its leases: an ended lease still ``LEASED`` or an open one that is not, one fencing token given
  twice or above the counter, and what the backend's own layout contradicts
  (:meth:`LeaseRecords.stored_problems`: SQLite's three rows per lease and counts per key);
- its audit chain (:func:`maf_hooks.services.audit.validate`: from the checkpoint, or every
  event with ``full``).

A store that proves damaged while it is read (:class:`DamagedStore`) is a problem found; a store
that cannot be reached or read at all raises :class:`StorageError` (exit 3).
"""

from __future__ import annotations

from maf_hooks.errors import DamagedStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from maf_hooks.store.base import Store
    from maf_hooks.store.open import Location

LIMIT = 20  # problems named per part checked; the last one says how many more


def check_location(location: Location, *, environ: Mapping[str, str], full: bool = False) -> dict[str, Any]:
    """:func:`check` of the store at ``location``, opened to read only (nothing created,
    migrated or written; a server's audit checkpoint may move, as ``maf audit validate`` moves it)."""
    try:
        store = location.open(environ=environ, read_only=True, create=False, migrate=False)
    except DamagedStore as exc:
        report = _report(str(location), location.backend, full)
        report["problems"].append({"check": "open", "problem": str(exc)})
        return _done(report)
    with store:
        return check(store, full=full)


def check(store: Store, *, full: bool = False) -> dict[str, Any]:
    """The check's report: ``ok``, ``problems`` (each ``{"check", "problem"}``), the schema and
    page facts, ``leases`` (``active``, ``checked``) and ``audit`` (the chain's validation and its
    ``scope``). Parts that cannot be read past a damage found are left out (None)."""
    from maf_hooks.core.health import findings

    report = _report(store.location, store.backend, full)
    problems = report["problems"]
    page_check = "integrity_check" if full else "quick_check"
    try:
        health = store.health(thorough=True, full=full)
    except DamagedStore as exc:
        problems.append({"check": "integrity", "problem": str(exc)})
        return _done(report)
    facts, found = findings(health, page_check)
    report.update(facts)
    # the journal mode is how the file is used, not damage (maf-preflight judges it)
    problems += [{"check": f.kind, "problem": f.text} for f in found if f.kind != "journal_mode"]
    if health.schema.version != health.schema.latest:
        return _done(report)  # its tables are not the ones this maf-hooks reads
    try:
        report["leases"] = _leases(store, problems)
    except DamagedStore as exc:
        problems.append({"check": "leases", "problem": str(exc)})
    try:
        report["audit"] = _audit(store, full, problems)
    except DamagedStore as exc:
        problems.append({"check": "audit", "problem": str(exc)})
    return _done(report)


def _report(location: str, backend: str, full: bool) -> dict[str, Any]:
    return {"ok": False, "location": location, "backend": backend, "full": full, "problems": [],
            "leases": None, "audit": None}


def _done(report: dict[str, Any]) -> dict[str, Any]:
    report["ok"] = not report["problems"]
    return report


def _leases(store: Store, problems: list[dict[str, str]]) -> dict[str, int]:
    from maf_hooks.store.transfer import transfer_of

    now = store.now()
    found: list[str] = []
    tokens: dict[int, str] = {}
    checked = active = 0
    for lease in store.leases.listing(now, active_only=False):
        checked += 1
        if lease.ended_at is None and lease.status(now) == "active":
            active += 1
        if lease.ended_at is not None and lease.state == "LEASED":
            found.append(f"lease {lease.id} ended (ended_at set) but its state is still LEASED")
        elif lease.ended_at is None and lease.state != "LEASED":
            found.append(f"lease {lease.id} is not ended (no ended_at) but its state is {lease.state}")
        if lease.token is None:
            continue
        if lease.token in tokens:
            found.append(f"leases {tokens[lease.token]} and {lease.id} carry the same fencing token {lease.token}")
        tokens.setdefault(lease.token, lease.id)
    counter = transfer_of(store).counters().last_token
    if tokens and max(tokens) > counter:
        found.append(f"the fencing token counter ({counter}) is below a token already given ({max(tokens)}): "
                     "it would give that token again")
    found += store.leases.stored_problems(now, LIMIT)
    if len(found) > LIMIT:
        found = found[:LIMIT - 1] + [f"and {len(found) - LIMIT + 1} more"]
    problems += [{"check": "leases", "problem": text} for text in found]
    return {"checked": checked, "active": active}


def _audit(store: Store, full: bool, problems: list[dict[str, str]]) -> dict[str, Any]:
    from maf_hooks.services import audit

    chain = audit.validate(store, full=full)
    scope = (f"events after the checkpoint at event {chain['checkpoint_id']}" if chain["from_checkpoint"]
             else "every event")
    if not chain["valid"]:
        problems.append({"check": "audit", "problem": f"audit chain broken at event {chain['first_invalid_id']}: "
                                                      f"{chain['problem']}"})
    return dict(chain, scope=scope)
