"""`maf escalate`: open escalations by hand, tick, monitor, acknowledge, resolve, list, show."""

from __future__ import annotations

import contextlib
import json
import time

import click

from maf_hooks.cli import completion
from maf_hooks.cli.options import config_options, json_option, make_context, pass_context
from maf_hooks.cli.output import emit_json, table, warn
from maf_hooks.context import Context
from maf_hooks.core.escalation import OPEN, PRIORITIES
from maf_hooks.core.text import shown
from maf_hooks.errors import Refused, UsageError
from maf_hooks.services import documents, escalation, manual_escalation
from maf_hooks.services import mail as mail_service
from maf_hooks.store.base import Store
from maf_hooks.timeutil import iso, now_ms, relative


def _deliver(context: Context, store: Store, escalation_id: str | None = None) -> list[dict]:
    return _warn_failed(escalation.deliver(store, context.config, context.mail_root(), context.environ, escalation_id))


def _warn_failed(results: list[dict]) -> list[dict]:
    for result in results:
        if result["status"] == "failed":
            warn(f"maf: delivery of {result['type']} {result['escalation_id']} to {result['target']} by "
                 f"{result['channel']} failed after {result['attempts']} attempt(s): {result['error']} "
                 "(kept; the next `maf escalate tick` retries it)")
    return results


@click.group("escalate", invoke_without_command=True)
@config_options
@click.option("--agent-id", "agent_id", metavar="ID", help="The agent the escalation is about.")
@click.option("--error-context", metavar="TEXT", help="What went wrong (the escalation's reason).")
@click.option("--bead-id", metavar="ID", help="The work item (bead) this is about.")
@click.option("--target", metavar="T", help="Who receives the level-1 request.")
@click.option("--priority", type=click.Choice(PRIORITIES), default=None,
              help="Default: escalation.default_priority (medium).")
@click.option("--context", "context_json", metavar="JSON", help="Extra context, a JSON object.")
@click.option("--path", "path_id", metavar="PATH_ID", help="Follow this configured path's later levels.")
@click.option("--dry-run", is_flag=True, help="Validate and print the message that would be sent; write nothing.")
@json_option
@click.pass_context
def escalate_group(ctx, config_path, env_name, agent_id, error_context, bead_id, target, priority, context_json,
                   path_id, dry_run, as_json):
    """Open an escalation by hand, or manage escalations with a subcommand.

    \b
    maf escalate --agent-id codex-1 --error-context "tests keep failing" --bead-id bd-42 --target codex-senior
    """
    context = make_context(ctx, config_path, env_name)
    if ctx.invoked_subcommand is not None:
        return 0
    missing = [name for name, value in (("--agent-id", agent_id), ("--error-context", error_context),
                                        ("--bead-id", bead_id), ("--target", target)) if not value]
    if missing:
        raise UsageError(f"Missing {', '.join(missing)}: opening an escalation needs --agent-id, --error-context, "
                         "--bead-id and --target (or use a subcommand: tick, monitor, ack, resolve, list, show).")
    extra = {}  # the --context document
    if context_json:
        try:
            extra = json.loads(context_json)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--context is not valid JSON ({exc.msg} at position {exc.pos}).") from None
        if not isinstance(extra, dict):
            raise UsageError("--context must be a JSON object, such as '{\"attempts\": 3}'.")
    cfg = context.config
    now = now_ms()
    record = manual_escalation.request(cfg, agent=agent_id, reason=error_context, bead_id=bead_id, target=target,
                                       priority=priority, context=extra, path_id=path_id, now=now)
    if dry_run:
        preview = manual_escalation.Preview(cfg, record)
        if as_json:
            emit_json(documents.stamped("escalate", {
                "success": True, "dryRun": True, "escalationId": record["escalation_id"], "agentId": agent_id,
                "target": target, "beadId": bead_id, "timestamp": iso(now), "channels": preview.channels,
                "message": preview.payload
            }))
        else:
            click.echo(f"dry run: nothing was written. Would send to {target} by "
                       f"{', '.join(preview.channels) or 'no channel (target disabled)'}:\n")
            click.echo(preview.message.as_string())
        return 0
    with context.store() as store:
        results = _warn_failed(manual_escalation.open_and_send(store, cfg, record, context.mail_root(),
                                                               context.environ))
    delivered = bool(results) and all(r["status"] == "sent" for r in results)
    if as_json:
        emit_json(documents.stamped("escalate", {
            "success": True, "escalationId": record["escalation_id"], "agentId": agent_id, "target": target,
            "beadId": bead_id, "timestamp": iso(now), "delivered": delivered
        }))
    else:
        if not results:
            how = f"nothing sent: target {target} is disabled"
        else:
            how = f"{'delivered to' if delivered else 'queued for'} {target}"
        click.echo(f"opened {record['escalation_id']} for {agent_id} ({record['priority']}), {how}")
    return 0


