"""`maf mcp`: the tools through the SDK's in-memory client and through a real `maf mcp` process
driven by the SDK's stdio client, in real repositories with real database files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import BIN

if not os.environ.get("CI"):  # CI installs the extra (./scripts/setup): there, a missing SDK fails
    pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install 'maf-hooks[mcp]'")

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from maf_hooks.mcp.server import build

TOOLS = {"lease_acquire", "lease_renew", "lease_release", "lease_list", "lease_check", "heartbeat",
         "mail_inbox", "mail_read", "mail_send", "conflicts"}


def run(scenario) -> None:
    anyio.run(scenario)


def in_memory(repo, agent: str) -> Client:
    return Client(build(agent, cwd=str(repo)), raise_exceptions=True)


def over_stdio(repo, agent: str) -> Client:
    """A real `maf mcp --agent AGENT` process in ``repo``, started by the SDK's stdio client."""
    return Client(StdioServerParameters(command=str(BIN / "maf"), args=["mcp", "--agent", agent], cwd=str(repo),
                                        env=dict(os.environ)),
                  read_timeout_seconds=120)  # a server that never answers fails the test instead of hanging it


async def call(client: Client, tool: str, **arguments):
    return await client.call_tool(tool, arguments)


def ok(result) -> dict:
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def failed(result, meaning: str) -> str:
    assert result.is_error
    text = result.content[0].text
    assert text.splitlines()[0].startswith(f"{meaning} (exit ")
    assert result.structured_content["error"] == meaning
    return text


async def mail_round_trip(alice: Client, bob: Client) -> None:
    sent = ok(await call(alice, "mail_send", to="bob", subject="src/ after 15:00?", body="I am done then.\n"))
    assert sent["from"] == "alice" and sent["to"] == "bob"
    box = ok(await call(bob, "mail_inbox", unread=True))
    assert [(m["id"], m["subject"], m["seen"]) for m in box["messages"]] == [(sent["id"], "src/ after 15:00?", False)]
    message = ok(await call(bob, "mail_read", id=sent["id"]))
    assert message["text"] == "I am done then.\n" and message["from"].startswith("alice")
    assert ok(await call(bob, "mail_inbox", unread=True))["messages"] == []
    assert ok(await call(alice, "mail_inbox"))["messages"] == []  # bob's mail is bob's


def test_tools_are_listed_with_descriptions_and_typed_parameters(repo):
    async def scenario():
        async with in_memory(repo, "alice") as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) == TOOLS
        for tool in listed.values():
            assert len(tool.description or "") > 40, tool.name
            assert tool.output_schema is not None and tool.output_schema["type"] == "object"
            for name, schema in tool.input_schema["properties"].items():
                assert schema.get("description"), (tool.name, name)
        acquire = listed["lease_acquire"].input_schema
        assert acquire["required"] == ["patterns"]
        assert acquire["properties"]["patterns"]["type"] == "array"
        assert acquire["properties"]["shared"]["type"] == "boolean"
        assert "refused" in listed["lease_acquire"].description

    run(scenario)


def test_acquire_conflict_release_list_check_in_memory(repo, cli):
    async def scenario():
        async with in_memory(repo, "alice") as alice, in_memory(repo, "bob") as bob:
            granted = ok(await call(alice, "lease_acquire", patterns=["src/"], reason="refactor the API"))
            assert [(g["agent"], g["pattern"], g["reason"]) for g in granted["granted"]] == [
                ("alice", "src/", "refactor the API")]
            lease_id = granted["granted"][0]["id"]

            refused = await call(bob, "lease_acquire", patterns=["src/a.py"], ttl="10m")
            text = failed(refused, "refused")
            assert text.startswith("refused (exit 1)\nconflict: 'src/a.py' overlaps — alice holds 'src/'")
            assert "refactor the API" in text and "Nothing was leased." in text
            assert refused.structured_content["exit_code"] == 1
            assert refused.structured_content["result"]["granted"] == []

            checked = ok(await call(bob, "lease_check", paths=["src/a.py", "README.md"]))
            assert checked["agent"] == "bob" and checked["blocked"] is True
            assert [p["blocked"] for p in checked["paths"]] == [True, False]

            listed = ok(await call(bob, "lease_list"))
            assert [(lease["id"], lease["agent"]) for lease in listed["leases"]] == [(lease_id, "alice")]
            # the CLI's --json document, the same
            assert cli(repo, "lease", "list", "--json").json == listed

            released = ok(await call(alice, "lease_release", patterns=["src/"]))
            assert [lease["id"] for lease in released["released"]] == [lease_id]
            assert ok(await call(bob, "lease_list"))["leases"] == []
            assert ok(await call(bob, "lease_check", paths=["src/a.py"]))["blocked"] is False
            assert ok(await call(bob, "lease_acquire", patterns=["src/a.py"]))["granted"][0]["agent"] == "bob"
            assert ok(await call(bob, "lease_renew", all=True))["renewed"][0]["pattern"] == "src/a.py"
            assert ok(await call(bob, "heartbeat", status="editing a.py"))["status"] == "editing a.py"
            assert ok(await call(bob, "conflicts", since="1h")) == {"schema": "maf.lease.conflicts/1", "conflicts": []}

    run(scenario)


