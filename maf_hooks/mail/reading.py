"""Reading agent mail: list a mailbox, read one message (and mark it seen, the Maildir way).

:func:`summary` and :func:`details` turn a message's bytes into the documents ``maf mail list``
and ``maf mail read`` show, wherever the bytes were kept (a Maildir file, or the fleet's
``mail_messages`` rows, :mod:`maf_hooks.services.mail`); :func:`oldest_first` orders them.
"""

from __future__ import annotations

import datetime as _dt
import email
import json
import mailbox
import os
import re
from email.message import EmailMessage

from maf_hooks.errors import Refused, StorageError, UsageError
from maf_hooks.mail import confinement
from maf_hooks.mail.addresses import mailbox_path
from maf_hooks.mail.maildir import failure_reason
from maf_hooks.mail.message import POLICY, is_json_part

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
                raw = box.get_bytes(key)
            except (KeyError, FileNotFoundError):  # taken away while we were listing
                continue
            seen, folder = _state(info)
            if unread_only and seen:
                continue
            entries.append(summary(key, raw, seen=seen, folder=folder))
    except OSError as exc:
        raise StorageError(f"Could not read the mailbox {path}: {failure_reason(exc)}") from exc
    return oldest_first(entries)


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
        if mark_seen and (info.get_subdir() != "cur" or "S" not in info.get_flags()):
            info = _marked_seen(box, key, info, raw)
    except OSError as exc:
        raise StorageError(f"Could not read the mailbox {path}: {failure_reason(exc)}") from exc
    seen, folder = _state(info)
    return details(key, raw, seen=seen, folder=folder)


def choose(ids: list[str], given: str | None, agent_id: str, *, latest: bool = False) -> str:
    """The id ``maf mail read`` means among the mailbox's ``ids`` (oldest first for ``latest``):
    with ``latest`` the newest; else ``given`` itself, or the one id that begins with it. A
    prefix of several is refused (UsageError, listing them); one of none is returned as given,
    for the reader to refuse as unknown."""
    if latest:
        if not ids:
            raise Refused(f"No messages for {agent_id}: there is no latest one to read.")
        return ids[-1]
    if not given:
        raise UsageError("Give a message id (or the start of one, as `maf mail list` shows it), or --latest.")
    given = given.rpartition("/")[2].split(":2,")[0]  # as a Maildir file name shows it: cur/ID:2,S
    if given in ids:
        return given
    matches = sorted(key for key in ids if key.startswith(given))
    if len(matches) > 1:
        shown = ", ".join(matches[:10]) + (f" and {len(matches) - 10} more" if len(matches) > 10 else "")
        raise UsageError(f"The id {given!r} is ambiguous: {len(matches)} messages of {agent_id} begin with it "
                         f"({shown}). Give more of the id.")
    return matches[0] if matches else given


def flags(root: str, agent_id: str) -> dict[str, str]:
    """``{key: flags}`` of every message in the agent's Maildir (``new/`` and ``cur/``; flags as
    after ``:2,``, so ``"S"`` once read); empty when there is no mailbox. Reads names only."""
    path = mailbox_path(root, agent_id)
    try:
        box = confinement.open_maildir(root, agent_id, create=False)
        if box is None:
            return {}
        try:
            found: dict[str, str] = {}
            for sub in ("new", "cur"):
                if sub not in box.fds:
                    continue
                for name in os.listdir(box.fds[sub]):
                    if name.startswith("."):
                        continue
                    key, _, info = name.partition(":")
                    found[key] = info[2:] if info.startswith("2,") else ""
            return found
        finally:
            box.close()
    except OSError as exc:
        raise StorageError(f"Could not read the mailbox {path}: {failure_reason(exc)}") from exc


def mark_seen(root: str, agent_id: str, keys: list[str]) -> list[str]:
    """Give the messages ``keys`` the flag ``S`` in ``cur/`` (as :func:`read_message` does);
    the keys marked (those missing or already seen are left alone)."""
    path = mailbox_path(root, agent_id)
    box = _open(root, agent_id, path)
    marked: list[str] = []
    if box is None:
        return marked
    try:
        for key in keys:
            try:
                info = box.get_message(key)
                if info.get_subdir() == "cur" and "S" in info.get_flags():
                    continue
                _marked_seen(box, key, info, box.get_bytes(key))
            except (KeyError, FileNotFoundError):
                continue
            marked.append(key)
    except OSError as exc:
        raise StorageError(f"Could not read the mailbox {path}: {failure_reason(exc)}") from exc
    return marked


def _marked_seen(box: mailbox.Maildir, key: str, info: mailbox.MaildirMessage, raw: bytes) -> mailbox.MaildirMessage:
    """Move one message into ``cur/`` with the flag ``S``, keeping its other flags and date."""
    marked = mailbox.MaildirMessage(raw)
    marked.set_subdir("cur")
    marked.set_flags(info.get_flags())
    marked.add_flag("S")
    marked.set_date(info.get_date())
    try:
        box[key] = marked  # the documented way: rewrite into cur/ with the flag
    except (KeyError, FileNotFoundError):
        return info  # another reader moved it meanwhile; it was read all the same
    return marked


def _state(info: mailbox.MaildirMessage) -> tuple[bool, str]:
    folder = info.get_subdir()
    return "S" in info.get_flags(), folder if folder in ("new", "cur") else "new"


def summary(key: str, raw: bytes, *, seen: bool, folder: str) -> dict[str, Any]:
    """The list entry of one message: ``{"id", "from", "to", "subject", "date", "type", "seen",
    "folder"}`` (see :func:`list_messages`)."""
    return _summary(key, _parse(raw), seen=seen, folder=folder)


def details(key: str, raw: bytes, *, seen: bool, folder: str) -> dict[str, Any]:
    """One message as :func:`read_message` returns it: the summary with ``message_id``, the
    ``X-MAF-*`` ``headers``, ``text`` and ``json``."""
    parsed = _parse(raw)
    found = _summary(key, parsed, seen=seen, folder=folder)
    found["message_id"] = _header(parsed, "Message-ID")
    found["headers"] = {
        name: str(value) for name, value in parsed.items() if name.lower().startswith("x-maf-")
    }
    found["text"] = _text_of(parsed)
    found["json"] = _json_of(parsed)
    return found


def oldest_first(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Summaries by Date (else the time in the key), then key."""
    def order(entry: dict[str, Any]) -> tuple[int, tuple[int, int], str]:
        key_time = _key_time(entry["id"])
        date = entry["date"]  # whole seconds, as the Date header has them
        sort_ms = _ms_of(date, key_time[0] * 1000) if date else key_time[0] * 1000
        return sort_ms, key_time, entry["id"]

    return sorted(summaries, key=order)


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


def _ms_of(iso: str, default: int) -> int:
    try:
        moment = _dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:  # a year before 1000, as strftime writes it on some systems
        return default
    return int(moment.replace(tzinfo=_dt.timezone.utc).timestamp() * 1000)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(key: str, parsed: EmailMessage, *, seen: bool, folder: str) -> dict[str, Any]:
    date_ms = _date_ms(parsed)
    return {
        "id": key,
        "from": _header(parsed, "From"),
        "to": _header(parsed, "To"),
        "subject": _header(parsed, "Subject"),
        "date": _iso(date_ms),
        "type": _header(parsed, "X-MAF-Type"),
        "seen": seen,
        "folder": folder,
    }


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
        if not is_json_part(part):
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
    return None
