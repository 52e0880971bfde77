"""Building agent mail: every message has a text/plain part a person can read; a message that
carries data for programs is ``multipart/mixed`` with the JSON as a second part, an attachment
named ``maf.json`` declared ``text/plain; charset=utf-8`` so that mutt and every other reader show
it inline (``application/json`` is shown as "unsupported" by mutt without a mailcap entry).

Messages about one thing (a lease, an escalation) form a thread: each refers to that thing's
fixed root Message-ID (:func:`thread_root`) in In-Reply-To and References."""

from __future__ import annotations

import email.policy
import email.utils
import json
import re
from email.message import EmailMessage

from maf_hooks.errors import UsageError
from maf_hooks.identity import validate_agent_id
from maf_hooks.mail.addresses import address, check_header_value, encodable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

MESSAGE_ID_DOMAIN = "maf.local"
THREAD_DOMAIN = "maf-hooks"
JSON_FILENAME = "maf.json"
MESSAGE = "MESSAGE"  # X-MAF-Type of a plain agent-to-agent message
INDENTED_ITEMS = 20  # a longer list in maf.json is written one element a line
MAX_LINE = 990  # RFC 5322's 998 characters a line, with room for the line end and quoting

POLICY = email.policy.default  # "\n" line ends, as Maildir files have on POSIX

_EXTRA_HEADER = re.compile(r"^X-MAF-[A-Za-z-]+\Z")


def build_message(
    *,
    sender: str | None,
    recipient: str,
    subject: str,
    text: str,
    maf_type: str | None = None,
    json_payload: Any = None,
    extra_headers: Mapping[str, str] | None = None,
    date_ms: int | None = None,
    references: Sequence[str] = (),
) -> EmailMessage:
    """A message from ``sender`` (an agent id, or None when unknown) to agent ``recipient``.

    Headers: From, To, Subject, Date, Message-ID, X-MAF-Type (when ``maf_type`` is given) and
    ``extra_headers`` (names ``X-MAF-Name``); with ``references`` (Message-IDs such as
    :func:`thread_root`'s), References lists them and In-Reply-To names the last. Body: ``text``
    as text/plain; with ``json_payload``, multipart/mixed with that text part and the JSON as a
    text/plain attachment named ``maf.json``.
    A header value with a line break or control character is refused (UsageError); undecodable
    bytes in ``text`` (surrogate escapes) become U+FFFD.
    """
    if sender is not None:
        check_header_value("sender", sender)
        validate_agent_id(sender, source="sender")
    check_header_value("recipient", recipient)
    validate_agent_id(recipient, source="recipient")
    check_header_value("subject", subject)
    for reference in references:
        check_header_value("reference", reference)
    if not isinstance(text, str):
        raise UsageError("The message text must be a string.")
    if not encodable(text):  # e.g. a file name with bytes that are not UTF-8 (surrogateescape)
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    headers: list[tuple[str, str]] = []
    if maf_type is not None:
        check_header_value("X-MAF-Type", maf_type)
        headers.append(("X-MAF-Type", maf_type))
    seen = {name.lower() for name, _ in headers}
    for name, value in (extra_headers or {}).items():
        if not isinstance(name, str) or not _EXTRA_HEADER.match(name):
            raise UsageError(
                f"Invalid extra header name {name!r}: it must look like X-MAF-Name "
                "(X-MAF- then letters and hyphens)."
            )
        if name.lower() in seen:
            raise UsageError(f"Header {name} is given twice.")
        seen.add(name.lower())
        value = value if isinstance(value, str) else str(value)
        check_header_value(f"header {name}", value)
        headers.append((name, value))
    if json_payload is not None:
        try:
            payload = json_text(json_payload)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"The JSON payload cannot be written as JSON: {exc}") from None

    message = EmailMessage(policy=POLICY)
    message["From"] = address(sender)
    message["To"] = address(recipient)
    message["Subject"] = subject
    try:
        date = email.utils.formatdate(None if date_ms is None else date_ms / 1000, usegmt=True)
    except (OverflowError, ValueError, OSError):
        raise UsageError(f"Invalid message date {date_ms!r} (milliseconds since the epoch).") from None
    message["Date"] = date
    message["Message-ID"] = email.utils.make_msgid(domain=MESSAGE_ID_DOMAIN)
    if references:
        message["In-Reply-To"] = references[-1]
        message["References"] = " ".join(references)
    for name, value in headers:
        message[name] = value
    # the text as it is where it can be (the email package's choice otherwise)
    message.set_content(text, cte="7bit" if _as_written(text) else None)
    if json_payload is not None:
        data = payload + "\n"  # ASCII: every other character is escaped
        message.add_attachment(
            data, subtype="plain", charset="utf-8", filename=JSON_FILENAME,
            cte="7bit" if _as_written(data) else "base64",
        )
    return message


def _as_written(text: str) -> bool:
    """Whether ``text`` can go as it is (7bit: readable in the raw file, no quoted-printable soft
    breaks): ASCII, every line within RFC 5322's limit."""
    return text.isascii() and max((len(line) for line in text.splitlines()), default=0) <= MAX_LINE


def json_text(value: Any) -> str:
    """The ``maf.json`` part: ASCII JSON (other characters as ``\\u`` escapes), indented for a
    person to read; a list longer than INDENTED_ITEMS one element a line (as readable, and cheap to
    write for the thousand conflicts of one refused commit). Any JSON parser reads both."""
    if isinstance(value, list) and len(value) > INDENTED_ITEMS:
        items = (json.dumps(item, ensure_ascii=True, allow_nan=False) for item in value)
        return "[\n" + ",\n".join(items) + "\n]"
    return json.dumps(value, indent=2, ensure_ascii=True, allow_nan=False)


def thread_root(thing_id: str) -> str:
    """The fixed root Message-ID of the thread about one lease or escalation
    (``<lease-1a2b3c@maf-hooks>``): never a message itself, every message about it refers to it."""
    return f"<{thing_id}@{THREAD_DOMAIN}>"


def is_json_part(part: Any) -> bool:
    """Whether a part of a message is its JSON: the ``maf.json`` attachment, or an
    ``application/json`` part (as messages written before the attachment became text/plain have it)."""
    return part.get_content_type() == "application/json" or (
        part.get_content_maintype() == "text" and part.get_filename() == JSON_FILENAME)
