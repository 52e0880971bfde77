"""The Prometheus metrics of one repository: its store's state and its hooks' own duration.

:func:`exposition` is the text exposition format (``maf metrics``, and ``/metrics`` of the board);
:func:`write_textfile` writes it for node_exporter's textfile collector. Everything is read
first (:func:`read`: a handful of grouped counts through the store's tallies, the audit chain
from its checkpoint, the hooks' histogram file), then handed to ``prometheus_client`` in a
registry of its own (never the library's global one, which holds the process's own metrics).

Label sets stay bounded: ``agent`` appears only on the leases active now, ``status`` and
``operation`` take the values a conflict record can have, ``level`` the configured levels.
Counts of events over time are gauges over a fixed window (``..._last_hour``), not counters:
``maf db gc`` removes old records, and a counter that drops would read as a reset.

``prometheus_client`` is the ``metrics`` extra, imported only here and only when called.
"""

from __future__ import annotations

import os

from maf_hooks import hook_timing
from maf_hooks.core import escalation
from maf_hooks.core.audit import STALE_MINUTES
from maf_hooks.core.conflicts import SEVERITY
from maf_hooks.core.decision import OPERATIONS
from maf_hooks.errors import MafError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from maf_hooks.context import Context
    from maf_hooks.store.base import Store

EXPIRING_SOON_MINUTES = 10  # maf_leases_expiring_soon: active leases that end within this many minutes
WINDOW_MINUTES = 60  # the window of every ..._last_hour gauge
TEXTFILE = "maf.prom"  # the file --textfile writes (node_exporter reads *.prom)
STATUSES = tuple(SEVERITY)  # what a conflict record's status can be: blocked, warned, overridden


def client() -> Any:
    """The ``prometheus_client`` package, or why it is missing (exit 3)."""
    try:
        import prometheus_client
        import prometheus_client.core
        import prometheus_client.registry
        import prometheus_client.utils
    except ImportError as exc:
        raise MafError(f"maf metrics needs prometheus_client ({exc}): install the extra, "
                       "pip install 'maf-hooks[metrics]'.") from None
    return prometheus_client


def read(store: Store | None, timings: str) -> dict[str, Any]:
    """Every value the metrics show, read now (``store`` None: no database yet, nothing held)."""
    facts: dict[str, Any] = {"hooks": hook_timing.read(timings), "leases": [], "expiring": 0, "conflicts": [],
                             "overrides": 0, "escalations": [], "timed_out": 0, "overdue": 0, "stale": 0,
                             "chain_valid": True, "size": 0}
    if store is None:
        return facts
    from maf_hooks.services.audit import validate

    now = store.now()
    since = now - WINDOW_MINUTES * 60_000
    tallies = store.tallies
    facts.update(
        leases=tallies.active_leases(now),
        expiring=tallies.leases_expiring(now, now + EXPIRING_SOON_MINUTES * 60_000),
        conflicts=tallies.conflicts_since(since),
        overrides=tallies.events_since("override", since),
        escalations=tallies.escalations(escalation.OPEN),
        timed_out=tallies.escalations_ended_since("timeout", since),
        overdue=len(store.escalations.open_past_path_timeout(now)),
        stale=len(store.audit.stale_lease_holders(now, now - STALE_MINUTES * 60_000)),
        chain_valid=bool(validate(store)["valid"]),
        size=tallies.size_bytes(),
    )
    return facts


