"""`maf db`: where the lease store lives and what state its schema is in."""

from __future__ import annotations

import click

from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json
from maf_hooks.context import Context
from maf_hooks.services import documents


@click.group("db")
def db_group() -> None:
    """The lease database."""


@db_group.command("path")
@json_option
@pass_context
def path(context: Context, as_json: bool) -> int:
    """Print where the lease store is: the SQLite file in use, the server's URL (never its
    password), or that it is in memory (the memory runtime)."""
    location = context.store_location
    if as_json:
        emit_json(documents.stamped("db.path", {
            "runtime": location.runtime, "backend": location.backend, "path": location.path,
            "exists": location.exists()
        }))
    else:
        click.echo(str(location))
    return 0


@db_group.command("migrate")
@json_option
@pass_context
def migrate(context: Context, as_json: bool) -> int:
    """Create the store, or bring an older one up to the current schema. The one command that
    migrates a shared server (the hooks never do; run it from one machine, then upgrade the others)."""
    location = context.store_location
    before, schema = location.migrate(environ=context.environ)
    existed = before is not None
    if as_json:
        emit_json(documents.stamped("db.migrate", {
            "path": str(location), "backend": location.backend, "created": not existed,
            "previous_version": before, "version": schema.version,
            "migrations": [{"version": v, "name": n, "applied_at": a} for v, n, a in schema.applied]
        }))
    else:
        state = ("created" if not existed
                 else "up to date" if before == schema.version else f"upgraded from version {before}")
        click.echo(f"{state}: {location} (schema version {schema.version})")
    return 0


@db_group.command("copy")
@click.option("--to", "target", required=True, metavar="URL|PATH",
              help="The store to copy into: a postgresql:// URL (this repository's key on it), or a SQLite file path.")
@click.option("--force", is_flag=True, help="Replace the target's records of this repository (in one transaction).")
@json_option
@pass_context
def copy(context: Context, target: str, force: bool, as_json: bool) -> int:
    """Copy every record of this repository (leases with their fencing tokens, the audit chain,
    conflicts, escalations, mail and its outbox, preflight history, agents) into another store.

    \b
    maf db copy --to postgresql://maf@db.example.com/maf    # from this machine to a fleet
    maf db copy --to .git/maf/runtime.db                    # from the fleet back to a file
    """
    from maf_hooks.services import transfer
    from maf_hooks.store.open import locate_given

    destination = locate_given(context.root, context.paths.common_dir, context.config, target, context.cwd)
    result = transfer.copy(context.store_location, destination, environ=context.environ,
                           mail_root=context.mail_root(), force=force)
    if as_json:
        emit_json(documents.stamped("db.copy", result))
        return 0
    counts = transfer.counted(result["counts"])
    verb = "replaced the records of this repository in" if result["replaced"] else "copied to"
    click.echo(f"{verb} {result['target']}: {counts}")
    chain = result["audit"]
    state = "valid" if chain["valid"] else f"as on the source: {chain['problem']}"
    click.echo(f"audit chain on the target: {state} ({chain['checked']} events); next fencing token "
               f"{result['last_token'] + 1}")
    return 0


# check, backup and restore; export, import and import-legacy; gc: their own modules, on this group
from maf_hooks.cli import db_maintenance, db_transfer  # noqa: E402, F401
from maf_hooks.cli.db_gc import gc  # noqa: E402

db_group.add_command(gc)
