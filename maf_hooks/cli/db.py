"""`maf db`: where the lease database lives and what state its schema is in."""

from __future__ import annotations

import os

import click

from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json
from maf_hooks.context import Context
from maf_hooks.store.sqlite import migrations



@click.group("db")
def db_group():
    """The lease database."""


@db_group.command("path")
@pass_context
def path(context: Context):
    """Print the path of the lease database in use."""
    click.echo(context.db_path)
    return 0


@db_group.command("migrate")
@json_option
@pass_context
def migrate(context: Context, as_json):
    """Create the database, or bring an older one up to the current schema."""
    existed = os.path.exists(context.db_path)
    before = None
    if existed:
        from maf_hooks.store.sqlite import connection as db  # noqa: PLC0415

        probe = db.connect(context.db_path, migrate=False)
        before = migrations.current_version(probe)
        probe.close()
    with context.database() as conn:
        version = migrations.current_version(conn)
        rows = conn.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").fetchall()
    if as_json:
        emit_json({"path": context.db_path, "created": not existed, "previous_version": before, "version": version,
                   "migrations": [{"version": v, "name": n, "applied_at": a} for v, n, a in rows]})
    else:
        state = "created" if not existed else ("up to date" if before == version else f"upgraded from version {before}")
        click.echo(f"{state}: {context.db_path} (schema version {version})")
    return 0
