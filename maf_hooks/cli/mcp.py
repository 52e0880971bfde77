"""`maf mcp`: serve the lease and mail tools to an agent over stdio (MCP); see docs/mcp.md."""

from __future__ import annotations

import sys

import click

from maf_hooks.cli.options import agent_option, config_options, make_context
from maf_hooks.errors import MafError

INSTALL = ("`maf mcp` needs the MCP Python SDK, which needs Python 3.10 or later: install it with "
           "`pip install 'maf-hooks[mcp]'` (or `pip install 'mcp>=2.3,<3'`) into the environment maf runs in.")


class MissingSDK(MafError):
    """The optional `mcp` package is not installed (exit 3)."""


def sdk_installed() -> bool:
    if sys.version_info < (3, 10):
        return False
    try:
        import mcp.server.mcpserver  # noqa: F401 - only whether it imports
    except ImportError:
        return False
    return True


@click.command("mcp")
@agent_option
@config_options
@click.pass_context
def mcp_command(ctx: click.Context, agent, config_path, env_name):
    """Serve maf's tools to an agent over stdio (the Model Context Protocol).

    The tools (lease_acquire, lease_renew, lease_release, lease_list, lease_check, heartbeat,
    conflicts, mail_inbox, mail_read, mail_send) act as the agent --agent names, else as the
    command line resolves it (MAF_AGENT_ID, git maf.agentId, the agent client session the server
    belongs to, git user.email; see docs/agents.md). Start it in the
    repository; an agent client starts it for you once it is registered (see docs/mcp.md).

    \b
    Example (as an agent client's server command):
      maf mcp --agent alice
    """
    context = make_context(ctx, config_path, env_name)
    agent = agent or context.acting_agent  # `maf --agent alice mcp`
    if not sdk_installed():
        raise MissingSDK(INSTALL)
    context.agent(agent)  # a bad or missing identity fails now, not at every call
    context.config.get("reservation.max_timeout_minutes")  # so does an invalid configuration
    from maf_hooks.mcp import server

    server.serve(server.build(agent, cwd=context.cwd, config_path=context.config_path, env_name=context.env_name))
    return 0
