"""Writing a file whole or not at all, as it is produced: a temporary file beside it, renamed over
it once complete (a reader sees the old file or the new one, never half of one)."""

from __future__ import annotations

import contextlib
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TextIO


@contextlib.contextmanager
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
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
