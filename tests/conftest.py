"""Fixtures: real temporary git repositories, real SQLite files, the CLI run in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from maf_hooks.cli.errors import run
from maf_hooks.cli.main import maf

BIN = Path(sys.executable).parent


def git(*args: str, cwd, check: bool = True, env=None, input=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=check, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, input=input,
    )


def commit_file(repo, name: str, content: str = "x\n", message: str | None = None) -> None:
    path = Path(repo) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    git("add", "--", name, cwd=repo)
    git("commit", "-q", "-m", message or f"add {name}", cwd=repo)


def make_repo(path: Path, *, email: str | None = "dev@example.com") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main", str(path), cwd=path)
    git("config", "user.name", "Dev", cwd=path)
    if email:
        git("config", "user.email", email, cwd=path)
    git("config", "commit.gpgsign", "false", cwd=path)
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path_factory):
    """No MAF_* variable, global git config or CI marker leaks in from the machine."""
    for key in list(os.environ):
        if key.startswith(("MAF_", "GIT_", "PRE_COMMIT", "PG")) or key in ("CI", "GITHUB_ACTIONS", "AUDIT_WEBHOOK_URL"):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)  # agent session records go under HOME
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Dev")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Dev")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "dev@example.com")
    # the venv's console scripts must be found by subprocess tests and hooks
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


# --- a real PostgreSQL server, once per test session ------------------------------------------

# read before any test clears MAF_* variables: `.ci/run` sets MAF_REQUIRE_<PART>, and CI sets CI
REQUIRED = {part: bool(os.environ.get(f"MAF_REQUIRE_{part}") or os.environ.get("CI"))
            for part in ("POSTGRES", "BROWSER", "PROMTOOL", "NEOMUTT")}


def unavailable(part: str, message: str, when_required: str | None = None) -> NoReturn:
    """A component the test needs is missing: skip, or fail where it is required (REQUIRED)."""
    if REQUIRED[part]:
        pytest.fail(when_required or f"{message} (required here: MAF_REQUIRE_{part} or CI is set)")
    pytest.skip(message)



@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (tests/pgserver.py): started on first use, stopped at the
    end. Missing binaries skip the test, or fail it where PostgreSQL is required (CI)."""
    import pgserver

    bins = pgserver.binaries()
    if bins is None:
        message = ("PostgreSQL server binaries (initdb, pg_ctl, postgres) are not on PATH: install "
                   "PostgreSQL 13 or newer (Debian: apt-get install postgresql) to run the fleet tests")
        unavailable("POSTGRES", message)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("POSTGRES", "psycopg is not installed (pip install 'maf-hooks[postgres]')",
                    "psycopg is not installed: ./scripts/setup installs the postgres extra")
    server = pgserver.Server(bins)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the session's server, as a URL without password."""
    return pg_server.new_database()


# --- a real headless browser (Debian's chromium, driven by Playwright) --------------------------

# the system's chromium, never a browser Playwright downloads; nothing it does reaches the network
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module (started on first use, closed after the module). A missing
    chromium or Playwright skips the test, or fails it where the browser is required (CI)."""
    import shutil

    executable = shutil.which("chromium")
    if executable is None:
        message = "chromium is not on PATH: install it (Debian: apt-get install chromium) to run the board's browser tests"
        unavailable("BROWSER", message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("BROWSER", "playwright is not installed (pip install playwright; its own browsers are not needed)",
                    "playwright is not installed: ./scripts/setup installs it with the test extra")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository with one commit and a configured user.email."""
    path = make_repo(tmp_path / "repo")
    commit_file(path, "README.md", "hello\n", "initial")
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli(cwd, *args, env={...})`` runs `maf ARGS` in-process and returns a Result."""

    def invoke(cwd, *args: str, env: dict | None = None, prog: str = "maf", command=maf) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            for key, value in (env or {}).items():
                if value is None:
                    patch.delenv(key, raising=False)
                else:
                    patch.setenv(key, value)
            code = run(command, [str(a) for a in args], prog)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke


def db_snapshot(path) -> list:
    """Every row of every table, to prove that a refused command changed nothing."""
    import sqlite3

    if not os.path.exists(path):
        return []
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return [(t, sorted(map(repr, conn.execute(f"SELECT * FROM {t}")))) for t in tables]
    finally:
        conn.close()


# --- promtool (Debian: prometheus), which checks the alert rules and the dashboard's queries ----



@pytest.fixture
def promtool():
    """The path of Prometheus's promtool; a missing one skips the test, or fails it where it is
    required (``.ci/run`` sets MAF_REQUIRE_PROMTOOL, CI sets CI)."""
    import shutil

    found = shutil.which("promtool")
    if found is None:
        message = "promtool is not on PATH: install it (Debian: apt-get install prometheus)"
        unavailable("PROMTOOL", message)
    return found




@pytest.fixture
def neomutt():
    """The paths of neomutt and tmux (the terminal it runs in); a missing one skips the test, or
    fails it where it is required (``.ci/run`` sets MAF_REQUIRE_NEOMUTT, CI sets CI)."""
    import shutil

    found = {name: shutil.which(name) for name in ("neomutt", "tmux")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        message = f"{' and '.join(missing)} not on PATH: install them (Debian: apt-get install neomutt tmux)"
        unavailable("NEOMUTT", message)
    return found
