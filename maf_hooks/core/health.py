"""What a store's health facts (:class:`maf_hooks.store.schema.Health`) show: the one reading of
the schema version, the page check, the foreign keys and the journal mode, for ``maf-preflight``'s
``database`` check and ``maf db check`` alike."""

from __future__ import annotations

from typing import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.store.schema import Health

SHOWN = 3  # page check lines quoted in a finding


class Finding(NamedTuple):
    """``kind``: ``schema``, ``integrity``, ``foreign_keys`` or ``journal_mode``; ``text`` names
    the problem; ``fixable``: migrating the store (or switching it to WAL) mends it."""

    kind: str
    text: str
    fixable: bool = False


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def findings(health: Health, page_check: str) -> tuple[dict[str, Any], list[Finding]]:
    """The facts to report (``schema_version``, ``current_version``, ``page_check``,
    ``integrity_check``, ``foreign_key_violations``, ``journal_mode`` where known) and what is
    wrong; ``page_check`` names the check the pages had (quick_check or integrity_check)."""
    found: list[Finding] = []
    version, latest = health.schema.version, health.schema.latest
    details: dict[str, Any] = {"schema_version": version, "current_version": latest}
    if version == 0:
        found.append(Finding("schema", "holds no schema: the file is empty or was not made by maf-hooks"))
    elif version < latest:
        found.append(Finding("schema", f"schema version {version} is older than the current {latest}", True))
    elif version > latest:
        found.append(Finding("schema", f"schema version {version} is newer than this maf-hooks knows ({latest}): "
                                       "upgrade maf-hooks"))
    integrity = health.integrity
    if integrity is not None:  # None: the backend keeps its own pages (a server)
        details["page_check"] = page_check
        details["integrity_check"] = "ok" if integrity == ["ok"] else integrity[:10]
        if integrity != ["ok"]:
            more = f" (and {len(integrity) - SHOWN} more)" if len(integrity) > SHOWN else ""
            found.append(Finding("integrity", f"{page_check}: " + "; ".join(integrity[:SHOWN]) + more))
    violations = health.foreign_key_tables
    if violations is not None:
        details["foreign_key_violations"] = len(violations)
    if violations:
        found.append(Finding("foreign_keys", f"foreign_key_check: {_plural(len(violations), 'row violates', 'rows violate')}"
                                             f" foreign keys (in {', '.join(sorted(set(violations)))})"))
    if health.journal_mode is not None:
        details["journal_mode"] = health.journal_mode
        if health.journal_mode != "wal":
            found.append(Finding("journal_mode", f"journal mode is {health.journal_mode}, not WAL", True))
    return details, found
