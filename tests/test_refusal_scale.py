"""A refused commit with many conflicting paths: a bounded report (the first paths grouped by
holder and lease, then the count and the command that lists the rest), every record written in
one batch on every backend, bounded mail text with every path in its JSON part, and no import
the refusal does not need."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import git
from contract.conftest import open_backend
from test_hooks import ME, conflicts, hook, inbox, lease

from maf_hooks.core import conflicts as rules
from maf_hooks.core.conflicts import REPORT_PATHS, Outcome, list_command
from maf_hooks.core.decision import Decision
from maf_hooks.core.model import Lease
from maf_hooks.services import conflicts as service
from maf_hooks.store.events import SYSTEM_TASK

NOW = 1_764_600_000_000
HOUR = 3_600_000


def stage_many(repo, names):
    for name in names:
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("changed\n")
    git("add", "--", *names, cwd=repo)


def made_lease(lease_id, agent, pattern, reason=""):
    return Lease(lease_id, agent, pattern, "exclusive", reason, NOW - HOUR, NOW + 2 * HOUR)


def test_small_report_keeps_one_block_per_path():
    one, two = made_lease("lease-1", "alice", "src/a.py", "parser"), made_lease("lease-2", "carol", "docs/**")
    decision = Decision("commit", "bob", ["src/a.py", "docs/b.md"], [("docs/b.md", two), ("src/a.py", one)], [])
    text = rules.report(decision, Outcome("blocked"), ["alice", "carol"], [], NOW)
    assert text.startswith(
        "RESERVATION_CONFLICT: this commit is refused: it changes 2 path(s) leased by another agent.\n\n"
        "  docs/b.md\n"
        "      held by carol (pattern 'docs/**', lease lease-2)\n"
        "      until 2025-12-01T16:40:00.000Z (in 2h)\n"
        "      reason: (none given)\n"
        "  src/a.py\n"
        "      held by alice (pattern 'src/a.py', lease lease-1)\n"
        "      until 2025-12-01T16:40:00.000Z (in 2h)\n"
        "      reason: parser\n\n"
        "What to do:\n")
    assert "more path" not in text and "maf-lease conflicts" not in text


def test_report_groups_the_first_paths_by_holder_and_lease_then_counts_the_rest():
    glob = made_lease("lease-g", "alice", "src/**", "refactor")
    other = made_lease("lease-o", "carol", "src/b*.py")
    exact = made_lease("lease-e", "alice", "src/a07.py")
    pairs = []
    for index in range(30):
        path = f"src/a{index:02d}.py"
        pairs.append((path, glob))
        if index == 7:
            pairs.append((path, exact))
    pairs += [(f"src/b{index:02d}.py", glob) for index in range(20)] + [("src/b00.py", other)]
    pairs.sort(key=lambda pair: pair[0])
    decision = Decision("commit", "bob", sorted({p for p, _ in pairs}), pairs, [])
    text = rules.report(decision, Outcome("blocked"), [], [], NOW, queued=["alice", "carol"])
    body = text.split("\n\n")[1].splitlines()
    shown_paths = [line.strip() for line in body if line.startswith("  src/")]
    # the glob's 20 paths, then the exact lease's one (a path under two leases is shown under each)
    assert shown_paths == [f"src/a{index:02d}.py" for index in range(REPORT_PATHS)] + ["src/a07.py"]
    assert text.count("held by alice (pattern 'src/**', lease lease-g)") == 1
    assert text.count("held by alice (pattern 'src/a07.py', lease lease-e)") == 1
    assert "carol" not in "\n".join(body)  # carol's only path is past the first 20
    assert body.index("  src/a19.py") < body.index("      held by alice (pattern 'src/**', lease lease-g)")
    assert body[-1] == "  ... and 30 more paths: `maf-lease conflicts --since 10m --agent bob` lists them"
    assert "ask the holder (alice, carol)" in text  # every holder is named, shown or not
    assert len(text.splitlines()) < 50


def test_edit_reason_is_bounded():
    held = made_lease("lease-g", "alice", "src/**")
    pairs = [(f"src/f{index:03d}.py", held) for index in range(500)]
    reason = rules.edit_reason(Decision("edit", "bob", [p for p, _ in pairs], pairs, []), Outcome("blocked"),
                               "mail was sent to alice", NOW)
    assert reason.count("is leased exclusively by alice") == REPORT_PATHS
    assert f"and {500 - REPORT_PATHS} more (path, lease) pairs" in reason and list_command("bob") in reason


def test_refused_commit_with_many_paths_records_all_and_reports_few(repo, cli):
    lease(cli, repo, "big/", "--agent", "alice", "--reason", "moving")
    lease(cli, repo, "small/x.txt", "--agent", "carol")
    names = [f"big/f{index:03d}.txt" for index in range(60)] + ["small/x.txt"]
    stage_many(repo, names)
    code, err = hook(repo, env=ME)
    assert code == 1
    assert err.count("\n  big/") == REPORT_PATHS and "small/x.txt" not in err
    assert err.count("held by alice (pattern 'big/'") == 1
    command = list_command(ME["MAF_AGENT_ID"])
    assert f"... and {len(names) - REPORT_PATHS} more paths: {command} lists them" in err
    assert {row[1] for row in conflicts(repo)} == set(names)  # every record, shown or not

    listed = cli(repo, "lease", "conflicts", *command.strip("`").split()[2:], "--json")
    assert listed.code == 0 and {r["path"] for r in listed.json["conflicts"]} == set(names)

    (message,) = inbox(repo, "alice")
    parts = {part.get_filename() or part.get_content_type(): part for part in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode("utf-8")
    assert text.count("      your lease ") == REPORT_PATHS
    assert f"... and {60 - REPORT_PATHS} more: every one is in the attached maf.json" in text
    envelopes = json.loads(parts["maf.json"].get_payload(decode=True))
    assert sorted(e["filePath"] for e in envelopes) == names[:60]
    assert len(inbox(repo, "carol")) == 1


def test_mail_about_many_leases_stays_bounded_and_readable(repo, cli):
    """30 leases of one holder in one refused commit: the message joins the threads of the leases
    it shows (the first REPORT_PATHS, the first path's in In-Reply-To), its text is written as it
    is (7bit, no quoted-printable soft breaks) and maf.json holds one conflict a line."""
    names = [f"many/f{index:02d}.txt" for index in range(30)]
    ids = [lease(cli, repo, name, "--agent", "alice", "--json").json["granted"][0]["id"] for name in names]
    stage_many(repo, names)
    assert hook(repo, env=ME)[0] == 1
    (message,) = inbox(repo, "alice")
    roots = [f"<{lease_id}@maf-hooks>" for lease_id in ids[:REPORT_PATHS]]
    assert message["References"].split() == roots[::-1] and message["In-Reply-To"] == roots[0]
    text_part, json_part = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    assert text_part["Content-Transfer-Encoding"] == "7bit"
    assert "many/f00.txt\n      your lease " in text_part.get_payload()
    raw = json_part.get_payload()
    lines = raw.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(names) + 2
    assert [json.loads(line.rstrip(","))["filePath"] for line in lines[1:-1]] == names


def test_maf_json_is_indented_unless_a_long_list():
    from maf_hooks.mail.message import INDENTED_ITEMS, json_text

    short = [{"filePath": f"f{index}"} for index in range(INDENTED_ITEMS)]
    assert json_text(short) == json.dumps(short, indent=2) and json_text({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}'
    long = short + [{"filePath": "é"}]
    assert json_text(long).splitlines()[1:3] == ['{"filePath": "f0"},', '{"filePath": "f1"},']
    assert json.loads(json_text(long)) == long and json_text(long).isascii()


def test_migration_17_keeps_the_records_and_admits_the_same_values(tmp_path):
    """The conflict records' checks as comparisons: rows kept (ids and all), every documented value
    of each checked column admitted, anything else refused, and no IN list left in the table."""
    import sqlite3

    from maf_hooks.store.sqlite import migrations
    from maf_hooks.store.sqlite.connection import connect

    conn = connect(str(tmp_path / "old.db"), migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:16])
    columns = ("id, agent_id, file_path, conflict_type, severity, holder_agent_id, lease_id, lease_expires_at, "
               "attempted_operation, status, override_reason, created_at")
    insert = f"INSERT INTO reservation_conflicts ({columns}) VALUES (?, 'a', 'x', ?, ?, 'b', 'l1', 1, ?, ?, NULL, 1)"
    with conn:
        conn.execute(insert, ("c-old", "permission", "low", "edit", "overridden"))
    migrations.upgrade(conn, migrations.MIGRATIONS[:17])
    assert conn.execute(f"SELECT {columns} FROM reservation_conflicts").fetchall() == [
        ("c-old", "a", "x", "permission", "low", "b", "l1", 1, "edit", "overridden", None, 1)]
    table = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'reservation_conflicts'").fetchone()[0]
    assert " IN (" not in table
    assert {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'reservation_conflicts' "
                                           "AND type = 'index' AND sql IS NOT NULL")} == {
        "idx_conflicts_created", "idx_conflicts_agent", "idx_conflicts_path"}
    good = {"type": ["lease", "permission", "concurrent_access"], "severity": ["low", "medium", "high", "critical"],
            "operation": ["commit", "push", "edit"], "status": ["blocked", "warned", "overridden"]}
    for index, values in enumerate(zip(*(vals[:3] for vals in good.values()))):
        conn.execute(insert, (f"c{index}", *values))
    for bad in [("rename", "low", "commit", "blocked"), ("lease", "urgent", "commit", "blocked"),
                ("lease", "low", "rebase", "blocked"), ("lease", "low", "commit", "done"),
                ("lease", None, "commit", "blocked")]:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(insert, ("c-bad", *bad))
    conn.close()


def test_migration_19_drops_the_path_index_and_the_report_still_groups_by_path(tmp_path):
    """No query reads a conflict record by its path: after migration 19 the records keep their
    time and agent indexes only, and the audit report's busiest paths are what they were."""
    from maf_hooks.store.sqlite import migrations
    from maf_hooks.store.sqlite.connection import connect

    conn = connect(str(tmp_path / "old.db"), migrate=False)
    migrations.upgrade(conn, migrations.MIGRATIONS[:18])
    insert = ("INSERT INTO reservation_conflicts (id, agent_id, file_path, severity, holder_agent_id, lease_id, "
              "lease_expires_at, attempted_operation, status, created_at) VALUES (?, ?, ?, 'high', 'b', 'l', 1, "
              "'commit', 'blocked', ?)")
    with conn:
        conn.executemany(insert, [(f"c{i}", ["x", "y"][i % 2], f"p{i % 3}", 10 + i) for i in range(30)])
    report = ("SELECT file_path, COUNT(*), COUNT(DISTINCT agent_id) FROM reservation_conflicts WHERE created_at >= ? "
              "GROUP BY file_path ORDER BY COUNT(*) DESC, file_path LIMIT 2")
    before = conn.execute(report, (20,)).fetchall()
    migrations.upgrade(conn)
    assert {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'reservation_conflicts' "
                                           "AND type = 'index' AND sql IS NOT NULL")} == {
        "idx_conflicts_created", "idx_conflicts_agent"}
    assert conn.execute(report, (20,)).fetchall() == before == [("p1", 7, 2), ("p2", 7, 2)]
    conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend_store(request, tmp_path):
    if request.param == "sqlite":
        spec = str(tmp_path / "runtime.db")
    else:
        spec = request.getfixturevalue("pg_server").new_database() + "#example.com/refusal"
    store = open_backend(request.param, spec, lambda: NOW)
    yield store
    store.close()


