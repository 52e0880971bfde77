"""`maf init`: set a consumer repository up for leases, hooks and agent mail."""

from __future__ import annotations

import json
import os

import click

from maf_hooks import git, repo_setup
from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json
from maf_hooks.context import Context
from maf_hooks.errors import REFUSED, ConfigError, UsageError
from maf_hooks.mail.confinement import MailPathRefused
from maf_hooks.services import documents
from maf_hooks.store.open import ServerLocation

HELP = f"""Create the lease database and the mail root, keep mail out of git, and show (or --write)
the .pre-commit-config.yaml entry and its default_install_hook_types (every git hook type, so
that a plain `pre-commit install` installs them all; comments and layout of the file are kept).
Safe to run again: it changes only what is missing.
A mail root that is a symbolic link, or that git tracks files under, is reported (exit 1) and
never created through the link.

With storage.url (or MAF_DB_URL) naming a shared PostgreSQL server it also migrates the server,
writes storage.repository into maf.toml (from the origin remote) when no key is set, and gives
each hook of a --repo entry the driver through additional_dependencies.

\b
Then: {repo_setup.INSTALL}
"""


AGENTS_HELP = ("Write the edit hooks and MCP entries of these agent clients into their project files "
               "(comma-separated: claude, codex, gemini, copilot, cursor, opencode; or all) instead of the "
               "repository set-up.")


@click.command("init", help=HELP)
@click.option("--agents", "agents", metavar="LIST", help=AGENTS_HELP)
@click.option("--dry-run", is_flag=True, help="With --agents: print what would change, write nothing.")
@click.option("--write", is_flag=True, help="Append the entry to .pre-commit-config.yaml instead of printing it.")
@click.option("--repo", "repo_url", metavar="URL",
              help="Use the maf-hooks repository at URL (with --rev) instead of a `repo: local` entry.")
@click.option("--rev", default=None, metavar="TAG", help="The tag or commit of --repo to use.")
@json_option
@pass_context
def init(context: Context, agents: str | None, dry_run: bool, write: bool, repo_url: str | None, rev: str | None,
         as_json: bool) -> int:
    if agents is not None:
        if write or repo_url or rev:
            raise UsageError("--agents writes the agent clients' files only: run --write, --repo and --rev "
                             "without it.")
        return init_agents(context.root, agents, dry_run=dry_run, as_json=as_json)
    if dry_run:
        raise UsageError("--dry-run goes with --agents.")
    if bool(repo_url) != bool(rev):
        raise UsageError("--repo and --rev go together: the repository URL and the tag to use.")
    changes: list[str | None] = []
    location = context.store_location
    # on a shared server: the repository key, or the refusal, before anything changes
    key = server_key(location) if isinstance(location, ServerLocation) else None
    server = key is not None
    existed = location.exists()
    location.open(environ=context.environ, upgrade=True).close()  # creates and migrates it when needed
    if not existed:
        changes.append(f"created the lease database {context.db_path}")
    if server:
        try:
            changes.append(repo_setup.ensure_repository_key(context.root, context.config, str(key)))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    mail_root = context.mail_root()
    problems = repo_setup.mail_root_problems(git.main_worktree_root(context.paths), mail_root)
    try:
        created = repo_setup.ensure_mail_root(mail_root)
    except MailPathRefused:
        created = None  # reported in problems; never created through the link
    changes += [created, repo_setup.ensure_excluded(context.paths.common_dir, context.root, mail_root)]
    dependencies = (repo_setup.DRIVER_REQUIREMENT,) if server else ()
    # with default_install_hook_types written, a plain `pre-commit install` installs every type
    install = "pre-commit install" if write else repo_setup.INSTALL
    entry = repo_setup.precommit_entry(repo_url, rev, dependencies=dependencies)
    if write:
        try:
            changes += repo_setup.ensure_precommit_config(context.root, repo_url, rev, dependencies)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    done = [change for change in changes if change]
    notes = []
    if server:
        problems += driver_problems(context.root)
        if not repo_url:
            notes.append(LOCAL_DRIVER_NOTE)
    from maf_hooks.install_advice import install_lines

    cli_install = install_lines(repo_url, str(rev)) if repo_url else []  # agents' CLI of the hooks' rev
    if as_json:
        emit_json(documents.stamped("init", {
            "changes": done, "db_path": context.db_path, "mail_root": mail_root, "entry": entry,
            "default_install_hook_types": list(git.HOOK_TYPES), "install": install,
            "repository": key, "problems": problems, "notes": notes, "cli_install": cli_install
        }))
        return REFUSED if problems else 0
    for change in done:
        click.echo(change)
    if not done and not problems:
        click.echo("already set up: nothing to change")
    for problem in problems:
        click.echo(f"maf init: problem: {problem}", err=True)
    for note in notes:
        click.echo(f"maf init: note: {note}")
    if not write:
        click.echo("\nAdd this to the `repos:` list of .pre-commit-config.yaml (or run `maf init --write`):\n")
        click.echo(entry)
        click.echo(f"and, at its top level (a plain `pre-commit install` then installs every hook type):\n\n"
                   f"default_install_hook_types: [{', '.join(git.HOOK_TYPES)}]\n")
    click.echo(f"Then install the git hooks: {install}")
    if cli_install:
        click.echo(f"\npre-commit runs its own copy of maf-hooks {rev}; agents need the CLI (maf-lease) of the "
                   "same revision on PATH. Install it with one of:\n")
        click.echo("\n".join(f"  {line}" for line in cli_install))
    return REFUSED if problems else 0


