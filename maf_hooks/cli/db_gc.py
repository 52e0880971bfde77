"""`maf db gc`: delete what the retention settings no longer keep (docs/operations.md)."""

from __future__ import annotations

import click

from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json, table, warn
from maf_hooks.context import Context
from maf_hooks.services import documents

_WHAT = {  # record -> (what a row is, which time the cut-off is compared with)
    "leases": ("ended leases", "ended"),
    "conflicts": ("conflict records", "recorded"),
    "mail_outbox": ("delivered outbox mail", "delivered"),
    "mail_log": ("mail log rows", "sent"),
    "mail_messages": ("fleet mail messages", "delivered"),
    "audit_outbox": ("audit webhook rows", "delivered"),
    "events": ("audit events", "written"),
}


@click.command("gc")
@click.option("--older-than", "older_than", metavar="DURATION",
              help="Delete every kind older than this (90d, 12h; a bare number is days), instead of "
                   "storage.retention's days.")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--vacuum", is_flag=True, help="Compact the store afterwards (blocks writers while it runs).")
@json_option
@pass_context
def gc(context: Context, older_than: str | None, dry_run: bool, vacuum: bool, as_json: bool) -> int:
    """Delete ended leases, old conflict records, delivered outbox rows, old mail the store holds
    and old audit events, as `[storage.retention]` says (0 days: kept forever). The pruned events
    are replaced by one anchor event that `maf audit validate` checks from. Maildir files are
    never deleted. Exit 1 when the audit chain is broken (nothing is deleted).

    \b
    maf db gc --dry-run               # what the retention settings would delete
    maf db gc --older-than 30d        # every kind older than 30 days, this once
    maf db gc --vacuum                # and give the space back
    """
    from maf_hooks.errors import UsageError
    from maf_hooks.services import retention
    from maf_hooks.timeutil import parse_duration_ms

    if dry_run and vacuum:
        raise UsageError("--vacuum compacts what gc deleted, and --dry-run deletes nothing: give one of them.")
    older_than_ms = parse_duration_ms(older_than, default_unit="d", what="--older-than") if older_than is not None else None
    with context.store_if_exists() as store:
        if store is None:
            result = None
        else:
            result = retention.gc(store, context.config, older_than_ms=older_than_ms, dry_run=dry_run, vacuum=vacuum)
    if as_json:
        emit_json(documents.stamped("db.gc", result if result is not None
                                     else {"dry_run": dry_run, "records": {}, "anchor": None}))
    elif result is None:
        click.echo(f"no lease store at {context.store_location}: nothing to delete")
    else:
        _print(result)
    return 1 if result is not None and result["vacuum"] is not None and not result["vacuum"]["done"] else 0


def _print(result: dict) -> None:
    verb = "would delete" if result["dry_run"] else "deleted"
    click.echo(f"{verb} from {result['location']}:")
    rows = []
    for record, count in result["records"].items():
        what, when = _WHAT[record]
        before = result["before"][_kind(record)]
        rows.append([count, what, f"{when} before {before}" if before else "kept forever"])
    table(["COUNT", "RECORDS", "WHICH"], rows)
    anchor = result["anchor"]
    if anchor is not None:
        click.echo(f"audit chain: events up to {anchor['first_id'] - 1} ({anchor['pruned']} now, "
                   f"{anchor['pruned_total']} in all) replaced by anchor event {anchor['id']}; the chain goes on "
                   f"from event {anchor['first_id']}, chained to {anchor['hash'][:12]}")
    vacuum = result["vacuum"]
    if vacuum is not None:
        sizes = f"{vacuum['bytes_before']:,} -> {vacuum['bytes_after']:,} bytes"
        (click.echo if vacuum["done"] else warn)(f"vacuum: {vacuum['note']} ({sizes})")


def _kind(record: str) -> str:
    from maf_hooks.store.retention import RECORDS

    return RECORDS.get(record, record)
