"""Plan and apply a client's set-up: for each file, what maf would change, then write it.

``plan(root, names)`` reads every file it would touch and works out the new content without
writing anything (``maf init --agents --dry-run`` and the preflight ``agents`` check stop there);
``apply(plans)`` writes the files that change. A file that cannot be read or merged safely raises
:class:`FileRefused` before anything is written.
"""

from __future__ import annotations

import copy
import os

from maf_hooks.agent_setup import formats, verify
from maf_hooks.agent_setup.clients import CLIENTS, CODEX_BY_HAND, HOOK, MCP, plugin_text
from maf_hooks.agent_setup.formats import FileRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
DIFFERS = "differs"  # maf's own file, edited by hand: left as it is


class FilePlan:
    """One file: ``status`` (created, updated, unchanged, differs), the kinds of entry it holds per client
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
    elsewhere = items[0][1].elsewhere
    instead = elsewhere(root, original is not None) if elsewhere is not None else None
    if instead is not None:
        return FilePlan(instead, UNCHANGED, [(n, t.kind, False) for n, t in items], None)
    if fmt == "text":
        return _plan_own_file(root, path, items, original)
    doc, style = _load(path, fmt, original)
    plain_before = formats.parse_toml(path, original or b"") if fmt == "toml" else copy.deepcopy(doc)
    parts = []
    before = snapshot = _dump(doc, fmt, style)
    for name, target in items:
        target.edit(doc, f"{path}: ")
        now = _dump(doc, fmt, style)
        parts.append((name, target.kind, now != snapshot))
        snapshot = now
    if original is not None and snapshot == before:
        return FilePlan(path, UNCHANGED, parts, None)
    if style is not None and style.comments == "comments":
        raise FileRefused(f"{path}: holds comments, which rewriting it would lose; left untouched. "
                          f"Add maf's entries by hand (docs/agents.md shows them).")
    if style is not None and style.comments:
        raise FileRefused(f"{path}: not plain JSON ({style.comments}), and maf rewrites only plain JSON; left "
                          f"untouched. Remove the comma (or add maf's entries by hand: docs/agents.md shows them), "
                          f"then run again.")
    _check(path, fmt, plain_before, snapshot)
    return FilePlan(path, CREATED if original is None else UPDATED, parts, snapshot.encode("utf-8"))


def _plan_own_file(root: str, path: str, items: list, original: bytes | None) -> FilePlan:
    """A whole file of maf's own: written when missing, here and at the target's other paths (a
    copy there would run maf's hook twice); one that differs (edited by hand, or from another
    version of maf) is reported, not overwritten."""
    wanted = plugin_text()
    if wanted is None:
        raise FileRefused(f"{path}: this installation of maf-hooks has no OpenCode plugin to write "
                          "(package data maf_hooks/agent_hooks/opencode_plugin.js is missing).")
    for other in items[0][1].also if original is None else ():
        found = formats.read_bytes(os.path.join(root, *other.split("/")), other)
        if found is not None:
            path, original = other, found
            break
    parts = [(n, t.kind, original is None) for n, t in items]
    if original is None:
        return FilePlan(path, CREATED, parts, wanted)
    return FilePlan(path, UNCHANGED if original == wanted else DIFFERS, parts, None)


def _check(path: str, fmt: str, plain_before: Any, text: str) -> None:
    """The new text, read back, holds what the old one held plus maf's entries."""
    hint = CODEX_BY_HAND if fmt == "toml" else ""
    try:
        after = formats.parse_toml(path, text.encode("utf-8")) if fmt == "toml" else formats.parse_json(path, text)
    except (FileRefused, ValueError):
        raise FileRefused(f"{path}: maf's change would not read back as {fmt.upper()}; left untouched. "
                          f"{hint}") from None
    verify.unchanged_but_maf(path, plain_before, after, hint)


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
