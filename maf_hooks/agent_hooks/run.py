"""``maf agent-hook CLIENT``: read the client's hook input, decide, answer in its protocol.

An allowed call prints nothing and exits 0 (the client's own permission flow goes on); a
refused one is the client's deny form with a reason the agent can act on. A call that writes no
file is allowed before anything else is loaded. When the hook cannot decide (bad input, a broken
database, a bug) it fails closed in the client's deny form, under THE rule for a check that
could not run (:func:`maf_hooks.core.policy.unchecked`): the same as the git hooks.
"""

from __future__ import annotations

import os

from maf_hooks.agent_hooks import CLIENTS
from maf_hooks.agent_hooks.call import ALLOW, OTHER, SESSION_END, SESSION_START, WRITE, BadHookInput, Reply
from maf_hooks.errors import MafError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable


def client_module(name: str) -> Any:
    """The protocol module of client ``name`` (one of ``CLIENTS``), imported now."""
    import sys

    module = f"maf_hooks.agent_hooks.{name}"
    __import__(module)  # importlib itself costs the hook its import
    return sys.modules[module]


def decode(data: bytes) -> object:
    import json

    try:
        return json.loads(data.decode("utf-8-sig"))  # a byte-order mark is no reason to refuse
    except UnicodeDecodeError:
        raise BadHookInput("The hook input is not UTF-8 text.") from None
    except ValueError as exc:
        raise BadHookInput(f"The hook input is not JSON ({exc}).") from None


def run(client: str, data: bytes, environ: Mapping[str, str] | None = None, *,
        clock: Callable[[], int] | None = None, state: dict[str, Any] | None = None) -> Reply:
    """Answer one hook call of ``client`` whose input is ``data``. ``state`` (filled as it goes)
    tells the caller what the call was (``kind``) and where its timing goes (``timings``)."""
    environ = os.environ if environ is None else environ
    if client not in CLIENTS:
        return Reply(stderr=f"maf: unknown agent client {client!r}: expected one of {', '.join(CLIENTS)}.\n", code=2)
    if clock is None:
        from maf_hooks.timeutil import now_ms

        clock = now_ms
    protocol = client_module(client)
    state = {} if state is None else state
    state["environ"] = environ
    try:
        document = decode(data)
        if isinstance(document, dict):  # what is known of the call, should the input prove bad
            if isinstance(document.get("cwd"), str) and document["cwd"]:
                state["cwd"] = document["cwd"]
            if _names_a_session_event(document):
                state["kind"] = SESSION_START
        call = protocol.parse(document, environ)
        state["kind"] = call.kind
        if call.kind == OTHER:
            return allowed(protocol)
        from maf_hooks.core import policy

        if policy.hook_mode(None, environ) == "off":
            return allowed(protocol) if call.kind == WRITE else ALLOW
        from maf_hooks.services import edit

        if call.kind == WRITE:
            reason = edit.write(client, call, environ, clock=clock, state=state)
            return allowed(protocol) if reason is None else protocol.deny(reason)
        if call.kind == SESSION_START:
            agent = edit.session_started(client, call, environ)  # recorded for the session's processes
            started = getattr(protocol, "session_started", None)
            return ALLOW if started is None else started(call, agent, environ)
        if call.kind == SESSION_END:
            edit.session_ended(client, call, environ, clock=clock, state=state)
        return ALLOW
    except (MafError, OSError, UnicodeError) as exc:
        return failed(protocol, exc, state)
    except Exception as exc:
        if environ.get("MAF_DEBUG"):
            raise
        return failed(protocol, RuntimeError(f"internal error ({type(exc).__name__}: {exc}); this is a bug in "
                                             "maf-hooks."), state)
    finally:
        if state.get("store") is not None:
            from maf_hooks.services.followup import finish

            finish(state, environ, clock)


def _names_a_session_event(document: dict) -> bool:
    """Whether the input names a session's start or end (every client's such events have
    "session" in their name; OpenCode's shell.env starts one), whatever else is wrong with it."""
    for key in ("hook_event_name", "hookEventName", "event"):
        name = document.get(key)
        if isinstance(name, str) and ("session" in name.lower() or name == "shell.env"):
            return True
    return False


def allowed(protocol: Any, stderr: str = "") -> Reply:
    """An allowed tool call: nothing on stdout (the client's own permission flow goes on), except
    for a client whose protocol must say so (Cursor's fail-closed hooks block an empty answer)."""
    explicit = getattr(protocol, "allow", None)
    if explicit is None:
        return Reply(stderr=stderr) if stderr else ALLOW
    return Reply(explicit().stdout, stderr, 0)


def failed(protocol: Any, exc: BaseException, state: dict[str, Any]) -> Reply:
    """The call could not be decided: THE rule for an unchecked change says whether it goes
    through (a warning on stderr) or is refused in the client's deny form."""
    from maf_hooks.core import policy
    from maf_hooks.core.conflicts import EDIT_OVERRIDE_HOW

    environ = state["environ"]
    cause = str(exc) or type(exc).__name__
    if state.get("kind") in (SESSION_START, SESSION_END):
        # nothing to refuse: the session goes on (auto-claims expire); the client shows stderr
        return Reply(stderr=f"maf: the session {'start' if state['kind'] == SESSION_START else 'end'} hook "
                            f"could not run ({cause}).\n")
    cfg = state.get("cfg")
    if cfg is None:
        cfg = _config_near(state)
    agent = state.get("agent")
    let_through, messages = policy.unchecked(cfg, environ, agent, cause, what="edit", how=EDIT_OVERRIDE_HOW)
    if let_through:
        return allowed(protocol, "".join(f"maf: {message}\n" for message in messages))
    return protocol.deny("maf: " + " ".join(messages))


def _config_near(state: dict[str, Any]) -> Any:
    """The configuration of the repository the hook runs in, for a failure that came before it
    was read (bad input): the team's ``on_error`` and hook mode still apply. None when it cannot
    be read either (then the check fails closed)."""
    try:
        from maf_hooks import config, git

        paths = state.get("paths") or git.repo_paths(state.get("cwd"))
        return config.load(paths.root, environ=state["environ"])
    except Exception:  # noqa: BLE001 - no configuration: THE rule fails closed
        return None
