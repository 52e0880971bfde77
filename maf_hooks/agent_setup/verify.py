"""The check after a merge, before anything is written: the new file, read back the way its client
reads it, holds every value the old one held, and only maf's own entries differ.

It guards against any surprise of the writer (tomlkit placing a table where it takes keys that
were not its own, say): a file that would change beyond maf's entries is refused and left untouched.
"""

from __future__ import annotations

from maf_hooks.agent_setup import merge
from maf_hooks.agent_setup.formats import FileRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HANDLER_KEYS = ("command", "bash", "powershell")  # where a hook handler names its command
SERVER_KEYS = ("mcpServers", "mcp", "mcp_servers")
ADDED_KEYS = ("version", "$schema")  # what maf adds to a new or empty document besides its entries


def _is_maf_handler(handler: Any) -> bool:
    return isinstance(handler, dict) and any(merge.runs_hook(handler.get(key)) for key in HANDLER_KEYS)


def _without_maf_hooks(hooks: Any) -> Any:
    if not isinstance(hooks, dict):
        return hooks
    out = {}
    for event, items in hooks.items():
        if not isinstance(items, list):
            out[event] = items
            continue
        kept = []
        for item in items:
            inner = item.get("hooks") if isinstance(item, dict) else None
            if isinstance(inner, list) and any(_is_maf_handler(h) for h in inner):
                item = {**item, "hooks": [h for h in inner if not _is_maf_handler(h)]}
                if not item["hooks"]:
                    continue
            if not _is_maf_handler(item):
                kept.append(item)
        if kept:
            out[event] = kept
    return out


def without_maf(doc: dict) -> dict:
    """``doc`` without maf's hook handlers and MCP entries (and the empty tables they leave)."""
    out = dict(doc)
    if "hooks" in out:
        out["hooks"] = _without_maf_hooks(out["hooks"])
        if out["hooks"] == {}:
            del out["hooks"]
    for key in SERVER_KEYS:
        servers = out.get(key)
        if isinstance(servers, dict):
            servers = {name: v for name, v in servers.items() if name != "maf" and not merge.runs_mcp(v)}
            if servers:
                out[key] = servers
            else:
                del out[key]
    return out


def unchanged_but_maf(path: str, before: dict, after: dict, hint: str = "") -> None:
    """FileRefused unless ``after`` equals ``before`` apart from maf's entries."""
    old, new = without_maf(before), without_maf(after)
    for key in ADDED_KEYS:
        if key not in before:
            new.pop(key, None)
    if old == new:
        return
    differ = sorted(str(k) for k in set(old) | set(new) if old.get(k, ...) != new.get(k, ...))
    raise FileRefused(f"{path}: maf's change would also change {', '.join(differ)} when the file is read "
                      f"back, so maf cannot add its entries here safely; left untouched. "
                      f"{hint or 'Add them by hand (docs/agents.md shows them).'}")
