"""The audit trail: the event hash chain, `maf audit validate/report/guard/flush`, the webhook outbox.

Time-dependent behaviour runs on injected clocks (``open_store(repo, clock)``, ``now=`` and
``clock=`` arguments, a patched ``now_ms``), never on sleeps. The webhook tests use a real HTTP
server on 127.0.0.1 started by the test.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from conftest import git

from maf_hooks import config
from maf_hooks.core import escalation as escalation_rules
from maf_hooks.core import leases
from maf_hooks.core.chain import chain_hash
from maf_hooks.errors import StorageError
from maf_hooks.hooks import run_hook
from maf_hooks.services import audit, escalation
from maf_hooks.store.sqlite import connection as db
from maf_hooks.store.sqlite import migrations, open_file
from maf_hooks.store.sqlite.migrations import MIGRATIONS, SYSTEM_TASK
from maf_hooks.timeutil import iso, now_ms

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "escalation" / "maf.toml"
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def db_file(repo) -> Path:
    return repo / ".git" / "maf" / "runtime.db"


def open_db(repo):
    """A connection as maf-hooks opens one (migrated, foreign keys on), for raw SQL."""
    return db.connect(str(db_file(repo)))


def open_store(repo, clock=now_ms, **options):
    """The repository's store on ``clock`` (``migrate=False``: as the file is)."""
    return open_file(str(db_file(repo)), clock, **options)


def append_events(store, rows):
    """Append ``(task_id, kind, agent, data, ts)`` events through the store's event log."""
    with store.write():
        for task_id, kind, agent, data, ts in rows:
            store.events.append(task_id, kind, agent, data, ts)


def raw(repo):
    """A plain sqlite3 connection, as someone tampering with the file would use."""
    return sqlite3.connect(db_file(repo), isolation_level=None)


def ok(result):
    assert result.code == 0, (result.out, result.err)
    return result


def stage(repo, name, content=None):
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content or f"{name} {os.urandom(4).hex()}\n")
    git("add", "--", name, cwd=repo)


def hook(repo, agent, env=None):
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "GIT_CONFIG_NOSYSTEM": "1",
               "MAF_AGENT_ID": agent, **(env or {})}
    stream = io.StringIO()
    code = run_hook("commit", environ=environ, cwd=str(repo), stream=stream)
    return code, stream.getvalue()


