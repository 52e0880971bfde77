"""The building blocks of the configuration schema: fields, sections, maps and lists of tables."""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs the git hook milliseconds; annotations only
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Field:
    def __init__(self, kind: str, default: Any = None, *, choices=None, env: str | None = None,
                 minimum: float | None = None, help: str = ""):
        self.kind = kind  # "int", "float", "str", "bool", "list[str]"
        self.default = default
        self.choices = tuple(choices) if choices else None
        self.env = env
        self.minimum = minimum
        self.help = help

    def check(self, value: Any, *, from_text: bool = False) -> tuple[bool, Any]:
        """``(True, clean value)`` or ``(False, what was expected)``."""
        kind = self.kind
        if from_text and isinstance(value, str):
            text = value.strip()
            if kind == "int":
                try:
                    value = int(text)
                except ValueError:
                    return False, f"expected a whole number, got {value!r}"
            elif kind == "float":
                try:
                    value = float(text)
                except ValueError:
                    return False, f"expected a number, got {value!r}"
            elif kind == "bool":
                if text.lower() in _TRUE:
                    value = True
                elif text.lower() in _FALSE:
                    value = False
                else:
                    return False, f"expected true or false, got {value!r}"
            elif kind == "str" and self.choices:
                value = text.lower()  # MAF_RESERVATION_HOOK_MODE=Off means off
            elif kind == "list[str]":
                value = [part.strip() for part in text.split(",") if part.strip()]
        if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
            return False, f"expected a whole number, got {value!r}"
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False, f"expected a number, got {value!r}"
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                return False, f"expected a finite number, got {value!r}"
        if kind == "bool" and not isinstance(value, bool):
            return False, f"expected true or false, got {value!r}"
        if kind == "str" and not isinstance(value, str):
            return False, f"expected a string, got {value!r}"
        if kind == "list[str]" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return False, f"expected a list of strings, got {value!r}"
        if self.choices and value not in self.choices:
            return False, f"expected one of {', '.join(self.choices)}, got {value!r}"
        if self.minimum is not None and isinstance(value, (int, float)) and value < self.minimum:
            return False, f"expected at least {self.minimum:g}, got {value!r}"
        return True, value


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
