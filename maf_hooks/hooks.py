"""The commit and push hooks: changed paths -> conflicts -> records (+ queued mail) -> mail -> exit code.

Entry points ``maf-reservations`` (pre-commit stage) and ``maf-reservations-push`` (pre-push).
This module runs on every commit of every agent, so it imports only what the common case needs:
no click, and of the patterns package only the index (the parser and matcher for glob leases).
The decision is :mod:`maf_hooks.services.gate`; everything that happens only on a conflict
(records, mail, escalation) lives in :mod:`maf_hooks.services.conflicts`, imported only then.
The hook fails closed: when it cannot decide, the change is refused unless the team chose otherwise.
"""

from __future__ import annotations

import os
import sys
import time

from maf_hooks.errors import MafError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, Callable, TextIO


def run_hook(
    operation: str,
    *,
    environ: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    cwd: str | None = None,
    stream: TextIO | None = None,
    clock: Callable[[], int] | None = None,
) -> int:
    """Decide one commit or push; return the exit code (0 let it through, 1 refuse). Once the
    answer is written, its duration is recorded beside the store (:mod:`maf_hooks.hook_timing`)."""
    started = time.perf_counter()
    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    if clock is None:
        from maf_hooks.timeutil import now_ms

        clock = now_ms
    from maf_hooks.core import policy

    if policy.hook_mode(None, environ) == "off":  # before anything loads
        return 0
    settings: dict[str, Any] = {"environ": environ}
    try:
        from maf_hooks.services import gate

        _, decision = gate.evaluate(operation, environ, stdin_text, cwd=cwd, clock=clock, into=settings)
        if decision is None:
            return 0
        if decision.shared:
            from maf_hooks.core.conflicts import REPORT_PATHS
            from maf_hooks.core.text import quoted, shown

            for path, lease in decision.shared[:REPORT_PATHS]:
                stream.write(f"maf: note: {shown(path)} is under a shared lease of {shown(lease.agent)} "
                             f"({quoted(lease.pattern)}).\n")
            if len(decision.shared) > REPORT_PATHS:
                stream.write(f"maf: note: and {len(decision.shared) - REPORT_PATHS} more paths under "
                             "shared leases (`maf-lease check PATH...` shows each).\n")
        if not decision.conflicts:
            return 0
        from maf_hooks.services import conflicts

        return conflicts.handle(decision, settings["store"], settings["cfg"], settings["paths"],
                                environ=environ, stream=stream, tried=settings.setdefault("mail_tried", []))
    except (MafError, OSError, UnicodeError) as exc:
        return fail(exc, settings, stream)
    except Exception as exc:
        if environ.get("MAF_DEBUG"):
            raise
        return fail(RuntimeError(f"internal error ({type(exc).__name__}: {exc}); this is a bug in maf-hooks."),
                    settings, stream)
    finally:
        if settings.get("store") is not None:
            from maf_hooks.services.followup import finish

            finish(settings, environ, clock)
        from maf_hooks.hook_timing import after

        after(settings, operation, started)


def _agent(settings: dict[str, Any]) -> str | None:
    """The committer, as the decision resolved it; resolved now (the one way) when the error came
    first. An invalid identity is None: only ``[agents.default]`` applies."""
    if "agent" in settings:
        return settings["agent"]
    from maf_hooks import git, identity

    paths = settings.get("paths")
    try:
        from maf_hooks import sessions

        return identity.resolve_agent(None, settings["environ"], lambda: git.identity(paths.root if paths else None),
                                      required=False,
                                      session=sessions.agent_of_this_process)
    except MafError:
        return None


def fail(exc: BaseException, settings: dict[str, Any], stream: TextIO) -> int:
    """The hook could not decide: THE rule for an unchecked change
    (:func:`maf_hooks.core.policy.unchecked`) says whether it goes through."""
    from maf_hooks.core import policy

    cause = str(exc) or type(exc).__name__
    environ = settings.get("environ") or {}
    agent = _agent(settings) if policy.override_requested(environ) else None
    allowed, messages = policy.unchecked(settings.get("cfg"), environ, agent, cause)
    stream.writelines(f"maf: {message}\n" for message in messages)
    return 0 if allowed else 1


