"""Delivering escalation messages: the target's mailbox, SMTP, and a JSON webhook.

Deliveries are written to the store's outbox in the same write section as the change that causes
them, then sent here: each is claimed (so that two senders never send one twice), tried with
retries and backoff, and its outcome recorded. One that still fails stays ``failed`` with its
error, and the next ``maf escalate tick`` sends it again: nothing is lost.
"""

from __future__ import annotations

import time

from maf_hooks.core import escalation as rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable

    from maf_hooks.store.base import Store
    from maf_hooks.store.escalations import Delivery

CLAIM_STALE_MS = 60_000  # a 'sending' claim older than this was abandoned by a crashed process
BACKOFF_SECONDS = 0.5


def queue(store: Store, cfg: Any, escalation_id: str, level: int, target: str, maf_type: str,
          payload: dict[str, Any], now: int) -> int:
    """Add one delivery per channel of ``target`` (inside the caller's write section); return how many."""
    channels = rules.channels_for(cfg, target)
    for channel in channels:
        store.deliveries.queue(escalation_id, level, target, channel, maf_type, payload, now)
    return len(channels)


def refresh(store: Store, escalation_id: str, now: int) -> None:
    """Bring the escalation's delivery summary up to date (inside the caller's write section)."""
    failed, waiting = store.deliveries.state(escalation_id)
    status, error = rules.delivery_summary(failed, waiting)
    store.escalations.set_delivery(escalation_id, status, error, now)


def deliver_pending(store: Store, cfg: Any, mail_root: str, *, environ: Mapping[str, str],
                    escalation_id: str | None = None, channels: Sequence[str] = (),
                    sleep: Callable[[float], None] = time.sleep) -> list[dict[str, Any]]:
    """Send every pending (or previously failed) delivery, of ``channels`` only when given;
    return one result per delivery."""
    with store.write() as now:
        claimed = store.deliveries.claim(now, now - CLAIM_STALE_MS, escalation_id, channels)
    results = []
    for item in claimed:
        spec = (cfg.get("escalation.targets") or {}).get(item.target) or {}
        error, tries = _try(store, item, cfg, spec, mail_root, environ, sleep)
        status = "sent" if error is None else "failed"
        with store.write() as now:
            store.deliveries.finish(item.id, status, item.attempts + tries, error, now)
            refresh(store, item.escalation_id, now)
        results.append({"escalation_id": item.escalation_id, "target": item.target, "channel": item.channel,
                        "status": status, "error": error, "attempts": tries, "type": item.maf_type})
    return results


def _try(store: Store, item: Delivery, cfg: Any, spec: dict[str, Any], mail_root: str,
         environ: Mapping[str, str], sleep: Callable[[float], None]) -> tuple[str | None, int]:
    """(the last error or None, how many tries) after up to ``max_retries`` retries."""
    retries = int(spec.get("max_retries", 3))
    error = None
    for attempt in range(retries + 1):
        try:
            send(item.channel, cfg, spec, mail_root, item.target, item.maf_type, item.payload, environ, store=store)
            return None, attempt + 1
        except Exception as exc:  # noqa: BLE001 - recorded and retried, never lost
            error = f"{type(exc).__name__}: {exc}"
            if attempt < retries:
                sleep(BACKOFF_SECONDS * (2 ** attempt))
    return error, retries + 1


def send(channel: str, cfg: Any, spec: dict[str, Any], mail_root: str, target: str, maf_type: str,
         payload: dict[str, Any], environ: Mapping[str, str], *, store: Store | None = None) -> None:
    """Send one escalation message by one channel, now (``mailbox``: the store's mailbox when it
    keeps mail, as in fleet mode, else the Maildir under ``mail_root``)."""
    timeout = float(spec.get("timeout_seconds", 30.0))
    if channel == "mailbox":
        from maf_hooks.mail import escalation as message
        from maf_hooks.services import mail

        mail.deliver(store, mail_root, target,
                     message.build(maf_type, payload, target, mail.repository_name(store, cfg)))
    elif channel == "email":
        from maf_hooks.mail import escalation as message
        from maf_hooks.mail import smtp
        from maf_hooks.services.mail import repository_name

        settings = cfg.get("escalation.smtp") or {}
        smtp_timeout = float(settings.get("timeout_seconds") or timeout)
        smtp.send(settings, spec["email"], message.build(maf_type, payload, target, repository_name(store, cfg)),
                  min(timeout, smtp_timeout), environ)
    elif channel == "webhook":
        from maf_hooks.mail import http

        http.post_json(spec["webhook"], payload, timeout)
    else:  # pragma: no cover - guarded by the table's CHECK
        raise ValueError(f"unknown channel {channel}")
