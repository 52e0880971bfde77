"""Shell completion of the ids that commands take: lease ids, mail ids and escalation ids.

Click completes commands and options itself (``_MAF_COMPLETE=bash_source maf``; see
docs/completion.md); these functions are the ``shell_complete`` of the id arguments. They read
the store read-only (never creating, migrating or writing it, and never sending queued audit
events), and never fail: on any error there is simply no completion.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Callable

import click

from maf_hooks.context import Context

LIMIT = 200  # completions offered at most (the shell lists them all)


def _context(ctx: click.Context) -> Context:
    """The Context the command would have, from the options parsed so far (completion runs no
    group callback, so ``ctx.obj`` is not set)."""
    config_path = env_name = agent = None
    node: click.Context | None = ctx
    while node is not None:
        config_path = config_path or node.params.get("config_path")
        env_name = env_name or node.params.get("env_name")
        agent = agent or node.params.get("group_agent")
        node = node.parent
    return Context(config_path=config_path, env_name=env_name, acting_agent=agent)


@contextlib.contextmanager
def _read_only(context: Context) -> Iterator[Any]:
    """The store opened read-only, or None when there is none."""
    location = context.store_location
    if not location.exists():
        yield None
        return
    store = location.open(environ=context.environ, create=False, migrate=False, read_only=True, timeout=2)
    try:
        yield store
    finally:
        store.close()


def _safely(read: Callable[[click.Context], list[tuple[str, str]]]) -> Callable[..., list]:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
        from click.shell_completion import CompletionItem

        try:
            found = read(ctx)
        except Exception:  # noqa: BLE001 - completion never fails: no completion instead
            return []
        return [CompletionItem(value, help=text) for value, text in found if value.startswith(incomplete)][:LIMIT]

    return complete


@_safely
def lease_ids(ctx: click.Context) -> list[tuple[str, str]]:
    """The active leases' ids, with their holder and pattern as help."""
    from maf_hooks.services import leasing
    from maf_hooks.timeutil import now_ms

    with _read_only(_context(ctx)) as store:
        return [(lease.id, f"{lease.agent} {lease.pattern}")
                for lease in leasing.stream_leases(store, now=now_ms(), limit=LIMIT)]


@_safely
def escalation_ids(ctx: click.Context) -> list[tuple[str, str]]:
    """Every escalation's id (newest last), with its status and agent as help."""
    from maf_hooks.services import escalation

    with _read_only(_context(ctx)) as store:
        records = escalation.listing(store, None) if store is not None else []
    return [(r["escalation_id"], f"{r['status']} {r['agent_id']}") for r in records]


@_safely
def mail_ids(ctx: click.Context) -> list[tuple[str, str]]:
    """The ids of the acting agent's messages (its --agent, else as the command resolves it),
    with their subject as help."""
    from maf_hooks.services import mail

    context = _context(ctx)
    who = context.agent(ctx.params.get("agent"), required=False)
    if who is None:
        return []
    if context.store_location.backend == "sqlite":  # a SQLite store never keeps mail
        box = mail.inbox(context.mail_root(), who)
    else:
        with _read_only(context) as store:
            box = mail.inbox(context.mail_root(), who, store=store)
    return [(m["id"], m["subject"] or "") for m in box["messages"]]