def _read_stdin() -> str:
    """git's ref lines, as bytes: a ref name need not be UTF-8 (kept by surrogateescape, so that
    no line is lost; an unreadable stdin raises, and the hook fails closed)."""
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    return sys.stdin.buffer.read().decode("utf-8", "surrogateescape")


COMMIT_USAGE = """usage: maf-reservations [-h] [--version]

The commit hook (git's pre-commit and pre-merge-commit): refuse the commit when it changes a path
another agent holds an exclusive lease on. Run by git or the pre-commit framework, not by hand.

Exit codes: 0 the commit may go ahead, 1 refused (or the check failed: it fails closed),
2 usage error. Details: docs/hooks.md.
"""

PUSH_USAGE = """usage: maf-reservations-push [-h] [--version] [REMOTE [URL]]

The push hook (git's pre-push): refuse the push when its commits change a path another agent holds
an exclusive lease on. As a plain git hook it reads git's ref lines on standard input (git passes
the remote's name and URL as arguments); under the pre-commit framework PRE_COMMIT_FROM_REF and
PRE_COMMIT_TO_REF give the range. Run by git or the pre-commit framework, not by hand.

Exit codes: 0 the push may go ahead, 1 refused (or the check failed: it fails closed),
2 usage error. Details: docs/hooks.md.
"""


def entry_arguments(prog: str, argv: Sequence[str] | None, usage: str, positionals: int) -> int | None:
    """The hook's own command line, without click (it runs on every commit): ``-h``/``--help``
    and ``--version`` answer and return 0, an unknown option or too many arguments return 2 (the
    usage on stderr); None means: run the hook. Neither ever runs the hook."""
    args = sys.argv[1:] if argv is None else list(argv)
    rest = []
    for index, arg in enumerate(args):
        if arg == "--":
            rest += args[index + 1:]
            break
        if arg in ("-h", "--help"):
            sys.stdout.write(usage)
            return 0
        if arg == "--version":
            from maf_hooks import __version__

            sys.stdout.write(f"{prog} (maf-hooks) {__version__}\n")
            return 0
        if arg.startswith("-") and arg != "-":
            sys.stderr.write(f"{usage.splitlines()[0]}\n{prog}: error: no such option: {arg}\n")
            return 2
        rest.append(arg)
    if len(rest) > positionals:
        what = "takes no arguments" if not positionals else f"takes at most {positionals} arguments (REMOTE URL)"
        sys.stderr.write(f"{usage.splitlines()[0]}\n{prog}: error: {prog} {what}; got {' '.join(rest)!r}\n")
        return 2
    return None


def ended(code: int) -> int:
    """A console script's last step once the hook has answered: the process ends next, so the
    interpreter's final garbage collections need not walk what the hook made (``gc.freeze``: the
    streams are still flushed and objects freed by their reference counts, but the finalizers of
    objects in reference cycles do not run, so whatever must be closed, the store above all, is
    closed before this). Measured on a refused commit of 1,000 paths: 3.5-5 ms of the process's
    ~10 ms of shutdown."""
    import gc

    gc.freeze()
    return code


def commit_main(argv: Sequence[str] | None = None) -> int:
    """``maf-reservations``: the pre-commit stage hook."""
    answered = entry_arguments("maf-reservations", argv, COMMIT_USAGE, 0)
    return ended(run_hook("commit")) if answered is None else answered


def push_main(argv: Sequence[str] | None = None) -> int:
    """``maf-reservations-push``: the pre-push stage hook (reads git's ref lines when run as a
    plain git hook; under the pre-commit framework, PRE_COMMIT_FROM_REF/TO_REF say the range)."""
    answered = entry_arguments("maf-reservations-push", argv, PUSH_USAGE, 2)
    if answered is not None:
        return answered
    environ = os.environ
    framework = (environ.get("PRE_COMMIT_FROM_REF") and environ.get("PRE_COMMIT_TO_REF")) \
        or environ.get("PRE_COMMIT_LOCAL_BRANCH")
    plain = not framework
    try:
        stdin_text = _read_stdin() if plain else None
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"maf: RESERVATION CHECK FAILED, so this push is refused (the check fails closed): "
                         f"cannot read the refs git is pushing ({exc}).\n")
        return 1
    return ended(run_hook("push", stdin_text=stdin_text))