def test_record_writes_every_conflict_and_one_message_per_holder(backend_store):
    store = backend_store
    held = {"alice": made_lease("lease-a", "alice", "a/**"), "carol": made_lease("lease-c", "carol", "c/**")}
    pairs = [(f"a/{index:04d}", held["alice"]) for index in range(1500)] + [("c/1", held["carol"])]
    plan = service.record(store, Decision("commit", "bob", [p for p, _ in pairs], pairs, []), Outcome("blocked"))
    records = store.conflicts.since(0)
    assert len(records) == len(pairs) and {r["path"] for r in records} == {p for p, _ in pairs}
    assert {(r["holder"], r["lease_id"], r["status"], r["conflict_type"], r["agent"]) for r in records} == {
        ("alice", "lease-a", "blocked", "lease", "bob"), ("carol", "lease-c", "blocked", "lease", "bob")}
    assert len({r["id"] for r in records}) == len(pairs)
    # the attempt's records share one random part, numbered in the order found (neighbours in the id index)
    attempt = {r["id"].rsplit("-", 1)[0] for r in records}
    assert len(attempt) == 1 and re.fullmatch(r"conflict-[0-9a-f]{12}", attempt.pop())
    assert [(r["id"].rsplit("-", 1)[1], r["path"]) for r in sorted(records, key=lambda r: r["id"])] == [
        (f"{number:04d}", path) for number, (path, _) in enumerate(pairs, 1)]  # as wide as the largest: in order as text
    assert sorted(plan["holders"]) == ["alice", "carol"]
    rows = store.conflicts.outbox(plan["queued"])
    assert sorted(row["recipient"] for row in rows) == ["alice", "carol"]

    # the attempt is one chained event listing every record, in the order found
    (event,) = [row for row in store.audit.chain_rows() if row[3] == "reservation_conflict"]
    assert event[1] == SYSTEM_TASK and event[5] == "bob"
    data = json.loads(event[4])
    assert {key: data[key] for key in ("type", "agentId", "severity", "status", "attemptedOperation")} == {
        "type": "RESERVATION_CONFLICT", "agentId": "bob", "severity": "high", "status": "blocked",
        "attemptedOperation": "commit"}
    by_id = {r["id"]: r for r in records}
    # each lease once, in the order found, with its records as {number: path}: together exactly the records
    assert [lease["leaseId"] for lease in data["leases"]] == ["lease-a", "lease-c"]
    listed = [(f"{data['attempt']}-{number}", path, lease["leaseId"], lease["existingAgent"], lease["leaseExpiresAt"])
              for lease in data["leases"] for number, path in lease["conflicts"].items()]
    assert sorted(listed) == sorted((r["id"], r["path"], r["lease_id"], r["holder"], r["lease_expires_at"])
                                    for r in records)
    assert [path for _, path, *_ in sorted(listed)] == [p for p, _ in pairs]  # numbered in the order found
    # another attempt at the same path: another random part
    service.record(store, Decision("commit", "bob", ["c/1"], pairs[-1:], []), Outcome("blocked"))
    (added,) = [r for r in store.conflicts.since(0) if r["id"] not in by_id]
    assert added["path"] == "c/1" and added["id"].endswith("-1") and not added["id"].startswith(
        records[0]["id"].rsplit("-", 1)[0] + "-")


