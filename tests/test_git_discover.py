"""Finding the repository without git (the edit-time hook's path) agrees with `git rev-parse`;
one `git config` call reads the identity and how paths compare as git reads them."""

from __future__ import annotations

import os

import pytest
from conftest import commit_file, git

from maf_hooks import git as mgit
from maf_hooks.errors import NotARepository


def same(found, expected):
    assert found is not None
    assert [os.path.realpath(p) for p in found] == [os.path.realpath(p) for p in expected]


def test_a_plain_repository_and_a_subdirectory(repo):
    (repo / "a" / "b").mkdir(parents=True)
    for where in (repo, repo / "a" / "b"):
        same(mgit.discover(str(where)), mgit.repo_paths(str(where)))


def test_a_linked_worktree_shares_the_common_directory(repo, tmp_path):
    linked = tmp_path / "linked"
    git("worktree", "add", "-q", str(linked), "-b", "side", cwd=repo)
    (linked / "sub").mkdir()
    found = mgit.discover(str(linked / "sub"))
    same(found, mgit.repo_paths(str(linked / "sub")))
    assert os.path.realpath(found.common_dir) == os.path.realpath(repo / ".git")


def test_a_submodule_style_git_file(repo, tmp_path):
    inner = tmp_path / "outer"
    inner.mkdir()
    git("init", "-q", "--separate-git-dir", str(tmp_path / "store.git"), str(inner), cwd=tmp_path)
    same(mgit.discover(str(inner)), mgit.repo_paths(str(inner)))


def test_no_repository_and_git_variables(tmp_path, monkeypatch):
    with pytest.raises(NotARepository):
        mgit.discover(str(tmp_path))
    monkeypatch.setenv("GIT_DIR", str(tmp_path))
    assert mgit.discover(str(tmp_path)) is None  # git decides


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("yes", True), ("On", True), ("1", True), ("false", False), ("0", False), ("off", False),
])
def test_one_config_call_reads_booleans_and_the_identity_as_git_does(repo, value, expected):
    git("config", "core.ignorecase", value, cwd=repo)
    git("config", "maf.agentId", "zoe", cwd=repo)
    agent_id, email, settings = mgit.settings_later(str(repo))()
    assert (agent_id, email, settings.ignorecase) == ("zoe", "dev@example.com", expected)
    assert settings.ignorecase == mgit.path_settings(str(repo)).ignorecase


def test_a_key_without_a_value_is_true(repo):
    with open(repo / ".git" / "config", "a") as config:
        config.write("[core]\n\tprecomposeunicode\n")
    commit_file(repo, "x.txt")
    assert mgit.settings_later(str(repo))()[2].precompose is True
    assert mgit.path_settings(str(repo)).precompose is True
