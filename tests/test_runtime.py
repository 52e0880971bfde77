"""Runtime modes (`MAF_RUNTIME`, the older `MAF_RUNTIME_MODE`, `storage.runtime`): the precedence
and every refusal through the real `maf` process, the hooks refusing the memory runtime, and a
memory store that lives as long as its process and leaves no file behind."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import BIN

MAF = str(BIN / "maf")
URL = "postgresql://maf@127.0.0.1:1/maf"  # `maf db path` and `maf config show` never connect
RUNTIMES = "sqlite, postgres, memory"


def maf(repo, *args: str, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([MAF, *args], cwd=repo, capture_output=True, text=True, input=stdin, timeout=120,
                          env={**os.environ, **(env or {})})


def where(repo, env: dict | None = None) -> dict:
    done = maf(repo, "db", "path", "--json", env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document.pop("schema") == "maf.db.path/1"
    return document


def refused(repo, env: dict) -> str:
    """`maf db path` under ``env``: exit 2, one message, no traceback, nothing on stdout."""
    done = maf(repo, "db", "path", env=env)
    assert (done.returncode, done.stdout) == (2, ""), done
    assert "Traceback" not in done.stderr
    return " ".join(done.stderr.split())


def test_runtime_unset_is_sqlite_at_the_default_path(repo):
    assert where(repo) == {"runtime": "sqlite", "backend": "sqlite", "exists": False,
                           "path": str(repo / ".git" / "maf" / "runtime.db")}


def test_db_path_and_storage_db_path_choose_the_sqlite_file(repo):
    assert where(repo, {"MAF_DB_PATH": "var/a.db"})["path"] == str(repo / "var" / "a.db")
    (repo / "maf.toml").write_text('[storage]\ndb_path = "var/b.db"\n')
    assert where(repo)["path"] == str(repo / "var" / "b.db")
    assert where(repo, {"MAF_RUNTIME": "sqlite"}) == {"runtime": "sqlite", "backend": "sqlite", "exists": False,
                                                      "path": str(repo / "var" / "b.db")}


def test_a_url_selects_postgres_without_a_runtime(repo):
    assert where(repo, {"MAF_DB_URL": URL})["runtime"] == "postgres"
    assert where(repo, {"MAF_DB_URL": URL, "MAF_RUNTIME": "postgres"})["path"] == URL
    (repo / "maf.toml").write_text(f'[storage]\nurl = "{URL}"\n')
    assert where(repo, {"MAF_RUNTIME_MODE": "postgres"})["runtime"] == "postgres"


@pytest.mark.parametrize("variable", ["MAF_RUNTIME", "MAF_RUNTIME_MODE"])
def test_memory_wins_over_a_url_and_a_path(repo, variable):
    env = {variable: "Memory", "MAF_DB_URL": URL, "MAF_DB_PATH": "var/a.db"}  # a variable's case does not count
    assert where(repo, env) == {"runtime": "memory", "backend": "sqlite", "path": ":memory:", "exists": False}
    done = maf(repo, "db", "path", env=env)
    assert done.stdout.startswith(":memory: (storage.runtime = memory: private to this process")


def test_postgres_without_a_url_is_refused_with_the_reason(repo):
    message = refused(repo, {"MAF_RUNTIME": "postgres", "MAF_DB_PATH": "var/a.db"})
    assert "storage.runtime is 'postgres' (from MAF_RUNTIME), but no server is named: set MAF_DB_URL" in message


def test_sqlite_with_a_url_is_a_contradiction(repo):
    (repo / "maf.toml").write_text(f'[storage]\nurl = "{URL}"\n')
    message = refused(repo, {"MAF_RUNTIME": "sqlite"})
    assert ("storage.runtime is 'sqlite' (from MAF_RUNTIME), but storage.url (from maf.toml) names a PostgreSQL "
            "server: the two contradict each other") in message


@pytest.mark.parametrize("variable", ["MAF_RUNTIME", "MAF_RUNTIME_MODE"])
def test_json_is_an_export_format_not_a_store(repo, variable):
    message = refused(repo, {variable: "json"})
    assert f"{variable} (for storage.runtime): json is not a live lease store" in message
    assert "`maf db export --format json`" in message and f"Name one runtime: {RUNTIMES}" in message


@pytest.mark.parametrize("value", ["sqlite,json,memory", "sqlite,json", "sqlite, memory"])
@pytest.mark.parametrize("variable", ["MAF_RUNTIME", "MAF_RUNTIME_MODE"])
def test_a_fallback_chain_is_refused(repo, variable, value):
    message = refused(repo, {variable: value})
    assert f"{variable} (for storage.runtime): {value!r} is a fallback chain, which is refused" in message
    assert "a lease store must never fall back silently to a store other agents do not see" in message


def test_an_unknown_runtime_lists_the_valid_ones(repo):
    assert f"expected one of {RUNTIMES}, got 'redis'" in refused(repo, {"MAF_RUNTIME": "redis"})


def test_the_two_variables_must_agree(repo):
    assert where(repo, {"MAF_RUNTIME": "memory", "MAF_RUNTIME_MODE": "MEMORY"})["runtime"] == "memory"
    message = refused(repo, {"MAF_RUNTIME": "memory", "MAF_RUNTIME_MODE": "sqlite"})
    assert ("MAF_RUNTIME and MAF_RUNTIME_MODE (for storage.runtime) disagree (MAF_RUNTIME='memory', "
            "MAF_RUNTIME_MODE='sqlite')") in message


def test_storage_runtime_in_the_file(repo):
    (repo / "maf.toml").write_text('[storage]\nruntime = "memory"\n')
    assert where(repo)["runtime"] == "memory"
    assert where(repo, {"MAF_RUNTIME": "sqlite"})["runtime"] == "sqlite"  # the variable beats the file
    (repo / "maf.toml").write_text('[storage]\nruntime = "sqlite,json"\n')
    assert "storage.runtime: 'sqlite,json' is a fallback chain" in refused(repo, {})


def test_config_show_says_the_effective_runtime(repo):
    assert maf(repo, "config", "show").stdout.splitlines()[0].endswith("; runtime: sqlite")
    shown = json.loads(maf(repo, "config", "show", "--json", env={"MAF_DB_URL": URL}).stdout)
    assert shown["runtime"] == "postgres" and shown["values"]["storage"]["runtime"] is None
    shown = json.loads(maf(repo, "config", "show", "--json", env={"MAF_RUNTIME_MODE": "memory"}).stdout)
    assert shown["runtime"] == "memory" and shown["sources"]["storage.runtime"] == "env:MAF_RUNTIME_MODE"


# --- the hooks refuse it ------------------------------------------------------------------------

def held_and_staged(repo) -> None:
    """bob holds a.txt in the repository's (file) store; a change of a.txt is staged."""
    done = subprocess.run([str(BIN / "maf-lease"), "acquire", "a.txt", "--agent", "bob"], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (repo / "a.txt").write_text("x\n")
    subprocess.run(["git", "add", "a.txt"], cwd=repo, check=True)


def hook(repo, env: dict) -> tuple[int, str]:
    done = subprocess.run([str(BIN / "maf-reservations")], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "MAF_AGENT_ID": "alice", **env}, timeout=120)
    assert done.stdout == ""
    return done.returncode, " ".join(done.stderr.split())


