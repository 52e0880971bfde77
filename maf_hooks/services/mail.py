"""The agent mail use cases: list a mailbox, read a message (marking it read), send a message,
deliver the queued conflict mail, and copy the fleet's mail into the local Maildir.

**Where mail lives is decided here, and only here**: in the store when the store keeps mail
(``store.mailboxes``: a PostgreSQL server, "fleet mode", so that mail written on one machine is
read on every other), else in one Maildir per agent under the mail root (:mod:`maf_hooks.mail`).
Either way a message is the same bytes under the same key, and list/read parse them with the
same parser (:mod:`maf_hooks.mail.reading`). Every front end (``maf mail``, the MCP tools) opens
the store with :func:`mail_store` and passes it as ``store`` (None: the Maildir).
"""

from __future__ import annotations

import contextlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from maf_hooks.store.base import Store
    from maf_hooks.store.mailboxes import Mailboxes


@contextlib.contextmanager
def mail_store(context: Any) -> Iterator[Store | None]:
    """The open store when it may keep the mail (a server), else None: a SQLite store never
    keeps mail, so mail commands leave its file alone, exactly as before fleet mode."""
    if context.store_location.backend == "sqlite":
        yield None
        return
    with context.store() as store:
        yield store


def repository_name(store: Store | None, cfg: Any, main_root: str | None = None) -> str:
    """The repository's name in the subject and text of conflict and escalation mail: its key
    on a lease server (``storage.repository``, by default the origin's ``host/org/app``), which
    every clone shares; else the name of the main worktree's top directory (``main_root``, else
    found from the configuration's root)."""
    import os

    key = store.repository if store is not None else _configured_key(cfg)
    if key:
        return str(key)
    if main_root is None and getattr(cfg, "root", None):
        from maf_hooks import git
        from maf_hooks.errors import MafError

        try:
            main_root = git.main_worktree_root(git.repo_paths(cfg.root))
        except (MafError, OSError):
            main_root = cfg.root
    return os.path.basename(os.path.normpath(main_root)) if main_root else "this repository"


def _configured_key(cfg: Any) -> str | None:
    """The key a lease server would file this repository under, before any store is open."""
    if not cfg.get("storage.url") or not getattr(cfg, "root", None):
        return None
    from maf_hooks.errors import MafError
    from maf_hooks.store.open import ServerLocation

    try:
        return ServerLocation(cfg.root, cfg, "").repository()
    except MafError:
        return None


def _boxes(store: Store | None) -> Mailboxes | None:
    return None if store is None else store.mailboxes


def inbox(mail_root: str, agent: str, *, unread_only: bool = False, store: Store | None = None) -> dict[str, Any]:
    """``{"agent", "mailbox", "messages"}``: the agent's messages, oldest first (only the unread
    ones with ``unread_only``); see :func:`maf_hooks.mail.reading.list_messages`. ``mailbox`` is
    the Maildir's path, or the store's location in fleet mode."""
    from maf_hooks import mail  # loads mailbox and email only when mail is used
    from maf_hooks.mail import reading

    boxes = _boxes(store)
    if boxes is None:
        return {"agent": agent, "mailbox": mail.mailbox_path(mail_root, agent),
                "messages": mail.list_messages(mail_root, agent, unread_only=unread_only)}
    assert store is not None
    mail.mailbox_path(mail_root, agent)  # the same check of the agent id
    rows = boxes.messages(agent, unread_only=unread_only)
    return {"agent": agent, "mailbox": store.location,
            "messages": reading.oldest_first([reading.summary(row["key"], row["message"], **_state(row))
                                              for row in rows])}


def read(mail_root: str, agent: str, key: str | None, *, store: Store | None = None,
         latest: bool = False) -> dict[str, Any]:
    """One message of the agent's, marked read: the one whose id is ``key`` or begins with it
    (a prefix that fits several is refused, UsageError), or with ``latest`` the newest; an
    unknown id is refused (Refused)."""
    from maf_hooks import mail
    from maf_hooks.mail import reading

    mail.mailbox_path(mail_root, agent)  # the check of the agent id, before anything is read
    key = reading.choose(_message_ids(mail_root, agent, store, ordered=latest), key, agent, latest=latest)
    boxes = _boxes(store)
    if boxes is None:
        return mail.read_message(mail_root, agent, key, mark_seen=True)
    assert store is not None
    row = boxes.message(agent, key)
    if row is None:
        from maf_hooks.errors import Refused

        raise Refused(f"No message {key!r} in the mailbox of {agent} on {store.location}. "
                      "`maf mail list` shows the ids.")
    if row["seen_at"] is None:
        with store.write() as now:
            boxes.mark_seen(agent, [key], now)
            row["seen_at"] = now
    return reading.details(key, row["message"], **_state(row))


def _message_ids(mail_root: str, agent: str, store: Store | None, *, ordered: bool) -> list[str]:
    """The ids in the agent's mailbox; ``ordered``: oldest first (reads every message), else
    in no order (the Maildir's file names only)."""
    if ordered:
        return [message["id"] for message in inbox(mail_root, agent, store=store)["messages"]]
    boxes = _boxes(store)
    if boxes is None:
        from maf_hooks.mail import reading

        return list(reading.flags(mail_root, agent))
    return [row["key"] for row in boxes.messages(agent)]


def _state(row: dict[str, Any]) -> dict[str, Any]:
    """A stored message's ``seen`` and ``folder``, as its Maildir file would have them."""
    seen = row["seen_at"] is not None
    return {"seen": seen, "folder": "cur" if seen else "new"}


