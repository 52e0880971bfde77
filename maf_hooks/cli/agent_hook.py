"""``maf agent-hook CLIENT``: the edit-time hook of an agent client (docs/agents.md).

``maf agent-hook CLIENT`` itself is run without click (``maf_hooks.cli.main``); this command
gives it its help and runs it when options come before it.
"""

from __future__ import annotations

import click

from maf_hooks.agent_hooks import CLIENTS


@click.command("agent-hook")
@click.argument("client", type=click.Choice(CLIENTS))
def agent_hook(client: str) -> None:
    """Answer one tool-call hook of an agent CLIENT: its hook input (JSON) on stdin, the reply in
    the client's own protocol on stdout. An allowed call prints nothing and exits 0; a write of a
    file another agent holds is denied in the client's deny form. `maf init --agents CLIENT`
    installs it; docs/agents.md describes each client."""
    from maf_hooks.agent_hooks.main import main

    raise SystemExit(main(client))
