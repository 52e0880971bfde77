"""`maf audit`: verify the event chain, report who did what, and run the audit guard."""

from __future__ import annotations

import click

from maf_hooks.cli.options import config_options, group_json_option, json_option, make_context, pass_context
from maf_hooks.cli.output import emit_json, table
from maf_hooks.context import Context
from maf_hooks.services import audit, documents
from maf_hooks.timeutil import now_ms, parse_iso_ms


@click.group("audit")
@config_options
@group_json_option
@click.pass_context
def audit_group(ctx, config_path, env_name):
    """The audit trail: every lease, conflict, override and escalation, hash-chained."""
    make_context(ctx, config_path, env_name)


@audit_group.command("validate")
@click.option("--from", "from_date", metavar="DATE", help="Check from the first event at or after DATE (ISO 8601).")
@click.option("--full", is_flag=True, help="Re-check every event, not only those added since the last check.")
@json_option
@pass_context
def validate(context: Context, from_date, full, as_json):
    """Check the event hash chain; exit 1 naming the first row changed, removed or inserted.

    Without --full, only the events added since the last valid check (the checkpoint) are
    hashed; that check's newest event and the number of events up to it are re-checked."""
    since = parse_iso_ms(from_date) if from_date else None
    with context.store_if_exists() as store:
        result = audit.validate(store, since, full=full)
    if as_json:
        emit_json(documents.stamped("audit.validate", result))
    elif result["valid"] and result["from_checkpoint"]:
        click.echo(f"audit chain valid: {result['checked']} event(s) checked ({result['new_checked']} new since the "
                   f"checkpoint at event {result['checkpoint_id']}; the events up to it are re-hashed only by --full)")
    elif result["valid"]:
        click.echo(f"audit chain valid: {result['checked']} event(s) checked")
    else:
        if result["checkpoint_problem"] and result["checkpoint_problem"] != result["problem"]:
            click.echo(f"the checkpoint no longer holds ({result['checkpoint_problem']}): checked every event",
                       err=True)
        click.echo(f"audit chain BROKEN at event {result['first_invalid_id']}: {result['problem']} "
                   f"({result['checked']} event(s) before it are intact)", err=True)
    anchor = result["anchor"]
    if not as_json and anchor is not None and since is None:
        click.echo(f"checked from the anchor: event {anchor['id']} replaced events 1..{anchor['pruned_total']} "
                   f"(pruned by `maf db gc`); the chain starts at event {anchor['first_id']}", err=not result["valid"])
    return 0 if result["valid"] else 1


@audit_group.command("report")
@click.option("--days", type=click.IntRange(min=1, max=36500), default=7, show_default=True, help="How far back.")
@click.option("--agent", metavar="ID", help="Only this agent.")
@json_option
@pass_context
def report(context: Context, days, agent, as_json):
    """Per agent and in total: leases, conflicts, overrides, escalations, preflight runs, hot paths."""
    since = now_ms() - days * 86_400_000
    with context.store_if_exists() as store:
        result = audit.report(store, since_ms=since, agent=agent)
    if as_json:
        emit_json(documents.stamped("audit.report", dict(result, days=days)))
        return 0
    click.echo(f"audit report, last {days} day(s)" + (f", agent {agent}" if agent else ""))
    rows = []
    for name, values in result["agents"].items():
        leases, conflicts = values["leases"], values["conflicts"]
        rows.append([name, leases.get("taken", 0), leases.get("released", 0), leases.get("expired", 0),
                     leases.get("taken_over", 0), _counts(conflicts), len(values["overrides"]),
                     _counts(values["escalations"]), _counts(values["preflight"])])
    if rows:
        table(["AGENT", "TAKEN", "RELEASED", "EXPIRED", "TAKEN OVER", "CONFLICTS", "OVERRIDES", "ESCALATIONS",
               "PREFLIGHT"], rows)
    else:
        click.echo("nothing recorded")
    for name, values in result["agents"].items():
        for override in values["overrides"]:
            click.echo(f"override by {name} of {override['holder']}'s lease: {override['reason']}")
    if result["most_contested_paths"]:
        click.echo("most contested paths:")
        for item in result["most_contested_paths"]:
            click.echo(f"  {item['conflicts']:4}  {item['path']}")
    return 0


def _counts(counter: dict) -> str:
    """A cell of the text report: the statuses that have rows (the JSON keeps every count, zeros too)."""
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items()) if value) or "-"


@audit_group.command("guard")
@click.option("--bead-id", required=True, metavar="ID", help="The work item whose mail is measured.")
@click.option("--max-kb", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Mail budget.")
@json_option
@pass_context
def guard(context: Context, bead_id, max_kb, as_json):
    """The audit guard: exit 1 if any finding is critical or more than two are high."""
    now = now_ms()
    with context.store_if_exists() as store:
        result = audit.guard(store, bead_id=bead_id, mail_root=context.mail_root(), max_kb=max_kb, now=now)
    if as_json:
        emit_json(documents.stamped("audit.guard", result))
    else:
        mail = result["mail"]
        click.echo(f"AUDIT_GUARD_RESULT {result['status'].upper()} for {bead_id}: mail {mail['bytes'] / 1024:.1f} KB "
                   f"in {mail['messages']} message(s) of a {max_kb:g} KB budget")
        for finding in result["findings"]:
            click.echo(f"  [{finding['severity']}] {finding['message']}")
        summary = result["summary"]
        click.echo(f"{summary['totalFindings']} finding(s): {summary['criticalCount']} critical, "
                   f"{summary['highCount']} high, {summary['mediumCount']} medium, {summary['lowCount']} low")
    return 1 if result["status"] == "failed" else 0


@audit_group.command("flush")
@json_option
@pass_context
def flush(context: Context, as_json):
    """Send queued audit events to AUDIT_WEBHOOK_URL now (commands also do this, briefly)."""
    url = context.environ.get("AUDIT_WEBHOOK_URL")
    now = now_ms()
    with context.store_if_exists() as store:
        result = audit.flush_now(store, url, now)
    if as_json:
        emit_json(documents.stamped("audit.flush", dict(result, configured=bool(url))))
    else:
        click.echo(f"sent {result['sent']}, failed {result['failed']}, still queued {result['pending']}"
                   + ("" if url else " (AUDIT_WEBHOOK_URL is not set)"))
    return 0 if not result["failed"] else 1
