"""`maf db export`, `maf db import`, `maf db import-legacy`: the store as a portable document,
and an earlier MAF installation's records moved in (registered on ``db_group`` by cli/db.py)."""

from __future__ import annotations

import os
import sys

import click

from maf_hooks.cli.db import db_group
from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json
from maf_hooks.context import Context
from maf_hooks.errors import UsageError
from maf_hooks.services import documents


def _counts(counts: dict[str, int]) -> str:
    from maf_hooks.services.transfer import counted

    return counted(counts) or "nothing"


@db_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True,
              help="The document's format.")
@click.option("--output", "-o", metavar="FILE", help="Write the document to FILE (whole or not at all, mode 0600) "
              "instead of stdout.")
@json_option
@pass_context
def export(context: Context, fmt: str, output: str | None, as_json: bool) -> int:
    """Write this repository's whole store (leases, the audit chain, conflicts, escalations, mail,
    preflight history, agents, the counters) as one JSON document ("schema": "maf.export/1").

    \b
    maf db export > maf-export.json
    maf db export --output maf-export.json --json     # a report of what was written
    """
    from maf_hooks.services import export as service

    if output is None:
        if as_json:
            raise UsageError("--json reports on a document written to --output; without --output the "
                             "document itself is the JSON on stdout.")
        service.export(context.store_location, sys.stdout, environ=context.environ, mail_root=context.mail_root())
        return 0
    from maf_hooks.atomicfile import atomic_text

    path = os.path.join(context.cwd, output)
    if not os.path.isdir(os.path.dirname(path)):
        raise UsageError(f"--output {output}: the directory {os.path.dirname(path)} does not exist.")
    if os.path.isdir(path):
        raise UsageError(f"--output {output} is a directory: name the file to write.")
    with atomic_text(path) as out:
        result = service.export(context.store_location, out, environ=context.environ, mail_root=context.mail_root())
    result.update(output=path, source=str(context.store_location))
    if as_json:
        emit_json(documents.stamped("db.export", result))
    else:
        click.echo(f"exported {result['source']} to {path}: {_counts(result['counts'])}")
    return 0


@db_group.command("import")
@click.argument("file", metavar="FILE")
@click.option("--force", is_flag=True, help="Replace the records of this repository already in the store "
              "(in one transaction).")
@json_option
@pass_context
def import_(context: Context, file: str, force: bool, as_json: bool) -> int:
    """Load a document written by `maf db export` (FILE, or - for stdin) into this repository's
    store: the same ids, fencing tokens and audit chain. A store that already holds records of
    this repository is refused unless --force.

    \b
    maf db import maf-export.json
    """
    from maf_hooks.services import export as service

    doc = service.read_document(_read(file, context.cwd), file)
    result = service.import_document(context.store_location, doc, file, environ=context.environ,
                                     mail_root=context.mail_root(), force=force)
    if as_json:
        emit_json(documents.stamped("db.import", result))
        return 0
    verb = "replaced the records of this repository in" if result["replaced"] else "imported into"
    click.echo(f"{verb} {result['target']}: {_counts(result['counts'])}")
    chain = result["audit"]
    state = "valid" if chain["valid"] else f"as in the document: {chain['problem']}"
    click.echo(f"audit chain: {state} ({chain['checked']} events); next fencing token {result['last_token'] + 1}")
    return 0


def _read(file: str, cwd: str) -> str:
    if file == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        try:
            with open(os.path.join(cwd, file), "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise UsageError(f"Cannot read {file}: {exc.strerror or exc}.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{file} is not UTF-8 text: not a document of `maf db export`. Nothing was imported.") from None


@db_group.command("import-legacy")
@click.argument("path", metavar="[PATH]", required=False)
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
@click.option("--force", is_flag=True, help="Let active earlier leases take over the overlapping active leases "
              "of other agents (recorded as takeovers) instead of refusing the import.")
@json_option
@pass_context
def import_legacy(context: Context, path: str | None, dry_run: bool, force: bool, as_json: bool) -> int:
    """Move an earlier MAF installation's records in: the leases of .maf/reservations.db
    (file_reservations) and of the runtime_leases table, and the runtime_heartbeats and
    runtime_message_queue tables as events. PATH: its .maf/ directory (the default, at the
    repository root) or one database file in it. Running it again imports nothing twice.

    \b
    maf db import-legacy --dry-run
    maf db import-legacy ../old-checkout/.maf/runtime.db --json
    """
    from maf_hooks.services import legacy
    from maf_hooks.services.leasing import longest_ms, reading_for

    files = legacy.legacy_files(path, context.root, context.cwd)
    report = legacy.import_legacy(context.store_location, files, root=context.root, environ=context.environ,
                                  reading=reading_for(context.root, context.path_settings, directories=True),
                                  force=force, dry_run=dry_run,
                                  max_ms=longest_ms(context.config))
    if as_json:
        emit_json(documents.stamped("db.import-legacy", report))
        return 0
    from maf_hooks.core.text import shown

    leases, events = report["leases"], report["events"]
    prefix = "would import" if dry_run else "imported"
    click.echo(f"{prefix} from {', '.join(shown(s['path']) for s in report['sources'])}: "
               f"{leases['active']} active leases, {leases['history']} ended leases (history), "
               f"{events['heartbeats']} heartbeats and {events['messages']} queued messages as events")
    if leases["already_imported"] or events["already_imported"]:
        click.echo(f"imported before, not again: {leases['already_imported']} leases, "
                   f"{events['already_imported']} events")
    if leases["capped"]:
        click.echo(f"cut to reservation.max_timeout_minutes from now (they ran longer): {leases['capped']} leases")
    if leases["duplicates"]:
        click.echo(f"duplicates (a file another record names too): {leases['duplicates']}, the record ending last "
                   "was taken")
    if dry_run and report["overlaps"] and not force:
        click.echo("the import would be refused: active earlier leases overlap other agents' active leases "
                   "(below); release those, or give --force to take them over")
    for overlap in report["overlaps"]:
        verb = "takes over" if overlap["taken_over"] else "overlaps"
        click.echo(f"{shown(overlap['pattern'])} of {shown(overlap['agent'])} {verb} "
                   f"{shown(overlap['holder_pattern'])} held by {shown(overlap['holder'])} ({overlap['holder_lease']})")
    for skipped in report["skipped"]:
        click.echo(f"skipped a record of {shown(skipped['source'])}: {shown(skipped['problem'])}", err=True)
    return 0
