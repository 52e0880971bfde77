"""``maf db gc``: delete what the retention settings no longer keep, and replace the pruned
events with one anchor event so that the audit chain stays verifiable (docs/operations.md).

The rules are :mod:`maf_hooks.core.retention`; the rows are the store's (:mod:`maf_hooks.store.retention`).
Everything is deleted in one write section: all of it or none. Events go only from the start of
the chain, and only when the chain is intact: it is validated first (from its checkpoint), and a
broken chain is refused, since pruning its broken part would erase the evidence.
"""

from __future__ import annotations

from maf_hooks.core import retention as rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from maf_hooks.store.base import Store


def retention_days(cfg: Any) -> dict[str, int]:
    """``storage.retention``'s days per kind (the schema's defaults where the file sets none)."""
    return {kind: int(cfg.get(f"storage.retention.{kind}_days")) for kind in rules.KINDS}


def kept_windows(cfg: Any) -> dict[str, int]:
    """The windows the mail dedup rule and the escalation triggers read (:func:`maf_hooks.core.retention.floors`)."""
    windows = [int(trigger.get("window_minutes") or 0) for path in (cfg.get("escalation.paths") or [])
               for trigger in (path.get("trigger_conditions") or [])]
    return rules.floors(int(cfg.get("mail.dedup_minutes", 0) or 0), windows)


def gc(store: Store, cfg: Any, *, older_than_ms: int | None = None, dry_run: bool = False,
       vacuum: bool = False) -> dict[str, Any]:
    """Delete (``dry_run``: only count) every record older than its kind's cut-off, prune the
    events and write their anchor; ``vacuum``: compact the store afterwards. Refused
    (:class:`maf_hooks.errors.Refused`, nothing deleted) when events are due and the chain is broken."""
    from maf_hooks.services import audit

    days, floors = retention_days(cfg), kept_windows(cfg)
    chain = audit.validate(store)  # outside the section: a first check from the start waits for no writer
    if dry_run:
        cut = rules.cutoffs(days, store.now(), older_than_ms=older_than_ms, floors_ms=floors)
        _refuse_broken(chain, cut)
        records = _each(store, cut, store.retention.count)
        end = store.retention.event_prefix_end(cut["events"]) if cut["events"] is not None else None
        records["events"] = store.audit.count_through(end) if end is not None else 0
        return _document(store, cut, records, chain, None, dry_run=True)
    with store.write() as now:
        cut = rules.cutoffs(days, now, older_than_ms=older_than_ms, floors_ms=floors)
        if cut["events"] is not None:
            chain = audit.validate(store)  # again, under the lock: from the checkpoint just saved
            _refuse_broken(chain, cut)
        records = _each(store, cut, store.retention.delete)
        anchor = _prune_events(store, cut["events"], now) if cut["events"] is not None else None
        records["events"] = anchor["pruned"] if anchor else 0
    result = _document(store, cut, records, chain, anchor, dry_run=False)
    if vacuum:
        result["vacuum"] = store.retention.vacuum()
    return result


def _each(store: Store, cut: dict[str, int | None], act: Callable[[str, int], int]) -> dict[str, int]:
    """``act`` (count or delete) on every record kind the store keeps whose cut-off is set (0 for the others)."""
    from maf_hooks.store.retention import RECORDS

    found = {}
    for record in store.retention.records:
        before = cut[RECORDS[record]]
        found[record] = act(record, before) if before is not None else 0
    return found


def _refuse_broken(chain: dict[str, Any], cut: dict[str, int | None]) -> None:
    from maf_hooks.errors import Refused

    if cut["events"] is not None and not chain["valid"]:
        raise Refused(f"The audit chain is broken at event {chain['first_invalid_id']}: {chain['problem']}. "
                      "gc deletes nothing while it is (pruning the events would erase the evidence); see "
                      "`maf audit validate --full` and docs/audit.md.")


def _prune_events(store: Store, before: int, now: int) -> dict[str, Any] | None:
    """Append the anchor that replaces the prunable start of the chain and delete that start; move
    the checkpoint to the anchor (the chain was verified up to its newest event in this section)."""
    from maf_hooks.store.audit import ANCHOR_KIND
    from maf_hooks.store.events import SYSTEM_TASK

    trail = store.audit
    end = store.retention.event_prefix_end(before)
    if end is None:
        return None
    last = trail.chain_row(end)
    if last is None:  # the run ends at a stored event, in this section
        raise AssertionError(f"event {end} is not stored")
    digest = last[7]  # the hash the chain had there: what event end + 1 chains to
    previous = trail.latest_anchor()
    start = rules.anchor_start(previous) if previous is not None else None
    pruned_before = start[0] - 1 if start is not None else 0
    pruned = trail.count_through(end)
    data = rules.anchor_data(pruned=pruned, pruned_total=pruned_before + pruned, first_id=end + 1, digest=digest,
                             before=before, previous=previous[0] if previous is not None else None)
    # appended before the delete, so that it chains to the newest event even when every event goes
    anchor_id = store.events.append(SYSTEM_TASK, ANCHOR_KIND, None, data, now)
    store.retention.delete_events_through(end)
    row = trail.chain_row(anchor_id)
    if row is None:
        raise AssertionError(f"the anchor {anchor_id} just appended is not stored")
    trail.save_checkpoint((anchor_id, row[7], trail.count_through(anchor_id), now))
    return rules.anchor_summary(row)


def _document(store: Store, cut: dict[str, int | None], records: dict[str, int], chain: dict[str, Any],
              anchor: dict[str, Any] | None, *, dry_run: bool) -> dict[str, Any]:
    from maf_hooks.timeutil import iso

    return {"dry_run": dry_run, "backend": store.backend, "location": store.location,
            "before": {kind: iso(value) for kind, value in cut.items()},
            "records": records, "anchor": anchor,
            "audit": {"valid": chain["valid"], "checked": chain["checked"]}, "vacuum": None}
