"""Moving a repository between stores (``maf db copy``): every record kind, through the
transfer interface of both backends (:mod:`maf_hooks.store.transfer`), in one write section of
the target (kept whole or not at all) while the source's write lock keeps its records still.

Agent mail moves with the records: a store without mail of its own (SQLite) has it in the
Maildir under the mail root, which is read into (or delivered from) a store that keeps mail
(``mail_messages``).
"""

from __future__ import annotations

import os

from maf_hooks.errors import MafError, Refused, StorageError, UsageError
from maf_hooks.store.transfer import BATCH, KINDS, Counters, transfer_of

# what a chain's validation says of it (besides where it started from)
CHAIN_FIELDS = ("valid", "checked", "first_invalid_id", "problem")

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from typing import Any

    from maf_hooks.store.base import Store
    from maf_hooks.store.open import Location
    from maf_hooks.store.transfer import Transfer

MAIL = "mail_messages"


def copy(source_at: Location, target_at: Location, *, environ: Mapping[str, str], mail_root: str,
         force: bool = False, batch: int = BATCH) -> dict[str, Any]:
    """Copy this repository's records from ``source_at`` to ``target_at`` (created, or its schema
    brought up to date). A target holding records of this repository is refused (Refused, exit
    1) unless ``force``, which replaces them; other repositories on a shared server are never
    touched. Returns the counts per kind, the counters and both chains' validation."""
    if _same(source_at, target_at):
        raise UsageError(f"--to names the store in use ({target_at}): give another URL or path.")
    with source_at.open(environ=environ, create=False) as source, target_at.open(environ=environ, upgrade=True) as target:
        result = copy_records(source, target, force=force, mail_root=mail_root, batch=batch)
        if MAIL in result["mail_to_maildir"]:
            result["counts"][MAIL] = deliver_to_maildir(mail_root, _dump_mail(source, batch))
    del result["mail_to_maildir"]
    result.update(source=str(source_at), target=str(target_at),
                  backends={"source": source_at.backend, "target": target_at.backend})
    return result


def copy_records(source: Store, target: Store, *, force: bool, mail_root: str = "", batch: int = BATCH,
                 mail: bool = True) -> dict[str, Any]:
    """Copy the records of open ``source`` into open ``target`` in one write section of each
    (see :func:`copy`; the Maildir side is the caller's). ``mail=False``: agent mail is neither
    copied nor removed (a backup and a restore of a server, whose SQLite file holds no mail)."""
    from maf_hooks.services import audit

    reader, writer = transfer_of(source), transfer_of(target)
    kinds = [kind for kind in writer.kinds if mail or kind != MAIL]
    counts: dict[str, int] = {}
    with target.write():
        present, before = make_room(writer, target, force=force, verb="copied", kinds=kinds,
                                    keep=() if mail else (MAIL,))
        with source.write():  # no lease or event is written to the source while it is read
            for kind in KINDS:
                if kind not in kinds:
                    continue
                if kind in reader.kinds:
                    pages: Iterator[list[tuple]] = reader.dump(kind, batch)
                elif kind == MAIL:
                    pages = maildir_rows(mail_root, batch)
                else:
                    continue
                counts[kind] = load_pages(writer, kind, pages)
            copied = reader.counters()
            source_chain = audit.validate(source, full=True)
        tokens, target_chain = settle(writer, target, copied, before, source_chain, source.location, verb="copied")
    to_maildir = [MAIL] if mail and MAIL in reader.kinds and MAIL not in writer.kinds else []
    return {"replaced": present, "counts": counts, "last_token": tokens, "last_event_id": copied.last_event_id,
            "audit": target_chain, "mail_to_maildir": to_maildir}


# --- filling a target: the steps a copy and an import share ----------------------------------

def counted(counts: Mapping[str, int]) -> str:
    """Record counts as people read them: ``"2 leases, 1 mail messages"`` (empty for none)."""
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())


def make_room(writer: Transfer, target: Store, *, force: bool, verb: str, kinds: Sequence[str] | None = None,
              keep: Sequence[str] = ()) -> tuple[dict[str, int], Counters]:
    """Inside the target's write section: refuse a target holding records of this repository
    (Refused, exit 1) unless ``force``, which removes them. ``kinds``: the kinds that count
    (default: every kind the target keeps); ``keep``: kinds left in place by ``force``. Returns
    what was there (kind -> count) and the target's counters before."""
    present = {kind: n for kind in (writer.kinds if kinds is None else kinds) if (n := writer.count(kind))}
    if present and not force:
        held = counted(present)
        raise Refused(f"The target {target.location} already holds records of this repository ({held}). "
                      f"Nothing was {verb}. Give --force to replace them (other repositories on a "
                      "shared server are never touched).")
    if present:
        writer.clear(keep=keep)
    return present, writer.counters()


