"""The consumer repository's ``.pre-commit-config.yaml``: which maf hooks it lists, and the edits
of ``maf init --write`` (the maf-hooks entry and ``default_install_hook_types``).

The file is read and edited with ruamel.yaml's round-trip mode, which keeps comments, key order,
flow style and (as guessed from the file) indentation. It is imported by `maf init` and the
preflight check only, never on a git or agent hook path.
"""

from __future__ import annotations

import io
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

CONFIG_FILE = ".pre-commit-config.yaml"
INSTALL_TYPES_KEY = "default_install_hook_types"


class ConfigRefused(ValueError):
    """The file cannot be edited safely (not YAML, not a mapping, an unexpected value): left untouched."""


def _yaml(text: str = "") -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the user wrote on one
    if text.strip():
        from ruamel.yaml.util import load_yaml_guess_indent

        try:
            _, indent, dash_offset = load_yaml_guess_indent(text)
        except Exception:  # noqa: BLE001 - parse errors are reported by load()
            indent, dash_offset = None, None
        if indent:  # the item's content column, and the dash's, relative to the key above them
            offset = dash_offset or 0
            yaml.indent(mapping=indent - offset if 0 < offset < indent else indent, sequence=indent, offset=offset)
    return yaml


def load(text: str) -> Any:
    """The round-trip document of ``text`` (an empty mapping for an empty file)."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    try:
        document = _yaml(text).load(text)
    except YAMLError as exc:
        raise ConfigRefused(f"{CONFIG_FILE} is not valid YAML ({' '.join(str(exc).split())}); fix it, "
                            "then run maf init again") from None
    if document is None:
        return CommentedMap()
    if not isinstance(document, dict):
        raise ConfigRefused(f"{CONFIG_FILE} is not a mapping at the top (pre-commit wants `repos:`); fix it, "
                            "then run maf init again")
    return document


def _hooks(document: Any) -> list:
    """Every hook mapping of every repository of ``repos:`` (anything else is skipped)."""
    repos = document.get("repos") if isinstance(document, dict) else None
    hooks = []
    for repo in repos if isinstance(repos, list) else []:
        listed = repo.get("hooks") if isinstance(repo, dict) else None
        hooks += [hook for hook in (listed if isinstance(listed, list) else []) if isinstance(hook, dict)]
    return hooks


def listed_hook_ids(config_text: str, hook_ids: Sequence[str]) -> set[str]:
    """The ids of ``hook_ids`` that the configuration lists (none when it is not valid YAML)."""
    try:
        document = load(config_text)
    except ConfigRefused:
        return set()
    return {hook.get("id") for hook in _hooks(document)} & set(hook_ids)


def hooks_without_driver(config_text: str, hook_ids: Sequence[str], no_environment: Sequence[str],
                         driver: str = "psycopg") -> list[str]:
    """The listed hooks of ``hook_ids`` whose environment pre-commit builds (a language not in
    ``no_environment``) with no ``driver`` among their ``additional_dependencies``."""
    try:
        document = load(config_text)
    except ConfigRefused:
        return []
    missing = []
    for hook in _hooks(document):
        if hook.get("id") not in hook_ids or hook.get("language") in no_environment:
            continue
        dependencies = hook.get("additional_dependencies")
        if not any(driver in str(dep) for dep in (dependencies if isinstance(dependencies, list) else [])):
            missing.append(str(hook["id"]))
    return missing


def _last_path(node: Any) -> list[tuple[Any, Any]]:
    """The (container, last key) pairs from ``node`` down its last items, stopping at a flow
    container: where ruamel keeps the comment lines that follow the node."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    path = []
    while isinstance(node, (CommentedMap, CommentedSeq)) and node and not node.fa.flow_style():
        key = len(node) - 1 if isinstance(node, list) else list(node)[-1]
        path.append((node, key))
        node = node[key]
    return path


def _take_trailing_comment(path: list[tuple[Any, Any]]) -> Any:
    """Remove the whole comment lines that follow the last item of ``path`` (an end-of-line
    comment stays) and return them as one token, or None."""
    import copy

    for container, key in reversed(path):
        if container.ca.end:  # after a flow value, ruamel keeps them at the end of the container
            tokens, container.ca.end = container.ca.end, []
            moved = copy.copy(tokens[0])
            moved.value = "\n" + "".join(token.value for token in tokens)
            return moved
        slot = 0 if isinstance(container, list) else 2
        tokens = container.ca.items.get(key)
        token = tokens[slot] if tokens and len(tokens) > slot else None
        if token is not None and "\n" in token.value and token.value.partition("\n")[2].strip():
            own, _, rest = token.value.partition("\n")
            moved = copy.copy(token)
            moved.value, token.value = "\n" + rest, own + "\n"
            return moved
    return None


