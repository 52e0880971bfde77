"""Fleet mode mail: two clones of one origin ("two machines") sharing one PostgreSQL server.

A conflict found in one clone reaches the holder working in the other; `maf mail send`, `list`
and `read` work from either; `maf mail sync` writes the server's mail into the local Maildir
once and carries "read" both ways. Real git (a real `git commit` running the installed hook),
a real server (the pg_url fixture), real Maildir files.
"""

from __future__ import annotations

import mailbox
import os
import stat
from pathlib import Path

import pytest
from conftest import commit_file, git, make_repo

from maf_hooks.store.url import repository_key

ALICE = {"MAF_AGENT_ID": "alice"}
BOB = {"MAF_AGENT_ID": "bob"}


@pytest.fixture
def machines(tmp_path, pg_url, cli):
    """Clones A and B of one bare origin whose maf.toml names the server; the schema migrated."""
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp_path)
    seed = make_repo(tmp_path / "seed")
    commit_file(seed, "maf.toml", f'[storage]\nurl = "{pg_url}"\n', "use the lease server")
    commit_file(seed, ".gitignore", ".agent-mail/\n", "ignore mail")
    commit_file(seed, "src/parser.py", "parse\n", "parser")
    git("remote", "add", "origin", str(origin), cwd=seed)
    git("push", "-q", "origin", "main", cwd=seed)
    clones = []
    for name in ("a", "b"):
        clone = tmp_path / name
        git("clone", "-q", str(origin), str(clone), cwd=tmp_path)
        git("config", "commit.gpgsign", "false", cwd=clone)
        clones.append(clone)
    migrated = cli(clones[0], "db", "migrate")
    assert migrated.code == 0, migrated.err
    return clones


def install_hook(clone: Path) -> None:
    hook = clone / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexec maf-reservations\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)


def maildir(clone: Path, agent: str) -> Path:
    return clone / ".agent-mail" / agent


def files(clone: Path, agent: str) -> list[str]:
    box = maildir(clone, agent)
    return sorted(f"{sub}/{name}" for sub in ("new", "cur") if (box / sub).is_dir()
                  for name in os.listdir(box / sub))


def refused_commit(a: Path, b: Path, cli) -> None:
    """alice leases src/ in A; bob's commit of src/parser.py in B is refused by the real hook."""
    leased = cli(a, "lease", "acquire", "src/", "--reason", "refactoring the parser", env=ALICE)
    assert leased.code == 0, leased.err
    install_hook(b)
    (b / "src" / "parser.py").write_text("bob's change\n")
    git("add", "src/parser.py", cwd=b)
    commit = git("commit", "-q", "-m", "bob edits the parser", cwd=b, check=False, env=BOB)
    assert commit.returncode == 1, commit.stderr
    assert "RESERVATION_CONFLICT" in commit.stderr and "mail was sent to alice" in commit.stderr


def test_conflict_in_one_clone_reaches_the_holder_in_the_other(machines, cli):
    a, b = machines
    refused_commit(a, b, cli)
    assert not maildir(a, "alice").exists() and not maildir(b, "alice").exists()  # kept on the server

    listed = cli(a, "mail", "list", "--json", env=ALICE)
    assert listed.code == 0, listed.err
    [message] = listed.json["messages"]
    assert message["type"] == "RESERVATION_CONFLICT" and message["seen"] is False and message["folder"] == "new"
    assert message["from"].startswith("bob <") and message["to"].startswith("alice <")
    key = repository_key(git("remote", "get-url", "origin", cwd=a).stdout.strip())
    assert message["subject"].startswith(f"[MAF] RESERVATION_CONFLICT in {key}: ")  # the key both clones share
    assert listed.json["agent"] == "alice" and "127.0.0.1" in listed.json["mailbox"]  # the server's location

    table = cli(a, "mail", "list", env=ALICE)
    assert message["id"] in table.out and "*" in table.out and "RESERVATION_CONFLICT" in table.out

    shown = cli(a, "mail", "read", message["id"], env=ALICE)
    assert shown.code == 0, shown.err
    assert "src/parser.py" in shown.out and "maf.json attached" in shown.out
    read = cli(a, "mail", "read", message["id"], "--json", env=ALICE)
    assert read.json["json"][0]["filePath"] == "src/parser.py"
    assert read.json["json"][0]["details"]["existingAgent"] == "alice"
    assert read.json["seen"] is True and read.json["headers"]["X-MAF-Type"] == "RESERVATION_CONFLICT"

    after = cli(b, "mail", "list", "--unread", "--json", env=ALICE)  # read on A, seen from B too
    assert after.code == 0 and after.json["messages"] == []
    flushed = cli(b, "mail", "flush", "--json")
    assert flushed.code == 0 and flushed.json["pending"] == 0 and flushed.json["delivered"] == []
    assert len(cli(a, "mail", "list", "--json", env=ALICE).json["messages"]) == 1  # delivered once


