"""Time as the tool sees it: integer milliseconds since the epoch, ISO 8601 UTC, durations."""

from __future__ import annotations

import time

from maf_hooks.errors import UsageError

# compiled (and cached by ``re``) on first use, not when the git hook imports this module
_DURATION = r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$"
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_DURATION_MS = 36_500 * 86_400_000  # 100 years: far beyond any lease, well inside SQLite's integers


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_duration_ms(text: str, *, default_unit: str = "m", what: str = "duration") -> int:
    """Parse ``90s``, ``30m``, ``2h``, ``1d`` (a bare number takes ``default_unit``) into milliseconds."""
    import re

    match = re.match(_DURATION, str(text), re.IGNORECASE)
    if not match:
        raise UsageError(
            f"Invalid {what} {text!r}: expected a whole number with a unit, such as 90s, 30m, 2h or 1d."
        )
    number, unit = match.groups()
    # more digits than the maximum has in milliseconds is too long in any unit (and int() of
    # thousands of digits is refused by Python itself)
    too_long = len(number.lstrip("0")) > len(str(MAX_DURATION_MS))
    value = 0 if too_long else int(number) * _UNIT_MS[(unit or default_unit).lower()]
    if too_long or value > MAX_DURATION_MS:
        raise UsageError(f"Invalid {what} {text!r}: it must be at most 36500d (100 years).")
    if value <= 0:
        raise UsageError(f"Invalid {what} {text!r}: it must be longer than zero.")
    return value


def iso(ms: int | None) -> str | None:
    """``1700000000123`` -> ``2023-11-14T22:13:20.123Z`` (None stays None)."""
    if ms is None:
        return None
    seconds, millis = divmod(int(ms), 1000)
    t = time.gmtime(seconds)  # a listing formats a time per lease: no datetime object each
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                                                    millis)


def parse_iso_ms(text: str) -> int:
    """Accept ``2026-11-01``, ``2026-11-01T10:00:00``, with or without ``Z``/offset (UTC assumed)."""
    import datetime as _dt

    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = _dt.datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"Invalid date {text!r}: expected ISO 8601, such as 2026-11-01 or 2026-11-01T10:00:00Z."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def _largest(ms: int) -> list[tuple[int, str]]:
    """The two largest units of a span (seconds only under an hour), as ``(count, unit)``."""
    seconds = max(0, int(ms // 1000))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts = [(days, "d"), (hours, "h")]
    elif hours:
        parts = [(hours, "h"), (minutes, "m")]
    elif minutes:
        parts = [(minutes, "m"), (secs, "s")]
    else:
        parts = [(secs, "s")]
    return [parts[0]] + [part for part in parts[1:] if part[0]]


def span(ms: int) -> str:
    """A short human span: ``45s``, ``29m 59s``, ``2h 5m``, ``3d 4h``."""
    return " ".join(f"{count}{unit}" for count, unit in _largest(ms))


_WORDS = {"d": "day", "h": "hour", "m": "minute", "s": "second"}


def in_words(ms: int) -> str:
    """The span of :func:`span` in words: ``45 seconds``, ``29 minutes 59 seconds``, ``1 hour``."""
    return " ".join(f"{count} {_WORDS[unit]}{'' if count == 1 else 's'}" for count, unit in _largest(ms))


def after(ms: int, now: int, event: str = "this message") -> str:
    """When ``ms`` is, told against ``now`` for a text read later: ``45 minutes after this
    message`` (``... before ...`` when it is earlier), never a countdown that goes stale. The
    exact time is told beside it, so the span is rounded: to the minute from a minute up (a lease
    of 45 minutes that a hook meets 0.2 s later is "45 minutes" after), else to the second."""
    delta = ms - now
    unit = 60_000 if abs(delta) >= 59_500 else 1000
    rounded = (abs(delta) + unit // 2) // unit * unit
    return f"{in_words(rounded)} {'after' if delta >= 0 else 'before'} {event}"


def relative(ms: int, now: int) -> str:
    """``in 29m 59s`` or ``3m ago`` relative to ``now``."""
    delta = ms - now
    return f"in {span(delta)}" if delta >= 0 else f"{span(-delta)} ago"
