#!/usr/bin/env python3
"""Draw a sequence diagram as SVG from a small text description (pure Python, no dependencies).

    python3 scripts/seqdiagram.py docs/diagrams/two-agents.seq docs/diagrams/two-agents.svg

The format, one statement a line (``#`` starts a comment):

    title: TEXT
    participant ID: LABEL      a column, in the order given (an undeclared ID gets a column too)
    A -> B: TEXT               a call
    A --> B: TEXT              an answer (dashed)
    A -x B: TEXT               a refusal (red)
    note A: TEXT               a remark on A's line

The output depends only on the text, so a re-run gives the same bytes.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

COLUMN = 190          # distance between two lifelines
MARGIN = 30
HEAD = 44             # height of a participant's box
ROW = 34              # height of one message or note
CHAR = 7.2            # width of one character at FONT px (a monospace estimate)
FONT = 12
ARROWS = {"->": "call", "-->": "answer", "-x": "refusal"}
_MESSAGE = re.compile(r"^(\S+)\s*(-->|->|-x)\s*(\S+)\s*:\s*(.*)$")
_NOTE = re.compile(r"^note\s+(\S+)\s*:\s*(.*)$")
_PARTICIPANT = re.compile(r"^participant\s+(\S+)\s*:\s*(.*)$")


class DiagramError(ValueError):
    """A line of the description that is not a statement of the format."""


@dataclass
class Diagram:
    title: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    steps: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, source, target, text)

    def column(self, name: str) -> int:
        if name not in self.labels:
            self.labels[name] = name
        return list(self.labels).index(name)


def parse(text: str) -> Diagram:
    diagram = Diagram()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("title:"):
            diagram.title = line[len("title:"):].strip()
        elif match := _PARTICIPANT.match(line):
            diagram.labels[match.group(1)] = match.group(2).strip()
        elif match := _NOTE.match(line):
            diagram.column(match.group(1))
            diagram.steps.append(("note", match.group(1), match.group(1), match.group(2).strip()))
        elif match := _MESSAGE.match(line):
            source, arrow, target, words = match.groups()
            diagram.column(source)
            diagram.column(target)
            diagram.steps.append((ARROWS[arrow], source, target, words.strip()))
        else:
            raise DiagramError(f"line {number}: not a statement of the format: {raw.strip()!r}")
    return diagram


def _x(diagram: Diagram, name: str) -> float:
    return MARGIN + COLUMN / 2 + diagram.column(name) * COLUMN


def _text(x: float, y: float, words: str, css: str, anchor: str = "middle") -> str:
    return f'<text x="{x:g}" y="{y:g}" class="{css}" text-anchor="{anchor}">{escape(words)}</text>'


def render(diagram: Diagram) -> str:
    names = list(diagram.labels)
    width = 2 * MARGIN + COLUMN * len(names)
    top = MARGIN + (30 if diagram.title else 0)
    first = top + HEAD + ROW
    bottom = first + ROW * len(diagram.steps)
    height = bottom + HEAD + MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{escape(diagram.title or "sequence diagram")}">',
           "<style>"
           f"text{{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:{FONT}px;fill:#1f2328}}"
           ".title{font-size:16px;font-weight:bold}.head{font-weight:bold}.refusal{fill:#b42318}"
           ".box{fill:#f2f5f9;stroke:#57606a}.life{stroke:#8c959f;stroke-dasharray:4 4}"
           ".call,.answer{stroke:#1f2328;fill:none}.answer{stroke-dasharray:6 4}.line-refusal{stroke:#b42318}"
           ".note{fill:#fff8c5;stroke:#bf8700}"
           "</style>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f2328"/></marker>'
           '<marker id="cross" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" '
           'orient="auto"><path d="M1,1 L9,9 M1,9 L9,1" stroke="#b42318" stroke-width="2"/></marker></defs>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if diagram.title:
        out.append(_text(width / 2, MARGIN + 8, diagram.title, "title"))
    for name in names:
        x = _x(diagram, name)
        out.append(f'<line x1="{x:g}" y1="{top + HEAD}" x2="{x:g}" y2="{bottom}" class="life"/>')
        for y in (top, bottom):
            out.append(f'<rect x="{x - COLUMN / 2 + 8:g}" y="{y}" width="{COLUMN - 16}" height="{HEAD}" rx="6" '
                       'class="box"/>')
            out.append(_text(x, y + HEAD / 2 + 4, diagram.labels[name], "head"))
    for index, (kind, source, target, words) in enumerate(diagram.steps):
        y = first + ROW * index
        x1, x2 = _x(diagram, source), _x(diagram, target)
        if kind == "note":
            half = len(words) * CHAR / 2 + 10
            out.append(f'<rect x="{x1 - half:g}" y="{y - 20}" width="{2 * half:g}" height="26" rx="3" class="note"/>')
            out.append(_text(x1, y - 3, words, "note-text"))
            continue
        css = "call line-refusal" if kind == "refusal" else kind
        marker = "cross" if kind == "refusal" else "arrow"
        out.append(f'<line x1="{x1:g}" y1="{y}" x2="{x2:g}" y2="{y}" class="{css}" marker-end="url(#{marker})"/>')
        out.append(_text((x1 + x2) / 2, y - 7, words, "refusal" if kind == "refusal" else "label"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: seqdiagram.py DESCRIPTION.seq OUTPUT.svg", file=sys.stderr)
        return 2
    source, target = Path(args[0]), Path(args[1])
    try:
        svg = render(parse(source.read_text(encoding="utf-8")))
    except (OSError, DiagramError) as exc:
        print(f"seqdiagram.py: {source}: {exc}", file=sys.stderr)
        return 2
    target.write_text(svg, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
