"""Delivering agent mail: one standard Maildir per agent under a mail root.

Each agent's mailbox is ``<root>/<agent id>/`` with ``tmp/``, ``new/`` and ``cur/``, so Python's
:class:`mailbox.Maildir`, mutt and any other Maildir tool can read it. Delivery is the Maildir way
(write the file in ``tmp/``, then link or rename it into ``new/``), so a reader never sees half a
message in ``new/``. No symbolic link on the way is followed (:mod:`maf_hooks.mail.confinement`):
a linked mail root, agent directory, ``tmp/``, ``new/`` or ``cur/`` is refused and nothing written.
"""

from __future__ import annotations

from maf_hooks.errors import StorageError, UsageError
from maf_hooks.mail import confinement
from maf_hooks.mail.addresses import mailbox_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from email.message import EmailMessage

# The email package is imported only where a message is built or written out: delivering bytes
# already built (the conflict outbox, :func:`deliver_once`) needs none of it.


def deliver(root: str, recipient: str, message: EmailMessage) -> str:
    """Add ``message`` to the Maildir of agent ``recipient``; return its key (id in the box).

    The root and the Maildir are created as needed. The message is written in ``tmp/`` and
    moved into ``new/`` in one step, so ``new/`` never holds half a message. A symbolic link on
    the way is refused (:class:`~maf_hooks.mail.confinement.MailPathRefused`).
    """
    path = mailbox_path(root, recipient)
    data = as_bytes(message)  # folds long header lines (mailbox's own generator would not fold them)
    try:
        return confinement.write_message(root, recipient, data)
    except OSError as exc:
        raise StorageError(f"Could not deliver mail to {path}: {failure_reason(exc)}") from exc


def outbox_key(outbox_id: int, created_ms: int, token: str) -> str:
    """The fixed Maildir file name of an outbox message: ``<seconds>.M<microseconds>P0Q<outbox
    id>.maf-<token>`` (the token is random per row, so keys from two repositories never meet)."""
    return f"{created_ms // 1000}.M{created_ms % 1000 * 1000}P0Q{int(outbox_id)}.maf-{token}"


def deliver_once(root: str, recipient: str, data: bytes, key: str) -> str:
    """Deliver the message bytes ``data`` under the fixed ``key``, unless a message with that key
    is already in ``new/`` or ``cur/``; return the key."""
    path = mailbox_path(root, recipient)
    try:
        return confinement.write_message(root, recipient, data, key)
    except OSError as exc:
        raise StorageError(f"Could not deliver mail to {path}: {failure_reason(exc)}") from exc


def as_bytes(message: EmailMessage) -> bytes:
    """The message as it is stored in a Maildir file (long header lines folded)."""
    import email.errors

    from maf_hooks.mail.message import POLICY

    try:
        return message.as_bytes(policy=POLICY)
    except (email.errors.MessageError, ValueError) as exc:
        raise UsageError(f"This message cannot be written: {exc}") from None


def send(root: str, *, sender: str, recipient: str, subject: str, text: str) -> str:
    """Send a plain agent-to-agent message (X-MAF-Type: MESSAGE); return its key."""
    from maf_hooks.mail.message import MESSAGE, build_message

    message = build_message(sender=sender, recipient=recipient, subject=subject, text=text,
                            maf_type=MESSAGE)
    return deliver(root, recipient, message)


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__
