"""Per-agent permissions: ``[agents.<id>]`` over ``[agents.default]`` over allow-everything.

Every refusal exits 1, names the rule and the table that decided, and leaves the database as it
was. The hook cases run the real hook decision in-process (as tests/test_hooks.py does).
"""

from __future__ import annotations

import io
import os
import sqlite3
import textwrap

import pytest
from conftest import commit_file, db_snapshot, git

from maf_hooks import config, permissions
from maf_hooks.hooks import run_hook


def configure(repo, text: str) -> None:
    (repo / "maf.toml").write_text(textwrap.dedent(text))


def db_file(repo):
    return repo / ".git" / "maf" / "runtime.db"


def ok(result):
    assert result.code == 0, result.err
    return result


def refused(result, rule: str, table: str):
    """Exit 1 with one message naming the rule and the [table] that decided it."""
    assert result.code == 1, (result.code, result.out, result.err)
    assert rule in result.err and f"[{table}]" in result.err, result.err
    assert "Traceback" not in result.err
    return result


def stage(repo, name, content="changed\n"):
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    git("add", "--", name, cwd=repo)


def hook(repo, operation="commit", env=None):
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
    stream = io.StringIO()
    code = run_hook(operation, environ=environ, cwd=str(repo), stream=stream)
    return code, stream.getvalue()


def rows(repo, sql):
    conn = sqlite3.connect(db_file(repo))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- can_acquire_lease --------------------------------------------------------------------------

def test_acquire_can_acquire_lease_false_refused(repo, cli):
    configure(repo, """
        [agents.bob]
        can_acquire_lease = false
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    before = db_snapshot(db_file(repo))
    result = refused(cli(repo, "lease", "acquire", "docs/", "--agent", "bob"), "can_acquire_lease", "agents.bob")
    assert "bob may not acquire leases" in result.err
    # the identity may come from MAF_AGENT_ID as well as from --agent
    refused(cli(repo, "lease", "acquire", "docs/", env={"MAF_AGENT_ID": "bob"}), "can_acquire_lease", "agents.bob")
    refused(cli(repo, "lease", "acquire", "docs/", "--agent", "bob", "--json"), "can_acquire_lease", "agents.bob")
    assert db_snapshot(db_file(repo)) == before


# --- max_lease_timeout_minutes ------------------------------------------------------------------

@pytest.mark.parametrize("length, minutes", [(["--ttl", "2h"], "120"), (["--timeout", "61"], "61"),
                                             (["--ttl", "3601s"], "60.0167")])
def test_acquire_max_lease_timeout_minutes_refused(repo, cli, length, minutes):
    configure(repo, """
        [agents.default]
        max_lease_timeout_minutes = 60
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    before = db_snapshot(db_file(repo))
    result = refused(cli(repo, "lease", "acquire", "docs/", "--agent", "bob", *length),
                     "max_lease_timeout_minutes = 60", "agents.default")
    assert f"bob may not lease for {minutes} minutes" in result.err
    assert db_snapshot(db_file(repo)) == before


def test_acquire_max_lease_timeout_minutes_boundary_allowed(repo, cli):
    configure(repo, """
        [agents.default]
        max_lease_timeout_minutes = 60
    """)
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "bob", "--ttl", "1h"))
    ok(cli(repo, "lease", "acquire", "b/", "--agent", "bob", "--timeout", "60"))


def test_acquire_max_lease_timeout_minutes_applies_to_default_length(repo, cli):
    # no --ttl: the reservation default of 30 minutes is what is asked for
    configure(repo, """
        [agents.bob]
        max_lease_timeout_minutes = 10
    """)
    refused(cli(repo, "lease", "acquire", "a/", "--agent", "bob"), "max_lease_timeout_minutes = 10", "agents.bob")
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "bob", "--ttl", "10m"))
    assert rows(repo, "SELECT agent_id, kind FROM events") == [("bob", "acquire")]


def test_renew_max_lease_timeout_minutes_refused(repo, cli):
    configure(repo, """
        [agents.default]
        max_lease_timeout_minutes = 60
    """)
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "bob", "--ttl", "30m"))
    before = db_snapshot(db_file(repo))
    result = cli(repo, "lease", "renew", "a/", "--agent", "bob", "--ttl", "2h")
    refused(result, "max_lease_timeout_minutes = 60", "agents.default")
    assert db_snapshot(db_file(repo)) == before


# --- can_force ----------------------------------------------------------------------------------

