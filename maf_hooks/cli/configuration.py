"""`maf config`: the effective configuration and where each value came from."""

from __future__ import annotations

import click

from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json, table
from maf_hooks.context import Context
from maf_hooks.services import documents


def _flatten(values: dict, prefix: str = "") -> list[tuple[str, object]]:
    """``{"a": {"b": 1}}`` -> ``[("a.b", 1)]``; empty tables are left out."""
    items: list[tuple[str, object]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", value))
    return items


def toml_value(value: object) -> str:
    """``value`` as TOML writes it (``true``, ``"block"``, ``["a", "b"]``, inline tables), by
    tomlkit; an unset value (None: TOML has none) is empty."""
    import tomlkit

    def item(value):
        if isinstance(value, dict):
            table = tomlkit.inline_table()
            table.update({key: item(inner) for key, inner in value.items() if inner is not None})
            return table
        if isinstance(value, (list, tuple)):
            array = tomlkit.array()
            array.extend(item(inner) for inner in value)
            return array
        return tomlkit.item(value)

    return "" if value is None else item(value).as_string()


@click.group("config")
def config_group():
    """The configuration."""


@config_group.command("show")
@json_option
@pass_context
def show(context: Context, as_json):
    """Print the effective configuration: every key, where its value came from, and the value as
    TOML writes it (empty: unset). On a terminal a long value folds to fit; piped, each key is one
    line."""
    config = context.config
    items = _flatten(config.values)
    from maf_hooks.store.runtime import effective

    if as_json:
        emit_json(documents.stamped("config.show", {
            "file": config.path,
            "env": config.env_name,
            "runtime": effective(config),
            "values": config.values,
            "sources": {key: config.source(key) for key, _ in items},
        }))
        return 0
    click.echo(f"# file: {config.path or '(none: defaults)'}; overlay: {config.env_name or '(none)'}; "
               f"runtime: {effective(config)}")
    table(["KEY", "SOURCE", "VALUE"], [[key, config.source(key), toml_value(value)] for key, value in items])
    return 0


@config_group.command("validate")
@json_option
@pass_context
def validate(context: Context, as_json):
    """Validate the configuration (exit 2 listing every problem)."""
    from maf_hooks.errors import ConfigError

    try:
        config = context.config
    except ConfigError as exc:
        if not as_json:
            raise
        from maf_hooks.config import find_config_file

        first = str(exc).splitlines()[0]
        path = context.config_path or find_config_file(context.root)[0]
        emit_json(documents.stamped("config.validate", {"valid": False, "file": path, "env": context.env_name,
                                                        "error": first, "problems": exc.problems or [first]}))
        return exc.exit_code
    if as_json:
        emit_json(documents.stamped("config.validate", {"valid": True, "file": config.path, "env": config.env_name,
                                                        "error": None, "problems": []}))
        return 0
    click.echo(f"configuration is valid ({config.path or 'defaults only'})")
    return 0
