"""`maf lease` / `maf-lease`: take, renew, release and inspect file leases."""

from __future__ import annotations

import os

import click

from maf_hooks import patterns, permissions
from maf_hooks.cli.options import agent_option, config_options, json_option, make_context, pass_context
from maf_hooks.cli.output import emit_json, table, warn
from maf_hooks.context import Context
from maf_hooks.errors import UsageError
from maf_hooks.leases import EXCLUSIVE, SHARED, LeaseBook
from maf_hooks.timeutil import iso, now_ms, parse_duration_ms, relative



@click.group("lease")
@config_options
@click.pass_context
def lease_group(ctx: click.Context, config_path, env_name):
    """Take, renew, release and inspect file leases."""
    make_context(ctx, config_path, env_name)


def ttl_options(func):
    func = click.option("--timeout", "timeout_minutes", type=int, metavar="MINUTES",
                        help="Lease length in minutes.")(func)
    func = click.option("--ttl", metavar="DURATION", help="Lease length: 90s, 30m, 2h.")(func)
    return func


def resolve_ttl(context: Context, ttl: str | None, timeout_minutes: int | None) -> int:
    """The lease length in ms: --ttl or --timeout, else the default; above the maximum is refused."""
    if ttl and timeout_minutes is not None:
        raise UsageError("Give either --ttl or --timeout, not both.")
    reservation = context.config.section("reservation")
    maximum = reservation["max_timeout_minutes"]
    if ttl:
        value = parse_duration_ms(ttl, what="--ttl")
    elif timeout_minutes is not None:
        if timeout_minutes <= 0:
            raise UsageError(f"Invalid --timeout {timeout_minutes}: it must be a positive number of minutes.")
        value = timeout_minutes * 60_000
    else:
        value = reservation["default_timeout_minutes"] * 60_000
    if value > maximum * 60_000:
        raise UsageError(
            f"A lease of {value / 60_000:g} minutes is above the maximum of {maximum} minutes "
            "(reservation.max_timeout_minutes, env MAF_RESERVATION_MAX_TIMEOUT). Ask for less and renew it."
        )
    return value


def _takeover_escalations(context: Context, conn, who: str, taken: list) -> None:
    """A forced takeover counts towards `lease_takeover` escalation triggers."""
    if not context.config.get("escalation.paths"):
        return
    from maf_hooks import delivery, escalation  # noqa: PLC0415

    now = now_ms()
    opened = escalation.on_condition(conn, context.config, who, "lease_takeover", now, {"patterns": taken})
    if opened:
        escalation.sync_paths(conn, context.config, now)
        delivery.deliver_pending(conn, context.config, context.mail_root(), now, channels=("mailbox",))
        for escalation_id in opened:
            warn(f"maf: escalation {escalation_id} opened (forced takeovers); see `maf escalate show {escalation_id}`.")


def _path_settings(context: Context):
    from maf_hooks import git  # noqa: PLC0415

    return git.path_settings(context.root)


def normalize_all(context: Context, raw: tuple) -> list[str]:
    """Lease patterns, relative to the current directory as git's pathspecs are; one naming an
    existing directory gets its '/' (it covers what lies beneath)."""
    precompose = _path_settings(context).precompose
    return [patterns.normalize(p, context.root, cwd=context.cwd, directory_slash=True, precompose=precompose)
            for p in raw]


def either_spelling(context: Context, raw: tuple) -> list[str]:
    """Patterns naming leases already held: a literal 'src' finds a lease on 'src' or 'src/', so a
    lease taken while the directory existed can be renewed or released after it was deleted."""
    found: list[str] = []
    precompose = _path_settings(context).precompose
    for pattern in (patterns.normalize(p, context.root, cwd=context.cwd, precompose=precompose) for p in raw):
        found.append(pattern)
        if patterns.is_literal(pattern):
            found.append(pattern[:-1] if pattern.endswith("/") else pattern + "/")
    return list(dict.fromkeys(found))


