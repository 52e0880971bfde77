"""Printing: one JSON document for --json (the exact values), plain aligned tables for people
(every cell :func:`maf_hooks.core.text.shown`: others' text cannot reach the terminal raw)."""

from __future__ import annotations

import json
from typing import Any, Sequence

import click

from maf_hooks.core.text import shown


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[shown(str(c)) for c in headers]] + [["" if c is None else shown(str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def warn(message: str) -> None:
    click.echo(message, err=True)
