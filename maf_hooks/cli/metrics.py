"""`maf metrics`: the Prometheus text exposition, on stdout or as node_exporter's textfile."""

from __future__ import annotations

import click

from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json
from maf_hooks.context import Context
from maf_hooks.services import documents


@click.command("metrics")
@click.option("--textfile", "directory", metavar="DIR", type=click.Path(file_okay=False),
              help="Write DIR/maf.prom atomically (node_exporter's textfile collector) instead of printing.")
@json_option
@pass_context
def metrics_command(context: Context, directory: str | None, as_json: bool) -> int:
    """Print this repository's metrics in the Prometheus text format: active leases by agent and
    mode, leases expiring soon, conflicts and overrides in the last hour, open escalations, stale
    agents, whether the audit chain validates, the store's size and the hooks' own durations.
    Nothing is created: a repository without a store shows zeros. docs/operations.md names each
    metric and its dashboard and alert rules.

    \b
    maf metrics                                          # for a scrape, or to look
    maf metrics --textfile "$TEXTFILE_DIR"   # from cron: node_exporter --collector.textfile.directory
    """
    from maf_hooks.services import metrics

    if directory is not None:
        path = metrics.write_textfile(context, directory)
        if as_json:
            emit_json(documents.stamped("metrics.textfile", {"textfile": path}))
        else:
            click.echo(f"wrote {path}")
        return 0
    if as_json:
        emit_json(documents.stamped("metrics", metrics.document(metrics.collect(context))))
        return 0
    click.echo(metrics.exposition(context).decode("utf-8"), nl=False)
    return 0
