"""Durations and times: `timeutil.parse_duration_ms` and the options that use it."""

from __future__ import annotations

import pytest

from maf_hooks.errors import UsageError
from maf_hooks.timeutil import MAX_DURATION_MS, parse_duration_ms

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


@pytest.mark.parametrize("text", ["0", "0d", "-1d", "1.5h", "1w", "", "d"])
def test_parse_duration_ms_refuses_zero_and_malformed(text):
    with pytest.raises(UsageError, match="Invalid duration"):
        parse_duration_ms(text)


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