LOCAL_DRIVER_NOTE = ("the `repo: local` entry runs maf-reservations from the environment on PATH, which "
                     "must hold the PostgreSQL driver: pip install 'maf-hooks[postgres]' there (pre-commit "
                     "installs no additional_dependencies for language: system)")


def server_key(location: ServerLocation) -> str:
    """The repository key on the shared server: storage.repository, else the origin remote's."""
    try:
        return location.repository()
    except ConfigError:
        raise UsageError(
            "storage.url names a shared server, but this repository has no origin remote to take its key "
            "from and storage.repository is not set: add the origin remote, or set storage.repository in "
            "maf.toml (the same key in every clone that shares leases), then run maf init again.") from None


def driver_problems(root: str) -> list[str]:
    """The maf hooks of an existing .pre-commit-config.yaml whose environment lacks the driver:
    reported, never rewritten (the file is the user's)."""
    path = os.path.join(root, repo_setup.CONFIG_FILE)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as handle:
        missing = repo_setup.hooks_without_driver(handle.read())
    line = f"additional_dependencies: {json.dumps([repo_setup.DRIVER_REQUIREMENT])}"
    return [f"{repo_setup.CONFIG_FILE}: the hook {hook_id} has no PostgreSQL driver in its environment, so it "
            f"cannot reach storage.url and would refuse every {'push' if 'push' in hook_id else 'commit'}; "
            f"add `{line}` to it"
            for hook_id in missing]


def init_agents(root: str, agents: str, *, dry_run: bool, as_json: bool) -> int:
    from maf_hooks.agent_setup import install
    from maf_hooks.agent_setup.clients import CLIENTS, HOOK

    names = install.parse_names(agents)
    plans = install.plan(root, names)
    if not dry_run:
        install.apply(root, plans)
    notes = {name: [note for note in (CLIENTS[name].notes, CLIENTS[name].identity) if note] for name in names}
    if as_json:
        emit_json(documents.stamped("init.agents", {
            "dry_run": dry_run, "clients": names, "files": [p.to_json() for p in plans],
            "without_mcp_file": [n for n in names if not CLIENTS[n].has_mcp_file()], "notes": notes
        }))
        return 0
    for file_plan in plans:
        status = f"would be {file_plan.status}" if dry_run and file_plan.status in (install.CREATED,
                                                                                   install.UPDATED) \
            else file_plan.status
        what = ", ".join(f"{client} {'edit hook' if kind == HOOK else 'MCP server'}"
                         for client, kind, _ in file_plan.parts)
        if file_plan.status == install.DIFFERS:
            click.echo(f"{file_plan.path}: differs from the shipped plugin ({what}); left as it is: to "
                       f"replace it, delete it and run `maf init --agents {file_plan.parts[0][0]}` again")
            continue
        click.echo(f"{file_plan.path}: {status} ({what})")
    for name in names:
        if not CLIENTS[name].has_mcp_file():
            click.echo(f"{name}: hooks only, no project-level MCP file")
        for note in notes[name]:
            click.echo(f"{name}: {note}")
    if dry_run:
        click.echo("dry run: nothing written")
    return 0
