"""Leasing, as every front end asks for it: acquire, renew, release, check, list, heartbeat.

Each use case takes the open store, the configuration, the acting agent (resolved by the caller
through :func:`maf_hooks.identity.resolve_agent`) and what varies; it applies the policy (the
agent's permissions, the lease length) and the lease rules, and returns what happened for the
front end to show. Nothing here prints.
"""

from __future__ import annotations

import os

from maf_hooks import patterns, permissions
from maf_hooks.core import leases as rules
from maf_hooks.core.decision import lease_index, refuses
from maf_hooks.core.model import EXCLUSIVE, SHARED, AcquireResult, AgentState, Lease
from maf_hooks.core.policy import lease_ttl
from maf_hooks.core.reading import PLAIN, Reading
from maf_hooks.core.text import problem
from maf_hooks.directories import ExistingDirectories
from maf_hooks.errors import UsageError
from maf_hooks.services.lookup import rows_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any, Callable

    from maf_hooks.gitfiles import PathSettings
    from maf_hooks.store.base import Store


def normalize_all(root: str, raw: Sequence[str], *, cwd: str | None = None, precompose: bool = False) -> list[str]:
    """Lease patterns as given on a command line (relative to ``cwd`` as git's pathspecs are,
    ``:/`` anchoring at the root), repository-relative; one naming an existing directory gets
    its '/' (it covers what lies beneath)."""
    return [patterns.normalize(p, root, cwd=cwd, directory_slash=True, precompose=precompose) for p in raw]


def normalize_path(raw: str, root: str, *, cwd: str | None = None, precompose: bool = False) -> str:
    """A path to check (any legal file name, not a pattern), repository-relative."""
    return patterns.normalize_path(raw, root, cwd=cwd, precompose=precompose)


def either_spelling(root: str, raw: Sequence[str], *, cwd: str | None = None, precompose: bool = False) -> list[str]:
    """Patterns naming leases already held: a literal 'src' finds a lease on 'src' or 'src/', so a
    lease taken while the directory existed can be renewed or released after it was deleted."""
    found: list[str] = []
    for pattern in (patterns.normalize(p, root, cwd=cwd, precompose=precompose) for p in raw):
        found.append(pattern)
        if patterns.is_literal(pattern):
            found.append(pattern[:-1] if pattern.endswith("/") else pattern + "/")
    return list(dict.fromkeys(found))


def reading_for(root: str, settings: PathSettings, *, directories: bool = False) -> Reading:
    """How this repository's paths compare (``core.ignorecase``); with ``directories``, what
    exists as a directory now, for the overlap test at acquire time (read lazily, once)."""
    return Reading(casefold=settings.ignorecase, directories=ExistingDirectories(root) if directories else None)


def longest_ms(cfg: Any) -> int:
    """The longest lease (``reservation.max_timeout_minutes``) in ms: the bound of a clock-skew
    lease (:func:`maf_hooks.core.leases.correct_skew`)."""
    return int(cfg.get("reservation.max_timeout_minutes")) * 60_000


def clock_skewed(cfg: Any, leases: Sequence[Lease], now: int) -> set[str]:
    """The ids of the leases among ``leases`` taken with a clock ahead (:meth:`Lease.clock_skew`)."""
    longest = longest_ms(cfg)
    return {lease.id for lease in leases if lease.clock_skew(now, longest)}


def resolve_ttl(cfg: Any, agent: str, ttl: str | None, timeout_minutes: int | None) -> int:
    """The lease length in ms (:func:`maf_hooks.core.policy.lease_ttl`), within the agent's
    ``max_lease_timeout_minutes``."""
    value = lease_ttl(cfg.section("reservation"), ttl, timeout_minutes)
    permissions.for_agent(cfg, agent).require_lease_minutes(value / 60_000)
    return value


class Acquired:
    """An acquire's result and the escalations its takeovers opened."""

    def __init__(self, result: AcquireResult, escalations: list[str]) -> None:
        self.result = result
        self.escalations = escalations


def acquire(store: Store, cfg: Any, agent: str, wanted: Sequence[str], ttl_ms: int, *, shared: bool = False,
            reason: str = "", force: bool = False, mail_root: Callable[[], str], reading: Reading = PLAIN) -> Acquired:
    """Lease ``wanted`` (normalized patterns) for ``agent``, all or nothing (see
    :func:`maf_hooks.core.leases.acquire`); ``force`` takes the conflicting leases over."""
    reason = free_text(reason, "--reason")
    rules_for = permissions.for_agent(cfg, agent)
    rules_for.require("can_acquire_lease", "acquire leases")
    rules_for.require_lease_minutes(ttl_ms / 60_000)
    if force:
        rules_for.require("can_force", "take over another agent's lease (--force)")
    with store.write():
        result = rules.acquire(store, agent, wanted, ttl_ms, mode=SHARED if shared else EXCLUSIVE, reason=reason,
                               force=force, strategy=cfg.get("reservation.conflict_strategy"), reading=reading,
                               max_ms=longest_ms(cfg))
    opened = _takeovers(store, cfg, agent, [lease.pattern for lease in result.taken_over], mail_root)
    return Acquired(result, opened)


def _takeovers(store: Store, cfg: Any, agent: str, taken: list[str], mail_root: Callable[[], str]) -> list[str]:
    """A forced takeover counts towards ``lease_takeover`` escalation triggers."""
    if not taken:
        return []
    from maf_hooks.services.escalation import open_and_deliver  # only for a takeover

    return open_and_deliver(store, cfg, agent, "lease_takeover", {"patterns": taken}, mail_root())


