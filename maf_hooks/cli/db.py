"""`maf db`: where the lease database lives and what state its schema is in."""

from __future__ import annotations

import click

from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json
from maf_hooks.context import Context


@click.group("db")
def db_group() -> None:
    """The lease database."""


@db_group.command("path")
@pass_context
def path(context: Context) -> int:
    """Print the path of the lease database in use."""
    click.echo(str(context.store_location))
    return 0


@db_group.command("migrate")
@json_option
@pass_context
def migrate(context: Context, as_json: bool) -> int:
    """Create the database, or bring an older one up to the current schema."""
    location = context.store_location
    existed = location.exists()
    before = None
    if existed:
        with location.open(environ=context.environ, read_only=True) as probe:
            before = probe.schema().version
    with location.open(environ=context.environ) as store:
        schema = store.schema(applied=True)
    if as_json:
        emit_json({"path": str(location), "created": not existed, "previous_version": before,
                   "version": schema.version,
                   "migrations": [{"version": v, "name": n, "applied_at": a} for v, n, a in schema.applied]})
    else:
        state = ("created" if not existed
                 else "up to date" if before == schema.version else f"upgraded from version {before}")
        click.echo(f"{state}: {location} (schema version {schema.version})")
    return 0