def test_mail_round_trip_in_memory(repo):
    async def scenario():
        async with in_memory(repo, "alice") as alice, in_memory(repo, "bob") as bob:
            await mail_round_trip(alice, bob)

    run(scenario)


def test_bad_input_and_storage_failure_are_tool_errors(repo):
    async def scenario():
        async with in_memory(repo, "alice") as alice:
            text = failed(await call(alice, "lease_acquire", patterns=["src/"], ttl="soon"), "bad_input")
            assert "maf-lease: error: Invalid --ttl 'soon'" in text
            failed(await call(alice, "lease_acquire", patterns="src/"), "bad_input")  # not a list
            failed(await call(alice, "lease_acquire", patterns=[]), "bad_input")
            failed(await call(alice, "lease_renew", patterns=["src/"], all=True), "bad_input")
            failed(await call(alice, "lease_release"), "bad_input")
            failed(await call(alice, "mail_read", id="no-such-message"), "refused")  # as `maf mail read`
            failed(await call(alice, "mail_send", to="../bob", subject="hi", body="x"), "bad_input")
            (repo / ".git" / "maf" / "runtime.db").mkdir(parents=True)  # the database cannot be opened
            text = failed(await call(alice, "lease_acquire", patterns=["src/"]), "storage")
            assert text.startswith("storage (exit 3)\nmaf-lease: error: ")

    run(scenario)


def test_the_server_reads_a_changed_configuration(repo):
    config = repo / "maf.toml"
    config.write_text("[reservation]\ndefault_timeout_minutes = 10\nmax_timeout_minutes = 20\n")

    async def scenario():
        async with in_memory(repo, "alice") as alice:
            text = failed(await call(alice, "lease_acquire", patterns=["src/"], ttl="30m"), "bad_input")
            assert "20" in text
            config.write_text("[reservation]\ndefault_timeout_minutes = 10\nmax_timeout_minutes = 60\n")
            granted = ok(await call(alice, "lease_acquire", patterns=["src/"], ttl="30m"))["granted"]
            assert [lease["pattern"] for lease in granted] == ["src/"]
            config.write_text("[reservation]\nmax_timeout_minutes = 'many'\n")
            failed(await call(alice, "lease_list"), "bad_input")  # an invalid file is refused, not ignored

    run(scenario)


def test_stdio_server_lists_acquires_refuses_releases_and_mails(repo):
    async def scenario():
        async with over_stdio(repo, "alice") as alice, over_stdio(repo, "bob") as bob:
            assert {tool.name for tool in (await bob.list_tools()).tools} == TOOLS
            lease = ok(await call(alice, "lease_acquire", patterns=["docs/**/*.md"], reason="docs"))["granted"][0]
            text = failed(await call(bob, "lease_acquire", patterns=["docs/a.md"]), "refused")
            assert "alice holds 'docs/**/*.md'" in text
            failed(await call(bob, "lease_acquire", patterns=["docs/a.md"], ttl="never"), "bad_input")
            assert ok(await call(alice, "lease_release", ids=[lease["id"]]))["released"][0]["id"] == lease["id"]
            assert ok(await call(bob, "lease_acquire", patterns=["docs/a.md"]))["granted"][0]["agent"] == "bob"
            await mail_round_trip(alice, bob)

    run(scenario)


def test_mcp_without_the_sdk_says_how_to_install_it(repo):
    code = ("import sys\nsys.modules['mcp'] = None\nfrom maf_hooks.cli.main import main\n"
            "main(['mcp', '--agent', 'alice'])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3
    assert "pip install 'maf-hooks[mcp]'" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_mcp_refuses_a_bad_agent_before_serving(repo):
    proc = subprocess.run([str(BIN / "maf"), "mcp", "--agent", "-x"], cwd=repo, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "Invalid --agent value" in proc.stderr and proc.stdout == ""
