"""Who is acting: agent id resolution and validation.

An agent id becomes a directory name (its Maildir), so validation is what keeps mail inside the
mail root: 1-128 characters of letters, digits and ``._@+-``, not starting with ``.`` or ``-``.
"""

from __future__ import annotations

from maf_hooks.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Callable, Mapping

# ``^[A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,127}\Z`` as two character sets (no regex to compile: the
# git hook validates MAF_AGENT_ID on every commit)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_FIRST = frozenset(_ALNUM + "_@+")
_REST = frozenset(_ALNUM + "._@+-")

HOW_TO_SET = (
    "Set one with --agent ID, the MAF_AGENT_ID environment variable, "
    "or `git config maf.agentId ID` (the git user.email is used when none of these is set)."
)


def is_valid_agent_id(value: str) -> bool:
    return 0 < len(value) <= 128 and value[0] in _FIRST and _REST.issuperset(value)


def validate_agent_id(value: str, *, source: str = "agent id") -> str:
    if not isinstance(value, str) or not is_valid_agent_id(value):
        raise UsageError(
            f"Invalid {source} {value!r}: an agent id is 1-128 characters of letters, digits and "
            "'._@+-', and does not start with '.' or '-'."
        )
    return value


def session_agent(client: str, session: str | None) -> str | None:
    """The agent id of an agent client's session: ``<client>-<first 8 characters of the session
    id>`` (of the characters an agent id may hold), so that two sessions of one client are two
    agents; the last 8 of an id that starts with its time (:func:`_time_ordered`), whose first
    characters two sessions started within a minute share. None without a usable session id."""
    if not session:
        return None
    kept = "".join(char for char in session if char in _REST)
    kept = kept[-8:] if _time_ordered(session) else kept[:8]
    return f"{client}-{kept}" if kept else None


def _time_ordered(session: str) -> bool:
    """A session id that starts with its creation time: its first characters are the same for
    sessions started close together, so its last ones tell sessions apart. Codex's are UUIDv7
    (48 bits of milliseconds first), OpenCode's ``ses_`` and a time part."""
    uuid7 = len(session) == 36 and session[14] == "7" and all(session[i] == "-" for i in (8, 13, 18, 23))
    return uuid7 or session.startswith("ses_")


# the session id an agent client exports to the shell commands it runs, and the client's name
SESSION_VARIABLES = (("CODEX_THREAD_ID", "codex"),)


def _session(env: Mapping[str, str], session: str | Callable[[], str | None] | None) -> str | None:
    if isinstance(session, str):
        return session
    found = session() if session is not None else None  # the nearest session (maf_hooks.sessions)
    if found:
        return found
    for variable, client in SESSION_VARIABLES:
        found = session_agent(client, env.get(variable))
        if found:
            return found
    return None


def resolve_agent(
    flag: str | None,
    env: Mapping[str, str],
    git_identity: Callable[[], tuple[str | None, str | None]],
    *,
    required: bool = True,
    session: str | Callable[[], str | None] | None = None,
) -> str | None:
    """``--agent``, else ``MAF_AGENT_ID``, else git ``maf.agentId``, else the agent of an agent
    client's session, else git ``user.email``.

    The session's agent (:func:`session_agent`) is ``session`` (the edit-time hook reads the
    session id in its input), else ``session`` called (:mod:`maf_hooks.sessions`: the nearest
    recorded session this process descends from), else the session id a client exports to its
    shell commands (``SESSION_VARIABLES``).

    ``git_identity`` returns ``(maf.agentId, user.email)`` and is only called when needed.
    With none of them, raise a UsageError that says how to set one (or return None when not
    ``required``). Whatever is found is validated.
    """
    if flag:
        return validate_agent_id(flag, source="--agent value")
    from_env = env.get("MAF_AGENT_ID")
    if from_env:
        return validate_agent_id(from_env, source="MAF_AGENT_ID value")
    agent_id, email = git_identity()
    if agent_id:
        return validate_agent_id(agent_id, source="git config maf.agentId value")
    from_session = _session(env, session)
    if from_session:
        return validate_agent_id(from_session, source="agent session id")
    if email:
        return validate_agent_id(email, source="git config user.email value")
    if required:
        raise UsageError("No agent identity. " + HOW_TO_SET)
    return None
