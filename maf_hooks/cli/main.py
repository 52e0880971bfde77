"""The `maf` command group and the console-script entry points.

Subcommands are imported when they are run (each command is a short-lived process, and importing
every command module would cost every call the slowest one's imports).
"""

from __future__ import annotations

import importlib

import click

from maf_hooks.cli.errors import entry
from maf_hooks.cli.help_text import document
from maf_hooks.cli.options import group_options, make_context, version_option

COMMANDS = {
    "agent-hook": "maf_hooks.cli.agent_hook:agent_hook",
    "audit": "maf_hooks.cli.audit:audit_group",
    "config": "maf_hooks.cli.configuration:config_group",
    "db": "maf_hooks.cli.db:db_group",
    "escalate": "maf_hooks.cli.escalate:escalate_group",
    "init": "maf_hooks.cli.init:init",
    "lease": "maf_hooks.cli.lease:lease_group",
    "mail": "maf_hooks.cli.mail:mail_group",
    "mcp": "maf_hooks.cli.mcp:mcp_command",
    "metrics": "maf_hooks.cli.metrics:metrics_command",
    "preflight": "maf_hooks.cli.preflight:preflight_command",
    "serve": "maf_hooks.cli.serve:serve_command",
}


def load(spec: str) -> click.Command:
    module, attribute = spec.split(":")
    return getattr(importlib.import_module(module), attribute)


class LazyGroup(click.Group):
    """A group whose subcommands are named in ``COMMANDS`` and imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str):
        return document(load(COMMANDS[name]), name) if name in COMMANDS else None


@click.group("maf", cls=LazyGroup)
@version_option
@group_options
@click.pass_context
def maf(ctx: click.Context, config_path, env_name, group_agent):
    """maf-hooks: file leases and git hooks for coding agents sharing one repository.

    Options before the subcommand (--config, --env, --agent, --json) apply to it and to whatever it runs:
    `maf --agent alice lease acquire src/` acts as alice.
    """
    make_context(ctx, config_path, env_name, group_agent)


document(maf)


def main(argv=None) -> int:
    return entry(maf, "maf")(argv)


def lease_main(argv=None) -> int:
    """``maf-lease``: the same as ``maf lease``."""
    return entry(document(load(COMMANDS["lease"]), "lease"), "maf-lease")(argv)