def test_send_from_one_clone_arrives_in_the_other(machines, cli):
    a, b = machines
    sent = cli(b, "mail", "send", "--to", "alice", "--subject", "src/ after lunch?", "--body", "ping\n",
               "--json", env=BOB)
    assert sent.code == 0, sent.err
    assert sent.json["to"] == "alice" and sent.json["type"] == "MESSAGE"
    [message] = cli(a, "mail", "list", "--json", env=ALICE).json["messages"]
    assert message["id"] == sent.json["id"] and message["subject"] == "src/ after lunch?"
    read = cli(a, "mail", "read", sent.json["id"], "--json", env=ALICE)
    assert read.json["text"] == "ping\n" and read.json["from"].startswith("bob <")
    assert cli(b, "mail", "list", "--json", env=BOB).json["messages"] == []  # nothing for the sender
    assert not maildir(b, "alice").exists()


def test_read_of_an_unknown_id_is_refused(machines, cli):
    a, _ = machines
    missing = cli(a, "mail", "read", "1700000000.M1P1Q1.nowhere", env=ALICE)
    assert missing.code == 1 and "No message" in missing.err and "maf mail list" in missing.err


def test_sync_writes_the_maildir_once_and_carries_read_both_ways(machines, cli):
    a, b = machines
    refused_commit(a, b, cli)
    first = cli(b, "mail", "send", "--to", "alice", "--subject", "one", "--body", "1", "--json", env=BOB).json
    second = cli(b, "mail", "send", "--to", "alice", "--subject", "two", "--body", "2", "--json", env=BOB).json
    keys = [m["id"] for m in cli(a, "mail", "list", "--json", env=ALICE).json["messages"]]
    assert len(keys) == 3 and {first["id"], second["id"]} <= set(keys)

    synced = cli(a, "mail", "sync", "--agent", "alice", "--json")
    assert synced.code == 0, synced.err
    assert synced.json["fleet"] is True and synced.json["messages"] == 3
    assert sorted(synced.json["written"]) == sorted(keys)
    assert synced.json["marked_read"] == [] and synced.json["marked_seen"] == []
    assert files(a, "alice") == sorted(f"new/{key}" for key in keys)

    # the same bytes a local delivery would have made, readable by Python's Maildir reader
    box = mailbox.Maildir(str(maildir(a, "alice")), create=False)
    assert sorted(box.keys()) == sorted(keys)
    assert box[first["id"]]["Subject"] == "one" and box[first["id"]]["X-MAF-Type"] == "MESSAGE"
    stored = cli(a, "mail", "read", second["id"], "--json", env=ALICE)  # read on the server
    assert stored.json["text"].strip() == "2"

    again = cli(a, "mail", "sync", "--agent", "alice", "--json")
    assert again.json["written"] == [] and again.json["marked_read"] == []
    assert again.json["marked_seen"] == [second["id"]]  # read with `maf mail read`: S here too
    assert files(a, "alice") == sorted([f"new/{k}" for k in keys if k != second["id"]] + [f"cur/{second['id']}:2,S"])

    # read in mutt: moved into cur/ with the S flag
    os.rename(maildir(a, "alice") / "new" / first["id"], maildir(a, "alice") / "cur" / f"{first['id']}:2,S")
    third = cli(a, "mail", "sync", "--agent", "alice", "--json")
    assert third.json["written"] == [] and third.json["marked_read"] == [first["id"]]
    assert third.json["marked_seen"] == []
    seen = {m["id"]: m["seen"] for m in cli(b, "mail", "list", "--json", env=ALICE).json["messages"]}
    assert seen == {key: key in (first["id"], second["id"]) for key in keys}
    unread = cli(b, "mail", "list", "--unread", "--json", env=ALICE).json["messages"]
    assert [m["type"] for m in unread] == ["RESERVATION_CONFLICT"]

    fourth = cli(a, "mail", "sync", "--agent", "alice", "--json")
    assert (fourth.json["written"], fourth.json["marked_read"], fourth.json["marked_seen"]) == ([], [], [])
    text = cli(a, "mail", "sync", env=ALICE)
    assert text.code == 0 and "0 new message(s)" in text.out


