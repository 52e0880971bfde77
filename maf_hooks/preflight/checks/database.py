"""The ``database`` check: the lease database's schema version, integrity, foreign keys and
journal mode, read through the store (:meth:`maf_hooks.store.base.Store.health`), never changed.
The pages are checked quickly (SQLite's quick_check) unless ``preflight.checks.database.thorough``
(``maf-preflight --thorough``) asks for the full integrity_check."""

from __future__ import annotations

from maf_hooks.errors import StorageError
from maf_hooks.preflight.result import FAILED, PASSED, WARNING, Annotation, Outcome, summarize
from maf_hooks.preflight.runenv import RunEnv


def check_database(env: RunEnv) -> Outcome:
    location = env.context.store_location
    shown = env.display(location.path)
    details: dict = {"path": shown, "exists": location.exists()}
    if not details["exists"]:
        return Outcome(WARNING, f"no lease database yet at {shown} (nobody has leased anything)", details,
                       recommendations=["`maf-preflight --fix` (or `maf init`) creates the lease database."],
                       fixable=True)
    findings: list[str] = []
    fixable = False
    full = bool(env.check_settings("database").get("thorough"))
    try:
        with env.open_store() as store:
            health = store.health(full=full)
    except StorageError as exc:
        findings.append(env.storage_message(exc))
    else:
        fixable = _judge(health, details, findings, "integrity_check" if full else "quick_check")
    server = location.backend != "sqlite"
    if findings:
        recommendations = []
        if fixable and server:
            recommendations.append("`maf db migrate` (from one machine) brings the server's schema up to date.")
            fixable = False  # --fix never migrates a shared server
        elif fixable:
            recommendations.append("`maf-preflight --fix` migrates the lease database and switches it to WAL.")
        if any(f.startswith(("integrity_check", "quick_check", "foreign_key_check")) or "corrupt" in f
               for f in findings):
            recommendations.append(f"Restore {shown} from a backup, or move it aside (a new one is created "
                                   "on the next lease).")
        return Outcome(FAILED, summarize(findings), details, findings, recommendations,
                       [Annotation("error", f"lease database {shown}: {f}") for f in findings], fixable=fixable)
    if server:
        return Outcome(PASSED, f"{shown}: schema version {details['schema_version']}, server reachable", details)
    return Outcome(PASSED, f"{shown}: schema version {details['schema_version']}, integrity ok "
                           f"({details['page_check']}), WAL", details)


def _judge(health, details: dict, findings: list[str], page_check: str) -> bool:
    """Fill ``details`` and ``findings`` from the store's health (its pages checked by
    ``page_check``: quick_check or integrity_check); whether ``--fix`` would help."""
    from maf_hooks.core.health import findings as health_findings

    facts, found = health_findings(health, page_check)
    details.update(facts)
    findings.extend(finding.text for finding in found)
    return any(finding.fixable for finding in found)
