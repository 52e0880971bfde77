"""Configuration: find, load, overlay, validate, and say where every value came from.

Sources, lowest precedence first: built-in defaults, the file (``--config PATH``, else ``maf.toml``
at the repository root, else ``[tool.maf]`` in ``pyproject.toml``), the ``[env.<name>]`` overlay
selected by ``--env`` or ``MAF_ENV``, environment variables, command-line flags.
The shape of every section lives in :mod:`maf_hooks.config_schema`.
"""

from __future__ import annotations

import os
import re

from maf_hooks.config_read import check_depth, may_configure_maf, read_any, read_toml
from maf_hooks.config_schema import SCHEMA, Field, ListOf, MapOf, Section, cross_checks
from maf_hooks.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Any, Mapping

DEFAULT = "default"


class Config:
    """The effective configuration: ``get("reservation.hook_mode")`` and where each value came from."""

    def __init__(self, values: dict, sources: dict, *, path: str | None, env_name: str | None, root: str | None):
        self.values = values
        self.sources = sources
        self.path = path
        self.env_name = env_name
        self.root = root

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def source(self, dotted: str) -> str:
        return self.sources.get(dotted, DEFAULT)

    def section(self, name: str) -> dict:
        return self.values.get(name) or {}


def find_config_file(root: str | None) -> tuple[str | None, str | None]:
    """``(path, key prefix)`` of the file that configures this repository, or ``(None, None)``."""
    if not root:
        return None, None
    candidate = os.path.join(root, "maf.toml")
    if os.path.isfile(candidate):
        return candidate, ""
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(pyproject) and may_configure_maf(pyproject):
        data = read_toml(pyproject)
        if isinstance(data.get("tool"), dict) and "maf" in data["tool"]:
            return pyproject, "tool.maf"
    return None, None


