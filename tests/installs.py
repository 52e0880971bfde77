"""Real installs of maf-hooks for the install tests: a clone of this checkout tagged as the
release (what a team installs from), fresh virtualenvs, and pipx's and uv's directories in a
temporary place. Nothing is shimmed: pip, pipx and uv install for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import maf_hooks

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TAG = f"v{maf_hooks.__version__}"


def release_clone(base: Path) -> Path:
    """``base/maf-hooks``: a clone of this checkout's HEAD, tagged ``v<version>`` there (the tag
    is moved to HEAD in the clone when this checkout has it on an earlier commit: the release the
    tests install is the code under test)."""
    if not (PROJECT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist, say): there is no repository to clone")
    clone = base / "maf-hooks"
    subprocess.run(["git", "clone", "-q", str(PROJECT), str(clone)], check=True, capture_output=True)
    subprocess.run(["git", "tag", "-f", TAG, "HEAD"], cwd=clone, check=True, capture_output=True)
    return clone


def system_path() -> str:
    """PATH without this checkout's virtualenv (which has every maf command already)."""
    return os.pathsep.join(entry for entry in os.environ.get("PATH", "").split(os.pathsep)
                           if entry and Path(entry).resolve() != BIN.resolve())


def environment(base: Path) -> dict[str, str]:
    """A shell environment in which an install line puts its commands in ``base`` only: an
    activated fresh virtualenv (``base/venv``), pipx's and uv's tool and bin directories under
    ``base``, pipx and uv themselves (from the test extra) and the system's PATH."""
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, capture_output=True)
    tools = base / "tools"  # pipx and uv only, not the rest of this virtualenv's bin/
    tools.mkdir()
    for name in ("pipx", "uv"):
        found = shutil.which(name, path=str(BIN))
        assert found, f"{name} is missing: install the test extra (./scripts/setup)"
        (tools / name).symlink_to(found)
    bins = [base / "venv" / "bin", base / "pipx-bin", base / "uv-bin"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIPX_", "UV_", "VIRTUAL_ENV"))}
    env.update({
        "PATH": os.pathsep.join([*map(str, bins), str(tools), system_path()]),
        "VIRTUAL_ENV": str(base / "venv"),
        "PIPX_HOME": str(base / "pipx-home"), "PIPX_BIN_DIR": str(bins[1]), "PIPX_MAN_DIR": str(base / "pipx-man"),
        "PIPX_DEFAULT_PYTHON": sys.executable,
        "UV_TOOL_DIR": str(base / "uv-tools"), "UV_TOOL_BIN_DIR": str(bins[2]),
        "UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never",
    })
    return env


def shell(script: str, cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
