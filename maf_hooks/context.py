"""What every command needs to know about where it runs: repository, configuration, database, agent."""

from __future__ import annotations

import contextlib
import os
from functools import cached_property

from maf_hooks import config as config_mod
from maf_hooks import gitfiles, identity
from maf_hooks.store.open import locate

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (a refused commit imports this module)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator, Mapping

    from maf_hooks import git
    from maf_hooks.store.base import Store
    from maf_hooks.store.open import Location


def _git():
    """:mod:`maf_hooks.git` when a command needs git itself (``subprocess`` and all): finding the
    repository reads its files first (:func:`maf_hooks.gitfiles.located`)."""
    from maf_hooks import git

    return git


class Context:
    """Lazily resolved: nothing touches git, files or the database until asked."""

    def __init__(
        self,
        cwd: str | None = None,
        environ: Mapping[str, str] | None = None,
        config_path: str | None = None,
        env_name: str | None = None,
        flags: Mapping[str, Any] | None = None,
        acting_agent: str | None = None,
    ):
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.environ = os.environ if environ is None else environ
        self.config_path = config_path
        self.env_name = env_name
        self.flags = dict(flags or {})
        self.acting_agent = acting_agent  # given before the subcommand (`maf-lease --agent ID ...`)

    @cached_property
    def paths(self) -> git.RepoPaths:
        """Where the repository is: read from its git files where they are plain, else asked of git."""
        return gitfiles.located(self.cwd, self.environ)

    @property
    def root(self) -> str:
        return self.paths.root

    @cached_property
    def path_settings(self) -> git.PathSettings:
        """How the repository compares paths (``core.ignorecase``, ``core.precomposeunicode``),
        read as :attr:`paths` is."""
        return gitfiles.settings_of(self.paths, self.environ)

    @cached_property
    def config(self) -> config_mod.Config:
        return config_mod.load(
            self.root, config_path=self.config_path, env_name=self.env_name,
            environ=self.environ, flags=self.flags,
        )

    @cached_property
    def store_location(self) -> Location:
        return locate(self.root, self.paths.common_dir, self.config)

    @property
    def db_path(self) -> str:
        return self.store_location.path

    @contextlib.contextmanager
    def store(self, *, create: bool = True, clock: Callable[[], int] | None = None) -> Iterator[Store]:
        """The configured store, open (created and migrated unless ``create`` is false), closed
        afterwards; queued audit events are sent first (see docs/audit.md)."""
        store = self.store_location.open(environ=self.environ, clock=clock, create=create)
        try:
            yield store
        finally:
            try:
                url = self.environ.get("AUDIT_WEBHOOK_URL")
                if url:  # the audit service (hashlib and all) only where a webhook is set
                    from maf_hooks.services import audit

                    audit.flush_quietly(store, url, store.now())
            finally:
                store.close()

    @contextlib.contextmanager
    def store_if_exists(self, *, clock: Callable[[], int] | None = None) -> Iterator[Store | None]:
        """The store when it exists (as :meth:`store`), else None: for commands that only read
        and must not create a database by asking."""
        if not self.store_location.exists():
            yield None
            return
        # create=False: a file that holds no schema (empty, or another program's) is damage found,
        # never one to fill with maf's tables by asking
        with self.store(clock=clock, create=False) as store:
            yield store

    def agent(self, flag: str | None = None, *, required: bool = True) -> str | None:
        from maf_hooks import sessions

        return identity.resolve_agent(
            flag or self.acting_agent, self.environ, lambda: _git().identity(self.cwd), required=required,
            session=sessions.agent_of_this_process,
        )

    def mail_root(self) -> str:
        return mail_root_for(self.paths, self.config)


def mail_root_for(paths: git.RepoPaths, config: config_mod.Config) -> str:
    """``MAF_AGENT_MAIL_ROOT``, else ``mail.root``, else ``.agent-mail`` at the top of the main
    worktree (one mailbox tree for every worktree); relative values start there too.

    The result is a :class:`~maf_hooks.mail.confinement.MailRoot`: inside the main worktree, no
    component below its top may be a symbolic link; a root configured elsewhere on purpose is
    trusted down to its parent, never the root itself."""
    from maf_hooks.mail.confinement import MailRoot

    base = _git().main_worktree_root(paths)
    configured = config.get("mail.root") or ".agent-mail"
    root = os.path.normpath(os.path.join(base, os.path.expanduser(configured)))
    relative = os.path.relpath(root, base)
    inside = relative != ".." and not relative.startswith(".." + os.sep)
    return MailRoot(root, base if inside else os.path.dirname(root))
