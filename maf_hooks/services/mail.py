"""The agent mail use cases: list a mailbox, read a message (marking it read), send a message.

Mail lives in one Maildir per agent under the mail root (:mod:`maf_hooks.mail`); these calls
take the root and the agent as parameters, so that every front end (``maf mail``, an MCP tool)
reads and sends the same way.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def inbox(mail_root: str, agent: str, *, unread_only: bool = False) -> dict[str, Any]:
    """``{"agent", "mailbox", "messages"}``: the agent's messages, oldest first (only the unread
    ones with ``unread_only``); see :func:`maf_hooks.mail.reading.list_messages`."""
    from maf_hooks import mail  # loads mailbox and email only when mail is used

    return {"agent": agent, "mailbox": mail.mailbox_path(mail_root, agent),
            "messages": mail.list_messages(mail_root, agent, unread_only=unread_only)}


def read(mail_root: str, agent: str, key: str) -> dict[str, Any]:
    """One message of the agent's, marked read; an unknown key is refused."""
    from maf_hooks import mail

    return mail.read_message(mail_root, agent, key, mark_seen=True)


def send(mail_root: str, *, sender: str, recipient: str, subject: str, text: str) -> dict[str, Any]:
    """Deliver a plain agent-to-agent message to the recipient's mailbox; returns
    ``{"id", "from", "to", "subject", "type"}`` (see :func:`maf_hooks.mail.maildir.send`)."""
    from maf_hooks import mail

    key = mail.send(mail_root, sender=sender, recipient=recipient, subject=subject, text=text)
    return {"id": key, "from": sender, "to": recipient, "subject": subject, "type": mail.MESSAGE}


def deliver_outbox(store: Any, mail_root: str, *, ids: list[int] | None = None, exclude: tuple[int, ...] = (),
                   limit: int = 1000, budget_ms: int | None = None) -> list[dict[str, Any]]:
    """Deliver pending conflict mail from the outbox (the rows ``ids``, or every pending row but
    ``exclude``, oldest first); one result per row tried: ``{"id", "recipient", "status"
    ("delivered" | "pending"), "key", "error", "attempts"}``.

    Each message goes to the recipient's Maildir under its fixed key
    (:func:`maf_hooks.mail.maildir.outbox_key`) unless that key is already in ``new/`` or ``cur/``,
    and is then marked delivered: run again after a crash, it delivers nothing twice. A failure
    is counted on the row, which stays pending for the next try. ``budget_ms`` stops starting new
    deliveries after that long (the git hook)."""
    rows = store.conflicts.outbox(ids) if ids is not None else store.conflicts.pending_mail(limit=limit,
                                                                                         exclude=exclude)
    rows = [row for row in rows if row.get("status", "pending") == "pending"]
    if not rows:
        return []
    from maf_hooks import mail

    started = store.now()
    results = []
    for row in rows:
        if budget_ms is not None and store.now() - started > budget_ms:
            break
        key = mail.outbox_key(row["id"], row["created_at"], row["token"])
        try:
            mail.deliver_once(mail_root, row["recipient"], bytes(row["message"]), key)
        except Exception as exc:  # noqa: BLE001 - kept pending, retried later
            from maf_hooks.mail.maildir import failure_reason

            error = failure_reason(exc)
            with store.write() as now:
                store.conflicts.mail_failed(row["id"], error, now)
            results.append({"id": row["id"], "recipient": row["recipient"], "status": "pending", "key": key,
                            "error": error, "attempts": row["attempts"] + 1})
            continue
        with store.write() as now:
            store.conflicts.mail_delivered(row["id"], key, now)
        results.append({"id": row["id"], "recipient": row["recipient"], "status": "delivered", "key": key,
                        "error": None, "attempts": row["attempts"] + 1})
    return results


def flush(store: Any, mail_root: str) -> dict[str, Any]:
    """``maf mail flush``: deliver every pending conflict message; ``{"delivered", "failed",
    "pending"}`` (the results of :func:`deliver_outbox`, and how many rows are still pending)."""
    results: list[dict[str, Any]] = []
    while True:
        batch = deliver_outbox(store, mail_root, exclude=tuple(r["id"] for r in results), limit=500)
        results += batch
        if not batch:
            break
    return {"delivered": [r for r in results if r["status"] == "delivered"],
            "failed": [r for r in results if r["status"] == "pending"],
            "pending": len(store.conflicts.pending_mail(limit=1_000_000))}
