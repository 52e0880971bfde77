"""`maf config`: the effective configuration and where each value came from."""

from __future__ import annotations

import click

from maf_hooks.cli.options import json_option, pass_context
from maf_hooks.cli.output import emit_json, table
from maf_hooks.context import Context


def _flatten(values: dict, prefix: str = "") -> list[tuple[str, object]]:
    """``{"a": {"b": 1}}`` -> ``[("a.b", 1)]``; empty tables are left out."""
    items: list[tuple[str, object]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", value))
    return items


@click.group("config")
def config_group():
    """The configuration."""


@config_group.command("show")
@json_option
@pass_context
def show(context: Context, as_json):
    """Print the effective configuration and where each value came from."""
    config = context.config
    items = _flatten(config.values)
    from maf_hooks.store.runtime import effective

    if as_json:
        emit_json({
            "file": config.path,
            "env": config.env_name,
            "runtime": effective(config),
            "values": config.values,
            "sources": {key: config.source(key) for key, _ in items},
        })
        return 0
    click.echo(f"# file: {config.path or '(none: defaults)'}; overlay: {config.env_name or '(none)'}; "
               f"runtime: {effective(config)}")
    table(["KEY", "VALUE", "SOURCE"], [[k, repr(v) if isinstance(v, str) else v, config.source(k)] for k, v in items])
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
        emit_json({"valid": False, "file": path, "env": context.env_name, "error": first,
                   "problems": exc.problems or [first]})
        return exc.exit_code
    if as_json:
        emit_json({"valid": True, "file": config.path, "env": config.env_name, "error": None, "problems": []})
        return 0
    click.echo(f"configuration is valid ({config.path or 'defaults only'})")
    return 0