def _lease_line(lease, now: int) -> str:
    reason = f" — {lease.reason}" if lease.reason else ""
    return (
        f"{lease.agent} holds {lease.pattern!r} ({lease.mode}, {lease.id}) until "
        f"{iso(lease.expires_at)} ({relative(lease.expires_at, now)}){reason}"
    )


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
    who = context.agent(agent)
    wanted = normalize_all(context, pattern_args)
    ttl_ms = resolve_ttl(context, ttl, timeout_minutes)
    if "\n" in reason or "\0" in reason:
        raise UsageError("--reason must be one line of text.")
    strategy = context.config.get("reservation.conflict_strategy")
    rules = permissions.for_agent(context.config, who)
    rules.require("can_acquire_lease", "acquire leases")
    rules.require_lease_minutes(ttl_ms / 60_000)
    if force:
        rules.require("can_force", "take over another agent's lease (--force)")
    with context.database() as conn:
        from maf_hooks.directories import ExistingDirectories  # noqa: PLC0415

        book = LeaseBook(conn, casefold=_path_settings(context).ignorecase,
                         directories=ExistingDirectories(context.root))
        result = book.acquire(who, wanted, ttl_ms, mode=SHARED if shared else EXCLUSIVE,
                              reason=reason, force=force, strategy=strategy)
        if result.taken_over:
            _takeover_escalations(context, conn, who, [lease.pattern for lease in result.taken_over])
    now = now_ms()
    if as_json:
        emit_json(result.to_json(now))
    else:
        for lease in result.taken_over:
            warn(f"took over: {_lease_line(lease, now)}")
        for conflict in result.conflicts:
            warn(f"conflict: {conflict.pattern!r} overlaps — {_lease_line(conflict.lease, now)}")
        for lease in result.granted:
            verb = "renewed" if lease in result.renewed else "granted"
            click.echo(f"{verb} {lease.id} {lease.pattern!r} ({lease.mode}) for {who} until "
                       f"{iso(lease.expires_at)} ({relative(lease.expires_at, now)})")
    if result.conflicts and not result.granted:
        if not as_json:
            warn("Nothing was leased. Wait for the lease to end, ask its holder (`maf mail send`), "
                 "or take it over with --force.")
        return 1
    return 0


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
    who = context.agent(agent)
    wanted = None if renew_all else either_spelling(context, pattern_args)
    ttl_ms = resolve_ttl(context, ttl, timeout_minutes)
    permissions.for_agent(context.config, who).require_lease_minutes(ttl_ms / 60_000)
    with context.database() as conn:
        renewed = LeaseBook(conn).renew(who, wanted, ttl_ms)
    now = now_ms()
    if as_json:
        emit_json({"renewed": [lease.to_json(now) for lease in renewed]})
    else:
        for lease in renewed:
            click.echo(f"renewed {lease.id} {lease.pattern!r} until {iso(lease.expires_at)} "
                       f"({relative(lease.expires_at, now)})")
    return 0


@lease_group.command("release")
@click.argument("pattern_args", metavar="[PATTERN...]", nargs=-1)
@click.option("--id", "ids", multiple=True, metavar="ID", help="Release the lease with this id (repeatable).")
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
    who = context.agent(agent)
    wanted = either_spelling(context, pattern_args)
    if force:
        permissions.for_agent(context.config, who).require("can_force", "release another agent's lease (--force)")
    with context.database() as conn:
        released = LeaseBook(conn).release(who, pattern_list=wanted, ids=ids, everything=release_all, force=force)
        taken = [lease.pattern for lease in released if lease.agent != who]
        if taken:
            _takeover_escalations(context, conn, who, taken)
    now = now_ms()
    if as_json:
        emit_json({"released": [lease.to_json(now) for lease in released]})
    else:
        for lease in released:
            how = "released" if lease.end_reason == "released" else f"released (taken from {lease.agent})"
            click.echo(f"{how} {lease.id} {lease.pattern!r}")
    return 0