def event_count(repo) -> int:
    conn = raw(repo)
    try:
        return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def mixed_history(repo, cli) -> None:
    """Leases taken, renewed, taken over and released, hook conflicts, an override, escalations."""
    shutil.copy(FIXTURE, repo / "maf.toml")
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice", "--reason", "parser work"))
    ok(cli(repo, "lease", "acquire", "docs/", "--agent", "bob"))
    ok(cli(repo, "lease", "renew", "docs/", "--agent", "bob", "--ttl", "45m"))
    stage(repo, "held/a.txt")
    assert hook(repo, "bob")[0] == 1
    code, err = hook(repo, "bob")  # the second conflict meets the fixture's trigger: an escalation opens
    assert code == 1 and "escalation esc-" in err
    assert hook(repo, "bob", {"MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "prod is down"})[0] == 0
    ok(cli(repo, "escalate", "--agent-id", "carol", "--error-context", "stuck", "--bead-id", "bd-7",
           "--target", "minimax-debug-1"))
    ok(cli(repo, "lease", "acquire", "docs/", "--agent", "carol", "--force"))
    ok(cli(repo, "lease", "release", "held/", "--agent", "alice"))


_TEMPLATES: dict = {}


def built(name, build, repo, cli, tmp_path_factory):
    """``build(repo, cli)`` once per test run; later tests get a copy of the result (fast)."""
    template = _TEMPLATES.get(name)
    if template is None:
        build(repo, cli)
        template = tmp_path_factory.mktemp(name) / "repo"
        shutil.copytree(repo, template, symlinks=True)
        _TEMPLATES[name] = template
    else:
        shutil.rmtree(repo)
        shutil.copytree(template, repo, symlinks=True)
    return repo


@pytest.fixture
def mixed(repo, cli, tmp_path_factory):
    """A repository whose history holds every kind of event (see :func:`mixed_history`)."""
    return built("mixed", mixed_history, repo, cli, tmp_path_factory)


@pytest.fixture
def reported(repo, cli, tmp_path_factory):
    """A repository after :func:`report_scenario`."""
    return built("reported", report_scenario, repo, cli, tmp_path_factory)


# --- the chain ------------------------------------------------------------------------------------

def test_validate_chain_valid_after_mixed_operations(mixed, cli):
    repo = mixed
    seen = {row[0] for row in raw(repo).execute("SELECT kind FROM events")}
    assert {"acquire", "renew", "reservation_conflict", "override", "escalation_open", "takeover",
            "release"} <= seen
    total = event_count(repo)
    result = ok(cli(repo, "audit", "validate"))
    assert result.out.strip() == f"audit chain valid: {total} event(s) checked"
    assert ok(cli(repo, "audit", "validate", "--json")).json == {
        "schema": "maf.audit.validate/1", "valid": True, "checked": total, "first_invalid_id": None, "problem": None,
        "from_checkpoint": True, "checkpoint_id": total, "new_checked": 0, "checkpoint_problem": None,
        "anchor": None}
    chain = raw(repo).execute("SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events "
                              "ORDER BY id").fetchall()
    assert [row[0] for row in chain] == list(range(1, total + 1))
    previous = ""
    for row in chain:
        assert row[6] == previous and row[7] == chain_hash(previous, row[:6]) and len(row[7]) == 64
        previous = row[7]


def test_validate_no_database_is_valid_and_creates_nothing(repo, cli):
    result = ok(cli(repo, "audit", "validate"))
    assert "0 event(s) checked" in result.out and not db_file(repo).exists()


def broken(cli, repo, *args):
    """`maf audit validate` that must fail: (text result, JSON document)."""
    text = cli(repo, "audit", "validate", *args)
    assert text.code == 1, (text.out, text.err)
    document = cli(repo, "audit", "validate", "--json", *args)
    assert document.code == 1 and document.json["valid"] is False
    return text, document.json


def test_validate_update_middle_row_detected(mixed, cli):
    repo = mixed
    middle = event_count(repo) // 2
    raw(repo).execute("UPDATE events SET data_json = ? WHERE id = ?", ('{"agent": "nobody"}', middle))
    text, result = broken(cli, repo)
    assert f"audit chain BROKEN at event {middle}: its content does not match its hash" in text.err
    assert result["first_invalid_id"] == middle and result["checked"] == middle - 1


@pytest.mark.parametrize("column, value", [("agent_id", "mallory"), ("ts", 1), ("kind", "release")])
def test_validate_update_any_hashed_column_detected(mixed, cli, column, value):
    repo = mixed
    raw(repo).execute(f"UPDATE events SET {column} = ? WHERE id = 3", (value,))
    assert broken(cli, repo)[1]["first_invalid_id"] == 3


def test_validate_update_then_rehash_one_row_detected_at_the_next(mixed, cli):
    # whoever rewrites a row and its own hash still breaks the next row's prev_hash
    repo = mixed
    conn = raw(repo)
    row = conn.execute("SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash FROM events "
                       "WHERE id = 4").fetchone()
    forged = (*row[:4], '{"agent": "nobody"}', row[5])
    conn.execute("UPDATE events SET data_json = ?, hash = ? WHERE id = 4",
                 (forged[4], chain_hash(row[6], forged)))
    text, result = broken(cli, repo)
    assert result["first_invalid_id"] == 5 and "prev_hash does not match event 4's hash" in result["problem"]


def test_validate_delete_middle_row_detected(mixed, cli):
    repo = mixed
    middle = event_count(repo) // 2
    raw(repo).execute("DELETE FROM events WHERE id = ?", (middle,))
    text, result = broken(cli, repo)
    assert f"event {middle} is missing (removed)" in text.err
    assert result["problem"] == f"event {middle} is missing (removed)"
    assert result["checked"] == middle - 1


def test_validate_delete_middle_row_names_the_removed_row(mixed, cli):
    repo = mixed
    middle = event_count(repo) // 2
    raw(repo).execute("DELETE FROM events WHERE id = ?", (middle,))
    assert broken(cli, repo)[1]["first_invalid_id"] == middle


def test_validate_delete_first_row_detected(mixed, cli):
    repo = mixed
    raw(repo).execute("DELETE FROM events WHERE id = 1")
    assert broken(cli, repo)[1]["problem"] == "event 1 is missing (removed)"


def test_validate_delete_newest_row_detected(mixed, cli):
    repo = mixed
    newest = event_count(repo)
    raw(repo).execute("DELETE FROM events WHERE id = ?", (newest,))
    text, result = broken(cli, repo)
    assert f"audit chain BROKEN at event {newest}: event {newest} is missing (removed)" in text.err
    assert result["first_invalid_id"] == newest and result["checked"] == newest - 1
    # the gap stays visible after later events are appended
    ok(cli(repo, "lease", "acquire", "later/", "--agent", "alice"))
    assert broken(cli, repo)[1]["problem"] == f"event {newest} is missing (removed)"


def test_validate_delete_every_row_detected(mixed, cli):
    repo = mixed
    total = event_count(repo)
    raw(repo).execute("DELETE FROM events")
    assert broken(cli, repo)[1]["problem"] == f"events 1..{total} are missing (removed)"


@pytest.mark.parametrize("forged_prev", [False, True])
def test_validate_insert_forged_row_at_end_detected(mixed, cli, forged_prev):
    repo = mixed
    conn = raw(repo)
    newest, last_hash = conn.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    conn.execute(
        "INSERT INTO events (task_id, ts, kind, data_json, agent_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (SYSTEM_TASK, now_ms(), "release", '{"agent": "mallory"}', "mallory",
         "0" * 64 if forged_prev else last_hash, "f" * 64),
    )
    text, result = broken(cli, repo)
    assert result["first_invalid_id"] == newest + 1 and result["checked"] == newest
    expected = "prev_hash does not match" if forged_prev else "content does not match its hash"
    assert expected in result["problem"] and f"BROKEN at event {newest + 1}" in text.err


def test_validate_rehashed_forgery_is_not_detected(mixed, cli):
    """The documented limit: the chain has no secret, so a row appended with a correctly computed
    hash by someone with write access to the file is indistinguishable from a real one."""
    repo = mixed
    with open_store(repo) as store:
        append_events(store, [(SYSTEM_TASK, "release", "mallory", {"forged": True}, now_ms())])
    assert ok(cli(repo, "audit", "validate", "--json")).json["valid"] is True


def test_validate_from_date_starts_at_its_anchor(repo, cli):
    old = now_ms() - 10 * DAY
    with open_store(repo, lambda: old) as store:
        leases.acquire(store, "alice", ["old/"], 30 * MINUTE)
        leases.release(store, "alice", pattern_list=["old/"])
    ok(cli(repo, "lease", "acquire", "new/", "--agent", "bob"))
    ok(cli(repo, "lease", "release", "new/", "--agent", "bob"))
    assert event_count(repo) == 4
    raw(repo).execute("UPDATE events SET data_json = '{}' WHERE id = 1")
    after_tampering = iso(old + DAY)
    result = ok(cli(repo, "audit", "validate", "--from", after_tampering))
    assert result.out.strip() == "audit chain valid: 2 event(s) checked"
    ok(cli(repo, "audit", "validate", "--from", after_tampering[:10]))  # a plain date works too
    before = iso(old - DAY)
    text, document = broken(cli, repo, "--from", before)
    assert document["first_invalid_id"] == 1
    broken(cli, repo)  # and without --from
    # a row changed after the date is still found
    raw(repo).execute("UPDATE events SET agent_id = 'mallory' WHERE id = 4")
    assert broken(cli, repo, "--from", after_tampering)[1]["first_invalid_id"] == 4


def test_validate_from_date_after_every_event_checks_nothing(repo, cli):
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "alice"))
    ok(cli(repo, "lease", "release", "a/", "--agent", "alice"))
    raw(repo).execute("UPDATE events SET data_json = '{}' WHERE id = 1")
    result = cli(repo, "audit", "validate", "--json", "--from", iso(now_ms() + DAY))
    assert result.code == 0 and result.json["checked"] == 0


def test_validate_from_invalid_date_exit_2(repo, cli):
    result = cli(repo, "audit", "validate", "--from", "last tuesday")
    assert result.code == 2 and "Invalid date 'last tuesday'" in result.err


# --- migration 5: chaining the rows of an older database --------------------------------------------