def renew(store: Store, cfg: Any, agent: str, wanted: Sequence[str] | None, ttl_ms: int) -> list[Lease]:
    """New expiry = now + ttl for the agent's leases on ``wanted`` (all of them when None)."""
    permissions.for_agent(cfg, agent).require_lease_minutes(ttl_ms / 60_000)
    rules.expire_due(store, longest_ms(cfg))  # its own section: kept even when the renew is refused
    return rules.renew(store, agent, wanted, ttl_ms, max_ms=longest_ms(cfg))


class Released:
    def __init__(self, leases: list[Lease], escalations: list[str]) -> None:
        self.leases = leases
        self.escalations = escalations


def release(store: Store, cfg: Any, agent: str, *, wanted: Sequence[str] = (), ids: Sequence[str] = (),
            everything: bool = False, force: bool = False, mail_root: Callable[[], str]) -> Released:
    """Give leases back; another agent's only with ``force`` (its ``can_force`` rule), as a takeover."""
    if force:
        permissions.for_agent(cfg, agent).require("can_force", "release another agent's lease (--force)")
    released = rules.release(store, agent, pattern_list=wanted, ids=ids, everything=everything, force=force,
                             max_ms=longest_ms(cfg))
    taken = [lease.pattern for lease in released if lease.agent != agent]
    return Released(released, _takeovers(store, cfg, agent, taken, mail_root))


def list_leases(store: Store | None, *, agent: str | None = None, show_all: bool = False,
                now: int, **filters: Any) -> list[Lease]:
    """Active leases (with ``show_all``, ended ones too), of ``agent`` when given; ``store`` None
    when no store exists yet. ``filters``: those of :func:`stream_leases`."""
    return list(stream_leases(store, agent=agent, show_all=show_all, now=now, **filters))


def stream_leases(store: Store | None, *, agent: str | None = None, show_all: bool = False, now: int,
                  patterns: Sequence[str] = (), glob: str | None = None,
                  limit: int | None = None) -> Iterator[Lease]:
    """:func:`list_leases` as it is read (memory bounded, however many leases): ``patterns``
    and ``glob`` as :func:`pattern_filter` gives them, the first ``limit`` leases when given."""
    if store is None:
        return iter(())
    return store.leases.listing(now, active_only=not show_all, agent=agent, patterns=patterns, glob=glob,
                                limit=limit)


def pattern_filter(root: str, raw: str | None, *, cwd: str | None = None,
                   precompose: bool = False) -> dict[str, Any]:
    """What ``--pattern P`` asks of a listing: a lease whose pattern text P matches. P is read as
    a PATTERN argument is (relative to ``cwd``, validated); a literal P names the leases on it
    in either spelling (``src`` and ``src/``, :func:`either_spelling`; escapes as stored), a glob
    P is git wildmatch matched against the pattern text as if it were a path."""
    if raw is None:
        return {}
    pattern = patterns.normalize(raw, root, cwd=cwd, precompose=precompose)
    if patterns.is_literal(pattern):
        return {"patterns": either_spelling(root, [raw], cwd=cwd, precompose=precompose)}
    return {"glob": pattern}


class PathReport:
    """The leases covering one checked path, each with whether it blocks the agent."""

    def __init__(self, path: str, entries: list[tuple[Lease, bool]]) -> None:
        self.path = path
        self.entries = entries

    @property
    def blocked(self) -> bool:
        return any(blocks for _, blocks in self.entries)


def check(store: Store | None, root: str, paths: Sequence[str], agent: str | None, now: int,
          reading: Reading = PLAIN) -> list[PathReport]:
    """Which active leases cover each path (for an existing directory: anything in it, as for
    ``acquire DIR``); another agent's exclusive lease blocks. The leases are looked up by key, as
    the hook does (:func:`maf_hooks.services.lookup.rows_for`), not read in full."""
    covering: dict[str, list[Lease]] = {path: [] for path in paths}
    if store is not None:
        index = lease_index(rows_for(store.leases, now, paths, casefold=reading.casefold), casefold=reading.casefold)
        covering = {path: [Lease(*row) for row in index.covering(path)] for path in paths}
        for path in paths:
            if os.path.isdir(os.path.join(root, path)):
                seen = {lease.id for lease in covering[path]}
                inside = patterns.escape(path.rstrip("/")) + "/"  # a path, read as a literal pattern
                covering[path] += [lease for lease in rules.overlapping(store, inside, now, reading)
                                   if lease.id not in seen]
    return [PathReport(path, [(lease, refuses(lease, agent)) for lease in covering[path]])
            for path in paths]


def heartbeat(store: Store, agent: str, status: str | None = None) -> int:
    """Record that ``agent`` is alive; returns when. ``status`` is free text (:func:`free_text`)."""
    return rules.heartbeat(store, agent, None if status is None else free_text(status, "--status"))


def free_text(text: str, what: str) -> str:
    """``text``, or a UsageError (exit 2) when :func:`maf_hooks.core.text.problem` refuses it: a
    control character other than tab, or more than 1,000 characters. Others read it on their
    terminals. (Text that is not UTF-8 is refused where it is stored.)"""
    wrong = problem(text, what)
    if wrong:
        raise UsageError(wrong)
    return text


def agents(store: Store | None, now: int) -> list[AgentState]:
    return [] if store is None else store.leases.agents(now)


def recorded_conflicts(store: Store | None, start: int) -> list[dict[str, Any]]:
    """RESERVATION_CONFLICT records created at or after ``start``."""
    return list(stream_conflicts(store, start))


def stream_conflicts(store: Store | None, start: int, *, agent: str | None = None,
                     limit: int | None = None) -> Iterator[dict[str, Any]]:
    """:func:`recorded_conflicts` as they are read, oldest first (memory bounded): of ``agent``
    (the one who tried) when given, the first ``limit`` when given."""
    return iter(()) if store is None else store.conflicts.stream(start, agent=agent, limit=limit)
