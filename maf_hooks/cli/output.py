"""Printing: one JSON document for --json (the exact values), aligned tables for people (every
cell :func:`maf_hooks.core.text.shown`: others' text cannot reach the terminal raw).

People's output goes through rich (imported when first printed, never on the hooks' paths): on a
terminal a table fits the terminal's width (a long cell folds onto more lines) and may be
styled; piped or redirected it is plain text at its natural width, every column aligned by
terminal cells (a CJK character is two). Colour only on a terminal, never when ``NO_COLOR`` is
set (to any value, also empty); rich's ``FORCE_COLOR`` and ``TTY_COMPATIBLE`` are honoured.

Listings print as they read: :func:`emit_json_list` writes the same document as
:func:`emit_json` one entry at a time, and :func:`stream_table` aligns a page of rows at a time."""

from __future__ import annotations

import json
import os
from itertools import islice
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import click

from maf_hooks.core.text import shown

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

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


def console(err: bool = False) -> Console:
    """The rich console for stdout (or stderr): markup, emoji and highlighting off (others' text
    is printed as it is), colour off under ``NO_COLOR``. The stream is looked up when written
    to, so a captured or replaced ``sys.stdout`` is the one written."""
    from rich.console import Console

    return Console(stderr=err, no_color="NO_COLOR" in os.environ, markup=False, emoji=False, highlight=False)


def styled(text: str, style: str, err: bool = False) -> str:
    """``text`` in a rich ``style`` (``"bold red"``) for :func:`click.echo` on stdout (or stderr):
    escape codes only on a terminal, no colour under ``NO_COLOR``."""
    out = console(err)
    if not out.is_terminal:
        return text
    from rich.text import Text

    with out.capture() as captured:
        out.print(Text(text, style=style), end="", soft_wrap=True)
    return captured.get()


def _cells(row: Sequence[Any]) -> list[str]:
    return ["" if c is None else shown(str(c)) for c in row]


def _print(cells: list[list[str]], widths: list[int]) -> None:
    from rich.cells import cell_len

    click.echo("\n".join("  ".join(cell + " " * (widths[i] - cell_len(cell)) for i, cell in enumerate(row)).rstrip()
                          for row in cells))


WHOLE_CELLS = 32  # the longest column without spaces that a terminal table never folds


def renderable(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, header: bool = True,
               min_widths: Sequence[int] = ()) -> Table:
    """The rich table :func:`table` prints on a terminal (and `maf escalate monitor` shows live):
    no borders, two spaces between columns, bold headers; a column of words folds to fit the width,
    a short column without spaces (ids, agents, times: up to ``WHOLE_CELLS``) is kept whole so
    that what is copied is right; a long one (a deep pattern) folds like words."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, pad_edge=False, show_header=header, header_style="bold", padding=(0, 1))
    cells = [_cells(row) for row in rows]
    for i, name in enumerate(_cells(headers)):
        column = [row[i] for row in cells if i < len(row)]
        floor = min_widths[i] if i < len(min_widths) else 0
        longest = max((cell_len(cell) for cell in column), default=0)
        if column and longest <= WHOLE_CELLS and not any(" " in cell for cell in column):
            floor = max(floor, longest)  # ids, agents, times: kept whole, so that what is copied is right
        grid.add_column(Text(name), overflow="fold", min_width=floor or None)
    for row in cells:
        grid.add_row(*(Text(cell) for cell in row))
    return grid


def _widths(cells: list[list[str]], widths: Sequence[int]) -> list[int]:
    from rich.cells import cell_len

    return [max(widths[i], *(cell_len(row[i]) for row in cells)) for i in range(len(widths))]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    out = console()
    if out.is_terminal:
        out.print(renderable(headers, rows))
        return
    cells = [_cells(headers)] + [_cells(row) for row in rows]
    _print(cells, _widths(cells, [0] * len(headers)))


def stream_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], page: int = TABLE_PAGE) -> int:
    """:func:`table` for rows as they are read: up to ``page`` rows are aligned together (the
    first page with the headers, exactly as :func:`table` prints them), and a column's width only
    grows from one page to the next (on a terminal, as far as the width allows). Memory follows
    ``page``. Prints nothing when there are no rows; returns how many."""
    out = console()
    widths, count, source = [0] * len(headers), 0, iter(rows)
    while block := list(islice(source, page)):
        cells = ([] if count else [_cells(headers)]) + [_cells(row) for row in block]
        widths = _widths(cells, widths)
        if out.is_terminal:  # the widths so far, unless they do not fit: then rich shares out the width
            fits = sum(widths) + 2 * (len(widths) - 1) <= out.width
            out.print(renderable(headers, block, header=not count, min_widths=widths if fits else ()))
        else:
            _print(cells, widths)
        count += len(block)
    return count


def warn(message: str) -> None:
    click.echo(message, err=True)