def families(facts: dict[str, Any]) -> list[Any]:
    """The metric families of :func:`read`'s values, in the order they are exposed."""
    core = client().core
    out = []

    def gauge(name: str, help_text: str, value: float | None = None, labels: tuple[str, ...] = (),
              rows: Any = ()) -> None:
        family = core.GaugeMetricFamily(name, help_text, value=value, labels=list(labels) if labels else None)
        for *values, count in rows:
            family.add_metric([str(v) for v in values], count)
        out.append(family)

    gauge("maf_leases_active", "Active leases, by holder and mode.", labels=("agent", "mode"), rows=facts["leases"])
    gauge("maf_leases_expiring_soon", f"Active leases that expire within {EXPIRING_SOON_MINUTES} minutes.",
          value=facts["expiring"])
    counted = {(status, operation): count for status, operation, count in facts["conflicts"]}
    every = {(status, operation): 0 for status in STATUSES for operation in OPERATIONS}
    gauge("maf_conflicts_last_hour", "Conflict records (one per path and lease) created in the last hour, "
          "by status (blocked, warned, overridden) and operation (commit, push, edit).",
          labels=("status", "operation"),
          rows=[(status, operation, count) for (status, operation), count in sorted({**every, **counted}.items())])
    gauge("maf_overrides_last_hour", "Overrides (one per overridden lease) in the last hour.",
          value=facts["overrides"])
    gauge("maf_escalations_open", "Open escalations (pending, escalated, acknowledged), by level and status.",
          labels=("level", "status"), rows=facts["escalations"])
    gauge("maf_escalations_timed_out_last_hour", "Escalations that timed out unanswered in the last hour.",
          value=facts["timed_out"])
    gauge("maf_escalations_overdue", "Open escalations past their path's timeout (no `maf escalate tick` ran).",
          value=facts["overdue"])
    gauge("maf_agents_stale", f"Agents holding active leases with no heartbeat in {STALE_MINUTES} minutes.",
          value=facts["stale"])
    gauge("maf_audit_chain_valid", "1 when the audit event chain validates, 0 when it is broken.",
          value=1 if facts["chain_valid"] else 0)
    gauge("maf_database_size_bytes", "Space the lease store takes (a server: its whole database).",
          value=facts["size"])
    histogram = core.HistogramMetricFamily(
        "maf_hook_duration_seconds", "How long the git hooks and edit-time hooks of this clone took, "
        "from their entry point to their answer.", labels=["hook"])
    go = client().utils.floatToGoString
    empty = ([(bound, 0) for bound in (*hook_timing.BUCKETS, float("inf"))], 0.0)
    for hook in sorted({*hook_timing.HOOKS, *facts["hooks"]}):
        buckets, total = facts["hooks"].get(hook, empty)
        histogram.add_metric([hook], [(go(bound), count) for bound, count in buckets], total)
    out.append(histogram)
    return out


def registry(found: list[Any]) -> Any:
    """A ``CollectorRegistry`` of its own holding ``found`` (the families of :func:`families`)."""
    prometheus = client()
    from prometheus_client.registry import Collector

    class Collected(Collector):
        def collect(self) -> Any:
            return iter(found)

        def describe(self) -> Any:
            return iter(found)

    own = prometheus.CollectorRegistry()
    own.register(Collected())
    return own


def collect(context: Context) -> list[Any]:
    """Read the configured store (without creating it) and the hooks' histogram, as families."""
    timings = context.store_location.beside(hook_timing.FILE)
    with context.store_if_exists() as store:
        facts = read(store, timings)
    return families(facts)


def exposition(context: Context) -> bytes:
    """The Prometheus text exposition of this repository's store and hooks."""
    return client().generate_latest(registry(collect(context)))


def content_type() -> str:
    """The HTTP Content-Type of :func:`exposition` (for a server that mounts it at ``/metrics``)."""
    return str(client().CONTENT_TYPE_LATEST)


def write_textfile(context: Context, directory: str) -> str:
    """Write :func:`exposition` to ``directory/maf.prom`` for node_exporter's textfile collector,
    atomically (``prometheus_client.write_to_textfile``: a temporary file in the same directory,
    renamed over the old one; node_exporter reads only ``*.prom``). Every value is read before
    anything is written, so a store that cannot be read leaves the previous file as it was."""
    if not os.path.isdir(directory):
        raise UsageError(f"--textfile: {directory} is not a directory (node_exporter's "
                         "--collector.textfile.directory): create it, or name the one node_exporter reads.")
    found = collect(context)
    path = os.path.join(directory, TEXTFILE)
    client().write_to_textfile(path, registry(found))
    return path


def document(found: list[Any]) -> dict[str, Any]:
    """The families as one JSON document (``maf metrics --json``): each with its samples."""
    return {"metrics": [{"name": family.name, "type": family.type, "help": family.documentation,
                         "samples": [{"name": sample.name, "labels": dict(sample.labels), "value": sample.value}
                                     for sample in family.samples]} for family in found]}