def _rows(records: list, now: int) -> list:
    return [[r["escalation_id"], r["status"], r["current_level"], r["target"], r["agent_id"], r["priority"],
             r["path_id"], relative(r["created_at"], now), r["delivery_status"], r["reason"]] for r in records]


HEADERS = ["ID", "STATUS", "LEVEL", "TARGET", "AGENT", "PRIORITY", "PATH", "OPENED", "DELIVERY", "REASON"]


def _json(record: dict) -> dict:
    out = dict(record)
    for key in ("created_at", "updated_at", "resolved_at", "level_started_at", "acknowledged_at"):
        out[key] = iso(out[key])
    return out


@escalate_group.command("tick")
@json_option
@pass_context
def tick(context: Context, as_json):
    """Move every escalation not acknowledged in time up a level, and deliver queued conflict mail
    (safe to run from cron or CI)."""
    changes: list[dict] = []
    results: list[dict] = []
    mail: dict = {"delivered": [], "failed": [], "pending": 0}
    with context.store_if_exists() as store:
        if store is not None:
            escalation.sync_paths(store, context.config)
            changes = escalation.tick(store, context.config)
            results = _deliver(context, store)
            mail = mail_service.flush(store, context.mail_root())
    for failure in mail["failed"]:
        warn(f"maf: could not deliver queued conflict mail {failure['id']} to {shown(failure['recipient'])}: "
             f"{shown(failure['error'] or '')} (kept; `maf mail flush` or the next tick retries it)")
    if as_json:
        emit_json(documents.stamped("escalate.tick", {"changes": changes, "deliveries": results, "mail": mail}))
    else:
        for change in changes:
            if change["status"] == "escalated":
                click.echo(f"{change['escalation_id']}: escalated to level {change['level']} ({change['target']})")
            else:
                click.echo(f"{change['escalation_id']}: timed out at level {change['level']}; told "
                           f"{', '.join(change['told'])}")
        if not changes:
            click.echo("nothing to escalate")
        if mail["delivered"]:
            click.echo(f"delivered {len(mail['delivered'])} queued conflict message(s)")
    return 1 if any(r["status"] == "failed" for r in results) or mail["failed"] else 0


@escalate_group.command("monitor")
@click.option("--interval", default="30s", show_default=True, metavar="DURATION",
              help="Time between ticks: 30s, 2m, 500ms (a bare number is seconds).")
@click.option("--count", type=click.IntRange(min=0), default=0, help="Stop after this many ticks (0: until Ctrl-C).")
@json_option
@pass_context
def monitor(context: Context, interval, count, as_json):
    """Tick in a loop and show the open escalations; Ctrl-C stops cleanly. On a terminal the table
    is redrawn in place; piped, each tick prints its heading and table; with --json each tick is
    one JSON document on one line (`maf.escalate.monitor/1`).

    \b
    maf escalate monitor --interval 1m
    maf escalate monitor --json --count 1 | jq '.open | length'
    """
    from maf_hooks.cli.output import console, renderable
    from maf_hooks.timeutil import parse_duration_ms

    seconds = parse_duration_ms(interval, default_unit="s", what="--interval") / 1000
    out = console()
    live = None
    if not as_json and out.is_interactive:
        from rich.live import Live

        live = Live(console=out, auto_refresh=False, redirect_stdout=False, redirect_stderr=False)
    done = 0
    try:
        with live if live is not None else contextlib.nullcontext():
            while True:
                with context.store() as store:
                    now = store.now()
                    escalation.sync_paths(store, context.config)
                    changes = escalation.tick(store, context.config)
                    deliveries = _deliver(context, store)
                    records = [r for r in escalation.listing(store) if r["status"] in OPEN]
                heading = f"maf escalate monitor — {iso(now)} — {len(records)} open, {len(changes)} changed this tick"
                if as_json:
                    click.echo(json.dumps(documents.stamped("escalate.monitor", {
                        "time": iso(now), "open": [_json(r) for r in records], "changes": changes,
                        "deliveries": deliveries})))
                elif live is not None:
                    from rich.console import Group
                    from rich.text import Text

                    body = renderable(HEADERS, _rows(records, now)) if records else Text("no open escalations")
                    live.update(Group(Text(heading), body), refresh=True)
                else:
                    click.echo(heading)
                    if records:
                        table(HEADERS, _rows(records, now))
                    else:
                        click.echo("no open escalations")
                done += 1
                if count and done >= count:
                    return 0
                time.sleep(seconds)
    except KeyboardInterrupt:
        if not as_json:
            click.echo("\nmonitor stopped")
        return 0


