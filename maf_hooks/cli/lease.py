"""`maf lease` / `maf-lease`: take, renew, release and inspect file leases (the use cases are
:mod:`maf_hooks.services.leasing`; this module parses and prints)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from maf_hooks.cli import completion
from maf_hooks.cli.options import (
    agent_option,
    group_options,
    json_option,
    make_context,
    pass_context,
    version_option,
)
from maf_hooks.cli.output import emit_json, emit_json_list, stream_table, table, warn
from maf_hooks.context import Context
from maf_hooks.core.text import quoted, shown
from maf_hooks.errors import UsageError
from maf_hooks.services import documents, leasing
from maf_hooks.store.base import Store
from maf_hooks.timeutil import iso, now_ms, parse_duration_ms, relative


@click.group("lease")
@version_option  # maf-lease --version
@group_options
@click.pass_context
def lease_group(ctx: click.Context, config_path, env_name, group_agent):
    """Take, renew, release and inspect file leases."""
    make_context(ctx, config_path, env_name, group_agent)


def ttl_options(func):
    func = click.option("--timeout", "timeout_minutes", type=int, metavar="MINUTES",
                        help="Lease length in minutes.")(func)
    func = click.option("--ttl", metavar="DURATION", help="Lease length: 90s, 30m, 2h.")(func)
    return func


@contextlib.contextmanager
def existing_store(context: Context) -> Iterator[Store | None]:
    """The store when one exists (None otherwise): reading creates nothing."""
    if not context.store_location.exists():
        yield None
        return
    with context.store() as store:
        yield store


def acting(context: Context, flag: str | None) -> str:
    """The acting agent (:func:`maf_hooks.identity.resolve_agent`, through the Context); required."""
    who = context.agent(flag)
    assert who is not None  # required=True raises instead of returning None
    return who


def _escalations(opened: list[str]) -> None:
    for line in documents.escalation_notes(opened):
        warn(line)


def _as_given(context: Context) -> dict:
    """Command-line patterns and paths are relative to the current directory (as git's pathspecs)
    and compared as git stores them: the services' ``root``, ``cwd`` and ``precompose``."""
    return {"root": context.root, "cwd": context.cwd, "precompose": context.path_settings.precompose}


@lease_group.command("acquire")
@click.argument("pattern_args", metavar="PATTERN...", nargs=-1, required=True)
@agent_option
@ttl_options
@click.option("--shared", is_flag=True, help="Take a shared lease (blocks only exclusive requests).")
@click.option("--reason", default="", help="Why you need it (shown to whoever collides with you).")
@click.option("--force", is_flag=True, help="Take over the conflicting leases of other agents.")
@json_option
@pass_context
def acquire(context: Context, pattern_args, agent, ttl, timeout_minutes, shared, reason, force, as_json):
    """Lease files or glob patterns (all or nothing).

    \b
    Examples:
      maf-lease acquire src/api/ --reason "refactor the API"
      maf-lease acquire 'docs/**/*.md' --ttl 2h --shared
    """
    who = acting(context, agent)
    wanted = leasing.normalize_all(raw=pattern_args, **_as_given(context))
    ttl_ms = leasing.resolve_ttl(context.config, who, ttl, timeout_minutes)
    with context.store() as store:
        acquired = leasing.acquire(store, context.config, who, wanted, ttl_ms, shared=shared, reason=reason,
                                   force=force, mail_root=context.mail_root,
                                   reading=leasing.reading_for(context.root, context.path_settings, directories=True))
        now = store.now()
    _escalations(acquired.escalations)
    result = acquired.result
    if as_json:
        emit_json(documents.acquired(result, now))
    else:
        for line in documents.acquire_warnings(result, now):
            warn(line)
        for lease in result.granted:
            verb = "renewed" if lease in result.renewed else "granted"
            click.echo(f"{verb} {lease.id} {quoted(lease.pattern)} ({lease.mode}) for {shown(who)} until "
                       f"{iso(lease.expires_at)} ({relative(lease.expires_at, now)})")
    return 1 if documents.refused(result) else 0


@lease_group.command("renew")
@click.argument("pattern_args", metavar="[PATTERN...]", nargs=-1)
@click.option("--all", "renew_all", is_flag=True, help="Renew every lease you hold.")
@agent_option
@ttl_options
@json_option
@pass_context
def renew(context: Context, pattern_args, renew_all, agent, ttl, timeout_minutes, as_json):
    """Extend your leases: new expiry = now + ttl (up to the maximum)."""
    if bool(pattern_args) == bool(renew_all):
        raise UsageError("Give the PATTERNs to renew, or --all (not both).")
    who = acting(context, agent)
    wanted = None if renew_all else leasing.either_spelling(raw=pattern_args, **_as_given(context))
    ttl_ms = leasing.resolve_ttl(context.config, who, ttl, timeout_minutes)
    with context.store() as store:
        renewed = leasing.renew(store, context.config, who, wanted, ttl_ms)
        now = store.now()
    if as_json:
        emit_json(documents.renewed(renewed, now))
    else:
        for lease in renewed:
            click.echo(f"renewed {lease.id} {quoted(lease.pattern)} until {iso(lease.expires_at)} "
                       f"({relative(lease.expires_at, now)})")
    return 0


@lease_group.command("release")
@click.argument("pattern_args", metavar="[PATTERN...]", nargs=-1)
@click.option("--id", "ids", multiple=True, metavar="ID", shell_complete=completion.lease_ids,
              help="Release the lease with this id (repeatable).")
@click.option("--all", "release_all", is_flag=True, help="Release every lease you hold.")
@agent_option
@click.option("--force", is_flag=True, help="Release another agent's lease (recorded as a takeover).")
@json_option
@pass_context
def release(context: Context, pattern_args, ids, release_all, agent, force, as_json):
    """Give leases back: by pattern, by --id, or --all of yours."""
    if release_all and (pattern_args or ids):
        raise UsageError("--all releases every lease you hold; do not combine it with PATTERNs or --id.")
    if not (release_all or pattern_args or ids):
        raise UsageError("Give the PATTERNs to release, --id ID, or --all.")
    who = acting(context, agent)
    wanted = leasing.either_spelling(raw=pattern_args, **_as_given(context))
    with context.store() as store:
        outcome = leasing.release(store, context.config, who, wanted=wanted, ids=ids, everything=release_all,
                                  force=force, mail_root=context.mail_root)
        now = store.now()
    _escalations(outcome.escalations)
    released = outcome.leases
    if as_json:
        emit_json(documents.released(released, now))
    else:
        for lease in released:
            how = "released" if lease.end_reason == "released" else f"released (taken from {shown(lease.agent)})"
            click.echo(f"{how} {lease.id} {quoted(lease.pattern)}")
    return 0


def limit_option(func):
    return click.option("--limit", type=click.IntRange(min=1), metavar="N",
                        help="At most N (the oldest first).")(func)


LEASE_HEADERS = ["ID", "AGENT", "MODE", "PATTERN", "EXPIRES", "REASON"]
SKEW_NOTE = ("(clock skew): taken with a clock ahead of this one; it ends at most its length after the next lease "
             "command sees it (see docs/leases.md).")


def _lease_rows(leases: Iterator, now: int, longest: int, skewed: list) -> Iterator[list]:
    """The table's rows, as the leases are read; ``skewed`` gets one entry per clock-skew lease."""
    for lease in leases:
        status = lease.status(now)
        expires = relative(lease.expires_at, now) if status == "active" else f"{status} {relative(lease.ended_at or lease.expires_at, now)}"
        if lease.clock_skew(now, longest):
            expires += " (clock skew)"
            skewed.append(lease.id)
        mode = lease.mode if lease.claim is None else f"{lease.mode} (auto-claim)"
        yield [lease.id, lease.agent, mode, lease.pattern, expires, lease.reason]


@lease_group.command("list")
@click.option("--agent", "agent", metavar="ID", help="Only this agent's leases.")
@click.option("--mine", is_flag=True, help="Only your own leases.")
@click.option("--all", "show_all", is_flag=True, help="Include released and expired leases.")
@click.option("--pattern", metavar="PATTERN",
              help="Only leases on this pattern (a literal: exactly; a glob: matching the lease's pattern text).")
@limit_option
@json_option
@pass_context
def list_leases(context: Context, agent, mine, show_all, pattern, limit, as_json):
    """Active leases (with --all, ended ones too), oldest first, printed as they are read.

    \b
    Examples:
      maf-lease list --agent bob --pattern 'src/**' --limit 20
      maf-lease list --all --json
    """
    if agent and mine:
        raise UsageError("Give --agent ID or --mine, not both.")
    who = context.agent(None) if mine else (agent and context.agent(agent))
    filters = leasing.pattern_filter(raw=pattern, **_as_given(context))
    now, longest = now_ms(), leasing.longest_ms(context.config)
    with existing_store(context) as store:
        leases = leasing.stream_leases(store, agent=who, show_all=show_all, now=now, limit=limit, **filters)
        if as_json:
            emit_json_list(documents.LEASE_LIST, (documents.lease_entry(lease, lease.clock_skew(now, longest), now)
                                                  for lease in leases), head={"schema": documents.schema("lease.list")})
            return 0
        skewed: list[str] = []
        if not stream_table(LEASE_HEADERS, _lease_rows(leases, now, longest, skewed)):
            click.echo("No active leases." if not show_all else "No leases.")
    if skewed:
        click.echo(SKEW_NOTE)
    return 0


@lease_group.command("check")
@click.argument("path_args", metavar="PATH...", nargs=-1, required=True)
@agent_option
@json_option
@pass_context
def check(context: Context, path_args, agent, as_json):
    """Which active leases cover each PATH (for a directory: anything in it); exit 1 if another
    agent's exclusive lease does."""
    who = context.agent(agent, required=False)
    given = _as_given(context)
    paths = [leasing.normalize_path(p, **given) for p in path_args]
    now = now_ms()
    with existing_store(context) as store:
        checked = leasing.check(store, context.root, paths, who, now,
                                leasing.reading_for(context.root, context.path_settings))
    report = documents.checked(who, checked, now)
    if as_json:
        emit_json(report)
    else:
        for item in checked:
            if not item.entries:
                click.echo(f"{shown(item.path)}: free")
            for lease, is_block in item.entries:
                tag = "BLOCKED" if is_block else ("yours" if lease.agent == who else "shared")
                click.echo(f"{shown(item.path)}: {tag} — {documents.lease_line(lease, now)}")
    return 1 if report["blocked"] else 0


@lease_group.command("heartbeat")
@agent_option
@click.option("--status", default=None, help="A short status line (what you are doing); kept when not given.")
@json_option
@pass_context
def heartbeat(context: Context, agent, status, as_json):
    """Record that the agent is alive."""
    who = acting(context, agent)
    with context.store() as store:
        when = leasing.heartbeat(store, who, status)
    if as_json:
        emit_json(documents.heartbeat(who, status, when))
    else:
        click.echo(f"heartbeat recorded for {shown(who)} at {iso(when)}")
    return 0


@lease_group.command("agents")
@json_option
@pass_context
def agents(context: Context, as_json):
    """Agents with their last heartbeat and active lease count."""
    now = now_ms()
    with existing_store(context) as store:
        rows = [state.to_json() for state in leasing.agents(store, now)]
    if as_json:
        emit_json(documents.stamped("lease.agents", {"agents": rows}))
        return 0
    if not rows:
        click.echo("No agents yet.")
        return 0
    table(["AGENT", "LAST HEARTBEAT", "ACTIVE LEASES", "STATUS"], [
        [r["agent"], relative(r["last_heartbeat_ms"], now) if r["last_heartbeat_ms"] else "never",
         r["active_leases"], r["status"]] for r in rows
    ])
    return 0



@lease_group.command("conflicts")
@click.option("--since", metavar="DURATION", help="Only conflicts newer than this (90s, 30m, 2h, 7d).")
@click.option("--agent", "agent", metavar="ID", help="Only the conflicts of this agent's commits, pushes and edits.")
@limit_option
@json_option
@pass_context
def conflicts(context: Context, since, agent, limit, as_json):
    """RESERVATION_CONFLICT records: refused, warned and overridden commits and pushes, oldest
    first, printed as they are read."""
    now = now_ms()
    start = now - parse_duration_ms(since, what="--since") if since else 0
    who = agent and context.agent(agent)
    with existing_store(context) as store:
        rows = leasing.stream_conflicts(store, start, agent=who, limit=limit)
        if as_json:
            emit_json_list(documents.CONFLICTS, (documents.conflict_entry(row) for row in rows),
                           head={"schema": documents.schema("lease.conflicts")})
            return 0
        shown_rows = ([relative(r["created_at"], now), r["status"], r["operation"], r["agent"] or "(unknown)", r["path"],
                       r["holder"], r["lease_id"]] for r in rows)
        if stream_table(["WHEN", "STATUS", "OPERATION", "AGENT", "PATH", "HOLDER", "LEASE"], shown_rows):
            return 0
    click.echo("No conflicts recorded" + (f" in the last {since}." if since else "."))
    return 0
