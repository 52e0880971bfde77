"""Reading and writing the clients' project files without losing what is in them.

JSON keeps every entry, the key order and the file's indentation (detected; a new file gets two
spaces). A file whose client reads JSON with comments (``jsonc``) may hold ``//`` and ``/* */``
comments and trailing commas: it is read, but a change to it is refused, since rewriting it would
drop the comments (the message shows what to add by hand). TOML goes through tomlkit, which keeps
comments and layout. Writes are atomic: a temporary file in the same directory, then a rename.
"""

from __future__ import annotations

import json
import os

from maf_hooks.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class FileRefused(UsageError):
    """A project file maf would change cannot be read or changed safely; it is left untouched."""


class JsonStyle:
    """How a JSON file was written: its indentation, and what is not plain JSON in it (``comments``:
    None, ``"comments"``, or ``"a trailing comma at line N, column M"``), which maf does not rewrite."""

    def __init__(self, indent: Any = 2, comments: str | None = None, final_newline: bool = True):
        self.indent = indent
        self.comments = comments
        self.final_newline = final_newline


def _decode(path: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(f"{path}: not UTF-8 text; left untouched.") from None


class DuplicateKey(ValueError):
    """A JSON object holds one key twice (``json`` would keep only the last of them)."""

    def __str__(self) -> str:
        return f"holds the key {self.args[0]!r} twice in one object (a reader keeps only one of them)"


def _unique(pairs: list) -> dict:
    doc: dict = {}
    for key, value in pairs:
        if key in doc:
            raise DuplicateKey(key)
        doc[key] = value
    return doc


def loads_unique(text: str) -> Any:
    """``json.loads`` that raises :class:`DuplicateKey` for a key given twice in one object: the one
    JSON reader of ``maf init --agents`` and of preflight's ``mcp`` check."""
    return json.loads(text, object_pairs_hook=_unique)


def parse_json(path: str, text: str) -> Any:
    """:func:`loads_unique` that refuses a key given twice and a document nested too deeply."""
    try:
        return loads_unique(text)
    except DuplicateKey as exc:
        raise FileRefused(f"{path}: {exc}; left untouched. Remove one, then run again.") from None
    except RecursionError:
        raise FileRefused(f"{path}: nested too deeply to be read; left untouched.") from None


def _position(text: str, offset: int) -> str:
    return f"line {text.count(chr(10), 0, offset) + 1}, column {offset - text.rfind(chr(10), 0, offset)}"


def load_json(path: str, raw: bytes, *, jsonc: bool) -> tuple[Any, JsonStyle]:
    """The document and its style; FileRefused when it is not JSON (or JSON with comments where
    ``jsonc``) holding an object."""
    text = _decode(path, raw)
    comments = None
    if not text.strip():
        return {}, JsonStyle()
    try:
        doc = parse_json(path, text)
    except json.JSONDecodeError as strict:
        found: list = []
        try:
            doc = parse_json(path, strip_jsonc(text, found))
        except json.JSONDecodeError as exc:
            shown, exc = ("JSON with comments", exc) if jsonc else ("JSON", strict)
            raise FileRefused(f"{path}: not valid {shown} ({exc.msg} at line {exc.lineno}, column "
                              f"{exc.colno}); left untouched. Fix it, then run again.") from None
        commas = [offset for kind, offset in found if kind == "comma"]
        if not jsonc:
            kind, offset = found[0]
            what = "a trailing comma" if kind == "comma" else "a comment, which this client's JSON does not allow,"
            raise FileRefused(f"{path}: not valid JSON ({what} at {_position(text, offset)}); left untouched. "
                              "Fix it, then run again.") from None
        comments = "comments" if len(commas) < len(found) else f"a trailing comma at {_position(text, commas[0])}"
    if not isinstance(doc, dict):
        raise FileRefused(f"{path}: does not hold a JSON object; left untouched.")
    return doc, JsonStyle(detect_indent(text), comments, text.endswith("\n"))


def detect_indent(text: str) -> Any:
    """The indentation of the first indented line: a number of spaces, or a tab; 2 when none is."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def dump_json(doc: Any, style: JsonStyle) -> str:
    text = json.dumps(doc, indent=style.indent, ensure_ascii=False)
    return text + "\n" if style.final_newline else text


def strip_jsonc(text: str, found: list | None = None) -> str:
    """``text`` with its comments blanked and its trailing commas removed (strings untouched); each
    one removed is appended to ``found`` as ``("comment" or "comma", offset)``."""
    found = [] if found is None else found
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            found.append(("comment", i))
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            found.append(("comment", i))
            j = text.find("*/", i + 2)
            out.append(" ")
            i = n if j < 0 else j + 2
        elif char == ",":
            j = i + 1
            rest = "".join(_blank_comments(text, j))
            if rest.lstrip()[:1] in ("}", "]"):
                found.append(("comma", i))
                out.append(" ")
            else:
                out.append(",")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _blank_comments(text: str, start: int):
    """The characters after ``start`` up to the next one that is neither space nor comment."""
    i, n = start, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif text[i].isspace():
            i += 1
        else:
            yield text[i]
            return


def load_toml(path: str, raw: bytes) -> Any:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    text = _decode(path, raw)
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise FileRefused(f"{path}: not valid TOML ({exc}); left untouched. Fix it, then run again.") from None
    except RecursionError:
        raise FileRefused(f"{path}: nested too deeply to be read; left untouched.") from None


def parse_toml(path: str, raw: bytes) -> Any:
    """The plain values of a TOML document, as the standard parser reads them (no layout)."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    text = _decode(path, raw)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileRefused(f"{path}: not valid TOML ({exc}); left untouched. Fix it, then run again.") from None
    except RecursionError:
        raise FileRefused(f"{path}: nested too deeply to be read; left untouched.") from None


def dump_toml(doc: Any) -> str:
    import tomlkit

    return tomlkit.dumps(doc)


def read_bytes(path: str, shown: str) -> bytes | None:
    """The file's content, or None when it does not exist; a symbolic link or a directory is refused."""
    if os.path.islink(path):
        raise FileRefused(f"{shown}: a symbolic link; maf does not write through it. Left untouched.")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise FileRefused(f"{shown}: a directory, not a file; left untouched.") from None
    except OSError as exc:
        raise FileRefused(f"{shown}: cannot be read ({exc.strerror or exc}).") from None


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: a reader sees the old
    file or the new one, never half of one. An existing file keeps its permissions."""
    from maf_hooks.atomicfile import write_bytes

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_bytes(path, data)