@pytest.mark.parametrize("limit", [999, 12, 7, 4])  # at least a row of values
def test_insert_rows_stores_exactly_what_executemany_does(tmp_path, limit):
    """The batched insert of the SQLite conflict records: values the same in every row of a
    statement bound once, the rest as rows of VALUES, in statements no larger than SQLite's limit
    of bound values (made small here): the rows stored, their values and types, are executemany's."""
    import sqlite3

    from maf_hooks.store.sqlite.connection import Database, connect

    conn = connect(str(tmp_path / "rows.db"), migrate=False)
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    for table in ("a", "b"):
        conn.execute(f"CREATE TABLE {table} (k INTEGER PRIMARY KEY, x, y, z)")
    rows = [(n, "same", [1, "1", None, 1.5][n % 4] if n > 3 else "1", n * 2) for n in range(25)]
    rows += [(100, None, None, None), (101, None, None, None)]  # a statement whose only varying value is the key
    rows += [(300, "f", 2, -0.0), (301, "f", 2, 0.0)]  # equal floats SQLite keeps apart: never bound once
    db = Database(conn, str(tmp_path / "rows.db"))
    with conn:
        db.insert_rows("a", ("k", "x", "y", "z"), rows)
        db.insert_rows("a", ("k", "x", "y", "z"), [(200, "one", 1, None)])
        conn.executemany("INSERT INTO b VALUES (?, ?, ?, ?)", [*rows, (200, "one", 1, None)])
    typed = "SELECT k, x, typeof(x), y, typeof(y), z, typeof(z) FROM {} ORDER BY k"
    assert [list(map(repr, row)) for row in conn.execute(typed.format("a"))] == [
        list(map(repr, row)) for row in conn.execute(typed.format("b"))]  # repr: -0.0 is not 0.0
    assert len(conn.execute("SELECT * FROM a").fetchall()) == len(rows) + 1
    conn.close()


