"""ExistingDirectories (what overlap asks about names that look like files) and the command line's
reading of patterns and paths: relative to the current directory, paths are not patterns."""

from __future__ import annotations

from conftest import git

from maf_hooks.directories import ExistingDirectories


def test_existing_directories_come_from_the_index_and_the_working_tree(repo):
    (repo / "src" / "conf.d").mkdir(parents=True)
    (repo / "src" / "conf.d" / "a.conf").write_text("")
    git("add", "src/conf.d/a.conf", cwd=repo)
    (repo / "docs" / "x.md").mkdir(parents=True)
    (repo / "docs" / "x.md" / "untracked.txt").write_text("")
    (repo / ".gitignore").write_text("build.d/\n")
    (repo / "build.d" / "deep").mkdir(parents=True)
    (repo / "build.d" / "deep" / "out.o").write_text("")
    (repo / "empty.d").mkdir()
    calls = []
    directories = ExistingDirectories(str(repo))
    original = directories._read
    directories._read = lambda: calls.append(1) or original()  # type: ignore[method-assign]
    assert set(directories("")) >= {"src", "src/conf.d", "docs", "docs/x.md", "build.d"}
    assert "empty.d" not in directories("")  # git does not list empty directories
    assert "build.d/deep" not in directories("")  # not beneath an ignored directory
    assert directories("src/") == ["src/conf.d"]
    assert calls == [1]  # read once, lazily


def test_acquire_treats_an_existing_directory_as_one(repo, cli):
    (repo / "src" / "conf.d").mkdir(parents=True)
    (repo / "src" / "conf.d" / "a.conf").write_text("")
    assert cli(repo, "lease", "acquire", "src/*.d", "--agent", "alice").code == 0
    assert cli(repo, "lease", "acquire", "src/**/*.conf", "--agent", "bob").code == 1  # src/conf.d/a.conf
    assert cli(repo, "lease", "acquire", "docs/**/*.conf", "--agent", "bob").code == 0


def test_command_line_patterns_are_relative_to_the_current_directory(repo, cli):
    (repo / "src").mkdir(exist_ok=True)
    granted = cli(repo / "src", "lease", "acquire", "a.py", "--agent", "alice", "--json").json
    assert [lease["pattern"] for lease in granted["granted"]] == ["src/a.py"]
    granted = cli(repo / "src", "lease", "acquire", ":/top.py", "--agent", "alice", "--json").json
    assert [lease["pattern"] for lease in granted["granted"]] == ["top.py"]
    assert cli(repo / "src", "lease", "check", "a.py", "--agent", "bob").code == 1
    assert cli(repo, "lease", "check", "src/a.py", "--agent", "bob").code == 1
    assert cli(repo / "src", "lease", "release", "a.py", "--agent", "alice").code == 0


def test_check_takes_any_file_name(repo, cli):
    assert cli(repo, "lease", "acquire", "\\[*", "--agent", "alice").code == 0
    for name in ("[", "[x", "a\\", "a "):
        result = cli(repo, "lease", "check", name, "--agent", "bob", "--json")
        assert result.code == (1 if name.startswith("[") else 0), name
        assert result.json["paths"][0]["path"] == name
