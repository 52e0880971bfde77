"""Agent addresses, mailbox paths, and the one check of a header value.

Header values (subject, agent ids, ``X-MAF-*`` headers) that contain a line break or another
control character are refused with :class:`~maf_hooks.errors.UsageError`, never folded or stripped:
that is what makes header injection impossible.
"""

from __future__ import annotations

import os
import re

from maf_hooks.errors import UsageError
from maf_hooks.identity import validate_agent_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DOMAIN = "agents.maf.invalid"
UNKNOWN_SENDER = ("unknown agent", f"unknown@{DOMAIN}")

_ATOM = r"[A-Za-z0-9_+-]+"
_DOT_ATOM = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\Z")
# str.splitlines() breaks on these too; refusing them keeps every header on one line everywhere.
_LINE_BREAKS = frozenset("\x7f\x85\u2028\u2029")


def address(agent_id: str | None) -> str:
    """The RFC 5322 address of an agent: ``alice <alice@agents.maf.invalid>``.

    An id that is already an email address (``dev@example.com``) is used as the address itself;
    ``None`` (sender unknown) gives ``unknown agent <unknown@agents.maf.invalid>``.
    """
    import email.utils  # here: a mailbox path (delivering bytes already built) needs no email package

    if agent_id is None:
        return email.utils.formataddr(UNKNOWN_SENDER)
    check_header_value("agent id", agent_id)
    if "@" in agent_id and _EMAIL.match(agent_id):
        addr = agent_id
    elif _DOT_ATOM.match(agent_id):
        addr = f"{agent_id}@{DOMAIN}"
    else:  # e.g. "a..b" or "x@y@z": a quoted local part keeps the address valid
        addr = f'"{agent_id}"@{DOMAIN}'
    return email.utils.formataddr((agent_id, addr))


def agent_of(address_header: str | None) -> str:
    """The agent shown by a From/To header: its display name, else its address."""
    if not address_header:
        return ""
    import email.utils

    name, addr = email.utils.parseaddr(address_header)
    return name or addr or address_header


def mailbox_path(root: str, agent_id: str) -> str:
    """``<root>/<agent id>``, after checking the id and that the result is directly inside root.

    The id validation is what keeps mail inside the root; the resolved-path check (which also
    refuses a mailbox that is a symbolic link leading elsewhere) is defence in depth.
    """
    validate_agent_id(agent_id, source="agent id")
    base = os.path.abspath(root)
    path = os.path.join(base, agent_id)
    real_root = os.path.realpath(base)
    real_path = os.path.realpath(path)
    if os.path.dirname(real_path) != real_root or os.path.basename(real_path) in ("", ".", ".."):
        raise UsageError(
            f"Refusing mailbox {agent_id!r}: it does not resolve to a directory directly inside "
            f"the mail root {base}."
        )
    return path


def check_header_value(what: str, value: Any) -> None:
    if not isinstance(value, str):
        raise UsageError(f"Invalid {what}: expected text, got {type(value).__name__}.")
    for char in value:
        if (char < " " and char != "\t") or char in _LINE_BREAKS:
            raise UsageError(
                f"Invalid {what} {value!r}: header values must be one line, without line breaks, "
                "NUL or other control characters."
            )
    if not encodable(value):
        raise UsageError(f"Invalid {what} {value!r}: it holds undecodable bytes.")


def encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
