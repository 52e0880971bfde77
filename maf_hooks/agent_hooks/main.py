"""The process of ``maf agent-hook CLIENT``: stdin in, the client's reply out, its exit code.

Started by the agent client on every tool call, so it imports neither click nor the command
group (``maf_hooks.cli.main`` hands ``maf agent-hook CLIENT`` here before loading them).
"""

from __future__ import annotations

import sys


def main(client: str) -> int:
    """Answer one call; once the reply is written, record its duration beside the store it
    opened (:mod:`maf_hooks.hook_timing`)."""
    import time

    started = time.perf_counter()
    from maf_hooks.agent_hooks.run import run

    try:
        data = b"" if sys.stdin is None else sys.stdin.buffer.read()
    except (OSError, ValueError) as exc:
        data = b"\0unreadable: " + str(exc).encode("utf-8", "replace")  # not JSON: refused, naming the cause
    state: dict = {}
    reply = run(client, data, state=state)
    if reply.stdout:
        sys.stdout.write(reply.stdout if reply.stdout.endswith("\n") else reply.stdout + "\n")
        sys.stdout.flush()
    if reply.stderr:
        sys.stderr.write(reply.stderr)
        sys.stderr.flush()
    from maf_hooks.agent_hooks.call import WRITE
    from maf_hooks.hook_timing import after

    after(state, "edit" if state.get("kind") == WRITE else str(state.get("kind")), started)  # or session_end
    return reply.code
