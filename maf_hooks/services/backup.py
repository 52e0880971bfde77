"""``maf db backup`` and ``maf db restore``: a checked copy of the store in one SQLite file, and
that file written back into the live store.

SQLite: the backup API (:meth:`StoreLocation.snapshot`, :meth:`StoreLocation.restore_from`), so
a backup is consistent while agents work, and a restore happens under the database's write lock
while other processes keep it open. PostgreSQL: the repository's records moved to or from a
SQLite file through ``maf db copy``'s machinery (:func:`maf_hooks.services.transfer.copy_records`),
in one transaction holding the repository's write lock. Agent mail the server keeps is neither
in the file nor touched by a restore (a SQLite store has no table for it).

A backup file is made beside its destination, checked (:func:`maf_hooks.services.dbcheck.check`,
full) and only then renamed into place; a backup to restore is first copied aside and checked,
and the copy is what is restored: a damaged file changes nothing.
"""

from __future__ import annotations

import os
import tempfile

from maf_hooks.errors import DamagedStore, Refused, StorageError, UsageError
from maf_hooks.services import dbcheck

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from maf_hooks.store.open import Location

MAIL = "mail_messages"
SHOWN_LEASES = 5  # active leases named in a refusal


def backup(location: Location, path: str, *, environ: Mapping[str, str], file_mode: str | None,
           force: bool = False) -> dict[str, Any]:
    """Copy the store at ``location`` into the SQLite file ``path`` (made with ``file_mode``), an
    existing file is refused (Refused) unless ``force``. Returns the check of the copy and, for a
    server, the counts copied and the mail left out."""
    from maf_hooks.store.open import file_location

    target = os.path.abspath(path)
    if os.path.isdir(target):
        raise UsageError(f"{path} is a directory: give the backup's file name.")
    if location.backend == "sqlite" and os.path.realpath(target) == os.path.realpath(location.path):
        raise UsageError(f"{path} is the database in use: a backup goes to another file.")
    if os.path.lexists(target) and not force:
        raise Refused(f"{path} already exists; nothing was written. Give --force to replace it, or another name.")
    if not os.path.isdir(os.path.dirname(target)):
        raise UsageError(f"The directory of {path} does not exist.")
    partial = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.partial-{os.getpid()}")
    result: dict[str, Any] = {"path": target, "source": str(location), "backend": location.backend}
    try:
        copy = file_location(partial, file_mode)
        if location.backend == "sqlite":
            if not location.exists():
                raise StorageError(f"No lease database at {location}: nothing to back up.")
            location.snapshot(partial)  # type: ignore[union-attr]
        else:
            result.update(_from_server(location, copy, environ))
        report = dbcheck.check_location(copy, environ=environ, full=True)
        if not report["ok"]:
            raise Refused(f"The copy of {location} does not pass the check, so no backup was written: "
                          f"{_problems(report)}. Run `maf db check --full`.")
        os.replace(partial, target)
    finally:
        _remove(partial)
    report["location"] = target
    result["check"] = report
    return result


def _from_server(location: Location, copy: Location, environ: Mapping[str, str]) -> dict[str, Any]:
    from maf_hooks.services.transfer import copy_records
    from maf_hooks.store.transfer import transfer_of

    with location.open(environ=environ) as server, copy.open(environ=environ) as file:
        copied = copy_records(server, file, force=False, mail=False)
        left = transfer_of(server).count(MAIL)
    return {"counts": copied["counts"], "mail_left_out": left}


def restore(location: Location, path: str, *, environ: Mapping[str, str], file_mode: str | None,
            force: bool = False, keep_dir: str | None = None, now: Callable[[], int]) -> dict[str, Any]:
    """Write the backup ``path`` into the store at ``location``: refused (Refused) while leases
    are active unless ``force``, judged under the store's write lock; the state replaced is first
    saved to a SQLite file in ``keep_dir`` (default: beside a database file; the current
    directory for a server) named after the time ``now()`` (UTC)."""
    from maf_hooks.store.open import file_location

    source = os.path.abspath(path)
    if getattr(location, "runtime", None) == "memory":
        raise UsageError("storage.runtime is memory: a private store of this process, which a restore "
                         "cannot reach from another. Restore into the team's store (unset MAF_RUNTIME).")
    if not os.path.isfile(source):
        raise UsageError(f"No backup file at {path}.")
    with tempfile.TemporaryDirectory(prefix="maf-restore-") as scratch:
        staged = file_location(os.path.join(scratch, "backup.db"), file_mode)
        try:
            file_location(source, file_mode).snapshot(staged.path)
        except DamagedStore as exc:
            raise Refused(f"The backup {path} cannot be read; nothing was changed: {exc}") from None
        report = dbcheck.check_location(staged, environ=environ, full=True)
        if not report["ok"]:
            raise Refused(f"The backup {path} does not pass the check; nothing was changed: {_problems(report)}.")
        stamp = _stamp(now())
        result: dict[str, Any] = {"path": source, "target": str(location), "backend": location.backend}
        if location.backend == "sqlite":
            result.update(_into_file(location, staged, keep_dir, stamp, environ=environ, force=force))
        else:
            result.update(_into_server(location, staged, keep_dir, stamp, environ=environ, file_mode=file_mode,
                                       force=force))
    result["check"] = dbcheck.check_location(location, environ=environ)
    return result


