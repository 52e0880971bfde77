"""Agent mail: one standard Maildir per agent under a mail root.

Each agent's mailbox is ``<root>/<agent id>/`` with ``tmp/``, ``new/`` and ``cur/``, so Python's
:class:`mailbox.Maildir`, mutt and any other Maildir tool can read it. Delivery is the Maildir way
(:meth:`mailbox.Maildir.add`: write the file in ``tmp/``, then link or rename it into ``new/``), so a
reader never sees half a message in ``new/``.

Every message has a text/plain part a person can read; a message that carries data for programs
is ``multipart/mixed`` with an ``application/json`` part (``maf.json``) as well.

Header values (subject, agent ids, ``X-MAF-*`` headers) that contain a line break or another
control character are refused with :class:`~maf_hooks.errors.UsageError`, never folded or stripped:
that is what makes header injection impossible.

This module is the only one that imports :mod:`mailbox` and :mod:`email`; the git hook imports it
lazily, only when it has mail to send.
"""

from __future__ import annotations

import datetime as _dt
import email
import email.errors
import email.policy
import email.utils
import json
import mailbox
import os
import re
from email.message import EmailMessage
from typing import Any, Mapping

from maf_hooks.errors import Refused, StorageError, UsageError
from maf_hooks.identity import validate_agent_id

DOMAIN = "agents.maf.invalid"
MESSAGE_ID_DOMAIN = "maf.local"
UNKNOWN_SENDER = ("unknown agent", f"unknown@{DOMAIN}")
JSON_FILENAME = "maf.json"
MESSAGE = "MESSAGE"  # X-MAF-Type of a plain agent-to-agent message

POLICY = email.policy.default  # "\n" line ends, as Maildir files have on POSIX

_EXTRA_HEADER = re.compile(r"^X-MAF-[A-Za-z-]+\Z")
_ATOM = r"[A-Za-z0-9_+-]+"
_DOT_ATOM = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\Z")
_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)P")
# str.splitlines() breaks on these too; refusing them keeps every header on one line everywhere.
_LINE_BREAKS = frozenset("\x7f\x85\u2028\u2029")


# --- addresses and paths -------------------------------------------------------------------------


def address(agent_id: str | None) -> str:
    """The RFC 5322 address of an agent: ``alice <alice@agents.maf.invalid>``.

    An id that is already an email address (``dev@example.com``) is used as the address itself;
    ``None`` (sender unknown) gives ``unknown agent <unknown@agents.maf.invalid>``.
    """
    if agent_id is None:
        return email.utils.formataddr(UNKNOWN_SENDER)
    _check_header_value("agent id", agent_id)
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


# --- building and delivering ---------------------------------------------------------------------


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
) -> EmailMessage:
    """A message from ``sender`` (an agent id, or None when unknown) to agent ``recipient``.

    Headers: From, To, Subject, Date, Message-ID, X-MAF-Type (when ``maf_type`` is given) and
    ``extra_headers`` (names ``X-MAF-Name``). Body: ``text`` as text/plain; with ``json_payload``,
    multipart/mixed with that text part and an application/json part named ``maf.json``.
    A header value with a line break or control character is refused (UsageError); undecodable
    bytes in ``text`` (surrogate escapes) become U+FFFD.
    """
    if sender is not None:
        _check_header_value("sender", sender)
        validate_agent_id(sender, source="sender")
    _check_header_value("recipient", recipient)
    validate_agent_id(recipient, source="recipient")
    _check_header_value("subject", subject)
    if not isinstance(text, str):
        raise UsageError("The message text must be a string.")
    if not _encodable(text):  # e.g. a file name with bytes that are not UTF-8 (surrogateescape)
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    headers: list[tuple[str, str]] = []
    if maf_type is not None:
        _check_header_value("X-MAF-Type", maf_type)
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
        _check_header_value(f"header {name}", value)
        headers.append((name, value))
    if json_payload is not None:
        try:
            payload = json.dumps(json_payload, indent=2, ensure_ascii=True, allow_nan=False)
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
    for name, value in headers:
        message[name] = value
    message.set_content(text)
    if json_payload is not None:
        data = (payload + "\n").encode("ascii")
        # 7bit keeps the JSON readable in the raw file; lines over the RFC 5322 limit need base64
        longest = max(len(line) for line in data.splitlines())
        message.add_attachment(
            data, maintype="application", subtype="json", filename=JSON_FILENAME,
            cte="7bit" if longest <= 990 else "base64",
        )
    return message


def deliver(root: str, recipient: str, message: EmailMessage) -> str:
    """Add ``message`` to the Maildir of agent ``recipient``; return its key (id in the box).

    The root and the Maildir are created as needed. The message is written in ``tmp/`` and
    moved into ``new/`` in one step, so ``new/`` never holds half a message.
    """
    path = mailbox_path(root, recipient)
    try:
        # as_bytes() folds long header lines (mailbox's own generator would not fold them)
        data = message.as_bytes(policy=POLICY)
    except (email.errors.MessageError, ValueError) as exc:
        raise UsageError(f"This message cannot be written: {exc}") from None
    try:
        os.makedirs(os.path.abspath(root), exist_ok=True)
        box = mailbox.Maildir(path, factory=None, create=True)
        for sub in ("tmp", "new", "cur"):  # an existing but incomplete Maildir
            os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
        return box.add(data)
    except (OSError, mailbox.Error) as exc:
        raise StorageError(f"Could not deliver mail to {path}: {_reason(exc)}") from exc


