"""Plan and apply a client's set-up: for each file, what maf would change, then write it.

``plan(root, names)`` reads every file it would touch and works out the new content without
writing anything (``maf init --agents --dry-run`` and the preflight ``agents`` check stop there);
``apply(plans)`` writes the files that change. A file that cannot be read or merged safely raises
:class:`FileRefused` before anything is written.
"""

from __future__ import annotations

import os

from maf_hooks.agent_setup import formats
from maf_hooks.agent_setup.clients import CLIENTS, HOOK, MCP, plugin_text
from maf_hooks.agent_setup.formats import FileRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class FilePlan:
    """One file: ``status`` (created, updated, unchanged), the kinds of entry it holds per client
    (``parts``: ``[(client, kind, changed)]``) and its new content when it changes."""

    def __init__(self, path: str, status: str, parts: list, content: bytes | None):
        self.path = path
        self.status = status
        self.parts = parts
        self.content = content

    def to_json(self) -> dict:
        return {"path": self.path, "status": self.status,
                "entries": [{"client": c, "kind": k, "changed": changed} for c, k, changed in self.parts]}


def parse_names(text: str) -> list[str]:
    """``claude,codex`` or ``all`` -> client names in the order given (each once)."""
    from maf_hooks.errors import UsageError

    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return list(CLIENTS)
    unknown = [name for name in names if name not in CLIENTS]
    if unknown or not names:
        shown = ", ".join(repr(name) for name in unknown) or "nothing"
        raise UsageError(f"--agents: unknown client {shown}; expected a comma-separated list of "
                         f"{', '.join(CLIENTS)}, or all.")
    return list(dict.fromkeys(names))


def plan(root: str, names: Iterable[str]) -> list[FilePlan]:
    by_path: dict[str, list] = {}
    for name in names:
        for target in CLIENTS[name].targets:
            by_path.setdefault(target.path, []).append((name, target))
    return [_plan_file(root, path, items) for path, items in by_path.items()]


def _plan_file(root: str, path: str, items: list) -> FilePlan:
    full = os.path.join(root, *path.split("/"))
    original = formats.read_bytes(full, path)
    fmt = items[0][1].fmt
    if fmt == "text":
        wanted = plugin_text()
        if wanted is None:
            raise FileRefused(f"{path}: this installation of maf-hooks has no OpenCode plugin to write "
                              "(package data maf_hooks/agent_hooks/opencode_plugin.js is missing).")
        changed = original != wanted
        status = CREATED if original is None else UPDATED if changed else UNCHANGED
        return FilePlan(path, status, [(n, t.kind, changed) for n, t in items], wanted if changed else None)
    doc, style = _load(path, fmt, original)
    parts = []
    before = snapshot = _dump(doc, fmt, style)
    for name, target in items:
        target.edit(doc, f"{path}: ")
        now = _dump(doc, fmt, style)
        parts.append((name, target.kind, now != snapshot))
        snapshot = now
    if original is not None and snapshot == before:
        return FilePlan(path, UNCHANGED, parts, None)
    if style is not None and style.comments:
        raise FileRefused(f"{path}: holds comments, which rewriting it would lose; left untouched. "
                          f"Add maf's entries by hand (docs/agents.md shows them).")
    return FilePlan(path, CREATED if original is None else UPDATED, parts, snapshot.encode("utf-8"))


def _load(path: str, fmt: str, original: bytes | None) -> tuple[Any, Any]:
    if fmt == "toml":
        return formats.load_toml(path, original or b""), None
    if original is None:
        return {}, formats.JsonStyle()
    return formats.load_json(path, original, jsonc=fmt == "jsonc")


def _dump(doc: Any, fmt: str, style: Any) -> str:
    return formats.dump_toml(doc) if fmt == "toml" else formats.dump_json(doc, style)


def apply(root: str, plans: list[FilePlan]) -> None:
    for file_plan in plans:
        if file_plan.content is not None:
            formats.write_atomic(os.path.join(root, *file_plan.path.split("/")), file_plan.content)


def installed(plans: list[FilePlan]) -> dict:
    """``{client: {"hook": bool, "mcp": bool | None}}``: whether each entry is in place as maf
    writes it (``mcp`` None for a client without a project-level MCP file)."""
    state: dict = {}
    for file_plan in plans:
        for client, kind, changed in file_plan.parts:
            entry = state.setdefault(client, {HOOK: True, MCP: None})
            entry[kind] = (entry[kind] is not False) and not changed
    return state
