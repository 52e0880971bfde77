"""Adding maf's entries to a client's document while keeping every other entry where it is.

A hook is maf's when its command runs maf's (``maf agent-hook CLIENT``, with maf under any path
and any extra options, perhaps through a launcher: :func:`runs_hook`); an MCP entry is maf's when it is named ``maf`` or runs ``maf mcp``.
Nothing else is touched. Each function changes the document only when maf's entry is missing or
differs, so a second run finds nothing to do.
"""

from __future__ import annotations

from maf_hooks.agent_setup.formats import FileRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def table(doc: Any, key: str, where: str) -> Any:
    """``doc[key]``, created as an empty object when missing; refused when it is not an object."""
    if key not in doc:
        doc[key] = {}
    value = doc[key]
    if not isinstance(value, dict):
        raise FileRefused(f"{where}{key} is not an object; maf leaves the file untouched (fix it by hand).")
    return value


def array(doc: Any, key: str, where: str) -> list:
    if key not in doc:
        doc[key] = []
    value = doc[key]
    if not isinstance(value, list):
        raise FileRefused(f"{where}{key} is not an array; maf leaves the file untouched (fix it by hand).")
    return value


# Launchers a hook command may run maf through: their words, then the options that take a value
# (any other word starting with ``-`` is skipped as a flag; ``--opt=value`` is one word).
LAUNCHERS = {
    ("env",): (),
    ("uv", "run"): ("--with", "--project", "--directory", "--python", "--package", "--env-file"),
    ("uvx",): ("--from", "--with", "--python"),
    ("pipx", "run"): ("--spec", "--python"),
    ("poetry", "run"): ("-C", "--directory", "-P", "--project"),
    ("nice",): ("-n", "--adjustment"),
    ("nohup",): (),
}
HOOK_MODULE = "maf_hooks.cli"  # ``python -m maf_hooks.cli agent-hook CLIENT``


def _splits(command: str) -> list:
    """The ways to read a command line's words: as a POSIX shell does (quotes, backslash escapes),
    and with backslashes kept (a Windows path, ``C:\\maf\\maf.exe``), quotes around a word removed."""
    import shlex

    found = []
    try:
        found.append(shlex.split(command))
    except ValueError:  # an unclosed quote
        pass
    if "\\" in command:
        lexer = shlex.shlex(command, posix=False)
        lexer.whitespace_split = True
        try:
            found.append([w[1:-1] if len(w) > 1 and w[0] == w[-1] and w[0] in "\"'" else w for w in lexer])
        except ValueError:
            pass
    return found


def _is_assignment(word: str) -> bool:
    name, equals, _ = word.partition("=")
    return bool(equals) and name.isidentifier()


def _program(words: list) -> int:
    """The index of the program a command runs, past ``NAME=value`` words and :data:`LAUNCHERS`."""
    i = 0
    while i < len(words):
        if _is_assignment(words[i]):
            i += 1
            continue
        launcher = next((key for key in LAUNCHERS if tuple(words[i:i + len(key)]) == key), None)
        if launcher is None:
            return i
        i += len(launcher)
        while i < len(words) and words[i].startswith("-"):
            i += 2 if words[i] in LAUNCHERS[launcher] else 1
    return i


def _base(program: str) -> str:
    return program.replace("\\", "/").rsplit("/", 1)[-1]


def is_maf(program: Any) -> bool:
    """A program named ``maf`` (or ``maf.exe``) in any directory."""
    if not isinstance(program, str):
        return False
    base = _base(program)
    return base == "maf" or base.lower() == "maf.exe"


def _hook_client(words: list) -> str | None:
    """The client of ``maf agent-hook CLIENT`` or ``python -m maf_hooks.cli agent-hook CLIENT`` (after
    the launchers), or None when the words run something else."""
    i = _program(words)
    if i < len(words) and is_maf(words[i]):
        i += 1
    elif i < len(words) and _base(words[i]).lower().startswith("python"):
        i += 1
        while i < len(words) and words[i].startswith("-") and words[i] != "-m" and len(words[i]) == 2:
            i += 1  # python's own flags (-u, -I...)
        if words[i:i + 2] != ["-m", HOOK_MODULE]:
            return None
        i += 2
    else:
        return None
    return words[i + 1] if words[i:i + 1] == ["agent-hook"] and i + 1 < len(words) else None


