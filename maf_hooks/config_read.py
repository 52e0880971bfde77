"""Reading a configuration file: TOML or JSON, with every way it can be unreadable (not UTF-8,
not valid, nested too deeply, an integer too long to convert) reported as a ConfigError naming
the file, and nesting past :data:`MAX_DEPTH` refused with its key path before anything recurses."""

from __future__ import annotations

import os
import sys

from maf_hooks.config_schema_types import MAX_DEPTH
from maf_hooks.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from typing import Any


def may_configure_maf(pyproject: str) -> bool:
    """False only when ``pyproject`` certainly has no ``[tool.maf]``: the key ``maf`` appears
    neither as such nor possibly spelled with a ``\\u`` escape in a quoted key. The git hook loads
    the configuration on every commit, and most pyproject.toml files are about something else:
    this spares it the TOML parser (a file that cannot be read is left to :func:`read_toml`)."""
    try:
        with open(pyproject, "rb") as handle:
            data = handle.read()
    except OSError:
        return True
    return b"maf" in data or b"\\u" in data or b"\\U" in data


def read_toml(path: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python < 3.11
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except UnicodeDecodeError as exc:
        raise ConfigError(_not_utf8(path, exc), file=path, line=_utf8_line(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_position(exc)
        raise ConfigError(f"{path} is not valid TOML: {exc}.", file=path, line=line, column=column) from None
    except RecursionError:  # the parser recurses once per nested array or inline table
        raise ConfigError(_too_deep_to_read(path)) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read configuration file {path}: {exc.strerror or exc}.") from None


def _too_deep_to_read(path: str) -> str:
    return (f"{path}: tables or arrays are nested too deeply to read (the limit is {MAX_DEPTH} "
            "levels; no configuration key needs more than a few).")


def check_depth(data: dict, path: str, prefix: str) -> None:
    """Refuse tables and arrays nested more than MAX_DEPTH levels, naming the key path of the
    first one found; walked without recursion, before validation looks at any value."""
    stack: list[tuple[Any, list[str]]] = [(data, [f".{part}" for part in prefix.split(".") if part])]
    while stack:
        node, keys = stack.pop()
        if len(keys) > MAX_DEPTH:
            shown = "".join(keys[:MAX_DEPTH + 1]).lstrip(".")
            raise ConfigError(f"Invalid configuration ({path}):",
                              [f"{shown}: nested more than {MAX_DEPTH} levels deep (the limit); "
                               "no configuration key needs more than a few"])
        if isinstance(node, dict):
            stack.extend((value, [*keys, f".{key}"]) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, [*keys, f"[{index}]"]) for index, value in enumerate(node))


def _utf8_line(exc: UnicodeDecodeError) -> int:
    data = exc.object if isinstance(exc.object, bytes) else b""
    return data[:exc.start].count(b"\n") + 1


def _not_utf8(path: str, exc: UnicodeDecodeError) -> str:
    data = exc.object if isinstance(exc.object, bytes) else b""
    byte = data[exc.start:exc.start + 1].hex() or "?"
    return (f"{path} is not valid UTF-8 (byte 0x{byte} on line {_utf8_line(exc)}): a configuration file must be "
            "saved as UTF-8 text.")


def _toml_position(exc: ValueError) -> tuple[int | None, int | None]:
    """Where a TOML file stopped parsing: the error's ``lineno``/``colno`` (Python 3.14, tomli
    2.1), else the ``(at line L, column C)`` that every version's message ends with."""
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    if isinstance(line, int) and isinstance(column, int):
        return line, column
    import re  # only for a file that does not parse

    found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    return (int(found.group(1)), int(found.group(2))) if found else (None, None)


def read_any(path: str) -> dict:
    if path.endswith(".json"):
        import json  # only for a JSON file named by --config

        try:
            with open(path, "rb") as handle:
                return json.loads(handle.read().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(_not_utf8(path, exc), file=path, line=_utf8_line(exc)) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}.", file=path, line=exc.lineno,
                              column=exc.colno) from None
        except RecursionError:
            raise ConfigError(_too_deep_to_read(path)) from None
        except ValueError as exc:  # an integer of more than 4300 digits
            raise ConfigError(f"{path} is not valid JSON: {exc}.") from None
        except OSError as exc:
            raise ConfigError(f"Cannot read configuration file {path}: {exc.strerror or exc}.") from None
    data = read_toml(path)
    if os.path.basename(path) == "pyproject.toml":
        data = data.get("tool", {}).get("maf", {})
    return data


def key_position(path: str, dotted: str) -> tuple[int, int] | None:
    """Where the TOML file ``path`` sets the key ``dotted`` (``reservation.max_timeout_minutes``;
    under ``[tool.maf]`` in a pyproject.toml): ``(line, column)`` from 1, or None when it cannot
    be told by reading the lines (a key set inside an inline table, a quoted key with dots). For
    pointing at a wrong value, not for reading it: the parser has already read the file."""
    import re

    prefix = "tool.maf." if os.path.basename(path) == "pyproject.toml" else ""
    wanted = dotted if dotted.startswith(prefix) else prefix + dotted  # problems may name the whole path
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    table = ""
    for number, line in enumerate(lines, 1):
        header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", line)
        if header:
            table = re.sub(r"\s*\.\s*", ".", header.group(1)).replace('"', "")
            continue
        assignment = re.match(r"(\s*)([A-Za-z0-9_.\-\" ]+?)\s*=", line)
        if assignment:
            key = re.sub(r"\s*\.\s*", ".", assignment.group(2)).replace('"', "")
            if (f"{table}.{key}" if table else key) == wanted:
                return number, len(assignment.group(1)) + 1
    return None
