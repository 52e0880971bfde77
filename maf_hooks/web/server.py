"""Listening and serving: the socket is bound here, before the server starts, so that the address
it really has (``--port 0``: one the system picks) is known and printed first."""

from __future__ import annotations

import socket

from maf_hooks.errors import MafError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


BACKLOG = 128


class CannotListen(MafError):
    """The address cannot be listened on (in use, not this machine's, no permission): exit 3."""


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (the first address the name resolves to)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)  # connections wait from now on, before the server has started
    except OSError as exc:
        sock.close()
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server on that "
                           "port? choose another with --port).") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until interrupted (Ctrl-C or SIGTERM end it cleanly). No access
    log: an address may carry ``?token=`` until the page has exchanged it."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])