def test_acquire_force_can_force_false_refused(repo, cli):
    configure(repo, """
        [agents.default]
        can_force = false
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    before = db_snapshot(db_file(repo))
    result = refused(cli(repo, "lease", "acquire", "src/", "--agent", "bob", "--force"), "can_force", "agents.default")
    assert "take over another agent's lease (--force)" in result.err
    assert db_snapshot(db_file(repo)) == before
    # without --force the rule is not involved: an ordinary conflict (exit 1, nothing leased)
    plain = cli(repo, "lease", "acquire", "src/", "--agent", "bob")
    assert plain.code == 1 and "can_force" not in plain.err and "conflict" in plain.err


def test_release_force_can_force_false_refused(repo, cli):
    configure(repo, """
        [agents.bob]
        can_force = false
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    before = db_snapshot(db_file(repo))
    result = refused(cli(repo, "lease", "release", "src/", "--agent", "bob", "--force"), "can_force", "agents.bob")
    assert "release another agent's lease (--force)" in result.err
    assert db_snapshot(db_file(repo)) == before
    listing = cli(repo, "lease", "list", "--json").json["leases"]
    assert [(lease["agent"], lease["pattern"]) for lease in listing] == [("alice", "src/")]


# --- can_escalate and allowed_targets ------------------------------------------------------------

ESCALATE = ("escalate", "--error-context", "tests keep failing", "--bead-id", "bd-1")


def test_escalate_can_escalate_false_refused(repo, cli):
    configure(repo, """
        [agents.bob]
        can_escalate = false
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    before = db_snapshot(db_file(repo))
    result = refused(cli(repo, *ESCALATE, "--agent-id", "bob", "--target", "lead"), "can_escalate", "agents.bob")
    assert "bob may not escalate" in result.err
    # a dry run is refused the same way
    refused(cli(repo, *ESCALATE, "--agent-id", "bob", "--target", "lead", "--dry-run"), "can_escalate", "agents.bob")
    assert db_snapshot(db_file(repo)) == before
    assert not (repo / ".agent-mail").exists()


def test_escalate_allowed_targets_refused(repo, cli):
    configure(repo, """
        [agents.default]
        allowed_targets = ["lead", "on-call"]
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    before = db_snapshot(db_file(repo))
    result = refused(cli(repo, *ESCALATE, "--agent-id", "bob", "--target", "cto"), "allowed_targets", "agents.default")
    assert "bob may not escalate to 'cto'" in result.err and "'lead', 'on-call'" in result.err
    assert db_snapshot(db_file(repo)) == before
    assert not (repo / ".agent-mail").exists()
    allowed = ok(cli(repo, *ESCALATE, "--agent-id", "bob", "--target", "on-call", "--json"))
    assert allowed.json["success"] is True and (repo / ".agent-mail" / "on-call").is_dir()


# --- can_override in the hooks --------------------------------------------------------------------

@pytest.mark.parametrize("operation", ["commit", "push"])
def test_hook_can_override_false_refused(repo, cli, operation):
    configure(repo, """
        [agents.bob]
        can_override = false
    """)
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    override = {"MAF_AGENT_ID": "bob", "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "prod is down"}
    if operation == "commit":
        stage(repo, "held/x.txt")
    else:
        base = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
        commit_file(repo, "held/x.txt")
        head = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
        override.update(PRE_COMMIT_FROM_REF=base, PRE_COMMIT_TO_REF=head)
    code, err = hook(repo, operation, env=override)
    assert code == 1
    assert "bob may not use MAF_RESERVATION_OVERRIDE: can_override = false in [agents.bob]." in err
    assert "is refused" in err and "OVERRIDDEN" not in err
    # the attempt is recorded as an ordinary blocked conflict: no override, no override event
    assert rows(repo, "SELECT agent_id, file_path, status, override_reason FROM reservation_conflicts") == [
        ("bob", "held/x.txt", "blocked", None)]
    assert rows(repo, "SELECT COUNT(*) FROM events WHERE kind = 'override'") == [(0,)]


def test_hook_can_override_default_table_and_own_table(repo, cli):
    configure(repo, """
        [agents.default]
        can_override = false

        [agents.carol]
        can_override = true
    """)
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    stage(repo, "held/x.txt")
    override = {"MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "hotfix"}
    code, err = hook(repo, env={**override, "MAF_AGENT_ID": "bob"})
    assert code == 1 and "can_override = false in [agents.default]" in err
    code, err = hook(repo, env={**override, "MAF_AGENT_ID": "carol"})
    assert code == 0 and "OVERRIDDEN" in err
    assert rows(repo, "SELECT agent_id, status FROM reservation_conflicts ORDER BY created_at, agent_id") == [
        ("bob", "blocked"), ("carol", "overridden")]


def test_hook_can_override_false_refused_when_check_cannot_run(repo, cli):
    configure(repo, """
        [agents.bob]
        can_override = false
    """)
    db_file(repo).parent.mkdir(parents=True)
    db_file(repo).write_bytes(b"garbage" * 500)
    stage(repo, "held/x.txt")
    code, err = hook(repo, env={"MAF_AGENT_ID": "bob", "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "x"})
    assert code == 1 and "can_override" in err


def test_hook_can_override_false_without_override_is_ordinary(repo, cli):
    configure(repo, """
        [agents.bob]
        can_override = false
    """)
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    stage(repo, "free.txt")
    assert hook(repo, env={"MAF_AGENT_ID": "bob", "MAF_RESERVATION_OVERRIDE": "1"}) == (0, "")
    stage(repo, "held/x.txt")
    code, err = hook(repo, env={"MAF_AGENT_ID": "bob"})
    assert code == 1 and "can_override" not in err


# --- resolution order -------------------------------------------------------------------------------

def test_default_table_applies_to_agent_without_own_table(repo, cli):
    configure(repo, """
        [agents.default]
        can_acquire_lease = false

        [agents.alice]
        can_acquire_lease = true
    """)
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "alice"))
    before = db_snapshot(db_file(repo))
    result = refused(cli(repo, "lease", "acquire", "e/", "--agent", "erin"), "can_acquire_lease", "agents.default")
    assert "erin may not acquire leases" in result.err
    assert db_snapshot(db_file(repo)) == before


def test_own_table_overrides_default(repo, cli):
    configure(repo, """
        [agents.default]
        can_force = false
        can_escalate = false
        max_lease_timeout_minutes = 30

        [agents.alice]
        can_force = true
        can_escalate = true
        max_lease_timeout_minutes = 90
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "bob"))
    taken = ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice", "--force", "--ttl", "90m", "--json"))
    assert [lease["agent"] for lease in taken.json["taken_over"]] == ["bob"]
    ok(cli(repo, *ESCALATE, "--agent-id", "alice", "--target", "lead"))
    refused(cli(repo, *ESCALATE, "--agent-id", "bob", "--target", "lead"), "can_escalate", "agents.default")
    refused(cli(repo, "lease", "acquire", "b/", "--agent", "bob", "--ttl", "90m"),
            "max_lease_timeout_minutes = 30", "agents.default")


def test_own_table_inherits_unset_keys_from_default(repo, cli):
    configure(repo, """
        [agents.default]
        can_force = false

        [agents.bob]
        can_escalate = true
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    result = cli(repo, "lease", "acquire", "src/", "--agent", "bob", "--force")
    assert result.code == 1 and "can_force = false" in result.err


def test_inherited_rule_refusal_names_default_table(repo, cli):
    configure(repo, """
        [agents.default]
        can_force = false

        [agents.bob]
        can_escalate = true
    """)
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    refused(cli(repo, "lease", "acquire", "src/", "--agent", "bob", "--force"), "can_force", "agents.default")


def test_for_agent_resolution_order(repo):
    configure(repo, """
        [agents.default]
        can_force = false
        allowed_targets = ["lead"]

        [agents.bob]
        can_force = true
        max_lease_timeout_minutes = 5
    """)
    cfg = config.load(str(repo), environ={})
    bob = permissions.for_agent(cfg, "bob")
    assert bob.source("can_force") == "agents.bob" and bob.allows("can_force") and bob.allows("can_override")
    assert bob.source("allowed_targets") == "agents.default"
    assert bob.settings["allowed_targets"] == ["lead"] and bob.settings["max_lease_timeout_minutes"] == 5
    erin = permissions.for_agent(cfg, "erin")
    assert erin.source("can_force") == "agents.default" and not erin.allows("can_force")
    assert erin.refusal("can_force", "force") == "erin may not force: can_force = false in [agents.default]."
    assert permissions.for_agent(cfg, None).source("can_force") == "agents.default"


# --- no [agents] table ------------------------------------------------------------------------------

def test_no_agents_table_everything_allowed(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "bob", "--force", "--ttl", "120m"))
    ok(cli(repo, "lease", "release", "src/", "--agent", "carol", "--force"))
    ok(cli(repo, *ESCALATE, "--agent-id", "bob", "--target", "anyone-at-all"))
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    stage(repo, "held/x.txt")
    code, err = hook(repo, env={"MAF_AGENT_ID": "bob", "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "x"})
    assert code == 0 and "OVERRIDDEN" in err
    assert permissions.for_agent(config.load(str(repo), environ={}), "bob").sources == {}


def test_no_agents_table_reservation_limits_still_apply(repo, cli):
    configure(repo, """
        [reservation]
        max_timeout_minutes = 60
        allow_override = false
    """)
    result = cli(repo, "lease", "acquire", "a/", "--agent", "bob", "--ttl", "2h")
    assert result.code == 2 and "reservation.max_timeout_minutes" in result.err
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    stage(repo, "held/x.txt")
    code, err = hook(repo, env={"MAF_AGENT_ID": "bob", "MAF_RESERVATION_OVERRIDE": "1"})
    assert code == 1 and "allow_override = false" in err


# --- configuration errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("table, message", [
    ('[agents."bad/id"]\ncan_force = false\n', "agents.bad/id: not a valid agent id"),
    ('[agents."-x"]\ncan_force = false\n', "agents.-x: not a valid agent id"),
    ("[agents.bob]\ncan_force = 'no'\n", "agents.bob.can_force: expected true or false"),
    ("[agents.bob]\ncan_fly = true\n", "agents.bob.can_fly: unknown key"),
    ("[agents.bob]\nmax_lease_timeout_minutes = 0\n", "agents.bob.max_lease_timeout_minutes: expected at least 1"),
    ("[agents.bob]\nallowed_targets = 'lead'\n", "agents.bob.allowed_targets: expected a list of strings"),
])
def test_config_invalid_agents_table_exit_2(repo, cli, table, message):
    (repo / "maf.toml").write_text(table)
    result = cli(repo, "lease", "acquire", "a/", "--agent", "alice")
    assert result.code == 2 and message in result.err, result.err
    assert not db_file(repo).exists()
