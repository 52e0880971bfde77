"""The board's web application (Starlette): the page and its files, and the snapshot document.

Read-only: every route answers GET (and HEAD) only; any other method is 405. The page
(``static/``: HTML, CSS and a script, no external resource, no build step) fetches
``api/board`` every few seconds and redraws itself. Every request passes the gate first
(:mod:`maf_hooks.web.gate`: the Host check on loopback, the token when one is set).
"""

from __future__ import annotations

from importlib import resources

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maf_hooks.web.gate import SAFE_HEADERS, Gate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Awaitable, Callable

    from starlette.requests import Request

# the page loads nothing but its own files, and talks to nothing but its own server
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
FILES = {"/": ("index.html", "text/html; charset=utf-8"), "/board.css": ("board.css", "text/css; charset=utf-8"),
         "/board.js": ("board.js", "text/javascript; charset=utf-8")}


def page_file(name: str) -> bytes:
    return resources.files("maf_hooks.web").joinpath("static", name).read_bytes()


def build(read_board: Callable[[], dict[str, Any]], *, token: str | None, loopback: bool,
          read_metrics: Callable[[], tuple[bytes, str]] | None = None) -> Starlette:
    """The application: ``read_board()`` gives the snapshot document (it opens and closes the
    store; it runs in a worker thread, one per request). A store that cannot be read is a 503
    whose JSON names the reason; the page shows it and keeps asking. ``read_metrics()`` gives
    the Prometheus exposition and its content type, served at ``/metrics`` behind the same gate
    (a scraper sends the token as a bearer token)."""

    def static(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
        body = page_file(name)
        headers = {**SAFE_HEADERS, "Content-Security-Policy": POLICY}

        async def endpoint(request: Request) -> Response:
            return Response(body, media_type=media_type, headers=headers)

        return endpoint

    def board(request: Request) -> Response:
        from maf_hooks.errors import ENVIRONMENT, MafError, described

        try:
            return JSONResponse(read_board(), headers=SAFE_HEADERS)
        except (MafError, OSError) as exc:
            code, message = described(exc)
            return JSONResponse({"error": message, "exit_code": code}, status_code=503, headers=SAFE_HEADERS)
        except Exception as exc:  # noqa: BLE001 - the page shows it; the server goes on serving
            return JSONResponse({"error": described(exc)[1], "exit_code": ENVIRONMENT}, status_code=500,
                                headers=SAFE_HEADERS)

    def metrics(request: Request) -> Response:
        from maf_hooks.errors import MafError, described

        assert read_metrics is not None
        try:
            body, media_type = read_metrics()
        except (MafError, OSError) as exc:  # a scraper sees the target down, with the reason
            return Response(described(exc)[1] + "\n", status_code=503, media_type="text/plain; charset=utf-8",
                            headers=SAFE_HEADERS)
        return Response(body, media_type=media_type, headers=SAFE_HEADERS)

    routes = [Route(path, static(name, media_type), methods=["GET"]) for path, (name, media_type) in FILES.items()]
    routes.append(Route("/api/board", board, methods=["GET"]))
    if read_metrics is not None:
        routes.append(Route("/metrics", metrics, methods=["GET"]))
    return Starlette(routes=routes, middleware=[Middleware(Gate, token=token, loopback=loopback)])