def test_sync_on_another_machine_writes_its_own_maildir(machines, cli):
    a, b = machines
    sent = cli(a, "mail", "send", "--to", "bob", "--subject", "hi", "--body", "hello", "--json", env=ALICE).json
    assert cli(b, "mail", "sync", "--json", env=BOB).json["written"] == [sent["id"]]
    assert files(b, "bob") == [f"new/{sent['id']}"] and not maildir(a, "bob").exists()


def test_sync_without_a_server_has_nothing_to_do(repo, cli):
    sent = cli(repo, "mail", "send", "--to", "alice", "--subject", "hi", "--body", "x", "--json", env=BOB)
    assert sent.code == 0, sent.err
    before = files(repo, "alice")
    synced = cli(repo, "mail", "sync", "--json", env=ALICE)
    assert synced.code == 0 and synced.json["fleet"] is False and synced.json["written"] == []
    assert files(repo, "alice") == before == [f"new/{sent.json['id']}"]
    assert "Nothing to sync" in cli(repo, "mail", "sync", env=ALICE).out
    assert not (repo / ".git" / "maf" / "runtime.db").exists()  # mail commands leave SQLite alone


def test_mcp_mail_tools_use_the_server(machines):
    from maf_hooks.mcp.tools import Tools

    a, b = machines
    environ = dict(os.environ)
    sent = Tools("bob", cwd=str(b), environ=environ).mail_send("alice", "via mcp", "hello").document
    inbox = Tools("alice", cwd=str(a), environ=environ).mail_inbox(unread=True).document
    assert [m["id"] for m in inbox["messages"]] == [sent["id"]]
    assert Tools("alice", cwd=str(a), environ=environ).mail_read(sent["id"]).document["text"].strip() == "hello"
    assert Tools("alice", cwd=str(b), environ=environ).mail_inbox(unread=True).document["messages"] == []


def test_an_escalation_by_mailbox_reaches_its_target_on_another_machine(machines, cli, pg_url):
    a, b = machines
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "escalation" / "maf.toml"
    (a / "maf.toml").write_text(fixture.read_text() + f'\n[storage]\nurl = "{pg_url}"\n')
    raised = cli(a, "escalate", "--agent-id", "codex-1", "--error-context", "tests keep failing", "--bead-id",
                 "bd-42", "--target", "codex-senior", "--json", env={"MAF_AGENT_ID": "codex-1"})
    assert raised.code == 0, raised.err
    assert files(a, "codex-senior") == []  # not a local Maildir: the server's mailbox
    listed = cli(b, "mail", "list", "--json", env={"MAF_AGENT_ID": "codex-senior"})
    assert listed.code == 0, listed.err
    [message] = listed.json["messages"]
    assert message["type"] == "ESCALATION_REQUEST"