def test_migration5_backfills_chain_of_version4_database(repo, cli):
    path = db_file(repo)
    conn = db.connect(str(path), migrate=False)
    assert migrations.upgrade(conn, MIGRATIONS[:4]) == [1, 2, 3, 4]
    columns = [row[1] for row in conn.execute("PRAGMA table_info(events)")]
    assert "hash" not in columns and "prev_hash" not in columns
    old = [
        (SYSTEM_TASK, 1_700_000_000_000, "acquire", '{"agent": "alice", "pattern": "src/"}', "alice"),
        (SYSTEM_TASK, 1_700_000_000_000, "release", '{"agent": "alice", "pattern": "src/"}', "alice"),
        (SYSTEM_TASK, 1_700_000_001_000, "reservation_conflict", '{"filePath": "ünïcødé.txt"}', None),
        (SYSTEM_TASK, 1_700_000_002_000, "override", '{"reason": "hotfix"}', "bob"),
    ]
    conn.executemany("INSERT INTO events (task_id, ts, kind, data_json, agent_id) VALUES (?, ?, ?, ?, ?)", old)
    conn.close()

    upgraded = db.connect(str(path))
    assert migrations.current_version(upgraded) == migrations.latest()
    chain = upgraded.execute("SELECT id, task_id, ts, kind, data_json, agent_id, prev_hash, hash FROM events "
                             "ORDER BY id").fetchall()
    assert [row[1:6] for row in chain] == old  # the rows themselves are untouched
    assert chain[0][6] == "" and all(chain[i][6] == chain[i - 1][7] for i in range(1, len(chain)))
    with open_store(repo, migrate=False) as store:
        assert audit.validate(store).items() >= {"valid": True, "checked": 4, "first_invalid_id": None,
                                                 "problem": None}.items()
    assert upgraded.execute("SELECT COUNT(*) FROM audit_outbox").fetchone()[0] == 0
    upgraded.close()
    # new events continue the backfilled chain
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "carol"))
    assert ok(cli(repo, "audit", "validate")).out.startswith(
        "audit chain valid: 5 event(s) checked (1 new since the checkpoint at event 4;")
    raw(repo).execute("UPDATE events SET agent_id = 'mallory' WHERE id = 2")
    assert broken(cli, repo)[1]["first_invalid_id"] == 2


def test_migration5_on_empty_version4_database(repo, cli):
    conn = db.connect(str(db_file(repo)), migrate=False)
    migrations.upgrade(conn, MIGRATIONS[:4])
    conn.close()
    assert ok(cli(repo, "audit", "validate")).out.strip() == "audit chain valid: 0 event(s) checked"
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "carol"))
    assert ok(cli(repo, "audit", "validate", "--json")).json["checked"] == 1


# --- the report ----------------------------------------------------------------------------------------