def _into_file(location: Location, staged: Location, keep_dir: str | None, stamp: str, *,
               environ: Mapping[str, str], force: bool) -> dict[str, Any]:
    from maf_hooks.store.sqlite.backup import damage, set_aside

    live = location.path
    existed = location.exists()
    if keep_dir is not None and not os.path.isdir(keep_dir):
        raise UsageError(f"--keep-dir {keep_dir} is not a directory: create it, or leave the option out "
                         "(the previous state is then kept beside the database).")
    keep = _free(os.path.join(keep_dir or os.path.dirname(live), f"{os.path.basename(live)}.before-restore-{stamp}"))
    replaced: list[int] = []
    broken = damage(live) if existed else None
    if broken is not None:
        if not force:
            raise Refused(f"The live database {live} is damaged ({broken}), so it cannot tell which leases are "
                          "active; nothing was changed. Give --force to set it aside and restore the backup.")
        set_aside(live, keep)  # unreadable: no process can be using it; kept as the previous state
        location.restore_from(staged.path, keep=None, guard=lambda: None)  # type: ignore[union-attr]
        return {"kept": keep, "active_replaced": 0, "damaged": broken}

    def guard() -> None:  # the write lock on the live database is held
        if not existed:
            return
        try:
            with location.open(environ=environ, read_only=True, create=False, migrate=False) as store:
                active = store.leases.active(store.now())
        except DamagedStore as exc:
            if force:
                return
            raise Refused(f"The live database cannot tell which leases are active ({exc}); nothing was changed. "
                          "Give --force to restore anyway.") from None
        _refuse_active(active, force)
        replaced.append(len(active))

    try:
        location.restore_from(staged.path, keep=keep if existed else None, guard=guard)  # type: ignore[union-attr]
    except BaseException:
        _remove(keep)  # a name that was free: the copy of a state that stays
        raise
    return {"kept": keep if existed else None, "active_replaced": replaced[0] if replaced else 0}


def _into_server(location: Location, staged: Location, keep_dir: str | None, stamp: str, *,
                 environ: Mapping[str, str], file_mode: str | None, force: bool) -> dict[str, Any]:
    from maf_hooks.services.transfer import copy_records
    from maf_hooks.store.open import file_location

    with location.open(environ=environ) as server, staged.open(environ=environ, create=False) as backup_file:
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in server.repository or "")
        keep = _free(os.path.join(os.path.abspath(keep_dir or os.getcwd()), f"{name}.before-restore-{stamp}.db"))
        try:
            with server.write() as now:  # the repository's write lock, until the records are replaced
                active = server.leases.active(now)
                _refuse_active(active, force)
                with file_location(keep, file_mode).open(environ=environ) as kept:
                    copy_records(server, kept, force=False, mail=False)
                copied = copy_records(backup_file, server, force=True, mail=False)
        except BaseException:
            _remove(keep)
            raise
    return {"kept": keep, "active_replaced": len(active), "counts": copied["counts"]}


def _refuse_active(active: list, force: bool) -> None:
    if not active or force:
        return
    named = ", ".join(f"{lease.pattern} ({lease.agent})" for lease in active[:SHOWN_LEASES])
    more = f" and {len(active) - SHOWN_LEASES} more" if len(active) > SHOWN_LEASES else ""
    raise Refused(f"{len(active)} lease(s) are active: {named}{more}. A restore would replace them with the "
                  "backup's; nothing was changed. Wait until they are released or expire, or give --force.")


def _problems(report: dict[str, Any]) -> str:
    return "; ".join(f"{p['check']}: {p['problem']}" for p in report["problems"])


def _stamp(ms: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _free(path: str) -> str:
    """``path``, or with ``-2``, ``-3``, ... added when a file of that name exists."""
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


def _remove(path: str) -> None:
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
