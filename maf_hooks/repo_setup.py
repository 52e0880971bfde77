"""Setting a consumer repository up: database, mail root, git exclude, pre-commit entry.

Each step is idempotent and returns a description of what it changed (None when nothing).
"""

from __future__ import annotations

import os
import re

from maf_hooks import git
from maf_hooks.errors import GitError

HOOK_IDS = tuple(git.GIT_HOOKS)  # the hook ids the entry lists: those git runs (git.HOOK_STAGES)
INSTALL = git.install_command()
CONFIG_FILE = ".pre-commit-config.yaml"


def precommit_entry(repo_url: str | None, rev: str | None, indent: str = "") -> str:
    """The ``repos:`` list item for the hooks: a remote ``repo:``/``rev:`` entry, or, without a
    URL, a ``repo: local`` entry that runs the installed ``maf-reservations`` commands."""
    if repo_url:
        lines = [f"- repo: {repo_url}", f"  rev: {rev}", "  hooks:"]
        lines += [f"    - id: {hook_id}" for hook_id in HOOK_IDS]
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


def listed_hook_ids(config_text: str, hook_ids: tuple[str, ...] = HOOK_IDS) -> set[str]:
    """The hook ids that ``config_text`` lists as ``id:`` entries (comment lines do not count)."""
    return {
        hook_id for hook_id in hook_ids
        if re.search(rf"^[ \t]*(?:-[ \t]*)?id:[ \t]*['\"]?{re.escape(hook_id)}['\"]?[ \t]*(?:#.*)?$", config_text, re.M)
    }


def has_hooks(config_text: str) -> bool:
    """Whether every hook id of :data:`HOOK_IDS` is listed."""
    return listed_hook_ids(config_text) == set(HOOK_IDS)


def _write_atomically(path: str, text: str) -> None:
    """Write next to ``path`` and rename over it: an interrupted run leaves the old file whole."""
    temporary = f"{path}.maf-{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        if os.path.exists(path):
            os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def append_entry(root: str, repo_url: str | None, rev: str | None) -> str | None:
    """Add the entry to ``.pre-commit-config.yaml`` (created when missing); None if already listed."""
    path = os.path.join(root, CONFIG_FILE)
    if not os.path.exists(path):
        _write_atomically(path, "repos:\n" + precommit_entry(repo_url, rev, "  "))
        return f"created {CONFIG_FILE} with the maf-hooks entry"
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if has_hooks(text):
        return None
    meaningful = [lease for lease in text.splitlines() if lease.strip() and not lease.lstrip().startswith("#")]
    if meaningful and meaningful[0].lstrip().startswith(("{", "[")):
        raise ValueError(f"{CONFIG_FILE} is written in JSON/flow style, which maf init cannot extend "
                         "safely; add the entry that `maf init` prints to its repos list by hand")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^repos:\s*(#.*)?$", line)), None)
    if start is None:
        if re.search(r"^repos:", text, re.M):
            raise ValueError(f"{CONFIG_FILE} has an inline `repos:` value; add the entry by hand")
        new_text = text + ("" if text.endswith("\n") or not text else "\n") + "repos:\n" + precommit_entry(repo_url, rev, "  ")
    else:
        # the list ends at the next top-level key (a line starting with neither space, '-' nor '#')
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[^\s#-]", lines[i])), len(lines))
        item = next((re.match(r"^(\s*)-", lease) for lease in lines[start + 1:end] if re.match(r"^\s*-", lease)), None)
        indent = item.group(1) if item else "  "
        body = lines[:end]
        if body and not body[-1].endswith("\n"):
            body[-1] += "\n"
        new_text = "".join(body) + precommit_entry(repo_url, rev, indent) + "".join(lines[end:])
    _write_atomically(path, new_text)
    return f"added the maf-hooks entry to {CONFIG_FILE}"