def send(mail_root: str, *, sender: str, recipient: str, subject: str, text: str,
         store: Store | None = None) -> dict[str, Any]:
    """Deliver a plain agent-to-agent message to the recipient's mailbox; returns
    ``{"id", "from", "to", "subject", "type"}`` (see :func:`maf_hooks.mail.maildir.send`)."""
    from maf_hooks import mail

    if _boxes(store) is None:
        key = mail.send(mail_root, sender=sender, recipient=recipient, subject=subject, text=text)
    else:
        key = deliver(store, mail_root, recipient, mail.build_message(
            sender=sender, recipient=recipient, subject=subject, text=text, maf_type=mail.MESSAGE))
    return {"id": key, "from": sender, "to": recipient, "subject": subject, "type": mail.MESSAGE}


def deliver(store: Store | None, mail_root: str, recipient: str, message: Any) -> str:
    """Deliver one built message (an ``EmailMessage``) to the recipient's mailbox: the store's
    when it keeps mail (fleet mode), else the Maildir under ``mail_root``; returns its key."""
    from maf_hooks import mail

    boxes = _boxes(store)
    if boxes is None:
        from maf_hooks.mail import maildir

        return maildir.deliver(mail_root, recipient, message)
    assert store is not None
    from maf_hooks.mail.confinement import unique_name

    mail.mailbox_path(mail_root, recipient)  # the recipient's name is checked as for a Maildir
    key = unique_name()  # the name a Maildir delivery gives its file
    with store.write() as now:
        boxes.deliver(recipient, key, mail.as_bytes(message), now)
    return key


def sync(mail_root: str, agent: str, *, store: Store | None = None) -> dict[str, Any]:
    """``maf mail sync``: write the agent's stored messages into its Maildir under the mail root
    (the files a local delivery would make: same bytes, same key, in ``new/``; a key already in
    ``new/`` or ``cur/`` is not written again), then carry "read" both ways: a message seen in
    the Maildir (flag ``S``) is marked read in the store, a message read in the store gets ``S``
    in the Maildir.

    ``{"agent", "mailbox", "fleet", "messages", "written", "marked_read", "marked_seen"}``: how
    many messages the store holds, the keys written into the Maildir, those marked read in the
    store, and those marked seen in the Maildir. Without a store that keeps mail (``fleet``
    false) there is nothing to copy: the mail is already in the Maildir."""
    from maf_hooks import mail
    from maf_hooks.mail import reading

    path = mail.mailbox_path(mail_root, agent)
    result: dict[str, Any] = {"agent": agent, "mailbox": path, "fleet": False, "messages": 0, "written": [],
                              "marked_read": [], "marked_seen": []}
    boxes = _boxes(store)
    if boxes is None:
        return result
    assert store is not None
    rows = boxes.messages(agent)
    local = reading.flags(mail_root, agent)
    written = []
    for row in rows:
        if row["key"] not in local:
            mail.deliver_once(mail_root, agent, row["message"], row["key"])
            written.append(row["key"])
    read_here = [row["key"] for row in rows if row["seen_at"] is None and "S" in local.get(row["key"], "")]
    read_there = [row["key"] for row in rows if row["seen_at"] is not None and "S" not in local.get(row["key"], "")]
    marked_seen = reading.mark_seen(mail_root, agent, read_there)
    marked_read: list[str] = []
    if written or read_here:
        with store.write() as now:
            boxes.mark_synced(agent, written, now)
            marked_read = boxes.mark_seen(agent, read_here, now)
    result.update(fleet=True, messages=len(rows), written=written, marked_read=marked_read, marked_seen=marked_seen)
    return result


def deliver_outbox(store: Any, mail_root: str, *, ids: list[int] | None = None, exclude: tuple[int, ...] = (),
                   limit: int = 1000, budget_ms: int | None = None) -> list[dict[str, Any]]:
    """Deliver pending conflict mail from the outbox (the rows ``ids``, or every pending row but
    ``exclude``, oldest first); one result per row tried: ``{"id", "recipient", "status"
    ("delivered" | "pending"), "key", "error", "attempts"}``.

    Each message goes to the recipient's mailbox under its fixed key
    (:func:`maf_hooks.mail.maildir.outbox_key`) unless that key is already there, and is then
    marked delivered: run again after a crash, it delivers nothing twice. The mailbox is the
    store's when it keeps mail (fleet mode: the message and its row's "delivered" are written in
    one write section), else the Maildir under ``mail_root`` (a key already in ``new/`` or
    ``cur/`` counts). A failure is counted on the row, which stays pending for the next try.
    ``budget_ms`` stops starting new deliveries after that long (the git hook)."""
    rows = store.conflicts.outbox(ids) if ids is not None else store.conflicts.pending_mail(limit=limit,
                                                                                         exclude=exclude)
    rows = [row for row in rows if row.get("status", "pending") == "pending"]
    if not rows:
        return []
    from maf_hooks import mail

    boxes = _boxes(store)
    started = store.now()
    results = []
    for row in rows:
        if budget_ms is not None and store.now() - started > budget_ms:
            break
        key = mail.outbox_key(row["id"], row["created_at"], row["token"])
        try:
            if boxes is None:
                mail.deliver_once(mail_root, row["recipient"], bytes(row["message"]), key)
            else:
                with store.write() as now:
                    boxes.deliver(row["recipient"], key, bytes(row["message"]), now)
                    store.conflicts.mail_delivered(row["id"], key, now)
        except Exception as exc:  # noqa: BLE001 - kept pending, retried later
            from maf_hooks.mail.maildir import failure_reason

            error = failure_reason(exc)
            with store.write() as now:
                store.conflicts.mail_failed(row["id"], error, now)
            results.append({"id": row["id"], "recipient": row["recipient"], "status": "pending", "key": key,
                            "error": error, "attempts": row["attempts"] + 1})
            continue
        if boxes is None:
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
