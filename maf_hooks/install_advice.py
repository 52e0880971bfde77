"""What to run to get the maf-hooks CLI, or to bring two copies of maf-hooks to one version.

With the hooks listed as a ``repo:`` URL and ``rev:`` in ``.pre-commit-config.yaml``, pre-commit
runs its own copy of maf-hooks (in its cache, not on PATH), while agents run the CLI installed on
their PATH. :func:`install_lines` is the one way to say how to install the CLI of a given
revision (``maf init --repo URL --rev TAG`` prints it); :func:`newer_schema_advice` is what a copy
that finds a store newer than it understands says: which copy is the older one and what to run.
Imported only on those paths (never on the hook's common path).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

CONFIG_FILE = ".pre-commit-config.yaml"
HOOK_IDS = ("maf-reservations", "maf-reservations-push", "maf-preflight")
PRE_COMMIT_ENV_PREFIX = "py_env-"  # pre-commit's python hook environments: <store>/repo<id>/py_env-<version>


def git_url(repo_url: str) -> str:
    """``repo_url`` (as pre-commit accepts it: a URL, an scp-like address or a local path) in the
    ``git+`` form pip, pipx and uv install from."""
    url = repo_url[4:] if repo_url.startswith("git+") else repo_url
    if "://" not in url:
        user_host, sep, path = url.partition(":")
        if sep and "@" in user_host and "/" not in user_host:  # git@host:org/repo.git
            url = f"ssh://{user_host}/{path}"
        else:  # a local path: with a host, which every pip accepts
            url = "file://localhost" + os.path.abspath(os.path.expanduser(url))
    return f"git+{url}"


def install_lines(repo_url: str, rev: str, *, upgrade: bool = False) -> list[str]:
    """The ``pipx`` and ``pip`` commands that install the maf-hooks CLI of ``rev`` from
    ``repo_url``; ``upgrade`` replaces an installed one."""
    spec = f"{git_url(repo_url)}@{rev}"
    pipx = "pipx install --force --include-deps" if upgrade else "pipx install --include-deps"
    pip = "pip install --upgrade" if upgrade else "pip install"
    return [f'{pipx} "{spec}"', f'{pip} "maf-hooks @ {spec}"']


def is_hook_copy(environ: Mapping[str, str], prefix: str | None = None) -> bool:
    """Whether this process is pre-commit's own copy of maf-hooks: run by pre-commit
    (``PRE_COMMIT=1``) from one of its python hook environments (a ``repo: local`` hook with
    ``language: system`` runs the CLI's copy, under pre-commit too)."""
    prefix = sys.prefix if prefix is None else prefix
    return environ.get("PRE_COMMIT") == "1" and os.path.basename(prefix.rstrip("/")).startswith(
        PRE_COMMIT_ENV_PREFIX)


def hooks_revision(start: str | None = None) -> tuple[str, str] | None:
    """The ``(repo, rev)`` of the maf-hooks entry of the ``.pre-commit-config.yaml`` of the
    repository around ``start`` (the current directory), or None (no file, a ``repo: local``
    entry, or a file that does not read)."""
    directory = os.path.abspath(start or os.getcwd())
    while True:
        path = os.path.join(directory, CONFIG_FILE)
        if os.path.isfile(path):
            break
        if os.path.exists(os.path.join(directory, ".git")) or os.path.dirname(directory) == directory:
            return None
        directory = os.path.dirname(directory)
    try:
        import yaml  # PyYAML, which pre-commit (a dependency) brings

        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except Exception:  # noqa: BLE001 (no PyYAML, an unreadable file, yaml.YAMLError: no advice, not a new error)
        return None
    entries = document.get("repos") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("repo") in (None, "local", "meta") or not entry.get("rev"):
            continue
        ids = {hook.get("id") for hook in entry.get("hooks") or [] if isinstance(hook, dict)}
        if ids & set(HOOK_IDS):
            return str(entry["repo"]), str(entry["rev"])
    return None


def newer_schema_advice(environ: Mapping[str, str], *, cwd: str | None = None, prefix: str | None = None) -> str:
    """Which copy is older and what to run, for a copy that found a store schema newer than it
    understands (the store was not changed)."""
    from maf_hooks import __version__

    if is_hook_copy(environ, prefix):
        return (f"The older copy is this one, the hook's: pre-commit's maf-hooks {__version__} (the `rev:` of "
                f"{CONFIG_FILE}), while a newer maf-hooks (the agents' CLI: `maf --version`) has migrated the "
                f"store. Bring the hook up to the CLI's version: `pre-commit autoupdate` (or set `rev:` to "
                f"the CLI's tag), then commit {CONFIG_FILE}.")
    found = hooks_revision(cwd)
    if found is not None:
        repo, rev = found
        pipx, pip = install_lines(repo, rev, upgrade=True)
        return (f"The older copy is this one, the CLI: maf-hooks {__version__} ({sys.executable}), while a "
                f"newer maf-hooks (the hooks' `rev: {rev}` in {CONFIG_FILE}, or another machine's) has "
                f"migrated the store. Upgrade the CLI to the hooks' revision: `{pipx}` (or `{pip}`).")
    return (f"The older copy is this one: maf-hooks {__version__} ({sys.executable}); a newer maf-hooks has "
            "migrated the store. Upgrade maf-hooks where it is installed (`pipx upgrade maf-hooks`, or pip "
            "install --upgrade from the clone or address it came from).")