def runs_hook(command: Any, client: str | None = None) -> bool:
    """``command`` runs maf's edit hook for ``client`` (any client when None): ``[PATH/]maf agent-hook
    CLIENT [OPTIONS]`` or ``[PATH/]python -m maf_hooks.cli agent-hook CLIENT``, after any ``NAME=value``
    words and :data:`LAUNCHERS` (``uv run``, ``env X=1``...)."""
    if not isinstance(command, str):
        return False
    for words in _splits(command):
        found = _hook_client(words)
        if found is not None and client in (None, found):
            return True
    return False


def runs_mcp(entry: Any) -> bool:
    """An MCP server entry that runs ``[PATH/]maf mcp [OPTIONS]`` (``command`` and ``args``, or an argv)."""
    if not isinstance(entry, dict):
        return False
    command, args = entry.get("command"), entry.get("args")
    argv = list(command) if isinstance(command, list) else [command, *(args if isinstance(args, list) else [])]
    return len(argv) >= 2 and is_maf(argv[0]) and argv[1] == "mcp"


def _mine(handler: Any, command_key: str, client: str) -> bool:
    return isinstance(handler, dict) and runs_hook(handler.get(command_key), client)


def _same_role(existing: dict, ours: dict) -> bool:
    """A handler or group of the user's that runs maf's hook does maf's job when it matches the same
    tools (and, where maf's has one, keeps ``failClosed``); its other keys are the user's."""
    return existing.get("matcher") == ours.get("matcher") and all(
        existing.get(key) == ours[key] for key in ("failClosed",) if key in ours)


def add_group(hooks: Any, event: str, group: dict, client: str, where: str) -> None:
    """Claude-style events: ``hooks[event]`` is a list of ``{matcher?, hooks: [handler, ...]}``.

    maf's group is added once. A group with maf's matcher holding a handler that runs maf's hook
    (any path to maf, any extra options) counts as installed and stays as it is; otherwise a group
    that runs maf's hook and nothing else is replaced in place by maf's (keeping its command), and
    maf's handler is taken out of a group shared with other handlers."""
    groups = array(hooks, event, where)
    if group in groups:
        return
    def handlers_of(existing: Any) -> list:
        handlers = existing.get("hooks") if isinstance(existing, dict) else None
        return handlers if isinstance(handlers, list) else []
    if any(_same_role(g, group) and any(_mine(h, "command", client) for h in handlers_of(g)) for g in groups):
        return
    for index, existing in enumerate(groups):
        handlers = handlers_of(existing)
        mine = [h for h in handlers if _mine(h, "command", client)]
        if not mine:
            continue
        if len(mine) == len(handlers):
            handler = {**group["hooks"][0], "command": mine[0]["command"]}
            groups[index] = {**group, "hooks": [handler]}
            return
        existing["hooks"] = [h for h in handlers if not _mine(h, "command", client)]
    groups.append(group)


def add_handler(hooks: Any, event: str, handler: dict, command_key: str, client: str, where: str) -> None:
    """Copilot- and Cursor-style events: ``hooks[event]`` is a list of handlers. A handler that runs
    maf's hook for the same tools counts as installed; otherwise maf's handler is added once,
    replacing (in place, keeping its command) the first handler that runs maf's hook."""
    handlers = array(hooks, event, where)
    if handler in handlers:
        return
    mine = [index for index, h in enumerate(handlers) if _mine(h, command_key, client)]
    if any(_same_role(handlers[index], handler) for index in mine):
        return
    if mine:
        handlers[mine[0]] = {**handler, command_key: handlers[mine[0]][command_key]}
        for index in reversed(mine[1:]):
            del handlers[index]
    else:
        handlers.append(handler)


def set_entry(servers: Any, name: str, entry: dict, where: str) -> bool:
    """``servers[name]`` holds every key of ``entry``; keys the user added to it (``env``...) stay.
    An entry (of any name) that already runs ``maf mcp`` (any path, any extra args) counts as
    installed and stays as it is. False when nothing was to be done."""
    if any(runs_mcp(value) for value in servers.values()):
        return False
    if name not in servers:
        servers[name] = dict(entry)
        return True
    existing = servers[name]
    if not isinstance(existing, dict):
        raise FileRefused(f"{where}{name} is not an object; maf leaves the file untouched (fix it by hand).")
    for key, value in entry.items():
        if existing.get(key) != value:
            existing[key] = value
    return True
