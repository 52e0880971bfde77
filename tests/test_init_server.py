"""`maf init` with a shared PostgreSQL server (storage.url): the server migrated, storage.repository
written into the configuration from the origin remote, the pre-commit entry given the driver."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import commit_file, git, make_repo

from maf_hooks import repo_setup
from maf_hooks.git import GIT_HOOKS

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

PROJECT = Path(__file__).resolve().parent.parent
REMOTE = "https://example.invalid/maf-hooks"
DRIVER = f'additional_dependencies: ["{repo_setup.DRIVER_REQUIREMENT}"]'
MAF_TOML = '# the team\'s lease server\n[storage]\nurl = "{url}"  # no password here\n\n[reservation]\nhook_mode = "strict"\n'


def test_the_driver_requirement_is_the_postgres_extra_of_pyproject():
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["postgres"] == [repo_setup.DRIVER_REQUIREMENT]


def with_origin(tmp_path, name="app", origin="git@Git.Example.com:team/app.git"):
    repo = make_repo(tmp_path / name)
    commit_file(repo, "README.md")
    git("remote", "add", "origin", origin, cwd=repo)
    return repo


def test_init_writes_the_key_from_origin_and_migrates_then_changes_nothing(tmp_path, cli, pg_url):
    repo = with_origin(tmp_path)
    (repo / "maf.toml").write_text(MAF_TOML.format(url=pg_url))
    first = cli(repo, "init", "--json")
    assert first.code == 0, first.err
    assert first.json["repository"] == "git.example.com/team/app"
    text = (repo / "maf.toml").read_text()
    assert text.startswith(MAF_TOML.format(url=pg_url).split("\n\n")[0])  # comments and layout kept
    assert tomllib.loads(text) == {"storage": {"url": pg_url, "repository": "git.example.com/team/app"},
                                   "reservation": {"hook_mode": "strict"}}
    assert any("storage.repository" in change for change in first.json["changes"])
    # the server was migrated: a lease works at once, under the key
    granted = cli(repo, "lease", "acquire", "README.md", "--agent", "alice", "--json")
    assert granted.code == 0, granted.err
    again = cli(repo, "init")
    assert again.code == 0, again.err
    assert "nothing to change" in again.out
    assert (repo / "maf.toml").read_text() == text


def test_init_keeps_a_key_that_is_set(tmp_path, cli, pg_url):
    repo = with_origin(tmp_path)
    text = f'[storage]\nurl = "{pg_url}"\nrepository = "team/app-fork"\n'
    (repo / "maf.toml").write_text(text)
    result = cli(repo, "init", "--json")
    assert result.code == 0, result.err
    assert result.json["repository"] == "team/app-fork"
    assert (repo / "maf.toml").read_text() == text


def test_init_with_the_url_in_the_environment_creates_maf_toml(tmp_path, cli, pg_url):
    repo = with_origin(tmp_path, origin="https://user:token@git.example.com/team/app")
    result = cli(repo, "init", env={"MAF_DB_URL": pg_url})
    assert result.code == 0, result.err
    assert tomllib.loads((repo / "maf.toml").read_text()) == {"storage": {"repository": "git.example.com/team/app"}}
    assert "token" not in (repo / "maf.toml").read_text()


def test_init_writes_the_key_into_tool_maf_of_pyproject(tmp_path, cli, pg_url):
    repo = with_origin(tmp_path)
    text = f'[project]\nname = "app"\n\n[tool.maf.storage]\nurl = "{pg_url}"\n\n[tool.other]\nx = 1\n'
    (repo / "pyproject.toml").write_text(text)
    assert cli(repo, "init").code == 0
    data = tomllib.loads((repo / "pyproject.toml").read_text())
    assert data["tool"] == {"maf": {"storage": {"url": pg_url, "repository": "git.example.com/team/app"}},
                            "other": {"x": 1}}
    assert not (repo / "maf.toml").exists()


def test_init_without_origin_or_key_is_refused_and_changes_nothing(tmp_path, cli):
    repo = make_repo(tmp_path / "lonely")
    commit_file(repo, "README.md")
    text = '[storage]\nurl = "postgresql://maf@127.0.0.1:1/never"\n'
    (repo / "maf.toml").write_text(text)
    refused = cli(repo, "init", "--write")
    assert refused.code == 2
    assert "no origin remote" in refused.err and "storage.repository" in refused.err
    assert "Traceback" not in refused.err
    assert (repo / "maf.toml").read_text() == text
    assert not (repo / ".pre-commit-config.yaml").exists() and not (repo / ".agent-mail").exists()


def test_init_with_an_unreachable_server_fails_before_writing_the_key(tmp_path, cli):
    repo = with_origin(tmp_path)
    text = '[storage]\nurl = "postgresql://maf@127.0.0.1:1/never"\nconnect_timeout_seconds = 1\n'
    (repo / "maf.toml").write_text(text)
    failed = cli(repo, "init")
    assert failed.code == 3 and "127.0.0.1" in failed.err
    assert (repo / "maf.toml").read_text() == text


def test_init_remote_entry_gives_each_hook_the_driver(tmp_path, cli, pg_url):
    from pre_commit.clientlib import load_config

    repo = with_origin(tmp_path)
    (repo / "maf.toml").write_text(MAF_TOML.format(url=pg_url))
    shown = cli(repo, "init", "--repo", REMOTE, "--rev", "v1")
    assert shown.code == 0, shown.err
    assert shown.out.count(DRIVER) == len(GIT_HOOKS)
    assert cli(repo, "init", "--write", "--repo", REMOTE, "--rev", "v1").code == 0
    config = load_config(str(repo / ".pre-commit-config.yaml"))  # pre-commit's own schema check
    hooks = {hook["id"]: hook["additional_dependencies"] for entry in config["repos"] for hook in entry["hooks"]}
    assert hooks == {hook_id: [repo_setup.DRIVER_REQUIREMENT] for hook_id in GIT_HOOKS}
    written = (repo / ".pre-commit-config.yaml").read_text()
    again = cli(repo, "init", "--write", "--repo", REMOTE, "--rev", "v1")
    assert again.code == 0 and "nothing to change" in again.out
    assert (repo / ".pre-commit-config.yaml").read_text() == written


def test_init_reports_an_existing_entry_without_the_driver_and_leaves_it(tmp_path, cli, pg_url):
    repo = with_origin(tmp_path)
    (repo / "maf.toml").write_text(MAF_TOML.format(url=pg_url))
    config = (f"repos:\n  - repo: {REMOTE}\n    rev: v1\n    hooks:\n      - id: maf-reservations\n"
              f"      - id: maf-reservations-push\n        {DRIVER}  # pinned\n")
    (repo / ".pre-commit-config.yaml").write_text(config)
    result = cli(repo, "init", "--write")
    assert result.code == 1
    assert "maf-reservations has no PostgreSQL driver" in result.err and DRIVER in result.err
    assert "maf-reservations-push" not in result.err
    # the entry is left as it is; only the install types are added above it, byte for byte
    assert (repo / ".pre-commit-config.yaml").read_text() == (
        "default_install_hook_types: [pre-commit, pre-merge-commit, pre-push]\n" + config)


def test_init_local_entry_on_a_server_has_no_additional_dependencies(tmp_path, cli, pg_url):
    repo = with_origin(tmp_path)
    (repo / "maf.toml").write_text(MAF_TOML.format(url=pg_url))
    result = cli(repo, "init", "--write")
    assert result.code == 0, result.err
    text = (repo / ".pre-commit-config.yaml").read_text()
    assert "additional_dependencies" not in text and "language: system" in text
    assert "maf-hooks[postgres]" in result.out  # the note: the driver belongs in the PATH environment
    assert repo_setup.hooks_without_driver(text) == []


@pytest.mark.parametrize("config, missing", [
    ("repos:\n- repo: x\n  rev: v\n  hooks:\n  - id: maf-reservations\n    additional_dependencies:\n"
     "    - psycopg[binary]\n  - id: maf-reservations-push\n", ["maf-reservations-push"]),
    ("repos:\n- repo: local\n  hooks:\n  - id: maf-reservations\n    language: python\n    entry: x\n"
     "  - id: maf-reservations-push\n    language: system\n", ["maf-reservations"]),
    ("repos:\n- repo: x\n  rev: v\n  hooks:\n  - name: n\n    additional_dependencies: ['psycopg']\n"
     "    id: maf-reservations\n  - id: maf-reservations-push  # psycopg\n", ["maf-reservations-push"]),
    ("repos:\n- repo: x\n  rev: v\n  hooks:\n  - id: other\n", []),
])
def test_hooks_without_driver(config, missing):
    assert repo_setup.hooks_without_driver(config) == missing


def test_init_refuses_a_json_configuration_for_the_key(tmp_path, cli, pg_url):
    repo = with_origin(tmp_path)
    (repo / "maf.json").write_text(f'{{"storage": {{"url": "{pg_url}"}}}}\n')
    refused = cli(repo, "--config", "maf.json", "init")
    assert refused.code == 2 and "repository = " in refused.err
