"""The one HTTP POST maf-hooks makes: a JSON body to a configured URL (an escalation target's
webhook, the audit webhook), with a timeout, and one error type whose message says what failed.

:mod:`urllib.request` is imported on first use, so that importing this module costs nothing.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

USER_AGENT = "maf-hooks"


class PostFailed(Exception):
    """A POST that did not get a 2xx answer: the URL, and the HTTP status or the network error."""


def post(url: str, body: bytes, timeout: float, *, content_type: str = "application/json") -> int:
    """POST ``body`` to ``url``, waiting at most ``timeout`` seconds; return the HTTP status (2xx).
    Anything else (another status, no connection, no answer in time) raises :class:`PostFailed`."""
    import socket
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise PostFailed(f"cannot POST to {url!r}: only http:// and https:// URLs are supported")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise PostFailed(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, TimeoutError)):
            raise PostFailed(f"{url} did not answer within {timeout:g} s") from None
        raise PostFailed(f"cannot reach {url}: {exc.reason}") from None
    except (socket.timeout, TimeoutError):
        raise PostFailed(f"{url} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise PostFailed(f"cannot reach {url}: {exc}") from None
    if not 200 <= status < 300:
        raise PostFailed(f"{url} answered HTTP {status}")
    return status


def post_json(url: str, payload: Any, timeout: float) -> int:
    """:func:`post` with ``payload`` written as JSON."""
    return post(url, json.dumps(payload).encode("utf-8"), timeout)
