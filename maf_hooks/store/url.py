"""Server URLs and repository keys, as text (nothing here connects).

``storage.url`` names a PostgreSQL server (``postgresql://user@host:port/dbname?sslmode=...``);
it never holds a password (libpq's ``PGPASSWORD``, ``~/.pgpass`` or ``storage.password_env``
give it), and every message shows it through :func:`redact`. ``storage.repository`` is the key
under which one repository's rows live on a server that holds many; by default the ``origin``
remote's URL, normalised by :func:`repository_key` so that every clone of one repository, by
SSH or HTTPS, arrives at the same key.
"""

from __future__ import annotations

SCHEMES = ("postgresql", "postgres")


def is_server_url(text: str | None) -> bool:
    return bool(text) and "://" in str(text) and str(text).split("://", 1)[0].lower() in SCHEMES


def url_problem(text: str) -> str | None:
    """Why ``text`` cannot be ``storage.url``, or None."""
    from urllib.parse import urlsplit

    if not is_server_url(text):
        return f"expected a postgresql:// URL, got {redact(text)!r}"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        return f"{redact(text)!r} is not a valid URL ({exc})"
    from urllib.parse import parse_qs

    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        return f"{redact(text)!r} has a query that is not name=value pairs ({exc})"
    if parts.password is not None or "password" in query:
        return ("the URL holds a password; keep it out of the configuration: give it in PGPASSWORD, "
                "~/.pgpass, or the variable named by storage.password_env")
    return _driver_problem(text)


def _driver_problem(text: str) -> str | None:
    """What libpq (through psycopg, when installed) finds wrong with the URL's parameters: an
    unknown one (``?sslmod=require``) is a configuration error, not a failure to connect."""
    try:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # no driver: opening the store says so
        return None
    try:
        conninfo_to_dict(text)
    except ProgrammingError as exc:
        return f"{redact(text)!r} is not a connection URL libpq accepts: {' '.join(str(exc).split())}"
    return None


def redact(text: str) -> str:
    """``text`` with any password (and any ``password=`` query value) replaced by ``***``."""
    import re

    text = re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", text)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", text)


def repository_key(remote: str) -> str | None:
    """The repository key of a remote URL: host (lower-cased, no user, password, token or port)
    and path (no ``.git``, no trailing slash), as ``host/org/app``; a local remote is ``file:`` and
    its path. ``git@host:org/app.git``, ``ssh://git@host/org/app`` and ``https://user:token@Host/org/app``
    are one key. None for text that is no remote URL."""
    from urllib.parse import urlsplit

    remote = remote.strip()
    if not remote:
        return None
    if "://" in remote:
        try:
            parts = urlsplit(remote)
            host = (parts.hostname or "").lower()
        except ValueError:
            return None
        path = parts.path
        if parts.scheme == "file":
            return "file:" + _trim(path) if _trim(path) else None
        if not host:
            return None
    elif ":" in remote.split("/", 1)[0] and not remote.startswith("/"):
        # scp-like: [user@]host:path
        location, path = remote.split(":", 1)
        host = location.rsplit("@", 1)[-1].lower()
        if not host:
            return None
    else:
        return "file:" + _trim(remote) if _trim(remote) else None
    path = _trim(path)
    return f"{host}/{path}" if path else None


def _trim(path: str) -> str:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return path.strip("/")