def test_add_many_is_all_or_nothing(backend_store):
    store = backend_store
    good = {"id": "conflict-1", "agent": "bob", "path": "a", "severity": "high", "holder": "alice",
            "lease_id": "lease-a", "lease_expires_at": NOW, "operation": "commit", "status": "blocked",
            "override_reason": None, "created_at": NOW}
    with pytest.raises(Exception):  # noqa: B017 - the second row repeats the first one's id
        with store.write():
            store.conflicts.add_many([good, dict(good, path="b")])
    assert store.conflicts.since(0) == []
    store.conflicts.add(dict(good, conflict_type="lease"))
    assert [r["path"] for r in store.conflicts.since(0)] == ["a"]


REFUSE = """
import io, json, sys
from maf_hooks.hooks import run_hook
code = run_hook("commit", stream=io.StringIO())
heavy = ("email", "mailbox", "tomllib", "tomli", "secrets", "click", "maf_hooks.services.escalation", "typing",
         "_hashlib")
print(json.dumps([code, [m for m in heavy if m in sys.modules]]))
"""


def refuse_in_child(repo, env):
    import os

    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "GIT_CONFIG_NOSYSTEM": "1", **env}
    proc = subprocess.run([sys.executable, "-c", REFUSE], cwd=repo, env=environ, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_refused_commit_imports_only_what_it_needs(repo, cli):
    lease(cli, repo, "held/", "--agent", "alice")
    stage_many(repo, [f"held/f{index}.txt" for index in range(30)])
    code, loaded = refuse_in_child(repo, ME)
    assert code == 1 and loaded == ["email"]  # building the holder's message needs email, nothing else does
    code, loaded = refuse_in_child(repo, ME)  # the same attempt again: the mail is not sent twice
    assert code == 1 and loaded == []
    assert len(inbox(repo, "alice")) == 1


def test_the_listing_command_names_the_refused_agent_when_it_can():
    assert list_command("bob@example.com") == "`maf-lease conflicts --since 10m --agent bob@example.com`"
    assert list_command(None) == "`maf-lease conflicts --since 10m`"
    assert list_command("a b;rm") == "`maf-lease conflicts --since 10m`"  # never a command line to trust
