"""The hooks' own duration: a cumulative histogram per hook, kept in a small file beside the store.

Every git hook (``commit``, ``push``) and edit-time hook (``edit``, ``session_end``) that opened the
store adds its duration here once its answer is written, so that recording costs the decision
nothing: no round trip to the store, no wait before the answer. ``maf metrics`` reads the file
(:func:`read`) as ``maf_hook_duration_seconds``.

The file (``hook-timing.txt``, :meth:`maf_hooks.store.open.StoreLocation.beside`) is plain text,
read and written without the ``json`` module (which the allowed commit never imports otherwise):
a first line ``maf-hook-timing 1`` with the bucket bounds, then one line per hook, ``HOOK SUM
COUNT...`` (seconds, then how many durations fell into each bucket, the unbounded one last). It
is changed under an exclusive ``flock`` of ``hook-timing.txt.lock`` (read, add, write a temporary
file, rename it over the old one), so that concurrent hooks lose no update and a reader never
sees half a file. Recording never raises: a file that cannot be locked within :data:`LOCK_WAIT_SECONDS`,
read or written loses that one sample, and the hook's outcome stays what it was. A file that is
not a histogram of today's :data:`BUCKETS` starts again from zero (Prometheus reads that as a
counter reset).

This module is on the hooks' import path: it imports only ``os``, ``time``, ``fcntl`` and
:mod:`maf_hooks.atomicfile`.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Any

FILE = "hook-timing.txt"
# the histogram's upper bounds in seconds (each bucket counts the durations up to its bound; a
# last, unbounded bucket counts the rest): the one place they are defined
BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HOOKS = ("commit", "push", "edit", "session_end")  # the hooks that record, the ``hook`` label's values
LOCK_WAIT_SECONDS = 0.5  # at most this long for another hook's update (which takes about a millisecond)
MAGIC, VERSION = "maf-hook-timing", 1  # the file's first line: these, then the bucket bounds


def record(path: str, hook: str, seconds: float) -> bool:
    """Add one duration of ``hook`` to the histogram at ``path``; False when it could not (the
    sample is lost, nothing else changes). Never raises."""
    try:
        import fcntl
    except ImportError:  # no flock here: no histogram rather than a lost update
        return False
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _locked(fcntl, lock):
                return False
            series = _load(path)
            _add(series, hook, seconds)
            _replace(path, series)
            return True
        finally:
            os.close(lock)  # releases the flock
    except Exception:  # noqa: BLE001 - a lost sample must never change the hook's outcome
        return False


def _locked(fcntl: Any, fd: int) -> bool:
    import time

    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)


def _header() -> str:
    return " ".join((MAGIC, str(VERSION), *map(repr, BUCKETS)))


def _load(path: str) -> dict[str, list[Any]]:
    """``{hook: [sum, count per bucket...]}`` as stored, or ``{}`` (no file, or one that is not
    a histogram of today's buckets)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    if not lines or lines[0] != _header():
        return {}
    series: dict[str, list[Any]] = {}
    for line in lines[1:]:
        fields = line.split(" ")
        try:
            total, counts = float(fields[1]), [int(n) for n in fields[2:]]
        except (IndexError, ValueError):
            return {}
        if len(counts) != len(BUCKETS) + 1 or min(counts) < 0 or not 0 <= total < float("inf"):
            return {}
        series[fields[0]] = [total, *counts]
    return series


def _add(series: dict[str, list[Any]], hook: str, seconds: float) -> None:
    values = series.setdefault(hook, [0.0] + [0] * (len(BUCKETS) + 1))
    index = next((i for i, bound in enumerate(BUCKETS) if seconds <= bound), len(BUCKETS))
    values[0] += seconds
    values[1 + index] += 1


def _replace(path: str, series: dict[str, list[Any]]) -> None:
    from maf_hooks.atomicfile import write_bytes

    lines = [_header()] + [" ".join((hook, repr(float(values[0])), *map(str, values[1:])))
                           for hook, values in sorted(series.items())]
    # under the lock, so one temporary name a process; not flushed to disk: a crash loses a sample
    write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"), durable=False,
                temporary=f"{path}.{os.getpid()}.tmp")


def read(path: str) -> dict[str, tuple[list[tuple[float, int]], float]]:
    """``{hook: ([(upper bound, cumulative count)...], sum of seconds)}`` from the file at
    ``path``, the last bound ``inf`` (its count: every duration recorded); ``{}`` when there is no
    file or it holds no histogram of today's buckets. Read without the lock: the file is only
    ever replaced whole. A file that cannot be read (a directory, no permission) is none."""
    try:
        series = _load(path)
    except OSError:
        return {}
    result = {}
    for hook, values in sorted(series.items()):
        running, cumulative = 0, []
        for bound, count in zip((*BUCKETS, float("inf")), values[1:]):
            running += count
            cumulative.append((bound, running))
        result[hook] = (cumulative, values[0])
    return result


def after(state: dict[str, Any], hook: str, started: float) -> None:
    """A hook's last step, once its answer is written: record how long it took since ``started``
    (``time.perf_counter()``) beside the store it opened (``state["timings"]``); nothing when it
    opened none."""
    path = state.get("timings")
    if path:
        import time

        record(path, hook, time.perf_counter() - started)
