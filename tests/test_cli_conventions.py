"""Command-line conventions through the real console scripts: options before the subcommand,
--json on every command that prints a result, shell completion by click's environment-variable
protocol, and an example and the exit codes in every command's --help."""

from __future__ import annotations

import json
import os
import subprocess

import click
import pytest
from conftest import BIN

from maf_hooks.cli.main import maf
from maf_hooks.cli.preflight import preflight_command


def run(repo, *args, env=None, prog="maf"):
    return subprocess.run([str(BIN / prog), *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def complete(repo, prog, line):
    """What click's bash completion offers for ``line`` (the word after its last space)."""
    words = line.split(" ")
    var = "_" + prog.upper().replace("-", "_") + "_COMPLETE"
    proc = run(repo, env={var: "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}, prog=prog)
    assert proc.returncode == 0, proc.stderr
    return [item.split(",", 1)[1] for item in proc.stdout.splitlines() if item]


def test_agent_before_the_subcommand_is_the_acting_agent(repo):
    taken = run(repo, "--agent", "alice", "acquire", "a.txt", "--json", prog="maf-lease")
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["granted"][0]["agent"] == "alice"
    assert run(repo, "--agent", "bob", "lease", "acquire", "b.txt").returncode == 0
    # a subcommand's own --agent comes first
    assert run(repo, "--agent", "bob", "acquire", "c.txt", "--agent", "carol", prog="maf-lease").returncode == 0
    mine = json.loads(run(repo, "--agent", "alice", "list", "--mine", "--json", prog="maf-lease").stdout)
    assert [lease["pattern"] for lease in mine["leases"]] == ["a.txt"]
    # list --agent keeps filtering by holder, whoever acts
    bobs = json.loads(run(repo, "--agent", "alice", "list", "--agent", "bob", "--json", prog="maf-lease").stdout)
    assert [lease["pattern"] for lease in bobs["leases"]] == ["b.txt"]
    refused = run(repo, "--agent", "bob", "acquire", "a.txt", prog="maf-lease")
    assert refused.returncode == 1 and "alice" in refused.stderr
    assert run(repo, "--agent", "carol", "lease", "release", "--all").returncode == 0
    left = json.loads(run(repo, "lease", "list", "--json").stdout)["leases"]
    assert sorted(lease["agent"] for lease in left) == ["alice", "bob"]
    bad = run(repo, "--agent", "../x", "acquire", "d.txt", prog="maf-lease")
    assert bad.returncode == 2 and "Invalid --agent value '../x'" in bad.stderr and "Traceback" not in bad.stderr


def test_json_before_the_subcommand(repo):
    """``--json`` before the subcommand is the subcommand's own --json, at every group level."""
    taken = run(repo, "--json", "--agent", "alice", "acquire", "a.txt", prog="maf-lease")
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["granted"][0]["pattern"] == "a.txt"
    for args in (("--json", "lease", "list"), ("lease", "--json", "list"), ("--json", "audit", "validate"),
                 ("audit", "--json", "validate"), ("--json", "mail", "list", "--agent", "alice"),
                 ("--json", "escalate", "list"), ("escalate", "--json", "list"), ("--json", "db", "path")):
        proc = run(repo, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert json.loads(proc.stdout)["schema"].startswith("maf."), args
    # a refusal under a group --json is still one JSON document on stdout
    refused = run(repo, "--json", "--agent", "bob", "acquire", "a.txt", prog="maf-lease")
    assert refused.returncode == 1 and json.loads(refused.stdout)["conflicts"][0]["lease"]["agent"] == "alice"
    # without --json anywhere the output stays human
    assert not run(repo, "lease", "list").stdout.startswith("{")


def test_a_refusal_is_a_json_document_only_when_json_was_asked_for(repo):
    """The refusal document follows the --json flag as parsed, wherever it stands, and not an
    argument or option value that happens to read "--json"."""
    for args in (("release", "nothing.txt", "--json"), ("--json", "release", "nothing.txt")):
        refused = run(repo, *args, prog="maf-lease")
        assert refused.returncode == 1 and json.loads(refused.stdout)["schema"] == "maf.error/1", args
    for args in (("release", "--", "--json"), ("acquire", "a.txt", "--reason", "--json", "--agent", "x")):
        if args[0] == "acquire":
            assert run(repo, "acquire", "a.txt", "--agent", "alice", prog="maf-lease").returncode == 0
        refused = run(repo, *args, prog="maf-lease")
        assert refused.returncode == 1 and refused.stdout == "" and refused.stderr, (args, refused.stdout)


def test_config_validate_json(repo):
    valid = run(repo, "config", "validate", "--json")
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout) == {"schema": "maf.config.validate/1", "valid": True, "file": None, "env": None,
                                        "error": None, "problems": []}
    (repo / "maf.toml").write_text('[reservation]\nmax_timeout_minutes = "x"\nbogus = 1\n')
    invalid = run(repo, "config", "validate", "--json")
    assert invalid.returncode == 2
    document = json.loads(invalid.stdout)
    assert document["valid"] is False and document["file"] == str(repo / "maf.toml")
    assert document["schema"] == "maf.config.validate/1"
    assert [problem.split(":")[0] for problem in document["problems"]] == ["reservation.max_timeout_minutes",
                                                                          "reservation.bogus"]
    plain = run(repo, "config", "validate")
    assert plain.returncode == 2 and "reservation.bogus" in plain.stderr and plain.stdout == ""


def commands(command: click.Command, path: tuple[str, ...]):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from commands(command.get_command(ctx, name), (*path, name))


# commands that print no result of their own: a protocol (the agent client's JSON), a server on
# stdio, and `escalate monitor` (a live table; its --json is another change's)
NO_RESULT = {("maf", "agent-hook"), ("maf", "mcp"), ("maf", "escalate", "monitor")}


def test_every_command_that_prints_a_result_has_json():
    lacking = [" ".join(path) for path, command in commands(maf, ("maf",))
               if not isinstance(command, click.Group) or command.invoke_without_command
               if path not in NO_RESULT and "--json" not in [o for p in command.params for o in p.opts]]
    assert lacking == []


EVERY = [path for path, _ in commands(maf, ("maf",))] + [("maf-lease",), ("maf-lease", "acquire"),
                                                        ("maf-lease", "list"), ("maf-preflight",),
                                                        ("maf-preflight", "history")]


@pytest.mark.parametrize("path", EVERY, ids=" ".join)
def test_every_help_has_an_example_and_the_exit_codes(tmp_path, path):
    shown = run(tmp_path, *path[1:], "--help", prog=path[0])
    assert shown.returncode == 0, shown.stderr
    assert "Example" in shown.stdout and "Exit codes:" in shown.stdout, shown.stdout
    if path[1:] != ("agent-hook",):
        codes = shown.stdout.split("Exit codes:")[1]
        assert [line.split()[0] for line in codes.strip().splitlines()][-2:] == ["2", "3"], codes


def test_the_walk_covers_every_entry_point():
    assert len(EVERY) > 40 and ("maf", "lease", "acquire") in EVERY and ("maf", "db", "restore") in EVERY
    assert set(preflight_command.commands) == {"history"}


def test_completion_of_commands_and_lease_ids(repo):
    assert complete(repo, "maf", "maf le") == ["lease"]
    assert complete(repo, "maf", "maf lease release --id ") == []  # no store yet: nothing, no error
    assert not (repo / ".git" / "maf" / "runtime.db").exists()  # and nothing created
    ids = [json.loads(run(repo, "--agent", agent, "acquire", name, "--json", prog="maf-lease").stdout)
           ["granted"][0]["id"] for agent, name in (("alice", "a.txt"), ("bob", "b.txt"))]
    assert sorted(complete(repo, "maf-lease", "maf-lease release --id ")) == sorted(ids)
    assert complete(repo, "maf", f"maf lease release --id {ids[1][:-3]}") == [ids[1]]
    released = json.loads(run(repo, "--agent", "bob", "release", "--all", "--json", prog="maf-lease").stdout)
    assert [lease["id"] for lease in released["released"]] == [ids[1]]
    assert complete(repo, "maf", "maf lease release --id ") == [ids[0]]  # active leases only


def test_completion_of_mail_and_escalation_ids(repo):
    sent = run(repo, "--agent", "alice", "mail", "send", "--to", "bob", "--subject", "hi", "--body", "x", "--json")
    assert sent.returncode == 0, sent.stderr
    mail_id = json.loads(sent.stdout)["id"]
    assert complete(repo, "maf", "maf --agent bob mail read ") == [mail_id]
    assert complete(repo, "maf", "maf mail read --agent bob ") == [mail_id]
    assert complete(repo, "maf", "maf mail read --agent carol ") == []
    assert complete(repo, "maf", "maf escalate ack ") == []
    opened = run(repo, "escalate", "--agent-id", "codex-1", "--error-context", "stuck", "--bead-id", "bd-1",
                 "--target", "senior", "--json")
    assert opened.returncode == 0, opened.stderr
    escalation_id = json.loads(opened.stdout)["escalationId"]
    for command in ("ack", "resolve", "show"):
        assert complete(repo, "maf", f"maf escalate {command} ") == [escalation_id]


def test_completion_never_fails_on_a_broken_configuration(repo):
    assert run(repo, "--agent", "alice", "acquire", "a.txt", prog="maf-lease").returncode == 0
    (repo / "maf.toml").write_text("[storage\n")  # not TOML
    assert complete(repo, "maf", "maf lease release --id ") == []
    assert complete(repo, "maf", "maf escalate show ") == []


def test_completion_script_is_clicks(tmp_path):
    for prog in ("maf", "maf-lease", "maf-preflight"):
        var = "_" + prog.upper().replace("-", "_") + "_COMPLETE"
        script = run(tmp_path, env={var: "bash_source"}, prog=prog)
        assert script.returncode == 0 and f"{var}=bash_complete" in script.stdout
        assert run(tmp_path, env={var: "zsh_source"}, prog=prog).stdout.startswith("#compdef")