@lease_group.command("list")
@click.option("--agent", "agent", metavar="ID", help="Only this agent's leases.")
@click.option("--mine", is_flag=True, help="Only your own leases.")
@click.option("--all", "show_all", is_flag=True, help="Include released and expired leases.")
@json_option
@pass_context
def list_leases(context: Context, agent, mine, show_all, as_json):
    """Active leases (with --all, ended ones too)."""
    if agent and mine:
        raise UsageError("Give --agent ID or --mine, not both.")
    who = context.agent(None) if mine else (agent and context.agent(agent))
    now = now_ms()
    path = context.db_path
    if not os.path.exists(path):
        leases = []
    else:
        with context.database() as conn:
            book = LeaseBook(conn)
            leases = book.all(agent=who) if show_all else book.active(now, agent=who)
    if as_json:
        emit_json({"leases": [lease.to_json(now) for lease in leases]})
        return 0
    if not leases:
        click.echo("No active leases." if not show_all else "No leases.")
        return 0
    rows = []
    for lease in leases:
        status = lease.status(now)
        expires = relative(lease.expires_at, now) if status == "active" else f"{status} {relative(lease.ended_at or lease.expires_at, now)}"
        rows.append([lease.id, lease.agent, lease.mode, lease.pattern, expires, lease.reason])
    table(["ID", "AGENT", "MODE", "PATTERN", "EXPIRES", "REASON"], rows)
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
    settings = _path_settings(context)
    paths = [patterns.normalize_path(p, context.root, cwd=context.cwd, precompose=settings.precompose)
             for p in path_args]
    now = now_ms()
    if os.path.exists(context.db_path):
        with context.database() as conn:
            book = LeaseBook(conn, casefold=settings.ignorecase)
            covering = book.check(paths, now)
            for path in paths:
                if os.path.isdir(os.path.join(context.root, path)):
                    # a directory: every lease on something in it counts, as for `acquire DIR`
                    seen = {lease.id for lease in covering[path]}
                    covering[path] += [l for l in book.overlapping(patterns.escape(path) + "/", now) if l.id not in seen]
    else:
        covering = {path: [] for path in paths}
    blocked = False
    report = []
    for path in paths:
        entries = []
        for lease in covering[path]:
            is_block = lease.agent != who and lease.mode == EXCLUSIVE
            blocked = blocked or is_block
            entries.append((lease, is_block))
        report.append({
            "path": path,
            "blocked": any(b for _, b in entries),
            "leases": [dict(lease.to_json(now), blocks_you=b, yours=lease.agent == who) for lease, b in entries],
        })
        if not as_json:
            if not entries:
                click.echo(f"{path}: free")
            for lease, is_block in entries:
                tag = "BLOCKED" if is_block else ("yours" if lease.agent == who else "shared")
                click.echo(f"{path}: {tag} — {_lease_line(lease, now)}")
    if as_json:
        emit_json({"agent": who, "blocked": blocked, "paths": report})
    return 1 if blocked else 0


@lease_group.command("heartbeat")
@agent_option
@click.option("--status", default=None, help="A short status line (what you are doing); kept when not given.")
@json_option
@pass_context
def heartbeat(context: Context, agent, status, as_json):
    """Record that the agent is alive."""
    who = context.agent(agent)
    with context.database() as conn:
        when = LeaseBook(conn).heartbeat(who, status)
    if as_json:
        emit_json({"agent": who, "status": status, "last_heartbeat": iso(when)})
    else:
        click.echo(f"heartbeat recorded for {who} at {iso(when)}")
    return 0


@lease_group.command("agents")
@json_option
@pass_context
def agents(context: Context, as_json):
    """Agents with their last heartbeat and active lease count."""
    now = now_ms()
    rows = []
    if os.path.exists(context.db_path):
        with context.database() as conn:
            rows = LeaseBook(conn).agents(now)
    if as_json:
        emit_json({"agents": rows})
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
@json_option
@pass_context
def conflicts(context: Context, since, as_json):
    """RESERVATION_CONFLICT records: refused, warned and overridden commits and pushes."""
    now = now_ms()
    start = now - parse_duration_ms(since, what="--since") if since else 0
    rows = []
    if os.path.exists(context.db_path):
        with context.database() as conn:
            rows = conn.execute(
                "SELECT id, agent_id, file_path, conflict_type, severity, holder_agent_id, lease_id, "
                "lease_expires_at, attempted_operation, status, override_reason, created_at "
                "FROM reservation_conflicts WHERE created_at >= ? ORDER BY created_at, id",
                (start,),
            ).fetchall()
    records = [
        {"id": r[0], "agent": r[1], "path": r[2], "conflict_type": r[3], "severity": r[4], "holder": r[5],
         "lease_id": r[6], "lease_expires_at": iso(r[7]), "operation": r[8], "status": r[9],
         "override_reason": r[10], "created_at": iso(r[11])}
        for r in rows
    ]
    if as_json:
        emit_json({"conflicts": records})
        return 0
    if not records:
        click.echo("No conflicts recorded" + (f" in the last {since}." if since else "."))
        return 0
    table(["WHEN", "STATUS", "OPERATION", "AGENT", "PATH", "HOLDER", "LEASE"], [
        [relative(raw[11], now), r["status"], r["operation"], r["agent"] or "(unknown)", r["path"], r["holder"], r["lease_id"]]
        for raw, r in zip(rows, records)
    ])
    return 0
