"""People's output through rich: tables (terminal width, wide characters, piped plain text),
NO_COLOR, `maf config show`, `maf escalate monitor` (live and --json), the preflight's
running line. Terminals are real pseudo-terminals (tests/terminal.py)."""

from __future__ import annotations

import json
import subprocess
import unicodedata

import pytest
from conftest import BIN
from terminal import colours, plain, run_in_terminal
from test_escalation import FIXTURE

WIDE = "src/一二三四五六七八九十/模块.py"
LONG = "docs/a-very-long-path/that/goes/on/and/on/for/a/while/really/file.md"


def width(text: str) -> int:
    """Terminal cells, by the Unicode East Asian Width property (not by rich)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def leased(repo, cli):
    for pattern, agent in ((WIDE, "zhang"), (LONG, "alice"), ("a.txt", "bob")):
        assert cli(repo, "lease", "acquire", pattern, "--agent", agent, "--reason", "修正 the thing").code == 0


def test_table_piped_aligns_wide_characters_by_cells(repo, cli):
    leased(repo, cli)
    lines = cli(repo, "lease", "list").out.splitlines()
    header = lines[0]
    column = width(header[:header.index("EXPIRES")])
    for line in lines[1:]:
        start = line.index("in ")  # each lease's EXPIRES cell
        assert width(line[:start]) == column, lines
    assert "\x1b" not in "\n".join(lines) and all(line == line.rstrip() for line in lines)


def test_table_on_a_terminal_fits_its_width_and_folds_long_cells(repo, cli):
    leased(repo, cli)
    code, out = run_in_terminal([str(BIN / "maf-lease"), "list"], repo, {}, columns=60)
    assert code == 0, out
    lines = plain(out).rstrip("\n").splitlines()
    assert max(width(line) for line in lines) <= 60, lines
    assert len(lines) > 4  # folded: a lease took more than one line
    text = plain(out)
    for pattern in (LONG, WIDE):  # nothing was cut off: every character is there, in order
        rest = iter(text)
        assert all(char in rest for char in pattern), pattern
    assert "…" not in text
    for lease in cli(repo, "lease", "list", "--json").json["leases"]:
        assert lease["id"] in text  # an id is never split across lines: copied from the table, it is right
    code, wide_out = run_in_terminal([str(BIN / "maf-lease"), "list"], repo, {}, columns=200)
    assert LONG in plain(wide_out) and WIDE in plain(wide_out)  # room enough: one line each


@pytest.mark.parametrize("no_color, coloured", [(None, True), ("1", False), ("", False)])
def test_colour_only_on_a_terminal_and_never_with_no_color(repo, no_color, coloured):
    env = {} if no_color is None else {"NO_COLOR": no_color}
    code, out = run_in_terminal([str(BIN / "maf-preflight"), "--only", "python"], repo, env)
    assert "preflight passed" in plain(out), out
    assert bool(colours(out)) is coloured, out
    piped = subprocess.run([str(BIN / "maf-preflight"), "--only", "python"], cwd=repo, capture_output=True,
                           text=True, env={**subprocess.os.environ, **env})
    assert "preflight passed" in piped.stdout and "\x1b" not in piped.stdout + piped.stderr


def test_preflight_running_line_is_a_transient_status_on_a_terminal(repo):
    (repo / "maf.toml").write_text(
        '[[preflight.smoke_tests]]\nid = "nap"\nname = "a short nap"\ntype = "command"\n'
        'run = ["python3", "-c", "import time; time.sleep(0.5)"]\ntimeout_seconds = 60\n')
    code, out = run_in_terminal([str(BIN / "maf-preflight"), "--only", "nap"], repo, {"NO_COLOR": "1"})
    assert code == 0, out
    assert "running nap (timeout 60 s, attempt 1 of 4) ..." in plain(out)
    assert "\x1b[?25l" in out and "\x1b[?25h" in out  # rich hid the cursor for the status, then showed it
    assert "maf-preflight: running" not in out  # the CI-log form is for pipes
    piped = subprocess.run([str(BIN / "maf-preflight"), "--only", "nap"], cwd=repo, capture_output=True, text=True)
    assert "maf-preflight: running nap (timeout 60 s, attempt 1 of 4) ..." in piped.stderr and "\x1b" not in piped.stderr


SMOKE = ('[[preflight.smoke_tests]]\nid = "unit"\nname = "unit tests"\ntype = "command"\n'
         'run = ["python", "-m", "pytest", "-q", "tests/unit", "--maxfail", "1", "--durations", "10"]\n'
         'timeout_seconds = 120\n[reservation]\nhook_mode = "warn"\n')


def test_config_show_writes_values_as_toml_value_last(repo, cli):
    (repo / "maf.toml").write_text(SMOKE)
    lines = cli(repo, "config", "show").out.splitlines()
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in lines[2:]}
    assert lines[1].split() == ["KEY", "SOURCE", "VALUE"]
    assert rows["reservation.hook_mode"] == ["file:maf.toml", '"warn"']
    assert rows["reservation.conflict_strategy"] == ["default", '"block"']
    assert rows["reservation.allow_override"] == ["default", "true"]
    assert rows["storage.file_mode"] == ["default", '"0600"']
    assert rows["storage.url"] == ["default"]  # unset: TOML has no null
    smoke = rows["preflight.smoke_tests"][1]
    assert smoke.startswith('[{id = "unit", name = "unit tests", type = "command", run = ["python", "-m"')
    assert "True" not in "\n".join(lines) and "'" not in "\n".join(lines)
    # no line is padded for the long value: every other line is as long as its own cells
    assert all(line == line.rstrip() for line in lines)
    assert max(len(line) for line in lines[1:] if "smoke_tests" not in line) < 100


def test_config_show_on_a_terminal_folds_long_values(repo):
    (repo / "maf.toml").write_text(SMOKE)
    code, out = run_in_terminal([str(BIN / "maf"), "config", "show"], repo, {}, columns=90)
    assert code == 0, out
    lines = plain(out).rstrip("\n").splitlines()[1:]  # under the "# file: ..." heading (the terminal wraps it)
    assert max(width(line) for line in lines) <= 90
    assert '"--durations",' in plain(out)  # the long value is all there, folded


def test_monitor_json_is_one_document_a_line(repo, cli):
    (repo / "maf.toml").write_text(FIXTURE.read_text())
    opened = cli(repo, "escalate", "--agent-id", "codex-1", "--error-context", "x", "--bead-id", "b",
                 "--target", "codex-senior", "--json").json["escalationId"]
    result = cli(repo, "escalate", "monitor", "--json", "--count", "2", "--interval", "10ms")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 2
    for line in lines:
        document = json.loads(line)
        assert document["schema"] == "maf.escalate.monitor/1"
        assert [r["escalation_id"] for r in document["open"]] == [opened]
        assert document["open"][0]["created_at"].endswith("Z") and document["changes"] == []


def test_monitor_redraws_in_place_on_a_terminal(repo, cli):
    (repo / "maf.toml").write_text(FIXTURE.read_text())
    cli(repo, "escalate", "--agent-id", "codex-1", "--error-context", "x", "--bead-id", "b", "--target", "codex-senior")
    code, out = run_in_terminal([str(BIN / "maf"), "escalate", "monitor", "--count", "2", "--interval", "10ms"],
                                repo, {}, columns=100)
    assert code == 0, out
    drawings = out.split("maf escalate monitor —")[1:]  # each tick's, and the last again when Live stops
    assert len(drawings) >= 2 and all("codex-senior" in drawing for drawing in drawings)
    assert "\x1b[1A" in drawings[0] and "\x1b[2K" in drawings[0]  # rich moved up and erased the first drawing
    assert max(width(line) for line in plain(out).splitlines()) <= 100
    piped = cli(repo, "escalate", "monitor", "--count", "2", "--interval", "10ms")
    assert piped.out.count("maf escalate monitor —") == 2 and "\x1b" not in piped.out
