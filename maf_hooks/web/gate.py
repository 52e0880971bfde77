"""Who may read the board: the one gate in front of every request of ``maf serve``.

- **Host** (when the server listens on loopback): the ``Host`` header must name a loopback
  host (``localhost``, ``127.0.0.1``, ``[::1]``, any port). A page on another site whose name an
  attacker points at 127.0.0.1 (DNS rebinding) sends its own name there, and is refused (400).
- **Token** (when one is set): ``Authorization: Bearer TOKEN``, or the cookie the page got for
  it, or ``?token=TOKEN`` once: that answer is a redirect to the same address without the token,
  setting the cookie (HttpOnly, so the page's scripts never see it), so the token leaves the
  address bar and the history. Anything else is 401.

The cookie holds an HMAC of the token, not the token itself. Pure ASGI (Starlette's request and
response classes only), so it runs before any route.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from starlette.datastructures import URL, Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "maf_board"
QUERY = "token"
# every answer of the board: no framing, no sniffing, no referrer (the address may hold ?token=)
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine
    only: ``localhost`` or a loopback address."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_of(header: str | None) -> str | None:
    """The host part of a ``Host`` header (without its port), or None when there is none."""
    if not header:
        return None
    if header.startswith("["):
        end = header.find("]")
        return header[:end + 1] if end > 0 else None
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def cookie_value(token: str) -> str:
    return hmac.new(token.encode("utf-8"), b"maf serve board cookie", hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class Gate:
    def __init__(self, app: ASGIApp, *, token: str | None, loopback: bool) -> None:
        self.app, self.token, self.loopback = app, token, loopback
        self.cookie = cookie_value(token) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = self.refusal(scope)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        """The answer to a request that may not pass (None: it may)."""
        headers = Headers(scope=scope)
        if self.loopback:
            host = host_of(headers.get("host"))
            if host is None or not is_loopback(host):
                return PlainTextResponse(
                    "maf serve: refused: this board listens on loopback and answers only requests addressed to "
                    "localhost, 127.0.0.1 or [::1] (the Host header names another host: DNS rebinding).\n",
                    status_code=400, headers=SAFE_HEADERS)
        if self.token is None:
            return None
        request = Request(scope)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(credentials.strip(), self.token):
            return None
        given = request.query_params.get(QUERY)
        if given is not None:
            if not _same(given, self.token):
                return self.unauthorized()
            clean = URL(scope=scope).remove_query_params(QUERY)
            response = RedirectResponse(clean.path + (f"?{clean.query}" if clean.query else ""), status_code=303,
                                        headers=SAFE_HEADERS)
            response.set_cookie(COOKIE, self.cookie or "", httponly=True, samesite="lax", path="/")
            return response
        if _same(request.cookies.get(COOKIE), self.cookie or ""):
            return None
        return self.unauthorized()

    @staticmethod
    def unauthorized() -> Response:
        return PlainTextResponse(
            "maf serve: a token is required: send `Authorization: Bearer TOKEN`, or open the board once as "
            "/?token=TOKEN (the page then keeps it in a cookie).\n",
            status_code=401, headers={**SAFE_HEADERS, "WWW-Authenticate": 'Bearer realm="maf board"'})
