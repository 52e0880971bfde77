"""Every git call the tool makes goes through this package, and the one table of hook ids and stages.

``command`` runs git, ``repo`` knows the repository, ``changes`` what a commit or push changes;
everything is used as ``git.NAME``.

Git runs as a subprocess (the git command line is what the hooks need, and a library such as
gitpython would cost the hook that runs on every commit tens of milliseconds of imports).
The environment is inherited unchanged: inside a hook git sets ``GIT_INDEX_FILE`` (``git commit -a``
and ``git commit PATH`` use a temporary index) and ``GIT_DIR`` for the repository being committed to,
and those are exactly the repository we must read.
"""

from __future__ import annotations

from maf_hooks.git.changes import (
    ZERO_SHA as ZERO_SHA,
)
from maf_hooks.git.changes import (
    pre_push_revs as pre_push_revs,
)
from maf_hooks.git.changes import (
    range_paths as range_paths,
)
from maf_hooks.git.changes import (
    span_revs as span_revs,
)
from maf_hooks.git.changes import (
    staged_paths as staged_paths,
)
from maf_hooks.git.changes import (
    staged_paths_later as staged_paths_later,
)
from maf_hooks.git.changes import (
    verify_commit as verify_commit,
)
from maf_hooks.git.command import (
    Background as Background,
)
from maf_hooks.git.command import (
    Later as Later,
)
from maf_hooks.git.command import (
    output as output,
)
from maf_hooks.git.command import (
    run as run,
)
from maf_hooks.git.command import (
    zsplit as zsplit,
)
from maf_hooks.git.repo import (
    PathSettings as PathSettings,
)
from maf_hooks.git.repo import (
    RepoPaths as RepoPaths,
)
from maf_hooks.git.repo import (
    identity as identity,
)
from maf_hooks.git.repo import (
    identity_later as identity_later,
)
from maf_hooks.git.repo import (
    main_worktree_root as main_worktree_root,
)
from maf_hooks.git.repo import (
    origin_url as origin_url,
)
from maf_hooks.git.repo import (
    path_settings as path_settings,
)
from maf_hooks.git.repo import (
    path_settings_later as path_settings_later,
)
from maf_hooks.git.repo import (
    repo_paths as repo_paths,
)
from maf_hooks.git.repo import (
    repo_paths_later as repo_paths_later,
)

# --- the hooks this project offers --------------------------------------------------------------

# Each hook id of .pre-commit-hooks.yaml and its stages (a test holds the two equal). `maf init`
# writes these stages, the preflight `hooks` check wants a git hook of each type installed, and
# `maf-preflight --fix` installs them. "manual" runs only when asked (`pre-commit run --hook-stage
# manual`): no git hook. pre-merge-commit: git runs it, not pre-commit, for a merge that completes
# on its own.
HOOK_STAGES: dict[str, tuple[str, ...]] = {
    "maf-reservations": ("pre-commit", "pre-merge-commit"),
    "maf-reservations-push": ("pre-push",),
    "maf-preflight": ("manual",),
}
MANUAL_STAGE = "manual"
# the hook ids git runs, with their git hook types; and every such type, in table order
GIT_HOOKS: dict[str, tuple[str, ...]] = {
    hook_id: tuple(stage for stage in stages if stage != MANUAL_STAGE)
    for hook_id, stages in HOOK_STAGES.items() if any(stage != MANUAL_STAGE for stage in stages)
}
HOOK_TYPES: tuple[str, ...] = tuple(dict.fromkeys(stage for stages in GIT_HOOKS.values() for stage in stages))


def install_command() -> str:
    """The ``pre-commit install`` command that installs a git hook of every type in :data:`HOOK_TYPES`."""
    return "pre-commit install " + " ".join(f"--hook-type {hook_type}" for hook_type in HOOK_TYPES)
