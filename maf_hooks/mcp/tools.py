"""What each MCP tool does, without the SDK: the same services and documents as `maf-lease` and
`maf mail`, for one agent.

Every call builds a fresh :class:`~maf_hooks.context.Context` (the configuration read again, the
repository asked again) and opens the store for that call only, so a long-lived server keeps
nothing that grows and sees a changed configuration at its next call. A call returns an
:class:`Outcome` or raises :class:`Failure`, which carries what the command line would print and
its exit code.
"""

from __future__ import annotations

import json
import os
import traceback

from maf_hooks.context import Context
from maf_hooks.errors import MEANINGS, REFUSED, UsageError, described, error_line
from maf_hooks.services import documents, leasing
from maf_hooks.services import mail as mail_service
from maf_hooks.timeutil import now_ms, parse_duration_ms

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable

LEASE = "maf-lease"
MAIL = "maf"


class Outcome:
    """A tool's result: the command's ``--json`` document and the notes it writes on stderr."""

    def __init__(self, document: dict[str, Any], notes: Sequence[str] = ()) -> None:
        self.document = document
        self.notes = list(notes)

    def text(self) -> str:
        return json.dumps(self.document, indent=2)


class Failure(Exception):
    """A tool error: what the command would print (``lines``), its exit code and that code's
    meaning (``refused``, ``bad_input``, ``storage``); ``document`` when the command prints one
    too (a refused acquire)."""

    def __init__(self, code: int, lines: Sequence[str], document: dict[str, Any] | None = None) -> None:
        self.code = code
        self.meaning = MEANINGS.get(code, MEANINGS[REFUSED])
        self.lines = list(lines)
        self.document = document
        super().__init__(self.text())

    def text(self) -> str:
        return "\n".join([f"{self.meaning} (exit {self.code})", *self.lines])

    def details(self) -> dict[str, Any]:
        found: dict[str, Any] = {"error": self.meaning, "exit_code": self.code, "message": "\n".join(self.lines)}
        if self.document is not None:
            found["result"] = self.document
        return found


