"""Finding the repository without git (the edit-time hook's path) agrees with `git rev-parse`;
one `git config` call reads the identity and how paths compare as git reads them."""

from __future__ import annotations

import os

import pytest
from conftest import git

from maf_hooks import git as mgit
from maf_hooks import gitfiles
from maf_hooks.errors import GitError, NotARepository


def same(found, expected):
    assert found is not None
    assert [os.path.realpath(p) for p in found] == [os.path.realpath(p) for p in expected]


def test_a_plain_repository_and_a_subdirectory(repo):
    (repo / "a" / "b").mkdir(parents=True)
    for where in (repo, repo / "a" / "b"):
        same(gitfiles.repo_paths(str(where), os.environ), mgit.repo_paths(str(where)))


def test_a_linked_worktree_shares_the_common_directory(repo, tmp_path):
    linked = tmp_path / "linked"
    git("worktree", "add", "-q", str(linked), "-b", "side", cwd=repo)
    (linked / "sub").mkdir()
    found = gitfiles.repo_paths(str(linked / "sub"), os.environ)
    same(found, mgit.repo_paths(str(linked / "sub")))
    assert os.path.realpath(found.common_dir) == os.path.realpath(repo / ".git")


def test_a_submodule_style_git_file(repo, tmp_path):
    inner = tmp_path / "outer"
    inner.mkdir()
    git("init", "-q", "--separate-git-dir", str(tmp_path / "store.git"), str(inner), cwd=tmp_path)
    same(gitfiles.repo_paths(str(inner), os.environ), mgit.repo_paths(str(inner)))


def test_no_repository_and_git_variables(tmp_path, monkeypatch):
    with pytest.raises(NotARepository):
        gitfiles.repo_paths(str(tmp_path), os.environ)
    assert gitfiles.repo_paths(str(tmp_path), {"GIT_DIR": str(tmp_path)}) is None  # git decides


def local(repo, lines):
    """Append ``lines`` to the repository's own config file."""
    with open(repo / ".git" / "config", "a") as config:
        config.write(lines)


@pytest.mark.parametrize("lines", [
    "[core]\n\tignorecase = true\n", "[core]\n\tignorecase = yes\n", "[CORE]\n\tIgnoreCase = On\n",
    "[core]\n\tignorecase = false\n", "[core]\n\tignorecase = 1 # a comment\n", "[core]\n\tprecomposeunicode\n",
    "[core]\n\tignorecase = true\n[core]\n\tignorecase = false\n", "[user]\n\tignorecase = true\n",
])
def test_the_repositorys_own_settings_read_as_git_reads_them(repo, lines):
    local(repo, lines)
    paths = mgit.repo_paths(str(repo))
    assert gitfiles.path_settings(paths.git_dir, paths.common_dir, os.environ) == mgit.path_settings(str(repo))


@pytest.mark.parametrize("lines", [
    "[include]\n\tpath = other\n", '[includeIf "gitdir:/x/"]\n\tpath = other\n', '[core]\n\tignorecase = "true"\n',
    "[core]\n\tignorecase = 2\n", '[core "sub"]\n\tignorecase = true\n', "[extensions]\n\tworktreeConfig = true\n",
])
def test_anything_beyond_the_plain_forms_is_left_to_git(repo, lines):
    local(repo, lines)
    paths = mgit.repo_paths(str(repo))
    assert gitfiles.path_settings(paths.git_dir, paths.common_dir, os.environ) is None


def test_a_global_file_naming_either_setting_is_left_to_git(repo):
    paths = mgit.repo_paths(str(repo))
    assert gitfiles.path_settings(paths.git_dir, paths.common_dir, os.environ) is not None
    with open(os.path.join(os.environ["HOME"], ".gitconfig"), "w") as config:
        config.write("[core]\n\tignorecase = true\n")
    assert gitfiles.path_settings(paths.git_dir, paths.common_dir, os.environ) is None
    assert gitfiles.path_settings(paths.git_dir, paths.common_dir, {"GIT_CONFIG_GLOBAL": "/dev/null"}) is None


