"""What an agent client's hook asked (a :class:`ToolCall`) and what maf answers (a :class:`Reply`).

Each client module (``claude``, ``codex``, ...) turns the client's decoded hook input into a
ToolCall and a deny reason into the client's own reply; :mod:`maf_hooks.agent_hooks.run` decides.
Plain classes: this module is on the path of every edit of every agent.
"""

from __future__ import annotations

from maf_hooks.errors import UsageError

# what a tool call means to maf
WRITE = "write"  # the tool writes the files in ``paths``
OTHER = "other"  # the tool writes no file (a read, a search, a shell command): allowed at once
SESSION_START = "session_start"
SESSION_END = "session_end"  # the session ends (never a per-turn event such as Claude's Stop)
KINDS = (WRITE, OTHER, SESSION_START, SESSION_END)


class BadHookInput(UsageError):
    """The client's hook input is not what its protocol says (not JSON, a key missing or of the
    wrong type): the hook fails closed in the client's own deny form."""


class ToolCall:
    """One hook call: ``kind`` (one of ``KINDS``), the ``paths`` a write would change exactly as
    the tool names them (absolute, or relative to ``cwd``), the client's ``session`` id, the
    ``cwd`` the client reports, the ``tool`` name and the client's ``event`` name."""

    __slots__ = ("kind", "paths", "session", "cwd", "tool", "event")

    def __init__(self, kind: str, paths: tuple[str, ...] = (), *, session: str | None = None,
                 cwd: str | None = None, tool: str | None = None, event: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown tool call kind {kind!r}")
        self.kind = kind
        self.paths = tuple(paths)
        self.session = session
        self.cwd = cwd
        self.tool = tool
        self.event = event

    def __repr__(self) -> str:
        return (f"ToolCall({self.kind!r}, {self.paths!r}, session={self.session!r}, cwd={self.cwd!r}, "
                f"tool={self.tool!r}, event={self.event!r})")


class Reply:
    """What the hook process prints and its exit code. ``ALLOW`` prints nothing and exits 0, so
    that the client's own permission flow goes on unchanged."""

    __slots__ = ("stdout", "stderr", "code")

    def __init__(self, stdout: str = "", stderr: str = "", code: int = 0) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.code = code

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Reply):
            return (self.stdout, self.stderr, self.code) == (other.stdout, other.stderr, other.code)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Reply(stdout={self.stdout!r}, stderr={self.stderr!r}, code={self.code!r})"


ALLOW = Reply()


def text_field(document: object, key: str, *, required: bool = False, where: str = "the hook input") -> str | None:
    """``document[key]`` as a string (None when absent and not ``required``); BadHookInput when the
    document is no object or the value is no string."""
    if not isinstance(document, dict):
        raise BadHookInput(f"{where} is not a JSON object.")
    value = document.get(key)
    if value is None:
        if required:
            raise BadHookInput(f"{where} has no {key!r}.")
        return None
    if not isinstance(value, str):
        raise BadHookInput(f"{where} has {key!r} of type {type(value).__name__}, not a string.")
    return value
