"""Every module imports on its own (no import cycles), and the hook's import path stays lean."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import maf_hooks

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(maf_hooks.__path__, prefix="maf_hooks.")
)


def assert_prints_nothing(code: str) -> None:
    """Run ``code`` in a fresh interpreter: it must succeed and print nothing (what it prints is
    what failed)."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_every_module_imports_on_its_own():
    code = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {MODULES!r}:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('maf_hooks')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {exc!r}')\n"
        "print('\\n'.join(failed))\n"
    )
    assert_prints_nothing(code)


@pytest.mark.parametrize("entry", ["maf_hooks.hooks"])
def test_hook_import_path_is_lean(entry):
    heavy = ("click", "git", "pathspec", "email", "mailbox", "tomllib", "tomli", "packaging", "urllib.request",
             "psycopg", "maf_hooks.store.postgres", "starlette", "uvicorn", "maf_hooks.web", "prometheus_client",
             "rich", "maf_hooks.cli")
    code = f"import sys, {entry}; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    assert_prints_nothing(code)


CORE = [name for name in MODULES if name.split(".")[1] in ("core", "services")]


def test_core_and_services_know_neither_click_nor_sqlite():
    """The rules and use cases import with click and sqlite3 made unimportable: a front end or a
    backend that needs them brings them itself."""
    assert CORE, "no core or services modules found"
    code = (
        "import importlib, sys\n"
        "sys.modules['click'] = None\n"
        "sys.modules['sqlite3'] = None\n"
        "sys.modules['_sqlite3'] = None\n"
        "failed = []\n"
        f"for name in {CORE!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        failed.append(f'{name}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    assert_prints_nothing(code)


def test_no_module_is_over_about_300_lines():
    import pathlib

    package = pathlib.Path(maf_hooks.__path__[0])
    too_long = []
    for path in sorted(package.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > 320:  # about 300: a docstring more is no reason to split
            too_long.append(f"{path.relative_to(package)}: {lines} lines")
    assert not too_long, too_long


def test_an_allowed_edit_imports_neither_click_nor_subprocess_nor_the_git_package(tmp_path):
    """`maf agent-hook` runs on every edit of every agent: an edit of a file no lease covers is
    decided from git's own files and the database, without starting git (nor importing what
    starting it needs), click or the pattern parser."""
    import json

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    import os

    maf_lease = os.path.join(os.path.dirname(sys.executable), "maf-lease")
    subprocess.run([maf_lease, "acquire", "held.txt", "free.txx", "--agent", "bob"], cwd=repo, check=True,
                   capture_output=True)  # leases beside the edited file: the database is opened and read
    document = {"session_id": "s1234567", "cwd": str(repo), "hook_event_name": "PreToolUse", "tool_name": "Edit",
                "tool_input": {"file_path": str(repo / "free.txt")}}
    heavy = ("click", "subprocess", "maf_hooks.git", "maf_hooks.patterns.syntax", "maf_hooks.patterns.automaton",
             "maf_hooks.store.sqlite.migrations", "psycopg", "maf_hooks.store.postgres",
             "email", "tomllib", "tomli", "typing", "dataclasses", "prometheus_client", "rich")
    code = ("import sys\nfrom maf_hooks.agent_hooks.run import run\n"
            f"reply = run('claude', {json.dumps(document).encode()!r})\n"
            "assert (reply.stdout, reply.code) == ('', 0), reply\n"
            "assert 'maf_hooks.store.sqlite.leases' in sys.modules  # it did read the leases\n"
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    assert_prints_nothing(code)


def test_a_check_of_a_plain_repository_starts_no_git(tmp_path):
    """`maf-lease check` finds the repository and its path settings from git's own files
    (:func:`maf_hooks.gitfiles.located`): with the agent known, it neither starts git nor imports
    the git package; it still answers from the database."""
    import os

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    maf_lease = os.path.join(os.path.dirname(sys.executable), "maf-lease")
    subprocess.run([maf_lease, "acquire", "held.txt", "--agent", "bob"], cwd=repo, check=True, capture_output=True)
    code = ("import sys\nfrom maf_hooks.cli.main import lease_main\n"
            "sys.argv = ['maf-lease', 'check', 'held.txt', '--agent', 'alice']\n"
            "try:\n    lease_main()\nexcept SystemExit as exc:\n    assert exc.code == 1, exc.code\n"
            "print(' '.join(m for m in ('subprocess', 'maf_hooks.git') if m in sys.modules), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo)
    assert "BLOCKED" in proc.stdout and "bob" in proc.stdout, proc.stdout + proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
