"""`maf serve`: the live board, a read-only web page for the people supervising agents
(see docs/operations.md, "The live board: maf serve")."""

from __future__ import annotations

import click

from maf_hooks.cli.options import config_options, json_option, make_context
from maf_hooks.errors import MafError, UsageError

INSTALL = ("`maf serve` needs its web stack (Starlette and uvicorn): install it with "
           "`pip install 'maf-hooks[serve]'` into the environment maf runs in.")
DEFAULT_PORT = 8765


class MissingStack(MafError):
    """The optional `serve` extra is not installed (exit 3)."""


def stack_installed() -> bool:
    try:
        import starlette  # noqa: F401 - only whether it imports
        import uvicorn  # noqa: F401
    except ImportError:
        return False
    return True


def token_from(variable: str | None, environ) -> str | None:
    """The token ``--token-env`` names (None without the option); a variable that is unset or
    empty is a usage error, never a board without a token."""
    if variable is None:
        return None
    value = environ.get(variable, "").strip()
    if not value:
        raise UsageError(f"--token-env names the variable {variable}, which is not set or empty: set it to the "
                         "board's token (a long random text, e.g. from `openssl rand -hex 32`).")
    return value


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="HOST",
              help="Address to listen on. Anything but loopback needs --token-env.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port to listen on (0: one the system picks; the address is printed).")
@click.option("--token-env", metavar="VAR",
              help="Environment variable holding the token every request must bring.")
@json_option
@config_options
@click.pass_context
def serve_command(ctx: click.Context, host, port, token_env, as_json, config_path, env_name):
    """Serve the live board: a read-only web page of who holds what, the agents' heartbeats,
    recent conflicts and overrides, open escalations and the audit chain's state. It redraws
    itself every few seconds; it has no write action. It also serves `maf metrics` at /metrics
    for Prometheus.

    On loopback (the default) it answers only requests addressed to localhost, 127.0.0.1 or
    [::1]. To listen anywhere else, name a token with --token-env: every request must then send
    `Authorization: Bearer TOKEN`, or open the page once as /?token=TOKEN (the page keeps it in
    an HttpOnly cookie and drops it from the address bar). Prints the board's address (--json:
    as a document), then serves until interrupted.

    \b
    Examples:
      maf serve
      BOARD_TOKEN=$(openssl rand -hex 32) maf serve --host 0.0.0.0 --token-env BOARD_TOKEN
    """
    context = make_context(ctx, config_path, env_name)
    from maf_hooks.web.gate import is_loopback

    token = token_from(token_env, context.environ)
    loopback = is_loopback(host)
    if not loopback and token is None:
        raise UsageError(f"--host {host} is not loopback: a board other machines can reach needs a token. Set one "
                         "in a variable and name it with --token-env (every request must then bring it), or "
                         "listen on 127.0.0.1.")
    if not stack_installed():
        raise MissingStack(INSTALL)
    location = context.store_location  # a bad configuration fails now, not at the first request
    from maf_hooks.services import board
    from maf_hooks.web import app, server

    def read_board() -> dict:
        with context.store_if_exists() as store:
            return board.snapshot(store, store.now() if store is not None else _now())

    def read_metrics() -> tuple[bytes, str]:
        from maf_hooks.services import metrics

        return metrics.exposition(context), metrics.content_type()

    sock = server.listen(host, port)
    url = server.url_of(sock)
    if as_json:
        from maf_hooks.cli.output import emit_json
        from maf_hooks.services.documents import stamped

        emit_json(stamped("serve", {"url": url, "token_required": token is not None, "loopback": loopback,
                                    "store": location.backend}))
    else:
        needs = f"; every request needs the token in ${token_env}" if token is not None else ""
        click.echo(f"maf serve: the board is at {url} (read-only{needs}). Ctrl-C stops it.")
    server.serve(app.build(read_board, token=token, loopback=loopback, read_metrics=read_metrics), sock)
    return 0


def _now() -> int:
    from maf_hooks.timeutil import now_ms

    return now_ms()