def _move_trailing_comment(before: Any, after: Any) -> None:
    """Comment lines below the old last repository belong to what follows it (the next key): keep
    them after the appended entry instead of above it."""
    new = _last_path(after)
    moved = _take_trailing_comment(_last_path(before)) if new else None
    if moved is not None:
        container, key = new[-1]
        slot = 0 if isinstance(container, list) else 2
        container.ca.items[key] = [None] * (2 if slot == 0 else 4)
        container.ca.items[key][slot] = moved


def _install_types(document: Any, hook_types: Sequence[str]) -> str | None:
    """Name every type of ``hook_types`` in ``default_install_hook_types`` (added at the top when
    missing; missing types appended to an existing list); what changed, None when nothing."""
    from ruamel.yaml.comments import CommentedSeq

    existing = document.get(INSTALL_TYPES_KEY)
    if existing is None:
        listed = CommentedSeq(hook_types)
        listed.fa.set_flow_style()
        document.insert(0, INSTALL_TYPES_KEY, listed)
        return f"set {INSTALL_TYPES_KEY}: [{', '.join(hook_types)}] in {CONFIG_FILE}"
    if not isinstance(existing, list):
        raise ConfigRefused(f"{CONFIG_FILE}: {INSTALL_TYPES_KEY} is not a list; make it "
                            f"[{', '.join(hook_types)}], then run maf init again")
    missing = [hook_type for hook_type in hook_types if hook_type not in existing]
    existing.extend(missing)
    return (f"added {', '.join(missing)} to {INSTALL_TYPES_KEY} in {CONFIG_FILE} (a plain `pre-commit install` "
            "installs every hook type maf-hooks needs)") if missing else None


def ensure(root: str, entry_yaml: str, hook_ids: Sequence[str], hook_types: Sequence[str]) -> list[str]:
    """Add the maf-hooks entry (``entry_yaml``, one ``repos:`` item as YAML) unless every id of
    ``hook_ids`` is already listed, and ``default_install_hook_types``; the file is created when
    missing, written in one rename, and refused (:class:`ConfigRefused`, untouched) when the edit
    would change anything else. Returns what changed."""
    from maf_hooks.atomicfile import atomic_text

    path = os.path.join(root, CONFIG_FILE)
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    yaml = _yaml(text)
    document = load(text)
    expected = _plain(text) or {}
    changes = []
    if {hook.get("id") for hook in _hooks(document)} & set(hook_ids) != set(hook_ids):
        repos = document.get("repos")
        if repos is None:
            document["repos"] = repos = yaml.load(entry_yaml)
            expected["repos"] = _plain(entry_yaml)
        elif not isinstance(repos, list):
            raise ConfigRefused(f"{CONFIG_FILE}: `repos:` is not a list; add the entry by hand")
        else:
            before = repos[-1] if repos else None
            repos.extend(yaml.load(entry_yaml))
            _move_trailing_comment(before, repos[-1])
            expected["repos"] = [*expected.get("repos", []), *_plain(entry_yaml)]
        changes.append(f"{'added the maf-hooks entry to' if text else 'created'} {CONFIG_FILE}"
                       + ("" if text else " with the maf-hooks entry"))
    types = _install_types(document, hook_types)
    if types:
        changes.append(types)
        listed = expected.get(INSTALL_TYPES_KEY) or []
        expected[INSTALL_TYPES_KEY] = [*listed, *(t for t in hook_types if t not in listed)]
    if not changes:
        return []
    out = io.StringIO()
    yaml.dump(document, out)
    if _plain(out.getvalue()) != expected:  # only what maf init adds may change, read back plainly
        raise ConfigRefused(f"{CONFIG_FILE}: the edit would change other values of the file; add the "
                            "entry that `maf init` prints by hand")
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    with atomic_text(path, mode=mode) as handle:
        handle.write(out.getvalue())
    return changes


def _plain(text: str) -> Any:
    """``text`` as plain Python values (how pre-commit reads it), for the read-back check."""
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)
