"""Durations and times: `timeutil.parse_duration_ms` and the options that use it."""

from __future__ import annotations

import re

import pytest

from maf_hooks.errors import UsageError
from maf_hooks.timeutil import MAX_DURATION_MS, iso, parse_duration_ms, parse_iso_ms

DAY = 86_400_000


@pytest.mark.parametrize("text, expected", [
    ("90s", 90_000), ("30m", 1_800_000), ("2h", 7_200_000), ("1d", DAY), ("15", 900_000), ("250ms", 250),
    ("36500d", 36_500 * DAY), ("0036500d", 36_500 * DAY), (str(MAX_DURATION_MS) + "ms", MAX_DURATION_MS),
])
def test_parse_duration_ms_accepts_up_to_100_years(text, expected):
    assert parse_duration_ms(text) == expected
    assert MAX_DURATION_MS == 36_500 * DAY


@pytest.mark.parametrize("text", [
    "36501d", "876001h", str(MAX_DURATION_MS + 1) + "ms", "99999999999999999999999d", "9" * 5000 + "d",
])
def test_parse_duration_ms_refuses_more_than_100_years(text):
    with pytest.raises(UsageError, match=r"Invalid --since '[0-9]+[a-z]*': it must be at most 36500d \(100 years\)"):
        parse_duration_ms(text, what="--since")


@pytest.mark.parametrize("text, expected", [
    ("1h30m", 5_400_000), ("1h 30m", 5_400_000), ("1d12h", 1.5 * DAY), ("2m30s", 150_000), ("1s500ms", 1500),
    ("1d2h3m4s5ms", DAY + 2 * 3_600_000 + 3 * 60_000 + 4000 + 5), ("1H30M", 5_400_000), (" 2h ", 7_200_000),
    ("1.5h", 5_400_000), (".5s", 500), ("0.5", 30_000), ("1.0005s", 1001), ("0.0004s1ms", 1),
])
def test_parse_duration_ms_combined_units_and_fractions(text, expected):
    assert parse_duration_ms(text) == expected


@pytest.mark.parametrize("text, message", [
    ("0", "it must be longer than zero"), ("0d", "it must be longer than zero"),
    ("0.0004s", "it must be longer than zero"), ("-1d", "expected a number with a unit"),
    ("1w", "expected a number with a unit"), ("", "expected a number with a unit"),
    ("d", "expected a number with a unit"), ("1.5.h", "expected a number with a unit"),
    ("1h30", "expected a number with a unit"), ("h1", "expected a number with a unit"),
    ("30m1h", "combine units from the largest down, each once"),
    ("1h1h", "combine units from the largest down, each once"),
    ("1m1m", "combine units from the largest down, each once"),
])
def test_parse_duration_ms_refuses_zero_and_malformed(text, message):
    with pytest.raises(UsageError, match="^" + re.escape(f"Invalid duration {text!r}: {message}")):
        parse_duration_ms(text)


def test_parse_duration_ms_a_bare_number_takes_the_default_unit():
    assert parse_duration_ms("90", default_unit="s") == 90_000
    assert parse_duration_ms("0.05", default_unit="s") == 50
    assert parse_duration_ms("2", default_unit="d") == 2 * DAY


@pytest.mark.parametrize("text, expected", [
    ("2026-11-01", "2026-11-01T00:00:00.000Z"),
    ("2026-11-01T10:00", "2026-11-01T10:00:00.000Z"),
    ("2026-11-01T10:00:00", "2026-11-01T10:00:00.000Z"),
    ("2026-11-01T10:00:00Z", "2026-11-01T10:00:00.000Z"),
    ("2026-11-01t10:00:00z", "2026-11-01T10:00:00.000Z"),
    ("2026-11-01T10:00:00.5Z", "2026-11-01T10:00:00.500Z"),  # refused by fromisoformat on 3.9
    ("2026-11-01T10:00:00,25Z", "2026-11-01T10:00:00.250Z"),
    ("2026-11-01T10:00:00.123456789Z", "2026-11-01T10:00:00.123Z"),  # cut to milliseconds
    ("2026-11-01 10:00:00.123456", "2026-11-01T10:00:00.123Z"),  # SQLite's and Python's str() form
    ("2026-11-01T10:00:00+02:00", "2026-11-01T08:00:00.000Z"),
    ("2026-11-01T10:00:00-0530", "2026-11-01T15:30:00.000Z"),
    ("2026-11-01T10:00+01", "2026-11-01T09:00:00.000Z"),
    ("2026-11-01T00:30:00+01:00", "2026-10-31T23:30:00.000Z"),
    ("2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999Z"),
    ("1970-01-01", "1970-01-01T00:00:00.000Z"),
    ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000Z"),
])
def test_parse_iso_ms_forms(text, expected):
    assert iso(parse_iso_ms(text)) == expected


def test_parse_iso_ms_agrees_with_datetime_where_both_accept():
    import datetime

    for text in ("2026-11-01T10:00:00.5+00:00", "2026-03-29T01:30:00.250-07:00", "2000-02-29T12:00:00+05:45"):
        moment = datetime.datetime.fromisoformat(text)  # these forms mean the same on every Python
        assert parse_iso_ms(text) == round(moment.timestamp() * 1000)