def report_scenario(repo, cli) -> None:
    """alice: 2 taken (one 3 days ago, expired), 1 released, preflight 2 passed 1 failed;
    bob: 1 taken (taken over by carol); carol: 1 taken, 1 taken over;
    dave: conflicts blocked/overridden/warned on held/x.txt, an override, escalations pending and resolved;
    erin: 2 blocked conflicts (held/x.txt, held/y.txt)."""
    now = now_ms()
    with open_store(repo, lambda: now - 3 * DAY) as store:
        leases.acquire(store, "alice", ["old/"], 30 * MINUTE)
    conn = open_db(repo)
    for index, (agent, status) in enumerate([("alice", "passed"), ("alice", "passed"), ("alice", "failed"),
                                             ("dave", "failed")]):
        conn.execute(
            "INSERT INTO preflight_executions (id, config_id, agent_id, execution_id, check_type, status, created_at) "
            "VALUES (?, 'default', ?, ?, 'full', ?, ?)", (f"pf-{index}", agent, f"exec-{index}", status, now))
    conn.close()
    ok(cli(repo, "lease", "acquire", "a.txt", "--agent", "alice"))  # sweeps old/: an expire event
    ok(cli(repo, "lease", "release", "a.txt", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "bob"))
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "carol", "--force"))
    stage(repo, "held/x.txt")
    assert hook(repo, "dave")[0] == 1
    assert hook(repo, "dave", {"MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "release blocker"})[0] == 0
    assert hook(repo, "dave", {"MAF_RESERVATION_HOOK_MODE": "warn"})[0] == 0
    stage(repo, "held/y.txt")
    assert hook(repo, "erin")[0] == 1
    first = ok(cli(repo, "escalate", "--agent-id", "dave", "--error-context", "x", "--bead-id", "bd-1",
                   "--target", "lead", "--json")).json["escalationId"]
    ok(cli(repo, "escalate", "--agent-id", "dave", "--error-context", "y", "--bead-id", "bd-2", "--target", "lead"))
    ok(cli(repo, "escalate", "resolve", first, "--agent", "lead", "--note", "done"))


ZERO = {"leases": dict.fromkeys(("taken", "released", "expired", "taken_over"), 0),
        "conflicts": dict.fromkeys(("blocked", "warned", "overridden"), 0),
        "escalations": dict.fromkeys(("pending", "escalated", "acknowledged", "resolved", "timeout"), 0),
        "preflight": dict.fromkeys(("pending", "running", "passed", "failed", "timeout"), 0)}


def counted(overrides=(), **given) -> dict:
    """A report's entry: every count present (0 unless ``given``), in the report's key order."""
    return {"leases": {**ZERO["leases"], **given.get("leases", {})},
            "conflicts": {**ZERO["conflicts"], **given.get("conflicts", {})}, "overrides": list(overrides),
            "escalations": {**ZERO["escalations"], **given.get("escalations", {})},
            "preflight": {**ZERO["preflight"], **given.get("preflight", {})}}


DAVE_OVERRIDE = {"reason": "release blocker", "holder": "carol", "paths": ["held/x.txt"]}


def test_report_json_per_agent_and_total(reported, cli):
    repo = reported
    result = ok(cli(repo, "audit", "report", "--json")).json
    assert result["days"] == 7
    assert result["agents"] == {
        "alice": counted(leases={"taken": 2, "released": 1, "expired": 1}, preflight={"passed": 2, "failed": 1}),
        "bob": counted(leases={"taken": 1}),
        "carol": counted(leases={"taken": 1, "taken_over": 1}),
        "dave": counted([DAVE_OVERRIDE], conflicts={"blocked": 1, "overridden": 1, "warned": 1},
                        escalations={"pending": 1, "resolved": 1}, preflight={"failed": 1}),
        "erin": counted(conflicts={"blocked": 2}),
    }
    assert result["total"] == counted([DAVE_OVERRIDE], leases={"taken": 4, "released": 1, "expired": 1, "taken_over": 1},
                                      conflicts={"blocked": 3, "overridden": 1, "warned": 1},
                                      escalations={"pending": 1, "resolved": 1}, preflight={"passed": 2, "failed": 2})
    assert result["most_contested_paths"] == [{"path": "held/x.txt", "conflicts": 4, "agents": 2},
                                              {"path": "held/y.txt", "conflicts": 1, "agents": 1}]


def test_report_agent_filter(reported, cli):
    repo = reported
    result = ok(cli(repo, "audit", "report", "--agent", "dave", "--json")).json
    assert list(result["agents"]) == ["dave"]
    assert result["total"] == result["agents"]["dave"]
    assert result["most_contested_paths"] == [{"path": "held/x.txt", "conflicts": 3, "agents": 1}]
    nobody = ok(cli(repo, "audit", "report", "--agent", "zed", "--json")).json
    assert nobody["agents"] == {} and nobody["most_contested_paths"] == []


def test_report_days_window(reported, cli):
    repo = reported
    result = ok(cli(repo, "audit", "report", "--days", "1", "--json")).json
    assert result["days"] == 1
    # old/ was taken 3 days ago
    assert result["agents"]["alice"]["leases"] == {"taken": 1, "released": 1, "expired": 1, "taken_over": 0}
    assert cli(repo, "audit", "report", "--days", "0").code == 2


def test_report_days_at_most_100_years(reported, cli):
    repo = reported
    assert ok(cli(repo, "audit", "report", "--days", "36500", "--json")).json["days"] == 36500
    for days in ("36501", "99999999999999999999"):
        result = cli(repo, "audit", "report", "--days", days)
        assert result.code == 2 and "1<=x<=36500" in result.err, result.err
        assert "internal error" not in result.err


def test_report_text_output(reported, cli):
    repo = reported
    out = ok(cli(repo, "audit", "report")).out
    lines = out.splitlines()
    assert lines[0] == "audit report, last 7 day(s)"
    assert lines[1].split() == ["AGENT", "TAKEN", "RELEASED", "EXPIRED", "TAKEN", "OVER", "CONFLICTS", "OVERRIDES",
                                "ESCALATIONS", "PREFLIGHT"]
    by_agent = {line.split()[0]: line for line in lines[2:7]}
    assert by_agent["alice"].split()[:4] == ["alice", "2", "1", "1"] and "failed 1, passed 2" in by_agent["alice"]
    assert "blocked 1, overridden 1, warned 1" in by_agent["dave"] and "pending 1, resolved 1" in by_agent["dave"]
    assert "override by dave of carol's lease: release blocker" in lines
    assert lines[lines.index("most contested paths:") + 1:] == ["     4  held/x.txt", "     1  held/y.txt"]
    erin = ok(cli(repo, "audit", "report", "--agent", "erin")).out
    assert erin.startswith("audit report, last 7 day(s), agent erin\n")


def test_report_nothing_recorded(repo, cli):
    assert ok(cli(repo, "audit", "report")).out == "audit report, last 7 day(s)\nnothing recorded\n"
    assert not db_file(repo).exists()


# --- the guard -------------------------------------------------------------------------------------------

def guard(cli, repo, *args, code=0):
    result = cli(repo, "audit", "guard", "--bead-id", "bd-7", "--json", *args)
    assert result.code == code, (result.out, result.err)
    document = result.json
    assert document["type"] == "AUDIT_GUARD_RESULT" and document["beadId"] == "bd-7"
    return document


def kinds(document):
    return [(finding["id"], finding["severity"]) for finding in document["findings"]]


def test_guard_passes_without_findings(repo, cli):
    ok(cli(repo, "lease", "heartbeat", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    document = guard(cli, repo)
    assert document["status"] == "passed" and document["findings"] == []
    assert document["summary"] == {"totalFindings": 0, "criticalCount": 0, "highCount": 0, "mediumCount": 0,
                                   "lowCount": 0}
    assert document["mail"] == {"bytes": 0, "messages": 0, "budgetKb": 5.0}
    text = ok(cli(repo, "audit", "guard", "--bead-id", "bd-7"))
    assert text.out == ("AUDIT_GUARD_RESULT PASSED for bd-7: mail 0.0 KB in 0 message(s) of a 5 KB budget\n"
                        "0 finding(s): 0 critical, 0 high, 0 medium, 0 low\n")


def test_guard_requires_bead_id(repo, cli):
    assert cli(repo, "audit", "guard").code == 2


def test_guard_stale_lease_holder(repo, cli):
    now = now_ms()
    old = now - 2 * HOUR
    with open_store(repo, lambda: old) as store:
        leases.heartbeat(store, "zed")
        leases.acquire(store, "zed", ["z/"], 3 * HOUR)  # still active, but zed's last heartbeat is 2 hours old
        leases.acquire(store, "quiet", ["q/"], 3 * HOUR)  # never sent a heartbeat
    with open_store(repo) as store:
        leases.heartbeat(store, "alice")
        leases.acquire(store, "alice", ["a/"], 30 * MINUTE)
        # with the clock 59 minutes after zed's heartbeat it is not stale yet
        early = audit.guard(store, bead_id="bd-7", mail_root=str(repo / ".agent-mail"), max_kb=5,
                            now=old + 59 * MINUTE)
    assert [f["message"] for f in early["findings"]] == [
        "quiet holds 1 active lease(s) with no heartbeat in 60 minutes (never sent one)"]
    document = guard(cli, repo)
    assert kinds(document) == [("stale_lease_holder", "medium"), ("stale_lease_holder", "medium")]
    assert [f["message"] for f in document["findings"]] == [
        "quiet holds 1 active lease(s) with no heartbeat in 60 minutes (never sent one)",
        "zed holds 1 active lease(s) with no heartbeat in 60 minutes",
    ]
    assert document["status"] == "passed" and document["summary"]["mediumCount"] == 2
    ok(cli(repo, "lease", "heartbeat", "--agent", "zed"))
    ok(cli(repo, "lease", "release", "q/", "--agent", "quiet"))
    assert guard(cli, repo)["findings"] == []


def test_guard_escalation_past_path_timeout(repo, cli):
    shutil.copy(FIXTURE, repo / "maf.toml")
    cfg = config.load(str(repo), environ={})
    opened_at = now_ms() - 61 * MINUTE  # the fixture path's timeout is 60 minutes
    store = open_store(repo, lambda: opened_at)
    escalation.sync_paths(store, cfg)
    record = escalation_rules.new_record(
        path_id="critical-system-escalation", agent="bob", condition=escalation_rules.MANUAL, reason="stuck",
        context={}, priority="high", target="on-call-engineer", now=opened_at)
    escalation.open_manual(store, cfg, record)
    mail_root = str(repo / ".agent-mail")
    before = audit.guard(store, bead_id="bd-7", mail_root=mail_root, max_kb=5, now=opened_at + 59 * MINUTE)
    assert before["findings"] == []
    at = audit.guard(store, bead_id="bd-7", mail_root=mail_root, max_kb=5, now=opened_at + 60 * MINUTE)
    assert kinds(at) == [("escalation_past_timeout", "high")]
    store.close()
    document = guard(cli, repo)
    assert kinds(document) == [("escalation_past_timeout", "high")] and document["status"] == "passed"
    message = document["findings"][0]["message"]
    assert record["escalation_id"] in message and "critical-system-escalation" in message
    assert "maf escalate tick" in message
    ok(cli(repo, "escalate", "ack", record["escalation_id"], "--agent", "lead"))
    assert guard(cli, repo)["findings"] == []  # acknowledged: no longer open and advancing


def test_guard_override_without_reason(repo, cli):
    ok(cli(repo, "lease", "heartbeat", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    stage(repo, "held/x.txt")
    assert hook(repo, "bob", {"MAF_RESERVATION_OVERRIDE": "1", "MAF_OVERRIDE_REASON": "hotfix"})[0] == 0
    assert guard(cli, repo)["findings"] == []
    assert hook(repo, "bob", {"MAF_RESERVATION_OVERRIDE": "1"})[0] == 0
    document = guard(cli, repo)
    assert kinds(document) == [("override_without_reason", "high")] and document["status"] == "passed"
    assert "override by bob" in document["findings"][0]["message"]


def test_guard_broken_chain_is_critical_and_fails(repo, cli):
    ok(cli(repo, "lease", "heartbeat", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "b/", "--agent", "alice"))
    raw(repo).execute("DELETE FROM events WHERE id = 2")
    document = guard(cli, repo, code=1)
    assert kinds(document) == [("audit_chain_broken", "critical")] and document["status"] == "failed"
    assert document["summary"] == {"totalFindings": 1, "criticalCount": 1, "highCount": 0, "mediumCount": 0,
                                   "lowCount": 0}
    assert "audit chain broken at event 2" in document["findings"][0]["message"]
    text = cli(repo, "audit", "guard", "--bead-id", "bd-7")
    assert text.code == 1 and text.out.startswith("AUDIT_GUARD_RESULT FAILED for bd-7")
    assert "  [critical] audit chain broken at event 2" in text.out


def test_guard_more_than_two_high_findings_fail(repo, cli):
    ok(cli(repo, "lease", "heartbeat", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    stage(repo, "held/x.txt")
    for _ in range(2):
        assert hook(repo, "bob", {"MAF_RESERVATION_OVERRIDE": "1"})[0] == 0
    two = guard(cli, repo)
    assert two["status"] == "passed" and two["summary"]["highCount"] == 2
    assert hook(repo, "bob", {"MAF_RESERVATION_OVERRIDE": "1"})[0] == 0
    three = guard(cli, repo, code=1)
    assert three["status"] == "failed" and three["summary"]["highCount"] == 3 and three["summary"]["totalFindings"] == 3
    assert cli(repo, "audit", "guard", "--bead-id", "bd-7").code == 1


def test_guard_mail_budget(repo, cli):
    ok(cli(repo, "lease", "heartbeat", "--agent", "alice"))
    ok(cli(repo, "mail", "send", "--to", "bob", "--subject", "bd-7: the parser", "--body", "x" * 1500,
           "--agent", "alice"))
    ok(cli(repo, "mail", "send", "--to", "carol", "--subject", "about bd-7", "--body", "y" * 800, "--agent", "alice"))
    ok(cli(repo, "mail", "send", "--to", "bob", "--subject", "bd-8 only", "--body", "z" * 5000, "--agent", "alice"))
    within = guard(cli, repo)
    assert within["findings"] == [] and within["mail"]["messages"] == 2
    size = within["mail"]["bytes"]
    assert 2300 < size < 5 * 1024
    over = guard(cli, repo, "--max-kb", "2")
    assert kinds(over) == [("mail_budget", "high")] and over["status"] == "passed"
    assert over["mail"] == {"bytes": size, "messages": 2, "budgetKb": 2.0}
    message = over["findings"][0]["message"]
    assert "2 message(s) mentioning bd-7" in message and "2 KB budget" in message
    # read mail (moved to cur/) still counts
    for message in ok(cli(repo, "mail", "list", "--agent", "bob", "--json")).json["messages"]:
        ok(cli(repo, "mail", "read", message["id"], "--agent", "bob"))
    assert {m["folder"] for m in ok(cli(repo, "mail", "list", "--agent", "bob", "--json")).json["messages"]} == {"cur"}
    assert guard(cli, repo, "--max-kb", "2")["mail"]["messages"] == 2
    text = ok(cli(repo, "audit", "guard", "--bead-id", "bd-7", "--max-kb", "2"))
    assert "[high] 2 message(s) mentioning bd-7" in text.out


def test_guard_mail_budget_without_database(repo, cli):
    mailbox = repo / ".agent-mail" / "bob" / "new"
    mailbox.mkdir(parents=True)
    for name in ("cur", "tmp"):
        (mailbox.parent / name).mkdir()
    (mailbox / "1.msg").write_bytes(b"Subject: bd-7\n\n" + b"x" * 3000)
    document = guard(cli, repo, "--max-kb", "1")
    assert kinds(document) == [("mail_budget", "high")] and document["mail"]["messages"] == 1
    assert not db_file(repo).exists()


# --- the webhook outbox ------------------------------------------------------------------------------------

class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.server.requests.append({"path": self.path, "type": self.headers["Content-Type"], "status": status,
                                     "body": json.loads(body)})
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.requests, server.statuses = [], []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/audit"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def outbox(repo):
    conn = raw(repo)
    try:
        return conn.execute("SELECT event_id, attempts, next_attempt_at, last_error, delivered_at FROM audit_outbox "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


def test_webhook_posts_each_event_as_json(repo, cli, receiver):
    env = {"AUDIT_WEBHOOK_URL": receiver.url}
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice", env=env))
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "bob", "--force", env=env))
    ok(cli(repo, "lease", "release", "src/", "--agent", "bob", env=env))
    received = [request["body"] for request in receiver.requests]
    assert [(body["kind"], body["agent"]) for body in received] == [
        ("acquire", "alice"), ("takeover", "bob"), ("acquire", "bob"), ("release", "bob")]
    assert all(r["path"] == "/audit" and r["type"] == "application/json" for r in receiver.requests)
    conn = raw(repo)
    stored = conn.execute("SELECT id, task_id, ts, kind, data_json FROM events ORDER BY id").fetchall()
    assert [(b["id"], b["task_id"], b["ts"], b["kind"], b["data"]) for b in received] == [
        (row[0], row[1], row[2], row[3], json.loads(row[4])) for row in stored]
    assert received[1]["data"]["holder"] == "alice" and received[1]["data"]["taken_by"] == "bob"
    assert [(row[0], row[1], row[4] is not None) for row in outbox(repo)] == [(1, 1, True), (2, 1, True),
                                                                              (3, 1, True), (4, 1, True)]


def test_webhook_not_set_queues_nothing(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    assert outbox(repo) == []
    flushed = ok(cli(repo, "audit", "flush", "--json")).json
    assert flushed == {"schema": "maf.audit.flush/1", "sent": 0, "failed": 0, "pending": 0, "configured": False}


def test_webhook_500_keeps_rows_queued_with_backoff_then_flush(repo, cli, receiver, monkeypatch):
    env = {"AUDIT_WEBHOOK_URL": receiver.url}
    receiver.statuses = [500]
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice", env=env))  # the command itself still succeeds
    [(event_id, attempts, next_attempt, error, delivered)] = outbox(repo)
    ts = raw(repo).execute("SELECT ts FROM events WHERE id = ?", (event_id,)).fetchone()[0]
    assert attempts == 1 and delivered is None and "500" in error
    assert ts + audit.RETRY_BASE_MS - 1000 <= next_attempt <= ts + audit.RETRY_BASE_MS + 5000
    # the next command sends its own event; the failed one waits for its backoff
    ok(cli(repo, "lease", "acquire", "docs/", "--agent", "alice", env=env))
    assert [(r["status"], r["body"]["id"]) for r in receiver.requests] == [(500, 1), (200, 2)]
    assert [row[4] is None for row in outbox(repo)] == [True, False]
    early = ok(cli(repo, "audit", "flush", "--json", env=env)).json
    assert early == {"schema": "maf.audit.flush/1", "sent": 0, "failed": 0, "pending": 1, "configured": True}
    # later (the clock moved past the backoff): `maf audit flush` delivers it
    later = next_attempt + 1
    monkeypatch.setattr("maf_hooks.cli.audit.now_ms", lambda: later)
    flushed = cli(repo, "audit", "flush", env=env)
    assert flushed.code == 0 and flushed.out == "sent 1, failed 0, still queued 0\n"
    assert receiver.requests[-1]["body"]["id"] == 1 and receiver.requests[-1]["body"]["kind"] == "acquire"
    assert [(row[1], row[4]) for row in outbox(repo)][0] == (2, later)


def test_webhook_unreachable_command_succeeds_and_flush_reports(repo, cli, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"AUDIT_WEBHOOK_URL": f"http://127.0.0.1:{port}/audit"}
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice", env=env))
    [(_, attempts, next_attempt, error, delivered)] = outbox(repo)
    assert attempts == 1 and delivered is None and error
    monkeypatch.setattr("maf_hooks.cli.audit.now_ms", lambda: next_attempt)
    result = cli(repo, "audit", "flush", env=env)
    assert result.code == 1 and result.out == "sent 0, failed 1, still queued 1\n"
    assert outbox(repo)[0][1] == 2


def test_webhook_hook_sends_its_events_after_deciding(repo, cli, receiver, monkeypatch):
    monkeypatch.setenv("AUDIT_WEBHOOK_URL", receiver.url)
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    assert len(receiver.requests) == 1
    stage(repo, "held/x.txt")
    assert hook(repo, "bob", {"AUDIT_WEBHOOK_URL": receiver.url})[0] == 1
    assert [(r["body"]["kind"], r["body"]["agent"]) for r in receiver.requests] == [
        ("acquire", "alice"), ("reservation_conflict", "bob")]
    assert all(row[4] is not None for row in outbox(repo))


def test_webhook_hook_unreachable_still_decides_and_keeps_events_queued(repo, cli, monkeypatch):
    monkeypatch.setenv("AUDIT_WEBHOOK_URL", "http://127.0.0.1:9/audit")  # nothing listens there
    ok(cli(repo, "lease", "acquire", "held/", "--agent", "alice"))
    stage(repo, "held/x.txt")
    code, err = hook(repo, "bob", {"AUDIT_WEBHOOK_URL": "http://127.0.0.1:9/audit"})
    assert code == 1 and "RESERVATION_CONFLICT" in err
    assert all(row[4] is None for row in outbox(repo))  # still queued for a later flush


def queue_rows(store, count, now):
    for index in range(count):
        store.db.execute("INSERT INTO audit_outbox (event_id, payload_json, next_attempt_at) VALUES (?, ?, ?)",
                     (index + 1, json.dumps({"id": index + 1}), now))


def test_flush_outbox_stops_when_time_budget_spent(repo):
    store = open_store(repo)
    queue_rows(store, 10, 1_000)
    clock = [100.0]
    sent = []

    def post(url, body, timeout):
        sent.append((json.loads(body)["id"], timeout))
        clock[0] += 0.4  # every POST takes 0.4 s of the injected clock

    result = audit.flush(store, "http://example.invalid/", 1_000, budget_seconds=1.0, post=post,
                          clock=lambda: clock[0])
    assert result == {"sent": 3, "failed": 0, "pending": 7}
    assert [item[0] for item in sent] == [1, 2, 3]
    assert [round(item[1], 3) for item in sent] == [1.0, 0.6, 0.2]  # no POST may outlast the budget
    assert clock[0] == pytest.approx(101.2)
    again = audit.flush(store, "http://example.invalid/", 1_000, budget_seconds=100, post=post,
                         clock=lambda: clock[0])
    assert again == {"sent": 7, "failed": 0, "pending": 0}
    assert [item[0] for item in sent] == list(range(1, 11))


def test_flush_outbox_default_budget_is_one_second(repo):
    store = open_store(repo)
    queue_rows(store, 5, 0)
    clock = [0.0]

    def slow(url, body, timeout):
        assert timeout <= audit.WEBHOOK_BUDGET_SECONDS == 1.0
        clock[0] += 0.3

    assert audit.flush(store, "http://x/", 0, post=slow, clock=lambda: clock[0])["sent"] == 4


def test_flush_outbox_backoff_doubles(repo):
    store = open_store(repo)
    queue_rows(store, 1, 0)

    def refuse(url, body, timeout):
        raise ConnectionRefusedError("nobody home")

    now = 1_000_000
    expected_next = []
    for attempt in range(4):
        result = audit.flush(store, "http://x/", now, post=refuse, clock=lambda: 0.0)
        assert result == {"sent": 0, "failed": 1, "pending": 1}
        attempts, next_attempt, error = store.db.one(
            "SELECT attempts, next_attempt_at, last_error FROM audit_outbox")
        assert attempts == attempt + 1 and error == "ConnectionRefusedError: nobody home"
        assert next_attempt == now + audit.RETRY_BASE_MS * 2 ** attempt
        expected_next.append(next_attempt - now)
        # not due yet: nothing is tried
        assert audit.flush(store, "http://x/", next_attempt - 1, post=refuse, clock=lambda: 0.0)["failed"] == 0
        now = next_attempt
    assert expected_next == [5_000, 10_000, 20_000, 40_000]
    assert audit.flush(store, "http://x/", now, post=lambda *a: None, clock=lambda: 0.0) == {
        "sent": 1, "failed": 0, "pending": 0}
    assert store.db.one("SELECT attempts, delivered_at FROM audit_outbox") == (5, now)


# --- migration 8: events outlive their tasks ---------------------------------------------------------

def test_migration8_deleting_a_lease_task_keeps_its_events(repo, cli):
    ok(cli(repo, "lease", "acquire", "src/", "--agent", "alice"))
    ok(cli(repo, "lease", "release", "src/", "--agent", "alice"))
    conn = open_db(repo)  # foreign keys on, as every connection of maf-hooks has them
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    task_id = conn.execute("SELECT task_id FROM file_leases").fetchone()[0]
    before = conn.execute("SELECT id, hash FROM events WHERE task_id = ? ORDER BY id", (task_id,)).fetchall()
    assert len(before) == 2
    conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
    assert conn.execute("SELECT COUNT(*) FROM file_leases").fetchone()[0] == 0  # the lease itself cascades
    assert conn.execute("SELECT id, hash FROM events WHERE task_id = ? ORDER BY id", (task_id,)).fetchall() == before
    conn.close()
    assert ok(cli(repo, "audit", "validate")).out.strip() == "audit chain valid: 2 event(s) checked"


def test_migration8_keeps_an_old_database_chain_and_counter(repo, cli):
    path = db_file(repo)
    conn = db.connect(str(path), migrate=False)
    assert migrations.upgrade(conn, MIGRATIONS[:7]) == [1, 2, 3, 4, 5, 6, 7]
    conn.close()
    with open_store(repo, migrate=False) as store:
        append_events(store, [(SYSTEM_TASK, "acquire", "alice", {"n": index}, 1_700_000_000_000 + index)
                              for index in range(4)])
        store.db.execute("DELETE FROM events WHERE id = 4")  # the newest removed: only the counter shows it
        old_rows = store.db.all("SELECT * FROM events ORDER BY id")

    upgraded = db.connect(str(path), migrate=False)
    assert migrations.upgrade(upgraded, MIGRATIONS[:8]) == [8]
    assert upgraded.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # restored after the rebuild
    assert upgraded.execute("PRAGMA foreign_key_list(events)").fetchall() == []
    assert upgraded.execute("SELECT * FROM events ORDER BY id").fetchall() == old_rows
    assert upgraded.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone() == (4,)
    indexes = {row[1] for row in upgraded.execute("PRAGMA index_list(events)")}
    assert {"idx_events_task", "idx_events_kind_ts", "idx_events_agent_ts"} <= indexes
    assert upgraded.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_v8'").fetchone()[0] == 0
    upgraded.close()
    # the removed newest event is still found, and new events get fresh ids
    assert broken(cli, repo)[1]["first_invalid_id"] == 4
    raw(repo).execute("UPDATE sqlite_sequence SET seq = 3 WHERE name = 'events'")  # repair, for the next check
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "carol"))
    assert ok(cli(repo, "audit", "validate")).out.strip() == "audit chain valid: 4 event(s) checked"


def test_migration8_on_a_valid_old_chain_stays_valid(repo, cli):
    conn = db.connect(str(db_file(repo)), migrate=False)
    migrations.upgrade(conn, MIGRATIONS[:7])
    conn.close()
    with open_store(repo, migrate=False) as store:
        append_events(store, [(SYSTEM_TASK, "release", None, {"n": index}, 1_700_000_000_000) for index in range(3)])
    assert ok(cli(repo, "audit", "validate")).out.strip() == "audit chain valid: 3 event(s) checked"


def test_foreign_key_migration_refuses_to_run_inside_a_transaction(repo):
    conn = db.connect(str(db_file(repo)), migrate=False)
    migrations.upgrade(conn, MIGRATIONS[:7])
    conn.execute("BEGIN")
    with pytest.raises(StorageError, match="outside a transaction"):
        migrations.upgrade(conn)
    conn.execute("ROLLBACK")
    assert migrations.current_version(conn) == 7
    assert migrations.upgrade(conn, MIGRATIONS[:8]) == [8]
    conn.close()


def test_foreign_key_migration_that_breaks_a_reference_rolls_back(repo):
    conn = db.connect(str(db_file(repo)), migrate=False)
    migrations.upgrade(conn, MIGRATIONS[:7])

    def orphan(c):
        c.execute("INSERT INTO leases (task_id, agent_id, lease_expires_at, attempt) VALUES ('nowhere', 'a', 0, 1)")

    with pytest.raises(StorageError, match="point nowhere"):
        migrations.upgrade(conn, [*MIGRATIONS[:7], migrations.Migration(8, "orphan", orphan, True)])
    assert migrations.current_version(conn) == 7
    assert conn.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    conn.close()


# --- the checkpoint: incremental validation (tests/contract/test_audit_checkpoint.py has the rest) ----

def test_chain_hash_known_answer():
    """The chain's format, pinned: event 3 of docs/audit.md's example, recomputed by hand there."""
    previous = "6632e1e75804772d69223e149a3520c4617aa3e0941c35d1d23101ccaae9d775"
    row = (3, "lease-5d643e437a66", 1795360947321, "release", '{"agent": "bob", "pattern": "docs/"}', "bob")
    assert chain_hash(previous, row) == "7922bab91d3e8b6a5a2dc1e37716f3ef55e08db7031e4909c6ae5c52d8438b9a"


@pytest.mark.parametrize("data", [b"", b"abc", "ünïcødé\n".encode(), bytes(range(256)) * 300])
def test_lean_sha256_is_hashlibs(data):
    """The chain's SHA-256 without OpenSSL (:mod:`maf_hooks.core.digest`) gives hashlib's digests."""
    import hashlib

    from maf_hooks.core.digest import sha256_hex

    assert sha256_hex(data) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("row", [
    (1, "t", 0, "k", "{}", None),
    (2**70, "ünï\u2028cødé \x00\x1f\x7f\"\\/", -5, "😀", '{"a": "\\u00e9\\n"}', "bob\ttab"),
    (7, "t", 1.5, "k", "{}", "a"),  # not an integer time: json.dumps itself
    (True, "t", 0, "k", "{}", "a"),  # a bool is not an id
    (8, "t", 0, "k", "{}", 3),
])
def test_canonical_is_exactly_json_dumps(row):
    from maf_hooks.core.chain import canonical

    assert canonical(row) == json.dumps(list(row), separators=(",", ":"), ensure_ascii=False)


def test_validate_cli_checks_new_events_from_the_checkpoint(repo, cli):
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "alice"))
    ok(cli(repo, "lease", "release", "a/", "--agent", "alice"))
    assert ok(cli(repo, "audit", "validate")).out.strip() == "audit chain valid: 2 event(s) checked"
    ok(cli(repo, "lease", "acquire", "b/", "--agent", "alice"))
    assert ok(cli(repo, "audit", "validate")).out.strip() == (
        "audit chain valid: 3 event(s) checked (1 new since the checkpoint at event 2; the events up to it are "
        "re-hashed only by --full)")
    document = ok(cli(repo, "audit", "validate", "--json")).json
    assert document["from_checkpoint"] is True and document["checkpoint_id"] == 3 and document["new_checked"] == 0
    assert ok(cli(repo, "audit", "validate", "--full")).out.strip() == "audit chain valid: 3 event(s) checked"
    assert ok(cli(repo, "audit", "validate", "--full", "--json")).json["from_checkpoint"] is False


def _behind_the_triggers(repo, statement):
    """A change that bypasses the triggers guarding the checkpoint (dropped, then made again)."""
    from maf_hooks.store.sqlite.schema_v15 import V15_AUDIT_CHECKPOINT

    conn = raw(repo)
    for name in ("update", "delete", "insert"):
        conn.execute(f"DROP TRIGGER audit_checkpoint_event_{name}")
    conn.execute(statement)
    for create in V15_AUDIT_CHECKPOINT[1:]:
        conn.execute(create)
    conn.close()


def test_validate_incremental_misses_what_full_finds(mixed, cli):
    """The documented limit of the checkpoint: an earlier event changed behind the triggers."""
    repo = mixed
    ok(cli(repo, "audit", "validate"))
    _behind_the_triggers(repo, "UPDATE events SET agent_id = 'mallory' WHERE id = 3")
    assert "since the checkpoint" in ok(cli(repo, "audit", "validate")).out
    text, document = broken(cli, repo, "--full")
    assert document["first_invalid_id"] == 3 and "BROKEN at event 3" in text.err


def test_validate_an_sql_change_sets_the_checkpoint_aside(mixed, cli):
    repo = mixed
    ok(cli(repo, "audit", "validate"))
    raw(repo).execute("UPDATE events SET agent_id = 'mallory' WHERE id = 3")
    text, document = broken(cli, repo)
    assert document["first_invalid_id"] == 3 and document["from_checkpoint"] is False


def test_validate_a_checkpoint_set_aside_says_why_then_checks_everything(mixed, cli):
    repo = mixed
    ok(cli(repo, "audit", "validate"))
    newest = event_count(repo)
    _behind_the_triggers(repo, f"UPDATE events SET hash = 'x' WHERE id = {newest}")
    text, document = broken(cli, repo)
    assert document["first_invalid_id"] == newest and document["from_checkpoint"] is False
    assert "is not the one verified on" in document["checkpoint_problem"]
    lines = text.err.splitlines()
    assert lines[0].startswith("the checkpoint no longer holds (its hash is not the one verified on ")
    assert lines[0].endswith("): checked every event")
    assert lines[1].startswith(f"audit chain BROKEN at event {newest}: its content does not match its hash")


def test_guard_uses_and_moves_the_checkpoint(repo, cli):
    ok(cli(repo, "lease", "heartbeat", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "a/", "--agent", "alice"))
    ok(cli(repo, "lease", "acquire", "b/", "--agent", "alice"))
    assert guard(cli, repo)["findings"] == []
    with open_store(repo) as store:
        assert store.audit.checkpoint()[0] == event_count(repo)
    _behind_the_triggers(repo, "UPDATE events SET agent_id = 'mallory' WHERE id = 1")
    assert guard(cli, repo)["findings"] == []  # from the checkpoint: only --full finds it
    broken(cli, repo, "--full")
    raw(repo).execute("DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)")
    assert kinds(guard(cli, repo, code=1)) == [("audit_chain_broken", "critical")]


def test_migration15_checkpoint_on_an_older_database(repo, cli):
    conn = db.connect(str(db_file(repo)), migrate=False)
    migrations.upgrade(conn, MIGRATIONS[:13])
    conn.close()
    with open_store(repo, migrate=False) as store:
        append_events(store, [(SYSTEM_TASK, "release", None, {"n": index}, 1_700_000_000_000) for index in range(3)])
    assert ok(cli(repo, "audit", "validate")).out.strip() == "audit chain valid: 3 event(s) checked"
    names = {row[0] for row in raw(repo).execute("SELECT name FROM sqlite_master WHERE name LIKE 'audit_checkpoint%'")}
    assert names == {"audit_checkpoint", "audit_checkpoint_event_update", "audit_checkpoint_event_delete",
                     "audit_checkpoint_event_insert"}
    assert raw(repo).execute("SELECT event_id, count FROM audit_checkpoint").fetchall() == [(3, 3)]