def _respond(context: Context, escalation_id: str, status: str, note: str, agent: str | None, as_json: bool) -> int:
    responder = context.agent(agent, required=False)
    with context.store() as store:
        record = escalation.respond(store, escalation_id, status, responder, note or "")
        _deliver(context, store, escalation_id)
    if as_json:
        emit_json(documents.stamped("escalate.ack" if status == "acknowledged" else "escalate.resolve", _json(record)))
    else:
        click.echo(f"{escalation_id}: {status}; {record['agent_id']} was told")
    return 0


@escalate_group.command("ack")
@click.argument("escalation_id", shell_complete=completion.escalation_ids)
@click.option("--note", default="", help="What you are doing about it.")
@click.option("--agent", metavar="ID", help="Who acknowledges (else MAF_AGENT_ID, git config).")
@json_option
@pass_context
def ack(context: Context, escalation_id, note, agent, as_json):
    """Acknowledge an escalation: it stops moving up."""
    return _respond(context, escalation_id, "acknowledged", note, agent, as_json)


@escalate_group.command("resolve")
@click.argument("escalation_id", shell_complete=completion.escalation_ids)
@click.option("--note", default="", help="How it was resolved.")
@click.option("--agent", metavar="ID", help="Who resolves (else MAF_AGENT_ID, git config).")
@json_option
@pass_context
def resolve(context: Context, escalation_id, note, agent, as_json):
    """Resolve an escalation."""
    return _respond(context, escalation_id, "resolved", note, agent, as_json)


@escalate_group.command("list")
@click.option("--status", type=click.Choice(["pending", "acknowledged", "resolved", "escalated", "timeout"]))
@json_option
@pass_context
def list_escalations(context: Context, status, as_json):
    """Escalations, newest last."""
    now = now_ms()
    with context.store_if_exists() as store:
        records = escalation.listing(store, status) if store is not None else []
    if as_json:
        emit_json(documents.stamped("escalate.list", {"escalations": [_json(r) for r in records]}))
    elif records:
        table(HEADERS, _rows(records, now))
    else:
        click.echo("No escalations.")
    return 0


@escalate_group.command("show")
@click.argument("escalation_id", shell_complete=completion.escalation_ids)
@json_option
@pass_context
def show(context: Context, escalation_id, as_json):
    """One escalation with its deliveries."""
    record: dict | None = None
    deliveries: list[dict] = []
    with context.store_if_exists() as store:
        if store is not None:
            record, deliveries = escalation.show(store, escalation_id)
    if record is None:
        raise Refused(f"No escalation {escalation_id!r}; see `maf escalate list`.")
    if as_json:
        emit_json(documents.stamped("escalate.show", dict(_json(record), deliveries=deliveries)))
        return 0
    for key, value in _json(record).items():
        click.echo(f"{key:18} {json.dumps(value) if isinstance(value, dict) else shown(str(value))}")
    click.echo("deliveries:")
    table(["LEVEL", "TARGET", "CHANNEL", "TYPE", "STATUS", "ATTEMPTS", "ERROR"],
          [[d["level"], d["target"], d["channel"], d["type"], d["status"], d["attempts"], d["error"] or ""]
           for d in deliveries])
    return 0
