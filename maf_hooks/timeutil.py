"""Time as the tool sees it: integer milliseconds since the epoch, ISO 8601 UTC, durations."""

from __future__ import annotations

import time

from maf_hooks.errors import UsageError

# compiled (and cached by ``re``) on first use, not when the git hook imports this module
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_BARE = r"^" + _NUMBER + r"$"
_PART = _NUMBER + r"\s*(ms|s|m|h|d)\s*"  # "ms" before "m": the alternation takes the first that fits
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_UNITS = ("d", "h", "m", "s", "ms")  # the order a combined duration writes them in
MAX_DURATION_MS = 36_500 * 86_400_000  # 100 years: far beyond any lease, well inside SQLite's integers
_EXAMPLES = "such as 90s, 30m, 1h30m, 2h or 1d"


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_duration_ms(text: str, *, default_unit: str = "m", what: str = "duration") -> int:
    """Parse a duration into milliseconds: ``90s``, ``30m``, ``2h``, ``1d``, ``250ms``, units
    combined from the largest down (``1h30m``, ``1d 12h``, ``2m30s``), decimal fractions
    (``1.5h``); a bare number (``15``, ``0.5``) takes ``default_unit``. Rounded to the nearest
    millisecond; more than zero and at most 100 years. Every option and setting that takes a
    duration parses it here."""
    import re

    raw = str(text).strip().lower()
    if re.match(_BARE, raw):
        parts = [(raw, default_unit)]
    else:
        parts, position = [], 0
        for match in re.finditer(_PART, raw):
            if match.start() != position:
                break
            parts.append((match.group(1), match.group(2)))
            position = match.end()
        if not parts or position != len(raw):
            raise UsageError(f"Invalid {what} {text!r}: expected a number with a unit ({_EXAMPLES}; "
                             "units d, h, m, s, ms).")
        order = [_UNITS.index(unit) for _, unit in parts]
        if order != sorted(set(order)):
            raise UsageError(f"Invalid {what} {text!r}: combine units from the largest down, each once "
                             "(such as 1d12h or 1h30m).")
    total = sum(_part_ms(number, unit) for number, unit in parts)
    if total is None or total > MAX_DURATION_MS:
        raise UsageError(f"Invalid {what} {text!r}: it must be at most 36500d (100 years).")
    if total <= 0:
        raise UsageError(f"Invalid {what} {text!r}: it must be longer than zero (at least 1ms).")
    return total


def _part_ms(number: str, unit: str) -> int:
    """``number`` (decimal digits, perhaps with a fraction) of ``unit`` in whole milliseconds,
    by integer arithmetic (no float rounding). More digits than the maximum has in milliseconds
    counts as more than the maximum (and int() of thousands of digits is refused by Python)."""
    whole, _, fraction = number.partition(".")
    if len(whole.lstrip("0")) > len(str(MAX_DURATION_MS)):
        return MAX_DURATION_MS + 1
    fraction = fraction[:12]  # a picosecond of a day is far below a millisecond
    scale = 10 ** len(fraction)
    numerator = (int(whole or "0") * scale + int(fraction or "0")) * _UNIT_MS[unit]
    return (2 * numerator + scale) // (2 * scale)  # to the nearest millisecond, halves up


def iso(ms: int | None) -> str | None:
    """``1700000000123`` -> ``2023-11-14T22:13:20.123Z`` (None stays None)."""
    if ms is None:
        return None
    seconds, millis = divmod(int(ms), 1000)
    t = time.gmtime(seconds)  # a listing formats a time per lease: no datetime object each
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                                                    millis)


# ISO 8601's extended format, by this parser on every Python (datetime.fromisoformat accepts
# more on 3.11 than on 3.9): a date, then perhaps a time (T or a space; minutes, seconds, a
# fraction after "." or ","), then perhaps a zone (Z, +HH:MM, +HHMM, +HH)
_ISO = (r"^(\d{4})-(\d{2})-(\d{2})"
        r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
        r"(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?$")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_EPOCH_DAY = 719_163  # datetime.date(1970, 1, 1).toordinal()


def parse_iso_ms(text: str) -> int:
    """An ISO 8601 date or time in milliseconds since the epoch: ``2026-11-01``,
    ``2026-11-01T10:00``, ``2026-11-01T10:00:00.5Z``, ``2026-11-01 10:00:00+02:00``; without a
    zone it is UTC. A fraction of a second is cut to milliseconds."""
    import datetime as _dt
    import re

    match = re.match(_ISO, str(text).strip(), re.IGNORECASE)
    if not match:
        raise UsageError(f"Invalid date {text!r}: expected ISO 8601, such as 2026-11-01, 2026-11-01T10:00:00Z "
                         "or 2026-11-01T10:00:00.5+02:00.")
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    year_n, month_n, day_n = int(year), int(month), int(day)
    if not 1 <= month_n <= 12:
        raise UsageError(f"Invalid date {text!r}: the month must be 01 to 12.")
    leap = year_n % 4 == 0 and (year_n % 100 != 0 or year_n % 400 == 0)
    last = 29 if month_n == 2 and leap else _MONTH_DAYS[month_n - 1]
    if year_n < 1 or not 1 <= day_n <= last:
        raise UsageError(f"Invalid date {text!r}: {year}-{month} has days 01 to {last}." if year_n else
                         f"Invalid date {text!r}: the year must be 0001 or later.")
    days = _dt.date(year_n, month_n, day_n).toordinal() - _EPOCH_DAY
    clock = [int(hour or 0), int(minute or 0), int(second or 0)]
    offset = [int(off_h or 0), int(off_m or 0)]
    for value, limit, name in zip(clock + offset, (23, 59, 59, 23, 59),
                                  ("hour", "minute", "second", "offset hour", "offset minute")):
        if value > limit:
            raise UsageError(f"Invalid date {text!r}: the {name} must be at most {limit}.")
    millis = int((fraction or "").ljust(3, "0")[:3])
    offset_ms = (offset[0] * 60 + offset[1]) * 60_000 * (-1 if sign == "-" else 1)
    return ((days * 24 + clock[0]) * 60 + clock[1]) * 60_000 + clock[2] * 1000 + millis - offset_ms


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
