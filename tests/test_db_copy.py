"""`maf db copy --to`: a repository's records moved from SQLite to a PostgreSQL server and back,
made through the normal commands (leases, a takeover with its escalation, conflicts and an
override from the real hook, mail delivered and read, preflight runs, heartbeats)."""

from __future__ import annotations

import mailbox
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import make_repo
from test_hooks import ME, hook, stage

from maf_hooks.cli.preflight import preflight_command
from maf_hooks.context import Context
from maf_hooks.services.transfer import maildir_rows
from maf_hooks.store.transfer import transfer_of

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "escalation" / "maf.toml"
KEY = "example.com/team/app"
# ids the server numbers across repositories: given afresh on a server (order kept)
RENUMBERED = ("mail_outbox", "mail_log", "escalation_deliveries")


def ok(result):
    assert result.code == 0, result.err
    return result


@pytest.fixture
def team(repo, cli):
    """A SQLite repository with one record of every kind, or more."""
    (repo / "maf.toml").write_text(FIXTURE.read_text() + f'\n[mail]\ndedup_minutes = 0\n\n[storage]\nrepository = "{KEY}"\n')
    ok(cli(repo, "lease", "acquire", "src/a.py", "--agent", "alice", "--reason", "login"))
    ok(cli(repo, "lease", "acquire", "docs/", "--agent", "carol"))
    ok(cli(repo, "lease", "release", "docs/", "--agent", "carol"))
    ok(cli(repo, "lease", "acquire", "x/", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "x/", "--agent", "bob", "--force"))  # a takeover: an escalation
    ok(cli(repo, "lease", "heartbeat", "--agent", "alice", "--status", "busy"))
    stage(repo, "src/a.py")
    assert hook(repo, env=ME)[0] == 1  # a conflict, its mail to alice
    assert hook(repo, env={**ME, "MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "agreed"})[0] == 0
    ok(cli(repo, "--only", "python", env=ME, command=preflight_command, prog="maf-preflight"))
    ok(cli(repo, "escalate", "tick"))
    messages = ok(cli(repo, "mail", "list", "--agent", "alice", "--json")).json["messages"]
    ok(cli(repo, "mail", "read", messages[0]["id"], "--agent", "alice"))  # one seen, the next not
    return repo


def opened(repo, env=None):
    context = Context(cwd=str(repo), environ=env or {})
    return context.store_location.open(environ={}, create=False)


def dump(store) -> dict[str, list[tuple]]:
    transfer = transfer_of(store)
    rows = {}
    for kind in transfer.kinds:
        found = [row for page in transfer.dump(kind, batch=3) for row in page]  # several pages each
        rows[kind] = [row[1:] for row in found] if kind in RENUMBERED else found
    return rows


def test_sqlite_to_postgres_and_back(team, cli, pg_url, tmp_path):
    other = make_repo(tmp_path / "other")  # another repository on the same server
    (other / "maf.toml").write_text(f'[storage]\nurl = "{pg_url}"\nrepository = "example.com/other/app"\n')
    ok(cli(other, "db", "migrate"))
    ok(cli(other, "lease", "acquire", "theirs.txt", "--agent", "zed"))
    with opened(other) as store:
        theirs = dump(store)

    with opened(team) as store:
        source = dump(store)
        source_tokens = transfer_of(store).counters().last_token
    mail = [row for page in maildir_rows(str(team / ".agent-mail")) for row in page]
    assert all(source[kind] for kind in source), [kind for kind in source if not source[kind]]
    assert len(mail) >= 2 and any(row[4] for row in mail) and not all(row[4] for row in mail)

    copied = ok(cli(team, "db", "copy", "--to", pg_url, "--json")).json
    assert copied["backends"] == {"source": "sqlite", "target": "postgresql"} and copied["audit"]["valid"]
    assert copied["counts"] == {**{kind: len(rows) for kind, rows in source.items()}, "mail_messages": len(mail)}

    server = {"MAF_DB_URL": pg_url}
    with opened(team, server) as store:
        assert store.backend == "postgresql"
        target = dump(store)
        assert target.pop("mail_messages") == mail  # same keys, bytes and seen times
        assert target == source  # same ids, tokens, hashes
    assert ok(cli(team, "audit", "validate", env=server)).out.startswith(f"audit chain valid: {len(source['events'])} ")
    ok(cli(team, "lease", "acquire", "new.txt", "--agent", "dana", env=server))
    with opened(team, server) as store:
        new = [row for page in transfer_of(store).dump("leases") for row in page if row[2] == "new.txt"]
    assert new[0][13] > max(row[13] for row in source["leases"]) and new[0][13] > source_tokens

    refused = cli(team, "db", "copy", "--to", pg_url)
    assert refused.code == 1 and "already holds records" in refused.err and "--force" in refused.err
    with opened(team, server) as store:
        assert len(dump(store)["leases"]) == len(source["leases"]) + 1  # untouched

    replaced = ok(cli(team, "db", "copy", "--to", pg_url, "--force"))
    assert replaced.out.startswith("replaced the records of this repository in")
    with opened(team, server) as store:
        after = dump(store)
        assert after.pop("mail_messages") == mail and after == source
        assert transfer_of(store).counters().last_token == new[0][13]  # never lowered: no token again
    ok(cli(team, "lease", "acquire", "later.txt", "--agent", "dana", env=server))
    with opened(team, server) as store:
        later = [row for page in transfer_of(store).dump("leases") for row in page if row[2] == "later.txt"]
    assert later[0][13] == new[0][13] + 1
    with opened(other) as store:
        assert dump(store) == theirs  # the other repository on the server: untouched

    # back from the server to a file, the Maildir made again from the server's mail
    shutil.rmtree(team / ".agent-mail")
    back = ok(cli(team, "db", "copy", "--to", "back.db", "--json", env=server)).json
    assert back["backends"] == {"source": "postgresql", "target": "sqlite"}
    assert back["counts"]["mail_messages"] == len(mail)
    local = {"MAF_DB_PATH": str(team / "back.db")}
    with opened(team, local) as store:
        assert store.backend == "sqlite"
        with opened(team, server) as fleet:
            on_server = dump(fleet)
            on_server.pop("mail_messages")
        assert dump(store) == on_server
    assert ok(cli(team, "audit", "validate", env=local)).out.startswith(f"audit chain valid: {len(on_server['events'])} ")
    again = [row for page in maildir_rows(str(team / ".agent-mail")) for row in page]
    assert [(r[0], r[1], r[2], r[4] is not None) for r in again] == [(r[0], r[1], r[2], r[4] is not None) for r in mail]
    box = mailbox.Maildir(str(team / ".agent-mail" / "alice"), create=False)
    assert sorted(box.keys()) == sorted(r[1] for r in mail if r[0] == "alice")


def test_refused_without_force_and_same_store(team, cli, tmp_path):
    first = ok(cli(team, "db", "copy", "--to", str(tmp_path / "copy.db")))
    assert first.out.startswith("copied to") and "audit chain on the target: valid" in first.out
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        before = conn.execute("SELECT COUNT(*), MAX(token) FROM file_leases").fetchone()
    refused = cli(team, "db", "copy", "--to", str(tmp_path / "copy.db"))
    assert refused.code == 1 and "Nothing was copied" in refused.err
    same = cli(team, "db", "copy", "--to", str(team / ".git" / "maf" / "runtime.db"))
    assert same.code == 2 and "the store in use" in same.err
    bad = cli(team, "db", "copy", "--to", "postgresql://maf:secret@127.0.0.1/x")
    assert bad.code == 2 and "password" in bad.err and "secret" not in bad.err
    ok(cli(team, "db", "copy", "--to", str(tmp_path / "copy.db"), "--force"))
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("SELECT COUNT(*), MAX(token) FROM file_leases").fetchone() == before
        assert conn.execute("SELECT n FROM lease_key_counts WHERE kind = 't'").fetchone()[0] == 2