def load_pages(writer: Transfer, kind: str, pages: Iterable[Sequence[tuple]]) -> int:
    """Load canonical rows of ``kind`` page by page; how many."""
    count = 0
    for rows in pages:
        writer.load(kind, rows)
        count += len(rows)
    return count


def settle(writer: Transfer, target: Store, counters: Counters, before: Counters, expected: Mapping[str, Any],
           source: str, *, verb: str, error: type[MafError] = StorageError) -> tuple[int, dict[str, Any]]:
    """Set the target's counters (the token counter never lowered: no token is given twice) and
    validate its audit chain in full, which must come out as ``expected`` (the source's), else
    ``error`` (StorageError: the copy went wrong) and the section rolls back. Returns the last token and the target's chain."""
    from maf_hooks.services import audit

    tokens = max(counters.last_token, before.last_token)
    writer.set_counters(Counters(counters.last_event_id, tokens))
    chain = audit.validate(target, full=True)
    if any(chain.get(key) != expected.get(key) for key in CHAIN_FIELDS):
        raise error(f"The {verb} audit chain does not validate on {target.location} as it does on "
                           f"{source} ({chain['problem'] or 'valid on the target only'}); nothing was {verb}.")
    return tokens, chain


def _dump_mail(source: Store, batch: int) -> Iterator[list[tuple]]:
    return transfer_of(source).dump(MAIL, batch)


def _same(one: Location, other: Location) -> bool:
    if one.backend != other.backend:
        return False
    if one.backend == "sqlite":
        return os.path.realpath(one.path) == os.path.realpath(other.path)
    return bool(one.url == other.url and one.repository() == other.repository())  # type: ignore[union-attr]


# --- the Maildir side ------------------------------------------------------------------------

def _mailboxes(root: str) -> list[str]:
    """The agents with a Maildir under ``root`` (a symbolic link on the way is refused)."""
    from maf_hooks.identity import is_valid_agent_id
    from maf_hooks.mail import confinement

    if not confinement.check_root(root, create=False):
        return []
    agents = []
    for name in sorted(os.listdir(root)):
        if not is_valid_agent_id(name):
            continue
        box = confinement.open_maildir(root, name, create=False)
        if box is not None:
            complete = {"new", "cur"} <= set(box.fds)
            box.close()
            if complete:
                agents.append(name)
    return agents


def maildir_rows(root: str, batch: int = BATCH) -> Iterator[list[tuple]]:
    """Every Maildir message under ``root`` as canonical ``mail_messages`` rows: the agent, the
    Maildir key, the message bytes, when it was delivered (from the key, else the file's time),
    when it was seen (the file's time, when it carries the flag S) and synced_at None."""
    import mailbox

    from maf_hooks.mail.reading import _key_time  # the delivery time a Maildir key carries

    rows: list[tuple] = []
    for agent in _mailboxes(root):
        box = mailbox.Maildir(os.path.join(root, agent), factory=None, create=False)
        for key in sorted(box.iterkeys()):
            try:
                message = box.get_message(key)
                data = box.get_bytes(key)
            except (KeyError, FileNotFoundError):  # read and moved meanwhile
                continue
            stamp = int(message.get_date() * 1000)
            seen = stamp if "S" in message.get_flags() else None
            seconds, micros = _key_time(key)
            rows.append((agent, key, data, seconds * 1000 + micros // 1000 if seconds else stamp, seen, None))
            if len(rows) >= batch:
                yield rows
                rows = []
    if rows:
        yield rows


def deliver_to_maildir(root: str, pages: Iterator[Sequence[tuple]]) -> int:
    """Deliver canonical ``mail_messages`` rows into the Maildir under ``root``, each under its
    own key exactly once (a message already there is left as it is); a seen one gets the flag S
    and its seen time as the file's time."""
    import mailbox

    from maf_hooks.mail.maildir import deliver_once

    delivered = 0
    for rows in pages:
        for agent, key, data, _created, seen_at, _synced in rows:
            deliver_once(root, agent, bytes(data), key)
            if seen_at is not None:
                box = mailbox.Maildir(os.path.join(root, agent), factory=None, create=False)
                message = box.get_message(key)
                if "S" not in message.get_flags():
                    message.set_subdir("cur")
                    message.add_flag("S")
                    # the file's time is when it was seen (read back by maildir_rows); half a
                    # millisecond on, so that reading it back in milliseconds gives seen_at
                    message.set_date((seen_at + 0.5) / 1000)
                    box[key] = message
            delivered += 1
    return delivered