class Tools:
    """The tools of one server: who acts (``--agent``, else :func:`maf_hooks.identity.resolve_agent`
    at each call) and where (``cwd``: patterns and paths are relative to it, as on the command line)."""

    def __init__(self, agent: str | None = None, *, cwd: str | None = None, environ: Mapping[str, str] | None = None,
                 config_path: str | None = None, env_name: str | None = None) -> None:
        self.agent_flag = agent
        self.cwd = cwd
        self.environ = environ
        self.config_path = config_path
        self.env_name = env_name

    def context(self) -> Context:
        return Context(cwd=self.cwd, environ=self.environ, config_path=self.config_path, env_name=self.env_name)

    def run(self, prog: str, work: Callable[[Context], Outcome]) -> Outcome:
        """``work`` with a fresh Context; any error becomes the :class:`Failure` the command would
        report (``prog: error: ...`` and its exit code, through :func:`maf_hooks.errors.described`)."""
        try:
            return work(self.context())
        except Failure:
            raise
        except Exception as exc:  # every error is a tool error, as the CLI makes each an exit code
            if (self.environ if self.environ is not None else os.environ).get("MAF_DEBUG"):
                traceback.print_exc()  # on stderr: stdout is the protocol's
            code, message = described(exc)
            raise Failure(code, [error_line(prog, message)]) from exc

    def acting(self, context: Context) -> str:
        who = context.agent(self.agent_flag)
        assert who is not None  # required
        return who

    # -- leases ---------------------------------------------------------------------------------

    def lease_acquire(self, patterns: Sequence[str], ttl: str | None = None, timeout_minutes: int | None = None,
                      shared: bool = False, reason: str = "", force: bool = False) -> Outcome:
        def work(context: Context) -> Outcome:
            if not patterns:
                raise UsageError("Give at least one pattern to lease.")
            who = self.acting(context)
            wanted = leasing.normalize_all(context.root, patterns, **_as_given(context))
            ttl_ms = leasing.resolve_ttl(context.config, who, ttl, timeout_minutes)
            with context.store() as store:
                acquired = leasing.acquire(
                    store, context.config, who, wanted, ttl_ms, shared=shared, reason=reason, force=force,
                    mail_root=context.mail_root,
                    reading=leasing.reading_for(context.root, context.path_settings, directories=True))
                now = store.now()
            result = acquired.result
            notes = documents.escalation_notes(acquired.escalations) + documents.acquire_warnings(result, now)
            if documents.refused(result):
                raise Failure(REFUSED, notes, documents.acquired(result, now))
            return Outcome(documents.acquired(result, now), notes)

        return self.run(LEASE, work)

    def lease_renew(self, patterns: Sequence[str] = (), renew_all: bool = False, ttl: str | None = None,
                    timeout_minutes: int | None = None) -> Outcome:
        def work(context: Context) -> Outcome:
            if bool(patterns) == bool(renew_all):
                raise UsageError("Give the patterns to renew, or all=true (not both).")
            who = self.acting(context)
            wanted = None if renew_all else leasing.either_spelling(context.root, patterns, **_as_given(context))
            ttl_ms = leasing.resolve_ttl(context.config, who, ttl, timeout_minutes)
            with context.store() as store:
                renewed = leasing.renew(store, context.config, who, wanted, ttl_ms)
                now = store.now()
            return Outcome(documents.renewed(renewed, now))

        return self.run(LEASE, work)

    def lease_release(self, patterns: Sequence[str] = (), ids: Sequence[str] = (), release_all: bool = False,
                      force: bool = False) -> Outcome:
        def work(context: Context) -> Outcome:
            if release_all and (patterns or ids):
                raise UsageError("all=true releases every lease you hold; do not combine it with patterns or ids.")
            if not (release_all or patterns or ids):
                raise UsageError("Give the patterns to release, ids, or all=true.")
            who = self.acting(context)
            wanted = leasing.either_spelling(context.root, patterns, **_as_given(context))
            with context.store() as store:
                outcome = leasing.release(store, context.config, who, wanted=wanted, ids=ids,
                                          everything=release_all, force=force, mail_root=context.mail_root)
                now = store.now()
            return Outcome(documents.released(outcome.leases, now), documents.escalation_notes(outcome.escalations))

        return self.run(LEASE, work)

    def lease_list(self, agent: str | None = None, mine: bool = False, show_all: bool = False) -> Outcome:
        def work(context: Context) -> Outcome:
            if agent and mine:
                raise UsageError("Give agent or mine=true, not both.")
            who = self.acting(context) if mine else (agent and context.agent(agent))
            now = now_ms()
            with context.store_if_exists() as store:
                leases = leasing.list_leases(store, agent=who, show_all=show_all, now=now)
            return Outcome(documents.lease_list(leases, leasing.clock_skewed(context.config, leases, now), now))

        return self.run(LEASE, work)

    def lease_check(self, paths: Sequence[str]) -> Outcome:
        """Not a tool error when a path is blocked: the answer is the document's ``blocked``."""

        def work(context: Context) -> Outcome:
            if not paths:
                raise UsageError("Give at least one path to check.")
            who = context.agent(self.agent_flag, required=False)
            wanted = [leasing.normalize_path(p, context.root, **_as_given(context)) for p in paths]
            now = now_ms()
            with context.store_if_exists() as store:
                reports = leasing.check(store, context.root, wanted, who, now,
                                        leasing.reading_for(context.root, context.path_settings))
            return Outcome(documents.checked(who, reports, now))

        return self.run(LEASE, work)

    def heartbeat(self, status: str | None = None) -> Outcome:
        def work(context: Context) -> Outcome:
            who = self.acting(context)
            with context.store() as store:
                when = leasing.heartbeat(store, who, status)
            return Outcome(documents.heartbeat(who, status, when))

        return self.run(LEASE, work)

    def conflicts(self, since: str | None = None) -> Outcome:
        def work(context: Context) -> Outcome:
            now = now_ms()
            start = now - parse_duration_ms(since, what="since") if since else 0
            with context.store_if_exists() as store:
                rows = leasing.recorded_conflicts(store, start)
            return Outcome(documents.conflicts(rows))

        return self.run(LEASE, work)

    # -- mail -----------------------------------------------------------------------------------

    def mail_inbox(self, unread: bool = False) -> Outcome:
        def work(context: Context) -> Outcome:
            with mail_service.mail_store(context) as store:
                return Outcome(mail_service.inbox(context.mail_root(), self.acting(context), unread_only=unread,
                                                  store=store))

        return self.run(MAIL, work)

    def mail_read(self, message_id: str) -> Outcome:
        def work(context: Context) -> Outcome:
            with mail_service.mail_store(context) as store:
                return Outcome(mail_service.read(context.mail_root(), self.acting(context), message_id, store=store))

        return self.run(MAIL, work)

    def mail_send(self, to: str, subject: str, body: str) -> Outcome:
        def work(context: Context) -> Outcome:
            with mail_service.mail_store(context) as store:
                return Outcome(mail_service.send(context.mail_root(), sender=self.acting(context), recipient=to,
                                                 subject=subject, text=body, store=store))

        return self.run(MAIL, work)


def _as_given(context: Context) -> dict[str, Any]:
    """Patterns and paths are relative to the server's directory, as on a command line."""
    return {"cwd": context.cwd, "precompose": context.path_settings.precompose}