@pytest.mark.parametrize("first", ["settings", "root"])
def test_a_context_reads_the_settings_in_either_order(repo, first):
    """Asked before the root, the settings' git call runs beside the root's: same answers."""
    from maf_hooks.context import Context

    local(repo, "[core]\n\tignorecase = true\n")
    (repo / "sub").mkdir()
    context = Context(cwd=str(repo / "sub"))
    if first == "root":
        assert context.root == str(repo)
    assert context.path_settings == mgit.PathSettings(True, False) and context.root == str(repo)


def test_a_context_outside_a_repository_refuses_its_settings(tmp_path):
    from maf_hooks.context import Context

    with pytest.raises(NotARepository):
        Context(cwd=str(tmp_path)).path_settings  # noqa: B018 - the property is the test


def test_the_index_entry_count_is_read_from_its_header(repo, tmp_path):
    """gitformat-index: 'DIRC', a version, the number of entries; as `git ls-files --stage` counts them."""
    for name in ("a.txt", "b/c.txt", "d e.txt"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(name)
    git("add", ".", cwd=repo)
    staged = len(git("ls-files", "--stage", cwd=repo).stdout.splitlines())
    git_dir = str(repo / ".git")
    assert gitfiles.index_entries(git_dir, {}, str(repo)) == staged >= 3
    other = tmp_path / "other-index"
    git("read-tree", "--empty", cwd=repo, env={"GIT_INDEX_FILE": str(other)})
    assert gitfiles.index_entries(git_dir, {"GIT_INDEX_FILE": str(other)}, str(repo)) == 0
    (tmp_path / "junk").write_bytes(b"not an index at all")
    assert gitfiles.index_entries(git_dir, {"GIT_INDEX_FILE": "junk"}, str(tmp_path)) is None
    assert gitfiles.index_entries(str(tmp_path / "nowhere"), {}, str(repo)) is None


def test_a_byte_order_mark_in_the_config_is_skipped_as_git_skips_it(repo):
    config = repo / ".git" / "config"
    config.write_bytes(b"\xef\xbb\xbf[core]\n\tignorecase = true\n" + config.read_bytes())
    paths = mgit.repo_paths(str(repo))
    assert mgit.path_settings(str(repo)).ignorecase is True
    assert gitfiles.path_settings(paths.git_dir, paths.common_dir, os.environ) == mgit.path_settings(str(repo))


@pytest.mark.parametrize("where", ["inside-dot-git", "nested-bare", "core-worktree", "core-bare"])
def test_layouts_git_must_decide_are_left_to_git(repo, tmp_path, where):
    """Inside a git directory (a bare repository, or within .git) and where the configuration
    moves or removes the work tree, the files are not read: git answers (or refuses), so every
    command finds what git finds."""
    cwd = repo
    if where == "inside-dot-git":
        cwd = repo / ".git" / "objects"
    elif where == "nested-bare":
        git("init", "-q", "--bare", "inner.git", cwd=repo)
        cwd = repo / "inner.git"
    elif where == "core-worktree":
        (tmp_path / "elsewhere").mkdir()
        git("config", "core.worktree", str(tmp_path / "elsewhere"), cwd=repo)
    else:
        git("config", "core.bare", "true", cwd=repo)
    assert gitfiles.repo_paths(str(cwd), os.environ) is None
    if where == "core-worktree":
        assert gitfiles.located(str(cwd), os.environ) == mgit.repo_paths(str(cwd))
        assert mgit.repo_paths(str(cwd)).root == str(tmp_path / "elsewhere")
    else:
        with pytest.raises((GitError, NotARepository)) as refused:
            gitfiles.located(str(cwd), os.environ)
        assert "work" in str(refused.value).lower()  # git: this operation must be run in a work tree


@pytest.mark.skipif(os.geteuid() != 0, reason="making a repository another user owns needs root")
def test_a_repository_another_user_owns_is_left_to_git(repo):
    """git refuses a repository another user owns (safe.directory): so must every command."""
    import pwd

    nobody = pwd.getpwnam("nobody").pw_uid
    for path in (repo, repo / ".git"):
        os.chown(path, nobody, -1)
    assert gitfiles.repo_paths(str(repo), os.environ) is None
    with pytest.raises((GitError, NotARepository)) as refused:
        gitfiles.located(str(repo), os.environ)
    assert "dubious ownership" in str(refused.value) or "safe.directory" in str(refused.value)
