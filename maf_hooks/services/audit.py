"""The audit use cases: validate the event chain, report who did what, run the audit guard, and
send queued events to the audit webhook. The rules are :mod:`maf_hooks.core.audit`."""

from __future__ import annotations

import os
import time

from maf_hooks.core import audit as rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from maf_hooks.store.base import Store

WEBHOOK_BUDGET_SECONDS = 1.0  # the most a command or hook waits on AUDIT_WEBHOOK_URL
FLUSH_NOW_BUDGET_SECONDS = 30.0  # `maf audit flush`, run by hand, may wait longer
RETRY_BASE_MS = rules.RETRY_BASE_MS


def validate(store: Store | None, since_ms: int | None = None, *, full: bool = False) -> dict[str, Any]:
    """Check the chain and name the first row that was changed, removed or inserted. From the
    checkpoint when one holds (see :func:`maf_hooks.core.audit.checkpoint_problem`): only the
    events added since are hashed; ``full``: every event, whatever the checkpoint. A valid chain
    from event 1 moves the checkpoint to its newest event. ``since_ms``: from the first event at
    or after that time, as before (no checkpoint read or written). No store: nothing to check.
    Besides the core's fields: ``from_checkpoint``, ``checkpoint_id`` (the event validation
    started after, or None), ``new_checked`` (events hashed by this run), ``checkpoint_problem``
    (why a checkpoint was set aside, or None), ``anchor`` (the newest anchor ``maf db gc`` left,
    where a check from the start begins: :func:`maf_hooks.core.retention.anchor_summary`, or None)."""
    from maf_hooks.core import retention

    if store is None:
        return _marked(rules.valid(), None, 0)
    trail = store.audit
    highest = trail.highest_issued_id()
    anchor = trail.latest_anchor()
    named = retention.anchor_summary(anchor)
    if since_ms is not None:
        first = trail.first_id_since(since_ms)
        if first is None:  # nothing at or after that date
            return _marked(rules.valid(), None, 0, anchor=named)
        result = rules.validate(trail.chain_rows(first), anchored=True, highest_issued=highest)
        return _marked(result, None, result["checked"], anchor=named)
    start = None if anchor is None else retention.anchor_start(anchor)
    if anchor is not None and start is None:
        broken = {"valid": False, "checked": 0, "first_invalid_id": anchor[0],
                  "problem": retention.anchor_problem(anchor)}
        return _marked(broken, None, 0, anchor=named)
    mark = None if full else trail.checkpoint()
    problem = None
    if mark is not None:
        problem = rules.checkpoint_problem(mark, trail.chain_row(mark[0]), trail.count_through(mark[0]))
    if mark is not None and problem is None:
        result, last = rules.walk(trail.chain_rows(mark[0] + 1), anchored=False, highest_issued=highest, after=mark)
        result = _marked(result, mark[0], result["checked"] - mark[2], anchor=named)
    else:
        result, last = rules.walk(trail.chain_rows(), anchored=False, highest_issued=highest, start=start)
        result = _marked(result, None, result["checked"], problem, anchor=named)
        if result["valid"] and mark is not None and problem is not None:
            # the chain holds together but is not the one verified: rewritten with new hashes
            result.update(valid=False, first_invalid_id=mark[0], problem=problem, checked=min(mark[0] - 1, mark[2]))
            return result
    if result["valid"] and last is not None:
        _save(store, last, result["checked"])
    return result


