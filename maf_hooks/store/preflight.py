"""The preflight keeper's interface: the history of ``maf-preflight`` runs, and the two lease
facts the reservations check reads beside the leases themselves.

A run is written twice: :meth:`PreflightRecords.start` when it begins (status ``running``) and
:meth:`PreflightRecords.finish` when it ends; a run that was killed stays ``running``. A store
whose schema predates the history says so (:meth:`PreflightRecords.available`) and is not
changed: preflight never creates or migrates the store to record a run.
"""

from __future__ import annotations

import abc
from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# One run, as recorded when it starts; context: a JSON-able dict (configuration, options, CI)
PreflightRun = namedtuple(
    "PreflightRun", ["row_id", "config_id", "agent_id", "execution_id", "check_type", "context", "started_at"])


class PreflightRecords(abc.ABC):
    @abc.abstractmethod
    def available(self) -> bool:
        """Whether the store's schema holds the run history (false for an older schema)."""

    @abc.abstractmethod
    def start(self, run: PreflightRun) -> None:
        """Record ``run`` as running."""

    @abc.abstractmethod
    def finish(self, run: PreflightRun, status: str, result: dict[str, Any], error: str | None,
               completed_at: int) -> None:
        """Set the run's ``status`` (``passed`` or ``failed``), report and error; a run whose row
        is missing (the store appeared during the run) is recorded whole."""

    @abc.abstractmethod
    def history(self, *, limit: int, agent: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """The most recent runs, newest first: dicts with the run's fields, ``status``,
        ``error_message``, ``completed_at``, ``created_at`` (epoch ms) and ``result`` (the
        report, ``{}`` when there is none or it cannot be read)."""

    @abc.abstractmethod
    def failures_since(self, agent: str, since: int) -> int:
        """How many runs of ``agent`` failed at or after ``since`` (epoch ms)."""


# the columns a history row is read in, by every backend
HISTORY_COLUMNS = ("id, config_id, agent_id, execution_id, check_type, status, error_message, started_at, "
                   "completed_at, created_at, result_json")


def history_run(row: Any) -> dict[str, Any]:
    """One row of :data:`HISTORY_COLUMNS` as :meth:`PreflightRecords.history` gives it."""
    import json

    try:
        result = json.loads(row[10]) if row[10] else {}
    except ValueError:
        result = {}
    return {
        "id": row[0], "config_id": row[1], "agent_id": row[2], "execution_id": row[3],
        "check_type": row[4], "status": row[5], "error_message": row[6], "started_at": row[7],
        "completed_at": row[8], "created_at": row[9], "result": result if isinstance(result, dict) else {},
    }
