"""The install works as written: the README's install lines, run exactly as they stand (each into
a fresh environment, from a real clone tagged like the release), give every command the README
then uses; the sdist holds what its own tests need, and runs some of them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from installs import PROJECT, TAG, environment, release_clone, shell

import maf_hooks

README = PROJECT / "README.md"
BLOCK = re.compile(r"<!-- install-test: (?P<name>[\w-]+) -->\s*\n```sh\n(?P<body>.*?)\n```", re.S)


def readme_blocks() -> dict[str, list[str]]:
    blocks = {m.group("name"): m.group("body").splitlines() for m in BLOCK.finditer(README.read_text())}
    assert set(blocks) == {"clone", "url", "setup"}, set(blocks)
    return blocks


def install_lines() -> list[tuple[str, str]]:
    blocks = readme_blocks()
    return [(name, line) for name in ("clone", "url") for line in blocks[name]]


def test_the_documented_tag_is_this_release():
    documented = set(re.findall(r"@(v[\w.]+)\"", README.read_text() + (PROJECT / "docs" / "ci.md").read_text()))
    documented |= set(re.findall(r"--rev (v[\w.]+)", README.read_text()))
    assert documented == {TAG}
    assert f"## [{maf_hooks.__version__}] - " in (PROJECT / "CHANGELOG.md").read_text()


def test_the_readme_offers_pip_pipx_and_uv():
    tools = {line.split()[0] for _, line in install_lines()}
    assert tools == {"pip", "pipx", "uv"}


@pytest.mark.parametrize("block,line", install_lines(), ids=[f"{b}-{line.split()[0]}" for b, line in install_lines()])
def test_a_documented_install_gives_every_command_the_readme_uses(block, line, tmp_path):
    workspace = tmp_path / "work"
    workspace.mkdir()
    clone = release_clone(workspace)  # ./maf-hooks, as the README's lines name it
    env = {**environment(tmp_path / "env"), "MAF_HOOKS_URL": clone_url(clone)}
    assert all(shutil.which(name, path=env["PATH"]) is None for name in ("maf", "maf-lease", "pre-commit")), \
        "the fresh environment already has maf-hooks"
    proc = shell(line, workspace, env)
    assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
    for command in ("maf", "maf-lease", "maf-preflight", "maf-reservations", "maf-reservations-push"):
        found = shutil.which(command, path=env["PATH"])
        assert found and Path(found).is_relative_to(tmp_path / "env"), (command, found)
        version = subprocess.run([found, "--version"], capture_output=True, text=True, env=env, timeout=60)
        assert version.returncode == 0 and version.stdout == f"{command} (maf-hooks) {maf_hooks.__version__}\n"
    version = shell("pre-commit --version", workspace, env)
    assert version.returncode == 0 and version.stdout.startswith("pre-commit "), version.stderr

    # and the README's next lines, in a repository of the team's
    repo = workspace / "project"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    proc = shell("\n".join(readme_blocks()["setup"]), repo, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for hook in ("pre-commit", "pre-merge-commit", "pre-push"):
        assert "pre-commit" in (repo / ".git" / "hooks" / hook).read_text()
    assert "maf-reservations" in (repo / ".pre-commit-config.yaml").read_text()


def clone_url(clone: Path) -> str:
    """The clone's address as a team's would be: with a host (``file://localhost/...``), since the
    pip a fresh virtualenv brings refuses ``name @ git+file:///...`` (a URL without a host)."""
    return "file://localhost" + clone.resolve().as_posix()


# --- the sdist --------------------------------------------------------------------------------

NEEDED = ["LICENSE", "README.md", "CHANGELOG.md", "CONTRIBUTING.md", ".pre-commit-hooks.yaml", "pyproject.toml",
          "tests/conftest.py", "tests/installs.py", "tests/pgserver.py", "fixtures/escalation/maf.toml",
          "fixtures/preflight/maf.toml", "docs/ci.md", "docs/monitoring/maf-alerts.yml", "scripts/setup",
          "scripts/test", ".ci/run", "benchmarks/README.md", "maf_hooks/web/static"]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out),
                           str(PROJECT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (archive,) = list(out.glob("*.tar.gz"))
    return archive


def members(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        return {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}


def test_the_sdist_holds_what_its_tests_need(sdist):
    names = members(sdist)
    assert not [path for path in NEEDED if path not in names]
    if (PROJECT / ".git").exists():  # every file git tracks, the tests' data and docs among them
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True, check=True,
                                 text=True).stdout.split("\0")
        assert not [path for path in tracked if path and path not in names]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_sdist_carries_the_licence_and_the_metadata(sdist):
    with tarfile.open(sdist) as tar:
        (info,) = [m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
        text = tar.extractfile(info).read().decode()
    assert f"Version: {maf_hooks.__version__}" in text and "License: MIT" in text
    assert "Classifier: License :: OSI Approved :: MIT License" in text
    assert "Classifier: Operating System :: POSIX :: Linux" in text and "Keywords: " in text


def test_the_unpacked_sdist_runs_its_own_tests(sdist, tmp_path):
    """A few tests that need the sdist's conftest.py, fixtures/, docs/, .pre-commit-hooks.yaml and
    pyproject.toml, run from the unpacked sdist with its own maf_hooks (the current directory comes
    first on sys.path)."""
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(tmp_path)
    (root,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    chosen = ["tests/test_imports.py::test_no_module_is_over_about_300_lines",
              "tests/test_preflight_ci.py::test_hook_manifest_entry",
              "tests/test_escalation.py::test_fixture_config_is_valid_and_mirrored",
              "tests/test_entry_points.py::test_the_version_lives_in_one_place",
              "tests/test_install.py::test_the_documented_tag_is_this_release"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *chosen], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(chosen)} passed" in proc.stdout
    probe = subprocess.run([sys.executable, "-c", "import maf_hooks; print(maf_hooks.__file__)"], cwd=root,
                           capture_output=True, text=True)
    assert Path(probe.stdout.strip()).resolve().is_relative_to(root.resolve())