def send(root: str, *, sender: str, recipient: str, subject: str, text: str) -> str:
    """Send a plain agent-to-agent message (X-MAF-Type: MESSAGE); return its key."""
    message = build_message(sender=sender, recipient=recipient, subject=subject, text=text,
                            maf_type=MESSAGE)
    return deliver(root, recipient, message)


# --- reading -------------------------------------------------------------------------------------


def list_messages(root: str, agent_id: str, *, unread_only: bool = False) -> list[dict]:
    """The messages in an agent's mailbox, oldest first by Date (empty if there is no mailbox).

    Each is ``{"id", "from", "to", "subject", "date", "type", "seen", "folder"}``; ``date`` is
    ISO 8601 UTC, ``type`` the X-MAF-Type header or None, ``seen`` whether the Maildir flag ``S``
    is set, ``folder`` ``"new"`` or ``"cur"``. With ``unread_only``, only those not seen.
    """
    path = mailbox_path(root, agent_id)
    box = _open(path)
    if box is None:
        return []
    entries = []
    try:
        for key in list(box.iterkeys()):
            try:
                info = box.get_message(key)
                parsed = _parse(box.get_bytes(key))
            except (KeyError, FileNotFoundError):  # taken away while we were listing
                continue
            summary, sort_ms = _summary(key, info, parsed)
            if unread_only and summary["seen"]:
                continue
            entries.append((sort_ms, _key_time(key), key, summary))
    except OSError as exc:
        raise StorageError(f"Could not read the mailbox {path}: {_reason(exc)}") from exc
    entries.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in entries]


def read_message(root: str, agent_id: str, key: str, *, mark_seen: bool = True) -> dict:
    """One message: its headers, ``text`` (the text/plain body) and ``json`` (the parsed
    application/json part, or None); with ``mark_seen``, moved to ``cur/`` with flag ``S``.

    An unknown key is refused (:class:`~maf_hooks.errors.Refused`).
    """
    path = mailbox_path(root, agent_id)
    box = _open(path)
    if box is None:
        raise Refused(f"No message {key!r} for {agent_id}: there is no mailbox at {path}.")
    try:
        try:
            info = box.get_message(key)
            raw = box.get_bytes(key)
        except (KeyError, FileNotFoundError):
            raise Refused(
                f"No message {key!r} in the mailbox of {agent_id} ({path}). "
                "`maf mail list` shows the ids."
            ) from None
        parsed = _parse(raw)
        if mark_seen and (info.get_subdir() != "cur" or "S" not in info.get_flags()):
            marked = mailbox.MaildirMessage(raw)
            marked.set_subdir("cur")
            marked.set_flags(info.get_flags())
            marked.add_flag("S")
            marked.set_date(info.get_date())
            try:
                box[key] = marked  # the documented way: rewrite into cur/ with the flag
                info = marked
            except (KeyError, FileNotFoundError):
                pass  # another reader moved it meanwhile; it was read all the same
    except OSError as exc:
        raise StorageError(f"Could not read the mailbox {path}: {_reason(exc)}") from exc
    summary, _ = _summary(key, info, parsed)
    summary["message_id"] = _header(parsed, "Message-ID")
    summary["headers"] = {
        name: str(value) for name, value in parsed.items() if name.lower().startswith("x-maf-")
    }
    summary["text"] = _text_of(parsed)
    summary["json"] = _json_of(parsed)
    return summary


# --- helpers -------------------------------------------------------------------------------------


def _check_header_value(what: str, value: Any) -> None:
    if not isinstance(value, str):
        raise UsageError(f"Invalid {what}: expected text, got {type(value).__name__}.")
    for char in value:
        if (char < " " and char != "\t") or char in _LINE_BREAKS:
            raise UsageError(
                f"Invalid {what} {value!r}: header values must be one line, without line breaks, "
                "NUL or other control characters."
            )
    if not _encodable(value):
        raise UsageError(f"Invalid {what} {value!r}: it holds undecodable bytes.")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _open(path: str) -> mailbox.Maildir | None:
    if not os.path.isdir(path):
        return None
    return mailbox.Maildir(path, factory=None, create=False)


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=POLICY)


def _header(parsed: EmailMessage, name: str) -> str | None:
    try:
        value = parsed[name]
    except Exception:  # noqa: BLE001 - a malformed header in mail from another tool
        return None
    return None if value is None else str(value)


def _date_ms(parsed: EmailMessage) -> int | None:
    raw = _header(parsed, "Date")
    if not raw:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def _key_time(key: str) -> tuple[int, int]:
    """Delivery time from a key made by :mod:`mailbox` (``<seconds>.M<microseconds>P...``)."""
    match = _KEY_TIME.match(key)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(key: str, info: mailbox.MaildirMessage, parsed: EmailMessage) -> tuple[dict, int]:
    date_ms = _date_ms(parsed)
    sort_ms = date_ms if date_ms is not None else _key_time(key)[0] * 1000
    folder = info.get_subdir()
    return {
        "id": key,
        "from": _header(parsed, "From"),
        "to": _header(parsed, "To"),
        "subject": _header(parsed, "Subject"),
        "date": _iso(date_ms),
        "type": _header(parsed, "X-MAF-Type"),
        "seen": "S" in info.get_flags(),
        "folder": folder if folder in ("new", "cur") else "new",
    }, sort_ms


def _text_of(parsed: EmailMessage) -> str:
    body = parsed.get_body(preferencelist=("plain",))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError):
        payload = body.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _json_of(parsed: EmailMessage) -> Any:
    for part in parsed.walk():
        if part.get_content_type() != "application/json":
            continue
        data = part.get_payload(decode=True)
        if data is None:
            continue
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
    return None