@pytest.mark.parametrize("variable", ["MAF_RUNTIME", "MAF_RUNTIME_MODE"])
def test_the_git_hook_refuses_the_memory_runtime(repo, variable):
    (repo / "a.txt").write_text("x\n")
    subprocess.run(["git", "add", "a.txt"], cwd=repo, check=True)
    assert hook(repo, {}) == (0, "")  # no lease database: nothing to check
    code, message = hook(repo, {variable: "memory"})
    assert code == 1
    assert message.startswith("maf: RESERVATION CHECK FAILED, so this change is refused (the check fails closed): "
                              f"storage.runtime is memory (from {variable}): a private in-memory lease store "
                              "that no other process sees, so it cannot guard anything")
    assert not (repo / ".git" / "maf").exists()
    code, message = hook(repo, {variable: "sqlite,json"})  # an invalid runtime, like any invalid configuration
    assert code == 1 and "is a fallback chain, which is refused" in message
    held_and_staged(repo)
    code, message = hook(repo, {variable: "memory"})
    assert code == 1 and "cannot guard anything" in message and "bob" not in message  # never read as "no lease"
    (repo / "maf.toml").write_text('[reservation]\non_error = "allow"\n')  # a team's fail-open applies, loudly
    code, message = hook(repo, {variable: "memory"})
    assert code == 0 and message.startswith("maf: warning: the reservation check could not run (storage.runtime "
                                            "is memory")


def test_the_agent_hook_refuses_the_memory_runtime_in_the_clients_deny_form(repo):
    held_and_staged(repo)
    call = {"session_id": "s1234567", "cwd": str(repo), "hook_event_name": "PreToolUse", "tool_name": "Edit",
            "tool_input": {"file_path": str(repo / "free.txt")}}
    done = maf(repo, "agent-hook", "claude", env={"MAF_RUNTIME": "memory", "MAF_AGENT_ID": "alice"},
               stdin=json.dumps(call))
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)["hookSpecificOutput"]
    assert reply["permissionDecision"] == "deny"
    assert ("this edit is refused (the check fails closed): storage.runtime is memory (from MAF_RUNTIME): a private "
            "in-memory lease store that no other process sees, so it cannot guard anything") in reply[
                "permissionDecisionReason"]


