"""The building blocks of the configuration schema: fields, sections, maps and lists of tables."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs the git hook milliseconds; annotations only
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

# Bounds shared by many keys (docs/configuration.md lists every key's range): far beyond any real
# use, well inside what SQLite's integers and the clock arithmetic can hold.
MAX_MINUTES = 36_500 * 1440  # 100 years, the longest lease `--ttl` accepts
MAX_SECONDS = 86_400.0  # one day, for a timeout of one check, request or mail delivery
MAX_RETRIES = 100
MAX_DEPTH = 32  # tables and arrays nested deeper than this are refused before anything recurses

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Field:
    def __init__(self, kind: str, default: Any = None, *, choices=None, env: str | None = None,
                 old_env: tuple[str, ...] = (), minimum: float | None = None, maximum: float | None = None,
                 help: str = "", problem: Callable[[Any], str | None] | None = None):
        self.kind = kind  # "int", "float", "str", "bool", "list[str]"
        self.default = default
        self.choices = tuple(choices) if choices else None
        self.env = env
        self.old_env = old_env  # older names of the variable, read too (the two must agree when both are set)
        self.minimum = minimum  # inclusive bounds of a number; a value outside is refused
        self.maximum = maximum
        self.help = help
        self.problem = problem  # what else is wrong with a value of the right kind, or None (asked before
        # the choices, so that it can say why a value is no choice)

    def check(self, value: Any, *, from_text: bool = False) -> tuple[bool, Any]:
        """``(True, clean value)`` or ``(False, what was expected)``."""
        kind = self.kind
        if from_text and isinstance(value, str):
            text = value.strip()
            if kind == "int":
                try:
                    value = int(text)
                except ValueError:
                    return False, f"expected a whole number, got {_shown(value)}"
            elif kind == "float":
                try:
                    value = float(text)
                except ValueError:
                    return False, f"expected a number, got {_shown(value)}"
            elif kind == "bool":
                if text.lower() in _TRUE:
                    value = True
                elif text.lower() in _FALSE:
                    value = False
                else:
                    return False, f"expected true or false, got {_shown(value)}"
            elif kind == "str" and self.choices:
                value = text.lower()  # MAF_RESERVATION_HOOK_MODE=Off means off
            elif kind == "list[str]":
                value = [part.strip() for part in text.split(",") if part.strip()]
        if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            return False, f"expected a whole number, got {_shown(value)}"
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False, f"expected a number, got {_shown(value)}"
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                return False, f"expected a finite number, got {_shown(value)}"
        if kind == "bool" and not isinstance(value, bool):
            return False, f"expected true or false, got {_shown(value)}"
        if kind == "str" and not isinstance(value, str):
            return False, f"expected a string, got {_shown(value)}"
        if kind == "list[str]" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return False, f"expected a list of strings, got {_shown(value)}"
        if kind in ("str", "list[str]") and "\0" in (value if kind == "str" else "".join(value)):
            return False, f"expected text without a NUL character, got {_shown(value)}"  # no path or name holds one
        if self.problem and value is not None:
            problem = self.problem(value)
            if problem:
                return False, problem
        if self.choices and value not in self.choices:
            return False, f"expected one of {', '.join(self.choices)}, got {_shown(value)}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return False, f"expected at least {_number(self.minimum)}, got {_number(value)}"
            if self.maximum is not None and value > self.maximum:
                return False, f"expected at most {_number(self.maximum)}, got {_number(value)}"
        return True, value


def _shown(value: Any) -> str:
    """``repr(value)``, cut to a readable length (a value may be a whole table, or 10 MB long)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _number(value)
    text = repr(value)
    return text if len(text) <= 100 else text[:80] + f"... ({len(text)} characters)"


def _number(value: float) -> str:
    """A number as written in a configuration file; a huge integer is abbreviated, never expanded
    digit by digit (Python refuses to print integers of more than 4300 digits)."""
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) or abs(value) >= 1e16 else str(int(value))
    if abs(value) >= 10 ** 30:
        return f"a number of about {value.bit_length() * 30103 // 100000 + 1} digits"
    return str(value)


class Section:
    def __init__(self, fields: dict, validate: Optional[Callable[[dict, str], list]] = None):
        self.fields = fields
        self.validate = validate


class MapOf:
    """A table of named entries, each shaped by ``of`` (``[agents.<id>]``)."""

    def __init__(self, of: Section, key_check: Optional[Callable[[str], Optional[str]]] = None):
        self.of = of
        self.key_check = key_check


class ListOf:
    """An array of tables, each shaped by ``of`` (``[[preflight.smoke_tests]]``)."""

    def __init__(self, of: Section):
        self.of = of
