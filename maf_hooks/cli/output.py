"""Printing: one JSON document for --json (the exact values), plain aligned tables for people
(every cell :func:`maf_hooks.core.text.shown`: others' text cannot reach the terminal raw).

Listings print as they read: :func:`emit_json_list` writes the same document as
:func:`emit_json` one entry at a time, and :func:`stream_table` aligns a page of rows at a time."""

from __future__ import annotations

import json
from itertools import islice
from typing import Any, Iterable, Sequence

import click

from maf_hooks.core.text import shown

TABLE_PAGE = 1000  # rows aligned together by stream_table
_SCALARS = (str, int, float, bool, type(None))
# a flat entry of a document's list laid out as json.dumps(indent=2) does, by the C encoder
_FLAT = json.JSONEncoder(separators=(",\n      ", ": ")).encode


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def _entry(item: Any) -> str:
    """``item`` as :func:`emit_json` writes an entry of ``{key: [...]}`` (no newline is raw in JSON text)."""
    if isinstance(item, dict) and item and all(type(value) in _SCALARS for value in item.values()):
        return "{\n      " + _FLAT(item)[1:-1] + "\n    }"
    return json.dumps(item, indent=2).replace("\n", "\n    ")


def emit_json_list(key: str, items: Iterable[Any], chunk: int = 256, head: dict[str, Any] | None = None) -> int:
    """Write ``{**head, key: [items...]}`` exactly as :func:`emit_json` would, an entry at a time
    (memory follows ``chunk``, not the number of items); returns how many were written."""
    first = "".join(f"\n  {json.dumps(name)}: {json.dumps(value)}," for name, value in (head or {}).items())
    click.echo(f"{{{first}\n  {json.dumps(key)}: [", nl=False)
    count, entries = 0, iter(items)
    while block := list(islice(entries, chunk)):
        click.echo(("," if count else "") + ",".join("\n    " + _entry(item) for item in block), nl=False)
        count += len(block)
    click.echo("\n  ]\n}" if count else "]\n}")
    return count


def _cells(row: Sequence[Any]) -> list[str]:
    return ["" if c is None else shown(str(c)) for c in row]


def _print(cells: list[list[str]], widths: list[int]) -> None:
    click.echo("\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [_cells(headers)] + [_cells(row) for row in rows]
    _print(cells, [max(len(row[i]) for row in cells) for i in range(len(headers))])


def stream_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], page: int = TABLE_PAGE) -> int:
    """:func:`table` for rows as they are read: up to ``page`` rows are aligned together (the
    first page with the headers, exactly as :func:`table` prints them), and a column's width only
    grows from one page to the next. Prints nothing when there are no rows; returns how many."""
    widths, count, source = [0] * len(headers), 0, iter(rows)
    while block := list(islice(source, page)):
        cells = ([] if count else [_cells(headers)]) + [_cells(row) for row in block]
        widths = [max(widths[i], *(len(row[i]) for row in cells)) for i in range(len(headers))]
        _print(cells, widths)
        count += len(block)
    return count


def warn(message: str) -> None:
    click.echo(message, err=True)
