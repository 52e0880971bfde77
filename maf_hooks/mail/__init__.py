"""Agent mail (one standard Maildir per agent under a mail root) and the other ways maf-hooks
sends messages: SMTP and a JSON POST.

``addresses`` (agent addresses, mailbox paths, the header-value check), ``message`` (building a
message), ``maildir`` (delivering), ``reading`` (listing and reading), ``escalation`` (the
messages of an escalation), ``smtp`` and ``http`` (the other channels).

The names below are importable from this package too (``mail.deliver``); each submodule loads
only when first used, so that ``maf_hooks.mail.http`` costs no :mod:`email` or :mod:`mailbox`, and
the git hook imports mail only when it has mail to send.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WHERE = {
    "address": "addresses", "agent_of": "addresses", "mailbox_path": "addresses", "DOMAIN": "addresses",
    "UNKNOWN_SENDER": "addresses",
    "build_message": "message", "JSON_FILENAME": "message", "MESSAGE": "message", "MESSAGE_ID_DOMAIN": "message",
    "POLICY": "message", "thread_root": "message", "is_json_part": "message",
    "deliver": "maildir", "send": "maildir", "deliver_once": "maildir", "outbox_key": "maildir",
    "as_bytes": "maildir",
    "list_messages": "reading", "read_message": "reading",
}

def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
