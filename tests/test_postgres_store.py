"""The PostgreSQL backend's own promises, beside the contract suite: the server's clock, schema
migrations and their client window, the advisory locks, selection by configuration, the
repository key and the password sources. A real server (the ``pg_server`` fixture)."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest
from conftest import commit_file, git, make_repo

from maf_hooks.errors import StorageError
from maf_hooks.store.postgres import migrations, open_server
from maf_hooks.store.postgres.connection import Settings

pytestmark = pytest.mark.usefixtures("pg_server")
BIN = os.path.dirname(sys.executable)


def opened(url, repository="example.com/org/app", clock=None, migrate=True):
    return open_server(Settings(url), repository, clock, migrate=migrate)


def server_ms(pg_server, url) -> int:
    dbname = url.rsplit("/", 1)[1]
    return int(pg_server.sql("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", dbname)[0][0])


def fleet_repo(tmp_path, url, *, key: str | None = "example.com/org/app", remote: str | None = None):
    repo = make_repo(tmp_path / "repo")
    lines = ["[storage]", f'url = "{url}"']
    if key:
        lines.append(f'repository = "{key}"')
    (repo / "maf.toml").write_text("\n".join(lines) + "\n")
    if remote:
        git("remote", "add", "origin", remote, cwd=repo)
    commit_file(repo, "README.md", "hello\n", "initial")
    return repo


def run(repo, *args, env=None, input=None):
    command = [os.path.join(BIN, args[0]), *args[1:]]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, input=input,
                          env={**os.environ, **(env or {})}, timeout=60)


# --- the server's clock ---------------------------------------------------------------------

def test_a_section_reads_the_servers_clock_after_its_lock(pg_server, pg_url):
    store = opened(pg_url)
    try:
        before = server_ms(pg_server, pg_url)
        with store.write() as now:
            pass
        after = server_ms(pg_server, pg_url)
        assert before <= now <= after
        assert abs(store.now() - after) < 1000  # reads outside a section: the server's clock carried on
    finally:
        store.close()


def _hold_section(url, repository, held, release_at) -> None:
    store = opened(url, repository, migrate=False)
    with store.write():
        held.set()
        while time.time() < release_at.value:
            time.sleep(0.01)
    store.close()


def test_a_section_that_waited_for_the_lock_gets_a_time_after_the_wait(pg_server, pg_url):
    opened(pg_url).close()
    held = multiprocessing.Event()
    release_at = multiprocessing.Value("d", time.time() + 0.6)
    holder = multiprocessing.Process(target=_hold_section, args=(pg_url, "example.com/org/app", held, release_at))
    holder.start()
    assert held.wait(30)
    store = opened(pg_url, migrate=False)
    try:
        asked = server_ms(pg_server, pg_url)
        with store.write() as now:
            pass
        assert now >= asked + 300  # the clock was read once the holder let go, not at BEGIN
    finally:
        store.close()
        holder.join(30)


def test_a_machine_whose_clock_is_an_hour_behind_still_takes_server_time(tmp_path, pg_server, pg_url):
    repo = fleet_repo(tmp_path, pg_url)
    assert run(repo, "maf", "db", "migrate").returncode == 0
    skewed = ("import sys, time\n_real = time.time\ntime.time = lambda: _real() - 3600\n"
              "from maf_hooks.cli.main import lease_main\nsys.argv = ['maf-lease', 'acquire', 'src/*.py', "
              "'--agent', 'alice', '--json']\nlease_main()\n")
    result = subprocess.run([sys.executable, "-c", skewed], cwd=repo, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lease = json.loads(result.stdout)["granted"][0]
    created = server_ms(pg_server, pg_url) - lease["expires_at_ms"] + 30 * 60_000
    assert abs(created) < 10_000  # created at the server's now, not an hour ago


# --- migrations and the client window -----------------------------------------------------------

def test_hooks_and_everyday_commands_never_migrate_a_server(tmp_path, pg_url):
    repo = fleet_repo(tmp_path, pg_url)
    result = run(repo, "maf-lease", "acquire", "a.txt", "--agent", "alice")
    assert result.returncode == 3
    assert "holds no maf-hooks schema" in result.stderr and "maf db migrate" in result.stderr
    (repo / "a.txt").write_text("x\n")
    git("add", "a.txt", cwd=repo)
    hook = run(repo, "maf-reservations", env={"MAF_AGENT_ID": "bob"})
    assert hook.returncode == 1 and "RESERVATION CHECK FAILED" in hook.stderr  # fails closed
    migrated = run(repo, "maf", "db", "migrate", "--json")
    assert migrated.returncode == 0, migrated.stderr
    document = json.loads(migrated.stdout)
    assert document["created"] is True and document["version"] == migrations.SCHEMA_VERSION
    assert document["backend"] == "postgresql"
    again = json.loads(run(repo, "maf", "db", "migrate", "--json").stdout)
    assert again["created"] is False and again["previous_version"] == migrations.SCHEMA_VERSION
    assert run(repo, "maf-lease", "acquire", "a.txt", "--agent", "alice").returncode == 0


def _migrate(url, results) -> None:
    try:
        store = opened(url)
        results.put(store.upgraded)
        store.close()
    except Exception as exc:
        results.put(repr(exc))


def test_two_machines_migrating_at_once_apply_each_migration_once(pg_url):
    results = multiprocessing.Queue()
    racers = [multiprocessing.Process(target=_migrate, args=(pg_url, results)) for _ in range(4)]
    for racer in racers:
        racer.start()
    outcomes = [results.get(timeout=60) for _ in racers]
    for racer in racers:
        racer.join(30)
    every = [m.version for m in migrations.MIGRATIONS]
    assert sorted(map(str, outcomes)) == sorted(map(str, [every] + [[]] * 3))
    store = opened(pg_url, migrate=False)
    try:
        assert [row[0] for row in store.schema(applied=True).applied] == [m.version for m in migrations.MIGRATIONS]
    finally:
        store.close()


def test_a_schema_beyond_the_clients_window_is_refused_naming_both_versions(pg_server, pg_url):
    opened(pg_url).close()
    dbname = pg_url.rsplit("/", 1)[1]
    newer = migrations.SCHEMA_VERSION + 1
    # an additive migration of a newer maf-hooks: this client keeps working
    pg_server.sql(f"INSERT INTO maf_schema VALUES ({newer}, 'additive', 0, 1, '9.9')", dbname)
    opened(pg_url, migrate=False).close()
    # one that older clients cannot use: refused, naming both versions and what to do
    pg_server.sql(f"UPDATE maf_schema SET min_client = {newer} WHERE version = {newer}", dbname)
    with pytest.raises(StorageError) as refused:
        opened(pg_url, migrate=False)
    message = str(refused.value)
    assert f"schema version {newer}" in message and f"knows version {migrations.SCHEMA_VERSION}" in message
    assert "The older copy is this one" in message and "Upgrade maf-hooks" in message


def test_an_older_schema_asks_for_maf_db_migrate(pg_server, pg_url):
    assert migrations.window_problem("srv", 0, 0).endswith("`maf db migrate` (or `maf init`).")
    problem = migrations.window_problem("srv", migrations.SCHEMA_VERSION - 1, 1)
    if migrations.SCHEMA_VERSION > 1:
        assert "`maf db migrate`" in problem
    assert migrations.window_problem("srv", migrations.SCHEMA_VERSION, 1) is None


# --- selection, repository key, passwords ---------------------------------------------------------

def test_storage_url_selects_the_server_and_db_path_prints_it_without_a_password(tmp_path, pg_url):
    repo = fleet_repo(tmp_path, pg_url)
    result = run(repo, "maf", "db", "path")
    assert result.stdout.strip() == pg_url
    assert not os.path.exists(repo / ".git" / "maf" / "runtime.db")
    # a password in the URL is refused, from the variable as from the committed configuration
    env_url = pg_url.replace("maf@", "maf:s3cret@")
    from_env = run(repo, "maf", "db", "path", env={"MAF_DB_URL": env_url})
    assert from_env.returncode == 2 and "password" in from_env.stderr and "s3cret" not in from_env.stderr
    (repo / "maf.toml").write_text(f'[storage]\nurl = "{env_url}"\n')
    refused = run(repo, "maf", "db", "path")
    assert refused.returncode == 2 and "password" in refused.stderr and "s3cret" not in refused.stderr


def test_the_repository_key_defaults_to_the_origin_remote(tmp_path, pg_url):
    repo = fleet_repo(tmp_path, pg_url, key=None, remote="git@GitHub.com:org/app.git")
    assert run(repo, "maf", "db", "migrate").returncode == 0
    assert run(repo, "maf-lease", "acquire", "a.txt", "--agent", "alice").returncode == 0
    store = opened(pg_url, "github.com/org/app", migrate=False)
    try:
        assert [lease.pattern for lease in store.leases.active(store.now())] == ["a.txt"]
    finally:
        store.close()


def test_no_remote_and_no_key_is_refused_clearly(tmp_path, pg_url):
    repo = fleet_repo(tmp_path, pg_url, key=None)
    result = run(repo, "maf-lease", "acquire", "a.txt", "--agent", "alice")
    assert result.returncode == 2
    assert "storage.repository" in result.stderr and "origin" in result.stderr


@pytest.fixture
def secret_role(pg_server, pg_url):
    dbname = pg_url.rsplit("/", 1)[1]
    pg_server.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agent') THEN "
                  "CREATE ROLE agent LOGIN PASSWORD 's3cret-pw'; END IF; END $$")
    pg_server.sql(f"GRANT ALL ON DATABASE {dbname} TO agent")
    pg_server.sql("GRANT ALL ON SCHEMA public TO agent", dbname)
    return f"postgresql://agent@127.0.0.1:{pg_server.port}/{dbname}"


def test_password_sources_pgpassword_password_env_and_pgpass(tmp_path, secret_role):
    repo = fleet_repo(tmp_path, secret_role)
    missing = run(repo, "maf", "db", "migrate")
    assert missing.returncode == 3 and "Cannot reach the lease server" in missing.stderr
    assert run(repo, "maf", "db", "migrate", env={"PGPASSWORD": "s3cret-pw"}).returncode == 0
    wrong = run(repo, "maf-lease", "list", env={"PGPASSWORD": "wrong-pw"})
    assert wrong.returncode == 3 and "wrong-pw" not in wrong.stderr
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("127.0.0.1:*:*:agent:s3cret-pw\n")
    pgpass.chmod(0o600)
    assert run(repo, "maf-lease", "list", env={"PGPASSFILE": str(pgpass)}).returncode == 0
    with open(repo / "maf.toml", "a") as config:
        config.write('password_env = "TEAM_DB_PASSWORD"\n')
    unset = run(repo, "maf-lease", "list")
    assert unset.returncode == 2 and "TEAM_DB_PASSWORD" in unset.stderr
    assert run(repo, "maf-lease", "list", env={"TEAM_DB_PASSWORD": "s3cret-pw"}).returncode == 0
    bad = run(repo, "maf-lease", "list", env={"TEAM_DB_PASSWORD": "not-it-pw"})
    assert bad.returncode == 3 and "not-it-pw" not in bad.stderr and "agent@127.0.0.1" in bad.stderr


def test_the_driver_missing_is_a_clear_storage_error(tmp_path, pg_url):
    repo = fleet_repo(tmp_path, pg_url)
    blocked = ("import sys\nsys.modules['psycopg'] = None\nfrom maf_hooks.cli.main import lease_main\n"
               "sys.argv = ['maf-lease', 'list']\nlease_main()\n")
    result = subprocess.run([sys.executable, "-c", blocked], cwd=repo, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "maf-hooks[postgres]" in result.stderr and "additional_dependencies" in result.stderr


def test_preflight_checks_the_server_and_records_its_run_there(tmp_path, pg_url):
    repo = fleet_repo(tmp_path, pg_url)
    before = json.loads(run(repo, "maf-preflight", "--only", "database", "--json").stdout)
    check = before["checks"][0]
    assert check["status"] == "failed" and "maf db migrate" in json.dumps(check)
    assert run(repo, "maf", "db", "migrate").returncode == 0
    assert run(repo, "maf-lease", "acquire", "a.txt", "--agent", "alice").returncode == 0
    result = run(repo, "maf-preflight", "--only", "database,reservations", "--json", env={"MAF_AGENT_ID": "alice"})
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["database"]["message"] == f"{pg_url}: schema version {migrations.SCHEMA_VERSION}, server reachable"
    assert checks["reservations"]["status"] == "passed"
    history = run(repo, "maf-preflight", "history", "--json")
    assert history.returncode == 0, history.stderr
    assert len(json.loads(history.stdout)["runs"]) >= 1


def test_the_no_conflict_commit_hook_reads_the_server_twice_opening_and_lookup(tmp_path, pg_url, monkeypatch):
    """Opening checks the schema's window and reads the server's clock, whether any lease is
    active and whether conflict mail waits (one query); after that the whole hook's one round
    trip is the keyed lease lookup."""
    import io

    from maf_hooks.hooks import run_hook
    from maf_hooks.store.postgres.connection import Database

    repo = fleet_repo(tmp_path, pg_url)
    assert run(repo, "maf", "db", "migrate").returncode == 0
    assert run(repo, "maf-lease", "acquire", "other/*.py", "docs/**", "--agent", "alice").returncode == 0
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text("x\n")
    git("add", "src/a.py", cwd=repo)
    statements: list[str] = []
    original = Database._run
    monkeypatch.setattr(Database, "_run", lambda self, sql, args, fetch: statements.append(sql) or
                        original(self, sql, args, fetch))
    stream = io.StringIO()
    assert run_hook("commit", environ={**os.environ, "MAF_AGENT_ID": "bob"}, cwd=str(repo), stream=stream) == 0
    assert len(statements) == 2, statements
    assert "mail_outbox" in statements[0] and "pattern = ANY" in statements[1]


def test_audit_validate_and_report_on_the_server_find_tampering(tmp_path, pg_server, pg_url):
    repo = fleet_repo(tmp_path, pg_url)
    assert run(repo, "maf", "db", "migrate").returncode == 0
    for pattern in ("a.txt", "b.txt", "c/**"):
        assert run(repo, "maf-lease", "acquire", pattern, "--agent", "alice").returncode == 0
    assert run(repo, "maf-lease", "release", "b.txt", "--agent", "alice").returncode == 0
    valid = run(repo, "maf", "audit", "validate", "--json")
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout)["valid"] is True and json.loads(valid.stdout)["checked"] == 4
    report = run(repo, "maf", "audit", "report", "--json")
    assert report.returncode == 0, report.stderr
    dbname = pg_url.rsplit("/", 1)[1]
    pg_server.sql("UPDATE events SET agent_id = 'mallory' WHERE id = 2", dbname)
    broken = run(repo, "maf", "audit", "validate", "--json")
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["first_invalid_id"] == 2


def test_maf_mcp_over_stdio_leases_on_the_server(tmp_path, pg_url):
    pytest.importorskip("mcp")
    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    repo = fleet_repo(tmp_path, pg_url)
    assert run(repo, "maf", "db", "migrate").returncode == 0

    async def scenario():
        params = StdioServerParameters(command=os.path.join(BIN, "maf"), args=["mcp", "--agent", "alice"],
                                       cwd=str(repo), env=dict(os.environ))
        async with Client(params, read_timeout_seconds=120) as client:
            result = await client.call_tool("lease_acquire", {"patterns": ["src/**"]})
            assert not result.is_error, result.content[0].text
            granted = result.structured_content["granted"]
            assert [lease["pattern"] for lease in granted] == ["src/**"] and granted[0]["token"] >= 1
            # another agent, another process: refused by what the MCP server wrote on the server
            bob = run(repo, "maf-lease", "acquire", "src/a.py", "--agent", "bob", "--json")
            assert bob.returncode == 1 and json.loads(bob.stdout)["conflicts"][0]["lease"]["agent"] == "alice"
            listed = await client.call_tool("lease_list", {})
            assert [lease["pattern"] for lease in listed.structured_content["leases"]] == ["src/**"]

    anyio.run(scenario)


def test_a_schema_named_in_the_urls_options_holds_the_tables(tmp_path, pg_server, pg_url):
    dbname = pg_url.rsplit("/", 1)[1]
    pg_server.sql("CREATE SCHEMA team_a", dbname)
    repo = fleet_repo(tmp_path, pg_url + "?options=-csearch_path%3Dteam_a")
    assert run(repo, "maf", "db", "migrate").returncode == 0
    assert run(repo, "maf-lease", "acquire", "a.txt", "--agent", "alice").returncode == 0
    assert pg_server.sql("SELECT pattern FROM team_a.leases", dbname) == [("a.txt",)]
    assert pg_server.sql("SELECT to_regclass('public.leases')", dbname) == [(None,)]


def test_a_password_or_an_unknown_parameter_in_the_query_is_refused_before_connecting(tmp_path, pg_url):
    repo = fleet_repo(tmp_path, pg_url)
    for url in (pg_url + "?password=s3cret-pw", pg_url + "?sslmod=require"):
        for env in ({"MAF_DB_URL": url}, {}):
            if not env:
                (repo / "maf.toml").write_text(f'[storage]\nurl = "{url}"\nrepository = "example.com/org/app"\n')
            for command in (("maf-lease", "list"), ("maf", "config", "show"), ("maf", "config", "validate")):
                result = run(repo, *command, env=env)
                assert result.returncode == 2, (url, env, command, result.stdout, result.stderr)
                assert "s3cret" not in result.stdout + result.stderr


def test_the_everyday_role_of_docs_fleet_md_works_and_can_run_migrate_on_a_current_server(tmp_path, pg_server,
                                                                                            pg_url):
    """The grants docs/fleet.md gives an everyday role (no CREATE) are enough for leases, and for
    `maf db migrate` once the schema is current; a schema change needs the owner."""
    dbname = pg_url.rsplit("/", 1)[1]
    assert run(fleet_repo(tmp_path / "owner", pg_url), "maf", "db", "migrate").returncode == 0
    pg_server.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'everyday') THEN "
                  "CREATE ROLE everyday LOGIN PASSWORD 'every-pw'; END IF; END $$")
    for grant in (f"GRANT CONNECT ON DATABASE {dbname} TO everyday",):
        pg_server.sql(grant)
    for grant in ("GRANT USAGE ON SCHEMA public TO everyday",
                  "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO everyday",
                  "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO everyday"):
        pg_server.sql(grant, dbname)
    pg_server.sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", dbname)
    url = f"postgresql://everyday@127.0.0.1:{pg_server.port}/{dbname}"
    repo = fleet_repo(tmp_path / "agent", url)
    env = {"PGPASSWORD": "every-pw"}
    migrated = run(repo, "maf", "db", "migrate", env=env)
    assert migrated.returncode == 0 and "up to date" in migrated.stdout, migrated.stderr
    assert run(repo, "maf-lease", "acquire", "a.txt", "--agent", "alice", env=env).returncode == 0
    assert run(repo, "maf", "audit", "validate", env=env).returncode == 0
    pg_server.sql("DELETE FROM maf_schema WHERE version = (SELECT MAX(version) FROM maf_schema)", dbname)
    refused = run(repo, "maf", "db", "migrate", env=env)
    assert refused.returncode == 3 and "privileges" in refused.stderr and "every-pw" not in refused.stderr
