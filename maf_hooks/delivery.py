"""Delivering escalation messages: the target's mailbox, SMTP, and a JSON webhook.

Deliveries are rows of ``escalation_deliveries`` written in the same transaction as the change
that causes them (an outbox), then sent: a delivery that fails after its retries stays ``failed``
with its error, and the next ``maf escalate tick`` sends it again. Nothing is lost.
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable

from maf_hooks.store.sqlite.connection import immediate

CLAIM_STALE_MS = 60_000  # a 'sending' claim older than this was abandoned by a crashed process
BACKOFF_SECONDS = 0.5


def channels_for(cfg, target: str) -> list[str]:
    """Every channel a target gets: its mailbox always, plus email and webhook when configured."""
    spec = (cfg.get("escalation.targets") or {}).get(target)
    if spec is not None and not spec.get("enabled", True):
        return []
    found = ["mailbox"]
    if spec and spec.get("email"):
        found.append("email")
    if spec and spec.get("webhook"):
        found.append("webhook")
    return found


def queue(conn, cfg, escalation_id: str, level: int, target: str, maf_type: str, payload: dict, now: int) -> int:
    """Add one delivery row per channel of ``target`` (inside the caller's transaction)."""
    rows = 0
    for channel in channels_for(cfg, target):
        conn.execute(
            "INSERT INTO escalation_deliveries (escalation_id, level, target, channel, maf_type, payload_json, "
            "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (escalation_id, level, target, channel, maf_type, json.dumps(payload, sort_keys=True), now, now),
        )
        rows += 1
    return rows


def _claim(conn, now: int, escalation_id: str | None, channels) -> list[tuple]:
    with immediate(conn):
        sql = ("SELECT id, escalation_id, level, target, channel, maf_type, payload_json, attempts FROM escalation_deliveries "
               "WHERE (status IN ('pending','failed') OR (status = 'sending' AND claimed_at < ?))")
        args: list = [now - CLAIM_STALE_MS]
        if escalation_id:
            sql += " AND escalation_id = ?"
            args.append(escalation_id)
        if channels:
            sql += f" AND channel IN ({','.join('?' * len(channels))})"
            args.extend(channels)
        rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        for row in rows:
            conn.execute("UPDATE escalation_deliveries SET status = 'sending', claimed_at = ? WHERE id = ?", (now, row[0]))
    return rows


def deliver_pending(conn, cfg, mail_root: str, now: int, *, escalation_id: str | None = None,
                    channels: tuple = (), sleep: Callable[[float], None] = time.sleep, environ=None) -> list[dict]:
    """Send every pending (or previously failed) delivery, of ``channels`` only when given;
    return one result per delivery."""
    environ = os.environ if environ is None else environ
    results = []
    for row_id, esc_id, level, target, channel, maf_type, payload_json, attempts in _claim(conn, now, escalation_id, channels):
        payload = json.loads(payload_json)
        spec = (cfg.get("escalation.targets") or {}).get(target) or {}
        retries = int(spec.get("max_retries", 3))
        error = None
        tries = 0
        for attempt in range(retries + 1):
            tries += 1
            try:
                _send(channel, cfg, spec, mail_root, target, maf_type, payload, environ)
                error = None
                break
            except Exception as exc:  # noqa: BLE001 - recorded and retried, never lost
                error = f"{type(exc).__name__}: {exc}"
                if attempt < retries:
                    sleep(BACKOFF_SECONDS * (2 ** attempt))
        status = "sent" if error is None else "failed"
        with immediate(conn):
            conn.execute(
                "UPDATE escalation_deliveries SET status = ?, attempts = ?, last_error = ?, updated_at = ? WHERE id = ?",
                (status, attempts + tries, error, now, row_id),
            )
            _update_tracking(conn, esc_id, now)
        results.append({"escalation_id": esc_id, "target": target, "channel": channel, "status": status,
                        "error": error, "attempts": tries, "type": maf_type})
    return results


def _update_tracking(conn, escalation_id: str, now: int) -> None:
    failed = conn.execute(
        "SELECT channel, target, last_error FROM escalation_deliveries WHERE escalation_id = ? AND status = 'failed' "
        "ORDER BY id DESC LIMIT 1", (escalation_id,)
    ).fetchone()
    waiting = conn.execute(
        "SELECT COUNT(*) FROM escalation_deliveries WHERE escalation_id = ? AND status IN ('pending','sending')",
        (escalation_id,),
    ).fetchone()[0]
    if failed:
        status, error = "failed", f"{failed[0]} to {failed[1]}: {failed[2]}"
    else:
        status, error = ("pending" if waiting else "delivered"), None
    conn.execute(
        "UPDATE escalation_tracking SET delivery_status = ?, delivery_error = ?, updated_at = ? WHERE escalation_id = ?",
        (status, error, now, escalation_id),
    )


# --- channels ------------------------------------------------------------------------------

def build(maf_type: str, payload: dict, target: str):
    """The Maildir/SMTP message for an escalation payload."""
    from maf_hooks import mail  # noqa: PLC0415

    sender = payload.get("agentId")
    try:
        from maf_hooks.identity import is_valid_agent_id  # noqa: PLC0415

        sender = sender if sender and is_valid_agent_id(sender) else None
    except ImportError:  # pragma: no cover
        sender = None
    return mail.build_message(
        sender=sender,
        recipient=target,
        subject=subject(maf_type, payload),
        text=readable(maf_type, payload),
        maf_type=maf_type,
        json_payload=payload,
        extra_headers={"X-MAF-Escalation-Id": payload["escalationId"]},
    )


def subject(maf_type: str, payload: dict) -> str:
    reason = " ".join(str(payload.get("reason", "")).split())[:120]
    if maf_type == "ESCALATION_REQUEST":
        return f"[MAF] ESCALATION_REQUEST level {payload.get('level')} ({payload.get('priority')}): {reason}"
    if maf_type == "ESCALATION_TIMEOUT":
        return f"[MAF] ESCALATION_TIMEOUT: nobody acknowledged {payload.get('escalationId')}: {reason}"
    return f"[MAF] {maf_type} {payload.get('status', '')}: {payload.get('escalationId')}"


def readable(maf_type: str, payload: dict) -> str:
    lines = [f"{maf_type} {payload.get('escalationId')}", ""]
    if maf_type == "ESCALATION_RESPONSE":
        lines.append(f"Your escalation was {payload.get('status')} by {payload.get('respondedBy')}.")
        if payload.get("note"):
            lines.append(f"Note: {payload['note']}")
    else:
        lines += [
            f"Agent:    {payload.get('agentId')}",
            f"Path:     {payload.get('pathId')} (level {payload.get('level')})",
            f"Priority: {payload.get('priority')}",
            f"Reason:   {payload.get('reason')}",
        ]
        if maf_type == "ESCALATION_TIMEOUT":
            lines += ["", "Nobody acknowledged this escalation in time; it is closed as timed out."]
        else:
            lines += ["", f"Acknowledge: maf escalate ack {payload.get('escalationId')} --note '...'",
                      f"Resolve:     maf escalate resolve {payload.get('escalationId')} --note '...'"]
    if payload.get("context"):
        lines += ["", "Context:", json.dumps(payload["context"], indent=2, sort_keys=True)]
    return "\n".join(lines) + "\n"


def _send(channel: str, cfg, spec: dict, mail_root: str, target: str, maf_type: str, payload: dict, environ) -> None:
    timeout = float(spec.get("timeout_seconds", 30.0))
    if channel == "mailbox":
        from maf_hooks import mail  # noqa: PLC0415

        mail.deliver(mail_root, target, build(maf_type, payload, target))
    elif channel == "email":
        smtp_timeout = float((cfg.get("escalation.smtp") or {}).get("timeout_seconds") or timeout)
        _smtp(cfg, spec["email"], build(maf_type, payload, target), min(timeout, smtp_timeout), environ)
    elif channel == "webhook":
        _post_json(spec["webhook"], payload, timeout)
    else:  # pragma: no cover - guarded by the table's CHECK
        raise ValueError(f"unknown channel {channel}")


def _smtp(cfg, address: str, message, timeout: float, environ) -> None:
    import smtplib  # noqa: PLC0415

    smtp = cfg.get("escalation.smtp") or {}
    if not smtp.get("host"):
        raise RuntimeError("escalation.smtp.host is not configured")
    del message["To"]
    message["To"] = address
    with smtplib.SMTP(smtp["host"], smtp.get("port", 25), timeout=timeout) as client:
        if smtp.get("starttls"):
            client.starttls()
        if smtp.get("username"):
            variable = smtp.get("password_env") or ""
            client.login(smtp["username"], environ.get(variable, ""))
        client.send_message(message, from_addr=smtp.get("from_address"), to_addrs=[address])


def _post_json(url: str, payload, timeout: float) -> None:
    import urllib.request  # noqa: PLC0415

    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "maf-hooks"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured URL
        if not 200 <= response.status < 300:
            raise RuntimeError(f"webhook answered HTTP {response.status}")