@pytest.mark.parametrize("text, message", [
    ("last tuesday", "expected ISO 8601"), ("2026-11-01T", "expected ISO 8601"),
    ("20261101", "expected ISO 8601"), ("2026-11-01T10", "expected ISO 8601"),
    ("2026-11-01T10:00:00.Z", "expected ISO 8601"), ("2026-11-01T10:00:00+2", "expected ISO 8601"),
    ("2026-11-01T10:00:00 UTC", "expected ISO 8601"), ("", "expected ISO 8601"),
    ("2026-13-01", "the month must be 01 to 12"), ("2026-00-10", "the month must be 01 to 12"),
    ("2026-02-29", "2026-02 has days 01 to 28"), ("2026-04-31", "2026-04 has days 01 to 30"),
    ("2026-11-00", "2026-11 has days 01 to 30"), ("0000-01-01", "the year must be 0001 or later"),
    ("2026-11-01T24:00", "the hour must be at most 23"), ("2026-11-01T10:60", "the minute must be at most 59"),
    ("2026-11-01T10:00:60", "the second must be at most 59"),
    ("2026-11-01T10:00+24:00", "the offset hour must be at most 23"),
    ("2026-11-01T10:00+01:60", "the offset minute must be at most 59"),
])
def test_parse_iso_ms_refusals(text, message):
    with pytest.raises(UsageError, match="^" + re.escape(f"Invalid date {text!r}: {message}")):
        parse_iso_ms(text)


def test_lease_ttl_and_since_take_combined_durations(repo, cli):
    granted = cli(repo, "lease", "acquire", "a.txt", "--agent", "alice", "--ttl", "1h30m", "--json").json["granted"][0]
    assert parse_iso_ms(granted["expires_at"]) - parse_iso_ms(granted["created_at"]) == 5_400_000
    renewed = cli(repo, "lease", "renew", "a.txt", "--agent", "alice", "--ttl", "1.5h", "--json")
    assert renewed.code == 0, renewed.err
    from test_lease_cli import _store

    store = _store(repo)
    try:
        with store.write() as now:
            for name, age in (("old", 2 * DAY), ("recent", DAY)):  # 1d12h lies between them
                store.conflicts.add({"id": name, "agent": "bob", "path": "a.txt", "severity": "high",
                                     "holder": "alice", "lease_id": granted["id"], "lease_expires_at": now,
                                     "operation": "commit", "status": "blocked", "override_reason": None,
                                     "created_at": now - age})
    finally:
        store.close()
    recent = cli(repo, "lease", "conflicts", "--since", "1d12h", "--json").json["conflicts"]
    assert [c["id"] for c in recent] == ["recent"]


@pytest.mark.parametrize("args, message", [
    (("lease", "acquire", "b.txt", "--agent", "a", "--ttl", "30m1h"), "Invalid --ttl '30m1h': combine units"),
    (("lease", "acquire", "b.txt", "--agent", "a", "--ttl", "1w"), "Invalid --ttl '1w': expected a number"),
    (("lease", "conflicts", "--since", "0s"), "Invalid --since '0s': it must be longer than zero"),
    (("db", "gc", "--older-than", "1d1d"), "Invalid --older-than '1d1d': combine units"),
    (("escalate", "monitor", "--interval", "soon"), "Invalid --interval 'soon': expected a number"),
    (("audit", "validate", "--from", "2026-02-30"), "Invalid date '2026-02-30': 2026-02 has days 01 to 28"),
    (("audit", "validate", "--from", "2026-11-01T10:00:00.5"), None),
    (("audit", "validate", "--from", "2026-11-01T10:00:00.5Z"), None),
])
def test_duration_and_date_options_exit_2_with_the_message(repo, cli, args, message):
    assert cli(repo, "lease", "acquire", "x/", "--agent", "a").code == 0  # a database to query
    result = cli(repo, *args)
    if message is None:  # accepted, on every Python
        assert result.code == 0, result.err
        return
    assert result.code == 2, (result.out, result.err)
    assert message in result.err and "Traceback" not in result.err and "internal error" not in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not cli(repo, "lease", "list", "--json", "--agent", "a").json["leases"][1:]  # nothing was written


def test_lease_conflicts_since_too_long_exit_2(repo, cli):
    assert cli(repo, "lease", "acquire", "x/", "--agent", "a").code == 0  # a database to query
    for since in ("99999999999999999999999d", "36501d"):
        result = cli(repo, "lease", "conflicts", "--since", since)
        assert result.code == 2, result.err
        assert f"Invalid --since '{since}': it must be at most 36500d" in result.err
        assert "internal error" not in result.err
    assert cli(repo, "lease", "conflicts", "--since", "36500d").code == 0


def test_after_states_a_span_in_words_against_the_message_rounded_beside_an_exact_time():
    from maf_hooks.timeutil import after, span

    now = 1_764_600_000_000
    assert after(now + 45 * 60_000, now) == "45 minutes after this message"
    assert after(now + 45 * 60_000 - 150, now) == "45 minutes after this message"  # met 0.15 s after taking it
    assert after(now + 2 * 3_600_000 + 5 * 60_000, now) == "2 hours 5 minutes after this message"
    assert after(now + 86_400_000 + 3_600_000, now) == "1 day 1 hour after this message"
    assert after(now + 30_000, now) == "30 seconds after this message"
    assert after(now - 90_000, now) == "2 minutes before this message"
    assert span(45 * 60_000 - 150) == "44m 59s"  # the countdown of a terminal report is unchanged
