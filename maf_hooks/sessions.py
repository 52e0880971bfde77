"""Which agent session a process belongs to, so that one session is one agent at every layer.

An agent client runs its hooks, its shell commands (``maf-lease``, ``git commit`` and so the git
hooks) and its MCP servers as processes descended from its own. At a session's start the edit-time
hook records the session's agent for the client's process (its pid and start time), in the
user's runtime directory (``$XDG_RUNTIME_DIR/maf/sessions``, else ``~/.cache/maf/sessions``), so
that every repository the session works in finds it; any later process of that session, walking
up its ancestors, finds the record. A session's end removes it; a record whose pid now names
another process (another start time) is never read; a process running two sessions at once
answers no agent.

A wrong answer is worse than none, so a record is made only where the client's process is known
to be the session itself: a command-line client (``RECORDING_CLIENTS``) whose process is the
hook's nearest ancestor that is not a shell and has one of the ``CLIENT_PROCESSES`` names (not a
terminal multiplexer, an ssh daemon or an editor whose integrated terminal the user types in).

Ancestors are read from ``/proc`` (Linux); where it does not exist nothing is recorded or found,
and a session sets ``MAF_AGENT_ID`` (docs/agents.md).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Callable

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "ash", "busybox", "env", "timeout"})
MAX_DEPTH = 32
# the clients whose process runs one session and no terminal of the user's: Cursor is an editor
# (its integrated terminal descends from it too), OpenCode runs several sessions in one process
# and gives each shell command its session's id itself (shell.env)
RECORDING_CLIENTS = ("claude", "codex", "gemini", "copilot")
# what the process of such a client is named (/proc's comm, at most 15 characters)
CLIENT_PROCESSES = frozenset({"node", "claude", "codex", "gemini", "copilot", "bun"})


def _stat(pid: int) -> tuple[str, int, int] | None:
    """``(command name, parent pid, start time)`` of ``pid`` from ``/proc``; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    # "pid (comm) state ppid ... starttime(22nd field)": comm may hold spaces and parentheses
    name, _, rest = raw[raw.find("(") + 1:].rpartition(")")
    fields = rest.split()
    try:
        return name, int(fields[1]), int(fields[19])
    except (IndexError, ValueError):
        return None


def ancestors(pid: int | None = None) -> Iterator[tuple[int, str, int]]:
    """``(pid, command name, start time)`` of each ancestor of ``pid`` (this process), nearest first."""
    current = os.getpid() if pid is None else pid
    for _ in range(MAX_DEPTH):
        info = _stat(current)
        if info is None:
            return
        parent = info[1]
        if parent <= 1:
            return
        found = _stat(parent)
        if found is None:
            return
        yield parent, found[0], found[2]
        current = parent


def client_process() -> tuple[int, int] | None:
    """``(pid, start time)`` of the agent client running this hook: its nearest non-shell ancestor,
    when that is named as an agent client's process is (``CLIENT_PROCESSES``); else None."""
    for pid, name, started in ancestors():
        if name not in SHELLS:
            return (pid, started) if name in CLIENT_PROCESSES else None
    return None


def directory() -> str:
    """Where the records live: the user's runtime directory, else the user's cache."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "maf", "sessions")
    return os.path.join(os.path.expanduser("~"), ".cache", "maf", "sessions")


def _path(pid: int) -> str:
    return os.path.join(directory(), f"{pid}.json")


def _update(change: Callable[[dict[str, str]], object]) -> bool:
    """Change the sessions recorded for the client process running this hook, under a lock (two
    sessions of one process may start at once). False when there is no such process."""
    import fcntl
    import json

    client = client_process()
    if client is None:
        return False
    pid, started = client
    base = directory()
    os.makedirs(base, mode=0o700, exist_ok=True)
    target = _path(pid)
    lock = os.open(target + ".lock", os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sessions = _read(target, started) or {}
        change(sessions)
        _prune(base, keep=pid)
        if not sessions:
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
            return True
        from maf_hooks.atomicfile import write_bytes

        # under the lock, so one temporary name a process; not flushed to disk (a record of this boot)
        write_bytes(target, json.dumps({"pid": pid, "started": started, "sessions": sessions}).encode("utf-8"),
                    durable=False, temporary=f"{target}.{os.getpid()}.tmp")
        return True
    finally:
        os.close(lock)


def _prune(base: str, keep: int) -> None:
    """Remove the records of client processes that ended (a session end may never have come)."""
    for name in os.listdir(base):
        stem = name.split(".", 1)[0]
        if not stem.isdigit() or int(stem) == keep or not name.endswith((".json", ".lock")):
            continue
        found = _stat(int(stem))
        record = _read(os.path.join(base, f"{stem}.json"), found[2]) if found is not None else None
        if found is None or (record is None and name.endswith(".json")):
            try:
                os.unlink(os.path.join(base, name))
            except OSError:
                pass


def record(client: str, session: str, agent: str) -> bool:
    """The ``session`` of ``client``'s process running this hook started, acting as ``agent``
    (nothing is recorded for a client not in ``RECORDING_CLIENTS``)."""
    if client not in RECORDING_CLIENTS:
        return False
    return _update(lambda sessions: sessions.__setitem__(session, agent))


def forget(client: str, session: str) -> bool:
    """The ``session`` of ``client``'s process running this hook ended."""
    if client not in RECORDING_CLIENTS:
        return False
    return _update(lambda sessions: sessions.pop(session, None))


def _read(path: str, started: int) -> dict[str, str] | None:
    """The sessions of a record, if it is of the process that started at ``started``."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("started") != started or not isinstance(found.get("sessions"), dict):
        return None
    return {str(key): value for key, value in found["sessions"].items() if isinstance(value, str)}


def agent_of_this_process() -> str | None:
    """The agent id of the session this process belongs to: of the nearest ancestor with a
    record, when that process runs exactly one session (and its id is a valid agent id). None
    otherwise: a client process hosting several sessions at once cannot say which one a process
    belongs to, and a wrong answer would be worse than none."""
    if not os.path.isdir(directory()):
        return None
    from maf_hooks.identity import is_valid_agent_id

    for pid, _, started in ancestors():
        sessions = _read(_path(pid), started)
        if sessions is not None:
            agents = set(sessions.values())
            if len(agents) != 1:
                return None
            agent = agents.pop()
            return agent if is_valid_agent_id(agent) else None
    return None
