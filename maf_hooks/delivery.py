"""Transitional: the raw-connection entry point of escalation deliveries, for callers not yet
moved to :mod:`maf_hooks.services.delivery` (which holds the rules of sending)."""

from __future__ import annotations

import os
import time

from maf_hooks.core.escalation import channels_for  # noqa: F401 - the names callers use from here
from maf_hooks.mail.escalation import build, readable, subject  # noqa: F401
from maf_hooks.services import delivery as service
from maf_hooks.services.delivery import BACKOFF_SECONDS, CLAIM_STALE_MS  # noqa: F401
from maf_hooks.store.sqlite.legacy import store_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable


def deliver_pending(conn: sqlite3.Connection, cfg: Any, mail_root: str, now: int, *, escalation_id: str | None = None,
                    channels: Sequence[str] = (), sleep: Callable[[float], None] = time.sleep,
                    environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    return service.deliver_pending(store_for(conn, now), cfg, mail_root,
                                   environ=os.environ if environ is None else environ,
                                   escalation_id=escalation_id, channels=channels, sleep=sleep)
