"""Reading agent mail: list a mailbox, read one message (and mark it seen, the Maildir way)."""

from __future__ import annotations

import datetime as _dt
import email
import json
import mailbox
import re
from email.message import EmailMessage

from maf_hooks.errors import Refused, StorageError
from maf_hooks.mail import confinement
from maf_hooks.mail.addresses import mailbox_path
from maf_hooks.mail.maildir import failure_reason
from maf_hooks.mail.message import POLICY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)P")


def list_messages(root: str, agent_id: str, *, unread_only: bool = False) -> list[dict]:
    """The messages in an agent's mailbox, oldest first by Date (empty if there is no mailbox).

    Each is ``{"id", "from", "to", "subject", "date", "type", "seen", "folder"}``; ``date`` is
    ISO 8601 UTC, ``type`` the X-MAF-Type header or None, ``seen`` whether the Maildir flag ``S``
    is set, ``folder`` ``"new"`` or ``"cur"``. With ``unread_only``, only those not seen.
    """
    path = mailbox_path(root, agent_id)
    box = _open(root, agent_id, path)
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
        raise StorageError(f"Could not read the mailbox {path}: {failure_reason(exc)}") from exc
    entries.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in entries]


def read_message(root: str, agent_id: str, key: str, *, mark_seen: bool = True) -> dict:
    """One message: its headers, ``text`` (the text/plain body) and ``json`` (the parsed
    application/json part, or None); with ``mark_seen``, moved to ``cur/`` with flag ``S``.

    An unknown key is refused (:class:`~maf_hooks.errors.Refused`).
    """
    path = mailbox_path(root, agent_id)
    box = _open(root, agent_id, path)
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
        raise StorageError(f"Could not read the mailbox {path}: {failure_reason(exc)}") from exc
    summary, _ = _summary(key, info, parsed)
    summary["message_id"] = _header(parsed, "Message-ID")
    summary["headers"] = {
        name: str(value) for name, value in parsed.items() if name.lower().startswith("x-maf-")
    }
    summary["text"] = _text_of(parsed)
    summary["json"] = _json_of(parsed)
    return summary


def _open(root: str, agent_id: str, path: str) -> mailbox.Maildir | None:
    """The Maildir, or None when there is none; a symbolic link on the way is refused (reading
    marks messages seen, which moves files)."""
    try:
        checked = confinement.open_maildir(root, agent_id, create=False)
    except OSError as exc:
        raise StorageError(f"Could not read the mailbox {path}: {failure_reason(exc)}") from exc
    if checked is None:
        return None
    checked.close()
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
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _json_of(parsed: EmailMessage) -> Any:
    for part in parsed.walk():
        if part.get_content_type() != "application/json":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
    return None