def load(
    root: str | None,
    *,
    config_path: str | None = None,
    env_name: str | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Build the effective configuration; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    path: str | None
    if config_path:
        path = os.path.abspath(config_path)
        if not os.path.isfile(path):
            raise ConfigError(f"Configuration file {config_path!r} does not exist or is not a file.")
        data, prefix = read_any(path), ""
    else:
        path, found_prefix = find_config_file(root)
        prefix = found_prefix or ""
        data = {}
        if path:
            data = read_toml(path)
            for part in filter(None, prefix.split(".")):
                data = data.get(part, {})
    label = os.path.basename(path) if path else "configuration"
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: {prefix or 'the top level'} must be a table.")
    check_depth(data, path or label, prefix)
    camel = bool(path and path.endswith(".json"))

    problems: list[str] = []
    overlays = data.pop("env", {}) if isinstance(data, dict) else {}
    if not isinstance(overlays, dict):
        problems.append(f"{_join(prefix, 'env')}: expected a table of [env.<name>] overlays")
        overlays = {}
    base = f"{prefix}." if prefix else ""
    file_values = _validate(SCHEMA, data, base, problems, camel)

    env_name = env_name or environ.get("MAF_ENV") or None
    overlay_values: dict = {}
    if env_name:
        if env_name not in overlays:
            known = ", ".join(sorted(overlays)) or "none are defined"
            problems.append(f"--env {env_name}: there is no [env.{env_name}] overlay (available: {known})")
        else:
            overlay_values = _validate(SCHEMA, overlays[env_name], f"{base}env.{env_name}.", problems, camel)
    for name, overlay in overlays.items():
        if name != env_name:  # validate the overlays not selected too: a typo there is still a typo
            _validate(SCHEMA, overlay, f"{base}env.{name}.", problems, camel)

    values, sources = _defaults(SCHEMA, "")
    _merge(values, sources, file_values, f"file:{label}", "")
    _merge(values, sources, overlay_values, f"env-overlay:{env_name}", "")
    _apply_environment(SCHEMA, values, sources, environ, "", problems)
    for dotted, value in (flags or {}).items():
        if value is not None:
            _set(values, dotted, value)
            sources[dotted] = "flag"
    _fill_entry_defaults(SCHEMA, values)
    if not problems:
        problems.extend(cross_checks(values, lambda dotted: sources.get(dotted, DEFAULT)))
    if problems:
        where = path or "the environment"
        raise ConfigError(f"Invalid configuration ({where}):", problems, file=path)
    return Config(values, sources, path=path, env_name=env_name, root=root)


# --- validation ---------------------------------------------------------------------------

def _join(prefix: str, rest: str) -> str:
    return f"{prefix}.{rest}" if prefix and rest else (prefix or rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _suggest(key: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _validate(spec: Section, data: Any, where: str, problems: list, camel: bool) -> dict:
    """Check ``data`` against ``spec``; return the cleaned values (only the keys given)."""
    if not isinstance(data, dict):
        problems.append(f"{where.rstrip('.') or 'top level'}: expected a table")
        return {}
    clean: dict = {}
    for raw_key, value in data.items():
        key = raw_key
        if key not in spec.fields and camel and _snake(key) in spec.fields:
            key = _snake(key)
        path = f"{where}{raw_key}"
        node = spec.fields.get(key)
        if node is None:
            expected = ", ".join(sorted(spec.fields)) or "nothing"
            problems.append(f"{path}: unknown key{_suggest(key, spec.fields)}; expected one of: {expected}")
            continue
        if isinstance(node, Field):
            ok, result = node.check(value)
            if ok:
                clean[key] = result
            else:
                problems.append(f"{path}: {result}")
        elif isinstance(node, Section):
            clean[key] = _validate(node, value, path + ".", problems, camel)
        elif isinstance(node, MapOf):
            if not isinstance(value, dict):
                problems.append(f"{path}: expected a table of named entries")
                continue
            clean[key] = {}
            for name, entry in value.items():
                if node.key_check and (message := node.key_check(name)):
                    problems.append(f"{path}.{name}: {message}")
                    continue
                clean[key][name] = _validate(node.of, entry, f"{path}.{name}.", problems, camel)
        elif isinstance(node, ListOf):
            if not isinstance(value, list):
                problems.append(f"{path}: expected an array of tables ([[{path}]])")
                continue
            clean[key] = [
                _validate(node.of, entry, f"{path}[{index}].", problems, camel)
                for index, entry in enumerate(value)
            ]
    for message in spec.validate(clean, where) if spec.validate else ():
        problems.append(message)
    return clean


# --- merging ------------------------------------------------------------------------------

def _defaults(spec: Section, where: str) -> tuple[dict, dict]:
    values: dict = {}
    sources: dict = {}
    for key, node in spec.fields.items():
        dotted = f"{where}{key}"
        if isinstance(node, Field):
            values[key] = node.default
            sources[dotted] = DEFAULT
        elif isinstance(node, Section):
            sub, sub_sources = _defaults(node, dotted + ".")
            values[key] = sub
            sources.update(sub_sources)
        elif isinstance(node, MapOf):
            values[key] = {}
        elif isinstance(node, ListOf):
            values[key] = []
    return values, sources


def _fill_entry_defaults(spec: Section, values: dict) -> None:
    """Give every entry of a table of entries or array of tables its defaults (after merging,
    so that an overlay's partial entry does not reset what the file said)."""
    for key, node in spec.fields.items():
        value = values.get(key)
        if isinstance(node, Section) and isinstance(value, dict):
            _fill_entry_defaults(node, value)
        elif isinstance(node, (MapOf, ListOf)):
            entries = value.values() if isinstance(value, dict) else (value or [])
            for entry in entries:
                defaults, _ = _defaults(node.of, "")
                for name, default in defaults.items():
                    entry.setdefault(name, default)
                _fill_entry_defaults(node.of, entry)


def _merge(values: dict, sources: dict, new: dict, label: str, where: str) -> None:
    for key, value in new.items():
        dotted = f"{where}{key}"
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            _merge(values[key], sources, value, label, dotted + ".")
        else:
            values[key] = value
            sources[dotted] = label


def _apply_environment(spec: Section, values: dict, sources: dict, environ, where: str, problems) -> None:
    for key, node in spec.fields.items():
        dotted = f"{where}{key}"
        if isinstance(node, Section):
            _apply_environment(node, values[key], sources, environ, dotted + ".", problems)
        elif isinstance(node, Field) and node.env:
            found = _from_variables(node, dotted, environ, problems)
            if found:
                name, values[key] = found
                sources[dotted] = f"env:{name}"


def _from_variables(node: Field, dotted: str, environ, problems: list) -> tuple[str, Any] | None:
    """``(variable, clean value)`` from the field's variable, or from an older name of it
    (``MAF_RUNTIME_MODE``); both set must agree. None when none is set or a value is refused."""
    found: list[tuple[str, Any]] = []
    for name in (node.env or "", *node.old_env):
        if environ.get(name, "") == "":
            continue
        ok, result = node.check(environ[name], from_text=True)
        if not ok:
            problems.append(f"{name} (for {dotted}): {result}")
            return None
        found.append((name, result))
    if any(value != found[0][1] for _, value in found[1:]):
        shown = ", ".join(f"{name}={value!r}" for name, value in found)
        problems.append(f"{' and '.join(name for name, _ in found)} (for {dotted}) disagree ({shown}): set one of them")
        return None
    return found[0] if found else None


def _set(values: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
