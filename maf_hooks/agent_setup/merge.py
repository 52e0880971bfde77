"""Adding maf's entries to a client's document while keeping every other entry where it is.

An entry is maf's when it runs maf's command (``maf agent-hook CLIENT``) or is named ``maf``;
nothing else is touched. Each function changes the document only when maf's entry is missing or
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


def _runs(handler: Any, command_key: str, command: str) -> bool:
    return isinstance(handler, dict) and handler.get(command_key) == command


def add_group(hooks: Any, event: str, group: dict, command: str, where: str) -> None:
    """Claude-style events: ``hooks[event]`` is a list of ``{matcher?, hooks: [handler, ...]}``.

    maf's group is added once; a group that runs maf's command and nothing else is replaced in
    place by maf's; maf's handler is taken out of a group shared with other handlers."""
    groups = array(hooks, event, where)
    if group in groups:
        return
    for index, existing in enumerate(groups):
        handlers = existing.get("hooks") if isinstance(existing, dict) else None
        if not isinstance(handlers, list) or not any(_runs(h, "command", command) for h in handlers):
            continue
        if all(_runs(h, "command", command) for h in handlers):
            groups[index] = group
            return
        existing["hooks"] = [h for h in handlers if not _runs(h, "command", command)]
    groups.append(group)


def add_handler(hooks: Any, event: str, handler: dict, command_key: str, command: str, where: str) -> None:
    """Copilot- and Cursor-style events: ``hooks[event]`` is a list of handlers. maf's handler is
    added once, replacing (in place) the first handler that runs maf's command."""
    handlers = array(hooks, event, where)
    if handler in handlers:
        return
    mine = [index for index, h in enumerate(handlers) if _runs(h, command_key, command)]
    if mine:
        handlers[mine[0]] = handler
        for index in reversed(mine[1:]):
            del handlers[index]
    else:
        handlers.append(handler)


def set_entry(servers: Any, name: str, entry: dict, where: str) -> None:
    """``servers[name]`` holds every key of ``entry``; keys the user added to it (``env``...) stay."""
    if name not in servers:
        servers[name] = dict(entry)
        return
    existing = servers[name]
    if not isinstance(existing, dict):
        raise FileRefused(f"{where}{name} is not an object; maf leaves the file untouched (fix it by hand).")
    for key, value in entry.items():
        if existing.get(key) != value:
            existing[key] = value
