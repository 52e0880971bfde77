"""Runtime modes: which kind of lease store ``storage.runtime`` (``MAF_RUNTIME``, or the older
``MAF_RUNTIME_MODE``) asks for, as text (nothing here opens a store; :mod:`maf_hooks.store.open`
does, from :func:`effective`).

``sqlite`` (a file, the default), ``postgres`` (a shared server: the same as a ``storage.url``)
and ``memory`` (a private store of one process, for experiments and dry runs). One runtime, never
a list to fall back along: a lease taken in a store the other agents do not read guards nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs the git hook milliseconds; annotations only
if TYPE_CHECKING:
    from typing import Any

SQLITE, POSTGRES, MEMORY = "sqlite", "postgres", "memory"
RUNTIMES = (SQLITE, POSTGRES, MEMORY)

NO_FALLBACK = ("a lease store must never fall back silently to a store other agents do not see: a lease "
               "taken there guards nothing, and a commit checked there passes whatever the others hold")


def problem(text: str) -> str | None:
    """Why ``text`` is no runtime (a JSON file, a fallback chain), or None; an unknown name is
    left to the field's list of choices."""
    names = [part.strip() for part in text.split(",")]
    if len(names) > 1:
        return (f"{text!r} is a fallback chain, which is refused: {NO_FALLBACK}. Name one runtime: "
                f"{', '.join(RUNTIMES)}")
    if names[0] == "json":
        return ("json is not a live lease store: a JSON file is the export format (`maf db export --format json`, "
                "`maf db import FILE`), which neither the hooks nor other agents read. Name one runtime: "
                f"{', '.join(RUNTIMES)}")
    return None


def contradiction(storage: dict, source: Any) -> str | None:
    """Why the runtime and the server URL of the merged ``[storage]`` values cannot both hold, or
    None. ``source(dotted key)`` says where a value came from (``env:MAF_RUNTIME``)."""
    runtime, url = storage.get("runtime"), storage.get("url")
    given = f"storage.runtime is {runtime!r} ({where(source('storage.runtime'))})"
    if runtime == POSTGRES and not url:
        return (f"{given}, but no server is named: set MAF_DB_URL or storage.url to its postgresql:// URL "
                "(see docs/fleet.md), or choose another runtime")
    if runtime == SQLITE and url:
        return (f"{given}, but storage.url ({where(source('storage.url'))}) names a PostgreSQL server: the two "
                "contradict each other. Remove one of them: a clone that used a file of its own would not see "
                "the fleet's leases, nor the fleet its")
    return None


def where(source: str) -> str:
    """A value's source (``env:MAF_RUNTIME``, ``file:maf.toml``) as a message says it."""
    for prefix, said in (("env:", "from "), ("file:", "from "), ("env-overlay:", "from the overlay ")):
        if source.startswith(prefix):
            return said + source[len(prefix):]
    return source


def effective(cfg: Any) -> str:
    """THE runtime in use: ``memory`` when asked for (it wins over everything); else ``postgres``
    when a server URL is configured; else ``sqlite`` (at ``storage.db_path`` or the default)."""
    if cfg.get("storage.runtime") == MEMORY:
        return MEMORY
    return POSTGRES if cfg.get("storage.url") else SQLITE
