"""Setting a consumer repository up: database, mail root, git exclude, pre-commit entry, and
the repository key of a shared server.

Each step is idempotent and returns a description of what it changed (None when nothing).
"""

from __future__ import annotations

import json
import os

from maf_hooks import git
from maf_hooks.errors import GitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

HOOK_IDS = tuple(git.GIT_HOOKS)  # the hook ids the entry lists: those git runs (git.HOOK_STAGES)
INSTALL = git.install_command()
CONFIG_FILE = ".pre-commit-config.yaml"  # read and edited by maf_hooks.precommit_config
MAF_TOML = "maf.toml"
# The PostgreSQL driver, as the ``postgres`` extra of pyproject.toml requires it (a test holds the
# two equal). A pre-commit hook environment gets it through ``additional_dependencies``: pre-commit
# runs ``pip install . DEP...`` in the hook's virtualenv, so the requirement itself goes there,
# not the extra's name (which pip would look up in the package index as maf-hooks).
DRIVER_REQUIREMENT = "psycopg[binary]>=3.2,<4"
# languages whose hooks pre-commit runs without an environment of their own: it refuses
# ``additional_dependencies`` on them (the `repo: local` entry uses ``system``)
NO_ENVIRONMENT = ("system", "script", "pygrep", "fail", "unsupported", "unsupported_script", "docker_image")


def precommit_entry(repo_url: str | None, rev: str | None, indent: str = "",
                    dependencies: Sequence[str] = ()) -> str:
    """The ``repos:`` list item for the hooks: a remote ``repo:``/``rev:`` entry, or, without a
    URL, a ``repo: local`` entry that runs the installed ``maf-reservations`` commands.

    ``dependencies`` (the driver of a shared server) go into each hook of a remote entry as
    ``additional_dependencies``; a local entry (``language: system``) runs the commands of the
    environment on PATH, where pre-commit installs nothing and refuses them."""
    if repo_url:
        lines = [f"- repo: {repo_url}", f"  rev: {rev}", "  hooks:"]
        for hook_id in HOOK_IDS:
            lines.append(f"    - id: {hook_id}")
            if dependencies:
                lines.append(f"      additional_dependencies: {json.dumps(list(dependencies))}")
    else:
        lines = ["- repo: local", "  hooks:"]
        for hook_id in HOOK_IDS:
            lines += [
                f"    - id: {hook_id}",
                f"      name: {hook_id}",
                f"      entry: {hook_id}",
                "      language: system",
                "      pass_filenames: false",
                "      always_run: true",
                "      require_serial: true",
                "      verbose: true",
                f"      stages: [{', '.join(git.HOOK_STAGES[hook_id])}]",
            ]
    return "\n".join(indent + line for line in lines) + "\n"


def ensure_excluded(common_dir: str, worktree_root: str, mail_root: str) -> str | None:
    """Add the mail root to ``info/exclude`` (shared by every worktree) when it lies in the tree."""
    relative = os.path.relpath(mail_root, worktree_root)
    if relative.startswith(".."):
        return None
    line = "/" + relative.replace(os.sep, "/").rstrip("/") + "/"
    exclude = os.path.join(common_dir, "info", "exclude")
    existing = ""
    if os.path.exists(exclude):
        with open(exclude, encoding="utf-8") as handle:
            existing = handle.read()
    wanted = {line, line.lstrip("/"), line.rstrip("/"), line.strip("/")}
    if any(entry.strip() in wanted for entry in existing.splitlines()):
        return None
    os.makedirs(os.path.dirname(exclude), exist_ok=True)
    with open(exclude, "a", encoding="utf-8") as handle:
        if existing and not existing.endswith("\n"):
            handle.write("\n")
        handle.write(f"# maf-hooks agent mail\n{line}\n")
    return f"added {line} to {exclude}"


def ensure_mail_root(mail_root: str) -> str | None:
    """Create the mail root when missing, never through a symbolic link (a linked mail root is
    refused: :class:`~maf_hooks.mail.confinement.MailPathRefused`)."""
    from maf_hooks.mail import confinement

    if confinement.check_root(mail_root, create=False):
        return None
    confinement.check_root(mail_root, create=True)
    return f"created the mail root {mail_root}"


