"""`maf db check`, `maf db backup PATH`, `maf db restore PATH`: whether the store is sound, a
checked copy of it, and that copy written back (registered on ``db_group`` by cli/db.py)."""

from __future__ import annotations

import click

from maf_hooks.cli.db import db_group
from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json
from maf_hooks.context import Context
from maf_hooks.services import documents


@db_group.command("check")
@click.option("--full", is_flag=True,
              help="SQLite's full integrity_check (every index against its table) instead of quick_check, and "
                   "the audit chain from its first event instead of from the checkpoint.")
@json_option
@pass_context
def check(context: Context, full: bool, as_json: bool) -> int:
    """Check the store: its pages and foreign keys, its schema version, that every lease's rows
    agree, and the audit chain. Exit 1 naming each problem found, 3 when it cannot be read.

    \b
    maf db check            # quick enough for every CI run
    maf db check --full     # every page, index and event
    """
    from maf_hooks.services import dbcheck

    report = dbcheck.check_location(context.store_location, environ=context.environ, full=full)
    if as_json:
        emit_json(documents.stamped("db.check", report))
    else:
        _show(report)
    return 0 if report["ok"] else 1


def _show(report: dict) -> None:
    click.echo(f"checked {report['location']} ({_facts(report)})")
    for problem in report["problems"]:
        click.echo(f"problem ({problem['check']}): {problem['problem']}")
    if report["problems"]:
        count = len(report["problems"])
        click.echo(f"{count} problem{'s' if count != 1 else ''} found")
        return
    parts = []
    if "integrity_check" in report:
        parts += [f"pages ({report['page_check']})", "foreign keys"]
    leases, chain = report["leases"], report["audit"]
    parts.append(f"{leases['checked']} leases ({leases['active']} active)")
    parts.append(f"audit chain ({chain['checked']} events; {chain['scope']} hashed)")
    click.echo("ok: " + ", ".join(parts))


def _facts(report: dict) -> str:
    facts = [report["backend"]]
    if "schema_version" in report:
        facts.append(f"schema version {report['schema_version']}")
    if report.get("journal_mode"):
        facts.append(f"journal mode {report['journal_mode']}")
    return ", ".join(facts)


@db_group.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@json_option
@pass_context
def backup(context: Context, path: str, force: bool, as_json: bool) -> int:
    """Write a consistent copy of the store to the SQLite file PATH while agents keep working,
    then check the copy (`maf db check --full` on it); PATH is written only once it passes.

    \b
    maf db backup backups/leases-$(date -u +%Y%m%d).db
    """
    from maf_hooks.services import backup as service

    result = service.backup(context.store_location, path, environ=context.environ, force=force,
                            file_mode=context.config.get("storage.file_mode"))
    if as_json:
        emit_json(documents.stamped("db.backup", result))
        return 0
    check = result["check"]
    click.echo(f"backed up {result['source']} to {result['path']}: {check['leases']['checked']} leases, "
               f"{check['audit']['checked']} events; the copy passes the check")
    if result.get("mail_left_out"):
        click.echo(f"not in the backup: {result['mail_left_out']} mail message(s) the server keeps "
                   "(a SQLite file has no table for them; a restore leaves them as they are)")
    return 0


@db_group.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Restore even while leases are active (they are replaced by the backup's).")
@click.option("--keep-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Where to save the state replaced (default: beside the database file; the current directory "
                   "for a server).")
@json_option
@pass_context
def restore(context: Context, path: str, force: bool, keep_dir: str | None, as_json: bool) -> int:
    """Write the backup PATH into the live store, after checking it: under the store's write lock,
    while other processes keep it open. Refused while leases are active unless --force; the
    state replaced is saved first, in a file named after the time (UTC).

    \b
    maf db restore backups/leases-20261201.db
    """
    from maf_hooks.services import backup as service
    from maf_hooks.timeutil import now_ms

    result = service.restore(context.store_location, path, environ=context.environ, force=force,
                             keep_dir=keep_dir, file_mode=context.config.get("storage.file_mode"), now=now_ms)
    if as_json:
        emit_json(documents.stamped("db.restore", result))
    else:
        if result["kept"]:
            click.echo(f"saved the state replaced to {result['kept']}")
        click.echo(f"restored {result['path']} into {result['target']}"
                   + (f" ({result['active_replaced']} active lease(s) replaced)" if result["active_replaced"] else ""))
        _show(result["check"])
    return 0 if result["check"]["ok"] else 1
