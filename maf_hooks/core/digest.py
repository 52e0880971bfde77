"""SHA-256 for the paths that run on every refused commit: the audit chain and the mail dedup key.

``hashlib`` loads OpenSSL's ``_hashlib`` first (about 2.5 ms of a hook's start, measured with
``python -X importtime``); CPython's own SHA-256 (``_sha2`` from 3.12, ``_sha256`` before) gives
the same digests without it. Where neither is built, ``hashlib`` is the answer.
"""

from __future__ import annotations

try:
    from _sha2 import sha256
except ImportError:
    try:
        from _sha256 import sha256
    except ImportError:
        from hashlib import sha256


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in lower-case hexadecimal (``hashlib.sha256(data).hexdigest()``)."""
    return sha256(data).hexdigest()