def test_the_preflight_reservations_check_fails_in_the_memory_runtime(repo):
    done = subprocess.run([str(BIN / "maf-preflight"), "--only", "reservations"], cwd=repo, capture_output=True,
                          text=True, env={**os.environ, "MAF_RUNTIME": "memory"}, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("FAIL  Reservations [reservations]" in done.stdout
            and "storage.runtime is memory (from MAF_RUNTIME): a private in-memory lease store" in done.stdout)
    done = subprocess.run([str(BIN / "maf-preflight"), "--only", "reservations"], cwd=repo, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "SKIP  Reservations" in done.stdout  # no database: nothing to check


# --- a memory store lives as long as its process ----------------------------------------------

def test_memory_store_in_process_is_shared_by_every_open_and_leaves_no_file(repo, tmp_path):
    from maf_hooks.context import Context
    from maf_hooks.services import leasing

    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    environ = {**os.environ, "MAF_RUNTIME": "memory"}
    first = Context(cwd=str(repo), environ=environ)
    assert not first.store_location.exists()
    with first.store() as store:
        leasing.acquire(store, first.config, "alice", ["src/"], 600_000, reason="dry run", mail_root=first.mail_root)
    with Context(cwd=str(repo), environ=environ).store_if_exists() as store:  # a second open, as an MCP call
        assert store is not None
        assert [(lease.agent, lease.pattern) for lease in leasing.list_leases(store, now=store.now())] == [
            ("alice", "src/")]
    with Context(cwd=str(other), environ=environ).store_if_exists() as store:
        assert store is None  # another repository's memory store is its own
    assert not (repo / ".git" / "maf").exists()
    listed = maf(repo, "lease", "list", "--json", env={"MAF_RUNTIME": "memory"})  # another process sees nothing
    assert (listed.returncode, json.loads(listed.stdout)["leases"]) == (0, [])


def test_memory_store_over_mcp_stdio(repo):
    pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install 'maf-hooks[mcp]'")
    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    def server(agent: str) -> Client:
        return Client(StdioServerParameters(command=MAF, args=["mcp", "--agent", agent], cwd=str(repo),
                                            env={**os.environ, "MAF_RUNTIME": "memory"}),
                      read_timeout_seconds=120)

    async def scenario():
        async with server("alice") as alice, server("bob") as bob:
            granted = await alice.call_tool("lease_acquire", {"patterns": ["docs/"], "reason": "dry run"})
            assert not granted.is_error, granted.content[0].text
            listed = (await alice.call_tool("lease_list", {})).structured_content["leases"]
            assert [(lease["agent"], lease["pattern"]) for lease in listed] == [("alice", "docs/")]
            again = await alice.call_tool("lease_acquire", {"patterns": ["docs/a.md"]})
            assert not again.is_error  # the server's own lease, in the same store
            # bob's server is another process: its memory store is its own, empty
            assert (await bob.call_tool("lease_list", {})).structured_content["leases"] == []
            taken = await bob.call_tool("lease_acquire", {"patterns": ["docs/"]})
            assert not taken.is_error, taken.content[0].text

    anyio.run(scenario)
    assert not (repo / ".git" / "maf").exists()
    assert sorted(os.listdir(repo)) == [".git", "README.md"]


def test_memory_store_keeps_the_write_guarantee_between_threads(repo):
    """Threads of one process are the memory store's concurrency: of eight agents asking for the
    same exclusive lease at once, exactly one gets it (BEGIN IMMEDIATE on the shared memdb)."""
    import threading

    from maf_hooks.context import Context
    from maf_hooks.services import leasing

    environ = {**os.environ, "MAF_RUNTIME": "memory"}
    with Context(cwd=str(repo), environ=environ).store():
        pass  # made (and migrated) once, before the race
    start, outcomes = threading.Barrier(8), []

    def take(agent: str) -> None:
        context = Context(cwd=str(repo), environ=environ)
        start.wait(timeout=60)
        with context.store() as store:
            acquired = leasing.acquire(store, context.config, agent, ["src/"], 600_000, mail_root=context.mail_root)
        outcomes.append(agent if acquired.result.granted else None)

    threads = [threading.Thread(target=take, args=(f"agent{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    winners = [agent for agent in outcomes if agent]
    assert len(outcomes) == 8 and len(winners) == 1
    with Context(cwd=str(repo), environ=environ).store() as store:
        assert [lease.agent for lease in leasing.list_leases(store, now=store.now())] == winners
