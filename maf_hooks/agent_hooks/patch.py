"""The files a Codex ``apply_patch`` envelope writes.

Codex edits files with one tool, ``apply_patch``, whose argument is a patch *envelope*::

    *** Begin Patch
    *** Add File: docs/new.md
    +first line
    *** Update File: src/app.py
    *** Move to: src/main.py
    @@ def run():
    -    old()
    +    new()
    *** Delete File: src/legacy.py
    *** End Patch

Every ``*** Add File:``, ``*** Update File:``, ``*** Delete File:`` and ``*** Move to:`` line names a
file the patch writes (a move writes both its source and its destination). :func:`paths` returns
them in order, each once, exactly as the envelope spells them (relative to the hook's ``cwd`` or
absolute); the runner resolves them.

The reading follows the grammar of Codex's own parser and is at least as lenient, so that an
envelope Codex would apply is never refused here: markers may carry surrounding whitespace, a
``<<EOF`` heredoc wrapper is removed, CRLF line ends are accepted, blank lines may separate
hunks. What Codex itself would reject as malformed (no ``*** Begin Patch`` / ``*** End Patch``,
a line that is neither a hunk header nor part of a hunk, a header naming no path) raises
:class:`~maf_hooks.agent_hooks.call.BadHookInput` naming the line, and the hook fails closed.
Pure Python, no imports beyond the shared call module: it runs on every Codex edit.
"""

from __future__ import annotations

from maf_hooks.agent_hooks.call import BadHookInput

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File:"
UPDATE = "*** Update File:"
DELETE = "*** Delete File:"
MOVE = "*** Move to:"
END_OF_FILE = "*** End of File"
HEADERS = (ADD, UPDATE, DELETE)
HEREDOC_OPENERS = ("<<EOF", "<<'EOF'", '<<"EOF"')


def paths(envelope: object) -> tuple[str, ...]:
    """The files ``envelope`` (the patch text) adds, updates, deletes or moves to, in order, each once."""
    if not isinstance(envelope, str):
        raise BadHookInput(f"the apply_patch envelope is a {type(envelope).__name__}, not text.")
    lines, first_number = _body(*_lines(envelope))
    found: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        number = first_number + index
        stripped = line.strip()
        if not stripped:
            index += 1
            continue
        marker = _header(stripped)
        if marker is None:
            raise BadHookInput(
                f"apply_patch envelope line {number} is not a hunk header "
                f"('{ADD} PATH', '{UPDATE} PATH' or '{DELETE} PATH'): {_show(line)}"
            )
        path = _path(stripped, marker, number)
        found.append(path)
        index += 1
        if marker == ADD:
            while index < len(lines) and lines[index].startswith("+"):
                index += 1
        elif marker == UPDATE:
            if index < len(lines) and lines[index].strip().startswith(MOVE):
                found.append(_path(lines[index].strip(), MOVE, first_number + index))
                index += 1
            index = _skip_update_body(lines, index, first_number, path, number)
    return tuple(dict.fromkeys(found))


def _lines(text: str) -> tuple[list[str], int]:
    """The envelope's lines without their ends (LF or CRLF), outer blank lines dropped, and how
    many blank lines led."""
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    lead = 0
    while lead < len(lines) and not lines[lead].strip():
        lead += 1
    lines = lines[lead:]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines, lead


def _body(lines: list[str], offset: int) -> tuple[list[str], int]:
    """The lines between ``*** Begin Patch`` and ``*** End Patch`` and the line number (1-based, in
    the envelope as given) of the first of them; ``offset`` lines came before ``lines``."""
    if len(lines) >= 4 and lines[0].strip() in HEREDOC_OPENERS and lines[-1].strip().endswith("EOF") \
            and lines[1].strip() == BEGIN:
        lines = lines[1:-1]
        offset += 1
    if not lines:
        raise BadHookInput("the apply_patch envelope is empty.")
    if lines[0].strip() != BEGIN:
        raise BadHookInput(f"the apply_patch envelope does not start with '{BEGIN}': {_show(lines[0])}")
    if len(lines) < 2 or lines[-1].strip() != END:
        raise BadHookInput(f"the apply_patch envelope does not end with '{END}': {_show(lines[-1])}")
    return lines[1:-1], offset + 2


def _header(stripped: str) -> str | None:
    for marker in HEADERS:
        if stripped.startswith(marker):
            return marker
    return None


def _path(stripped: str, marker: str, number: int) -> str:
    path = stripped[len(marker):].strip()
    if not path:
        raise BadHookInput(f"apply_patch envelope line {number} ('{marker}') names no path.")
    return path


def _skip_update_body(lines: list[str], index: int, first_number: int, path: str, header: int) -> int:
    """The index of the first line after the hunks of an ``*** Update File:`` section; every line
    of it must be blank, ``@@`` context, or start with ' ', '+' or '-' (or be ``*** End of File``)."""
    start = index
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped == END_OF_FILE:
            index += 1
            continue
        if line.startswith("*"):
            break
        if stripped and not line.startswith((" ", "+", "-", "@@")):
            raise BadHookInput(
                f"apply_patch envelope line {first_number + index} in the update of {path!r} is not a hunk line "
                f"(' ', '+', '-' or '@@'): {_show(line)}"
            )
        index += 1
    if not any(line.strip() for line in lines[start:index]):
        raise BadHookInput(
            f"apply_patch envelope line {header}: the update of {path!r} has no hunk."
        )
    return index


def _show(line: str) -> str:
    """A line of the envelope for an error message: quoted, cut at 80 characters."""
    return repr(line if len(line) <= 80 else line[:77] + "...")