def _marked(result: dict[str, Any], checkpoint_id: int | None, new: int, problem: str | None = None, *,
            anchor: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(result, from_checkpoint=checkpoint_id is not None, checkpoint_id=checkpoint_id, new_checked=new,
                checkpoint_problem=problem, anchor=anchor)


def _save(store: Store, last: tuple[int, str], count: int) -> None:
    """Move the checkpoint to ``last``; a store that cannot be written (read-only) keeps the old one."""
    from maf_hooks.errors import StorageError

    try:
        with store.write() as now:
            store.audit.save_checkpoint((last[0], last[1], count, now))
    except StorageError:
        pass


def report(store: Store | None, *, since_ms: int, agent: str | None = None) -> dict[str, Any]:
    """Per agent and in total: leases, conflicts, overrides, escalations, preflight runs, hot paths
    (no store: an empty report)."""
    if store is None:
        return rules.report(since_ms=since_ms, agent=agent, activity=(), counts={}, contested=())
    trail = store.audit
    return rules.report(
        since_ms=since_ms, agent=agent, activity=trail.activity_since(since_ms),
        counts={key: trail.status_counts(key, since_ms) for key in ("conflicts", "escalations", "preflight")},
        contested=trail.contested_paths(since_ms, agent),
    )


def guard(store: Store | None, *, bead_id: str, mail_root: str, max_kb: float, now: int,
          stale_minutes: int = rules.STALE_MINUTES) -> dict[str, Any]:
    """The audit guard: the bead's mail against its budget, and (with a store) findings about
    stale lease holders, overdue escalations, overrides without a reason and the chain."""
    size, messages = mail_mentioning(mail_root, bead_id)
    found = rules.mail_finding(bead_id, size, messages, max_kb)
    if store is not None:
        found += rules.findings(
            stale=store.audit.stale_lease_holders(now, now - stale_minutes * 60_000), stale_minutes=stale_minutes,
            past_timeout=store.escalations.open_past_path_timeout(now), overrides=store.audit.overrides(),
            chain=validate(store),
        )
    return rules.guard_result(bead_id, size, messages, max_kb, found)


def mail_mentioning(mail_root: str, needle: str) -> tuple[int, int]:
    """(bytes, messages) of the mail under the mail root whose raw text mentions ``needle``."""
    total = count = 0
    if not needle or not os.path.isdir(mail_root):
        return 0, 0
    encoded = needle.encode("utf-8")
    for agent in sorted(os.listdir(mail_root)):
        for sub in ("new", "cur"):
            folder = os.path.join(mail_root, agent, sub)
            if not os.path.isdir(folder):
                continue
            for name in os.listdir(folder):
                try:
                    with open(os.path.join(folder, name), "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                if encoded in data:
                    total += len(data)
                    count += 1
    return total, count


def flush(store: Store, url: str, now: int, *, budget_seconds: float = WEBHOOK_BUDGET_SECONDS,
          post: Callable[[str, bytes, float], Any] | None = None,
          clock: Callable[[], float] | None = None) -> dict[str, int]:
    """POST queued audit events to ``url`` (oldest first) until done or ``budget_seconds`` (of
    ``clock``, monotonic seconds) are spent; no POST may outlast the budget. A failed POST is
    retried later with exponential backoff. Returns how many were sent, failed, still queued."""
    if post is None:
        from maf_hooks.mail.http import post as http_post  # only a flush needs HTTP

        post = http_post
    clock = clock or time.monotonic
    deadline = clock() + budget_seconds
    sent = failed = 0
    for row_id, payload, attempts in store.audit.due(now):
        remaining = deadline - clock()
        if remaining <= 0.01:
            break
        try:
            post(url, payload.encode("utf-8"), min(remaining, 5.0))
        except Exception as exc:  # noqa: BLE001 - retried later
            with store.write():
                store.audit.retry_later(row_id, attempts + 1, f"{type(exc).__name__}: {exc}",
                                        rules.next_attempt(now, attempts))
            failed += 1
            continue
        with store.write():
            store.audit.sent(row_id, attempts + 1, now)
        sent += 1
    return {"sent": sent, "failed": failed, "pending": store.audit.pending()}


def flush_now(store: Store | None, url: str | None, now: int, *,
              budget_seconds: float = FLUSH_NOW_BUDGET_SECONDS) -> dict[str, int]:
    """``maf audit flush``: send what is queued, for up to ``budget_seconds``; without ``url``
    (or a store) nothing is sent and the result only counts what waits."""
    if store is None or not url:
        return {"sent": 0, "failed": 0, "pending": pending(store)}
    return flush(store, url, now, budget_seconds=budget_seconds)


def flush_quietly(store: Store, url: str | None, now: int) -> None:
    """After a command or a hook: send queued events for at most about a second; a failure
    leaves them queued (the command's work is done either way)."""
    if not url:
        return
    try:
        flush(store, url, now)
    except Exception:  # noqa: BLE001 - queued events stay queued
        pass


def pending(store: Store | None) -> int:
    """How many events wait for the audit webhook."""
    return store.audit.pending() if store is not None else 0