def mail_root_problems(main_root: str, mail_root: str) -> list[str]:
    """What makes the mail root unsafe: a symbolic link on the way to it or to a Maildir in it,
    and anything under it that git tracks (mail must never be committed; a tracked link is how a
    commit could send everyone's mail elsewhere)."""
    from maf_hooks.mail import confinement

    problems = []
    linked = confinement.linked_component(mail_root)
    if linked is not None:
        problems.append(f"the mail root path {linked} is a symbolic link (to {os.readlink(linked)}): "
                        "mail would be refused; remove the link or set mail.root / MAF_AGENT_MAIL_ROOT "
                        "to a real directory")
    elif os.path.isdir(mail_root):
        problems += [f"{path} is a symbolic link: mail to that agent is refused; remove the link"
                     for path in confinement.links_below(mail_root)]
    relative = os.path.relpath(mail_root, main_root)
    if relative not in (".", "..") and not relative.startswith(".." + os.sep):
        try:
            tracked = git.zsplit(git.run(["ls-files", "-z", "--", relative], cwd=main_root)[1])
        except GitError:
            tracked = []
        if tracked:
            shown = ", ".join(tracked[:3]) + (f" and {len(tracked) - 3} more" if len(tracked) > 3 else "")
            problems.append(f"git tracks {len(tracked)} path(s) under the mail root {relative} ({shown}): "
                            f"mail must never be committed; run `git rm -r --cached -- {relative}` and commit")
    return problems


def _write_atomically(path: str, text: str) -> None:
    """Write next to ``path`` and rename over it: an interrupted run leaves the old file whole."""
    from maf_hooks.atomicfile import write_bytes

    write_bytes(path, text.encode("utf-8"))


def ensure_precommit_config(root: str, repo_url: str | None, rev: str | None,
                            dependencies: Sequence[str] = ()) -> list[str]:
    """Add the entry to ``.pre-commit-config.yaml`` (created when missing) unless every hook is
    listed (an existing entry is never rewritten: :func:`hooks_without_driver` reports what it
    lacks), and ``default_install_hook_types`` naming every git hook type, so that a plain
    ``pre-commit install`` installs them all. Returns what changed; ValueError (file untouched)
    when the file cannot be edited safely."""
    from maf_hooks import precommit_config

    return precommit_config.ensure(root, precommit_entry(repo_url, rev, dependencies=dependencies), HOOK_IDS,
                                   git.HOOK_TYPES)


def hooks_without_driver(config_text: str) -> list[str]:
    """The maf hooks listed in ``config_text`` whose environment pre-commit builds (a remote
    entry, or a local one in a language such as ``python``) with no ``psycopg`` among their
    ``additional_dependencies``: on a shared server their hook would fail closed on every commit."""
    from maf_hooks import precommit_config

    return precommit_config.hooks_without_driver(config_text, HOOK_IDS, NO_ENVIRONMENT)


def repository_key_file(root: str, config: Any) -> tuple[str, tuple[str, ...]]:
    """Where ``storage.repository`` belongs: the configuration file in use and the tables above
    ``storage`` in it (``("tool", "maf")`` in pyproject.toml); ``maf.toml`` at the root without one."""
    from maf_hooks.config import find_config_file

    if not config.path:
        return os.path.join(root, MAF_TOML), ()
    found, prefix = find_config_file(root)
    return config.path, tuple(filter(None, (prefix or "").split("."))) if found == config.path else ()


def ensure_repository_key(root: str, config: Any, key: str) -> str | None:
    """Write ``storage.repository = key`` into the configuration file (created as maf.toml when
    there is none), keeping its layout and comments; None when a key is already set (by any
    source). A file where the key cannot be added safely is refused (ValueError), left untouched."""
    if config.get("storage.repository"):
        return None
    import tomlkit

    from maf_hooks.config_read import read_toml

    path, prefix = repository_key_file(root, config)
    shown = os.path.relpath(path, root)
    by_hand = (f"add it by hand under [{'.'.join((*prefix, 'storage'))}]: repository = {json.dumps(key)}, "
               "then run maf init again")
    if not path.endswith(".toml") or os.path.islink(path):
        raise ValueError(f"{shown}: maf init writes the repository key only into a TOML file it is not "
                         f"linked to; {by_hand}")
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    doc = tomlkit.parse(text)
    node: Any = doc
    for part in prefix:
        node = node[part]
    if "storage" not in node:
        node["storage"] = tomlkit.table()
    try:
        node["storage"]["repository"] = key
        new_text = tomlkit.dumps(doc)
    except Exception:  # noqa: BLE001 - any surprise of the writer: the file stays as it was
        raise ValueError(f"{shown}: the [storage] table cannot take the key safely here; {by_hand}") from None
    expected = read_toml(path) if text else {}
    where = expected
    for part in (*prefix, "storage"):
        where = where.setdefault(part, {})
    where["repository"] = key
    if _parsed(new_text) != expected:  # only the key may change, read back as maf reads it
        raise ValueError(f"{shown}: adding the key would change other values of the file; {by_hand}")
    _write_atomically(path, new_text)
    return f"wrote storage.repository = {json.dumps(key)} to {shown} (commit it: every clone shares the key)"



def _parsed(text: str) -> Any:
    from maf_hooks.agent_setup.formats import FileRefused, parse_toml

    try:
        return parse_toml(MAF_TOML, text.encode("utf-8"))
    except FileRefused:
        return None
