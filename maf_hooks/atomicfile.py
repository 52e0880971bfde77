"""Writing a file whole or not at all, as it is produced: a temporary file beside it, renamed over
it once complete (a reader sees the old file or the new one, never half of one)."""

from __future__ import annotations

import os
from contextlib import contextmanager as _contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TextIO


def write_bytes(path: str, data: bytes, *, mode: int | None = None, durable: bool = True,
                temporary: str | None = None) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temporary file beside it (``temporary``,
    else a fresh name), renamed over it. ``mode``: the new file's permissions (None: an existing
    file keeps its own, a new one gets 0666 less the umask). ``durable``: flushed to disk before
    the rename (off where losing the last write in a crash is acceptable and speed is not, such
    as the hooks' timings). Imports nothing beyond ``os`` unless it picks a name."""
    directory = os.path.dirname(os.path.abspath(path))
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    if temporary is None:
        import tempfile

        handle, temporary = tempfile.mkstemp(prefix=".maf-", suffix=".tmp", dir=directory)
    else:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            if durable:
                os.fsync(out.fileno())
            os.fchmod(out.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        _discard(temporary)
        raise


@_contextmanager
def atomic_text(path: str, *, mode: int = 0o600) -> Iterator[TextIO]:
    """A text handle to write ``path`` through: a temporary file in the same directory with
    ``mode`` from its creation (0600 by default, whatever the umask), flushed to disk and renamed
    over ``path`` when the block ends; an exception in the block removes it and leaves ``path``
    as it was. The directory must exist."""
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".maf-", suffix=".tmp", dir=directory)  # made 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            if mode != 0o600:
                os.fchmod(out.fileno(), mode)
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        _discard(temporary)
        raise


def _discard(temporary: str) -> None:
    """Remove a temporary file that will not be renamed into place (gone already: fine)."""
    try:
        os.unlink(temporary)
    except OSError:
        pass
