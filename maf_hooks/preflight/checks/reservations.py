"""The ``reservations`` check: the paths this agent changed (the working tree, or a commit range
as the push hook reads it) against the other agents' leases; leases about to end; silent holders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from maf_hooks import git
from maf_hooks.errors import StorageError
from maf_hooks.preflight import gitinfo
from maf_hooks.preflight.result import FAILED, PASSED, SKIPPED, WARNING, Annotation, Outcome, plural, summarize
from maf_hooks.preflight.runenv import RunEnv
from maf_hooks.timeutil import iso, relative, span

if TYPE_CHECKING:
    from maf_hooks.core.model import Lease


def _lease_text(lease, now: int) -> str:
    return f"{lease.pattern!r} ({lease.mode}, {lease.id}, ends {relative(lease.expires_at, now)})"


def check_reservations(env: RunEnv) -> Outcome:
    from maf_hooks.store.open import unguarded

    path = env.context.db_path
    refusal = unguarded(env.context.store_location)
    if refusal:
        return Outcome(FAILED, refusal, {"database": path})
    if not env.context.store_location.exists():
        return Outcome(SKIPPED, "skipped: no lease database, so nobody holds a lease "
                                f"({env.display(path)} does not exist)", {"database": env.display(path)})
    settings = env.check_settings("reservations")
    try:
        state = _lease_state(env, path)
    except StorageError as exc:
        return Outcome(FAILED, "cannot read the leases: " + env.storage_message(exc))
    if isinstance(state, Outcome):
        return state
    leases, expired_open, heartbeats, now = state
    return _judge_reservations(env, settings, leases, expired_open, heartbeats, now)


def _lease_state(env: RunEnv, path: str):
    """``(active leases, expired but not ended, {agent: last heartbeat}, now)`` or an Outcome."""
    with env.open_store() as store:
        schema = store.schema()
        if schema.version < 1:
            return Outcome(SKIPPED, "skipped: the lease database holds no lease tables yet",
                           {"database": env.display(path)})
        if schema.version > schema.latest:
            return Outcome(FAILED, f"the lease database has schema version {schema.version}, newer than this "
                                   f"maf-hooks knows ({schema.latest}): upgrade maf-hooks")
        now = store.now()
        leases = store.leases.active(now)
        expired_open = store.leases.count_due(now)
        heartbeats = store.leases.heartbeats()
    return leases, expired_open, heartbeats, now


def _judge_reservations(env: RunEnv, settings: dict, leases: list, expired_open: int, heartbeats: dict,
                        now: int) -> Outcome:
    from maf_hooks.core.decision import judge  # the hooks' decision, the one rule

    agent = env.agent
    details: dict = {"agent": agent, "active_leases": len(leases), "expired_not_ended": expired_open}
    others = [lease for lease in leases if lease.agent != agent]
    to_ref = env.to_ref
    if to_ref:
        details.update(source="range", from_ref=env.from_ref, to_ref=env.to_ref)
        changed_fn: Callable[[], set] = lambda: git.range_paths(
            env.context.paths, git.span_revs(env.context.paths, env.from_ref, to_ref))
    else:
        details["source"] = "working tree"
        changed_fn = lambda: gitinfo.working_tree_paths(env.context.paths)
    conflicts: list[tuple[str, Lease]] = []
    shared: list[tuple[str, Lease]] = []
    if others:  # without leases of others nothing can conflict: spare the git call
        changed = changed_fn()
        details["changed_paths"] = len(changed)
        conflicts, shared = judge(changed, [lease.values() for lease in leases], agent,
                                  casefold=env.context.path_settings.ignorecase)

    def entry(lease, **extra) -> dict:
        return {"lease_id": lease.id, "holder": lease.agent, "pattern": lease.pattern, "mode": lease.mode,
                "expires_at": iso(lease.expires_at), **extra}

    details["conflicts"] = [entry(lease, path=p) for p, lease in conflicts]
    details["shared"] = [entry(lease, path=p) for p, lease in shared]
    expiry_ms = settings["expiry_warning_minutes"] * 60_000
    expiring = [lease for lease in leases if agent and lease.agent == agent and lease.expires_at - now <= expiry_ms]
    details["expiring"] = [entry(lease) for lease in expiring]
    stale_ms = settings["stale_after_minutes"] * 60_000
    stale = []
    for lease in leases:
        beat = heartbeats.get(lease.agent)
        last = beat if beat is not None else lease.created_at
        if now - last >= stale_ms:
            stale.append((lease, beat))
    details["stale"] = [entry(lease, last_heartbeat=iso(beat), silent_for=span(now - (beat or lease.created_at)))
                        for lease, beat in stale]
    longest = env.context.config.get("reservation.max_timeout_minutes") * 60_000
    skewed = [lease for lease in leases if lease.clock_skew(now, longest)]
    details["clock_skew"] = [entry(lease, created_at=iso(lease.created_at), seen_at=iso(now)) for lease in skewed]

    findings, warnings, annotations, recommendations = [], [], [], []
    if env.to_ref:
        scope_text = f"changed in {env.from_ref or '(commits on no remote)'}..{env.to_ref}"
    else:
        scope_text = "with uncommitted changes"
    for changed_path, lease in conflicts:
        findings.append(f"{changed_path}: under the exclusive lease of {lease.agent} {_lease_text(lease, now)}")
        annotations.append(Annotation("error", f"{changed_path} is leased exclusively by {lease.agent} "
                                               f"({lease.pattern!r}, {lease.id})", changed_path))
    for lease in expiring:
        warnings.append(f"your lease {_lease_text(lease, now)} ends within "
                        f"{settings['expiry_warning_minutes']} minutes")
    for lease, beat in stale:
        silent = f"no heartbeat for {span(now - beat)}" if beat is not None else \
            f"no heartbeat ever, lease taken {span(now - lease.created_at)} ago"
        warnings.append(f"{lease.agent} holds {lease.pattern!r} ({lease.id}) but sent {silent}")
    for lease in skewed:
        warnings.append(f"clock skew: {lease.agent}'s lease {lease.pattern!r} ({lease.id}) was taken "
                        f"{iso(lease.created_at)} and ends {iso(lease.expires_at)}, but this clock says {iso(now)}")
    annotations += [Annotation("warning", text) for text in warnings]
    if conflicts:
        holders = sorted({lease.agent for _, lease in conflicts})
        recommendations.append(
            f"Do not commit these paths: ask {', '.join(holders)} (`maf mail send --to {holders[0]} --subject ...`), "
            "wait for the lease to end, or move your changes elsewhere. `maf-lease list` shows every lease."
        )
    if expiring:
        recommendations.append("Renew your leases before they end: `maf-lease renew --all`.")
    if stale:
        recommendations.append("A lease of a silent agent may be abandoned: ask its holder, or take it over "
                               "with `maf-lease acquire --force` once you are sure.")
    if skewed:
        recommendations.append("A lease taken with a clock ahead ends at most its length (never more than "
                               "reservation.max_timeout_minutes) after the next lease write sees it: "
                               "any lease command or `maf-preflight --fix` records that. Check the clocks of the machines involved.")
    if expired_open:
        recommendations.append(f"{plural(expired_open, 'expired lease is', 'expired leases are')} not ended yet: "
                               "`maf-preflight --fix` ends them.")
    notes = []
    if shared:
        notes.append(f"{plural(len(shared), 'changed path is', 'changed paths are')} under shared leases of other agents")
    if conflicts:
        paths = sorted({p for p, _ in conflicts})
        first = ", ".join(f"{p} (held by {lease.agent})" for p, lease in conflicts[:3])
        more = f" and {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
        counted = f"1 path {scope_text} is" if len(paths) == 1 else f"{len(paths)} paths {scope_text} are"
        message = f"{counted} under other agents' exclusive leases: {first}{more}"
        return Outcome(FAILED, message, details, findings + warnings, recommendations, annotations,
                       fixable=bool(expired_open))
    if warnings:
        return Outcome(WARNING, summarize(warnings), details, warnings, recommendations, annotations,
                       fixable=bool(expired_open))
    scope = (plural(details["changed_paths"], "changed path") if "changed_paths" in details
             else "no leases of other agents")
    summary = f"{plural(len(leases), 'active lease')}; {scope}; no conflict"
    if notes:
        summary += "; " + "; ".join(notes)
    return Outcome(PASSED, summary, details, recommendations=recommendations, fixable=bool(expired_open))
