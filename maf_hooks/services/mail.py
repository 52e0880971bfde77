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
