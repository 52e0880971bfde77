"""Everything a check may consult while it runs, with the clocks injectable for tests."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from maf_hooks.timeutil import now_ms

MIN_REDACTED_LENGTH = 4  # shorter values would match everywhere ("1", "dev")
REDACTED = "***"


class Progress:
    """Told when slow work starts; the command line shows it, the library stays silent."""

    def start(self, check_id: str, name: str, attempt: int, attempts: int, timeout: float | None) -> None:
        pass

    def retry(self, check_id: str, name: str, attempt: int, attempts: int, delay: float) -> None:
        pass

    def done(self, result) -> None:
        pass


@dataclass
class RunEnv:
    context: Any  # maf_hooks.context.Context
    agent: Optional[str] = None
    from_ref: Optional[str] = None
    to_ref: Optional[str] = None
    clock: Callable[[], int] = now_ms  # epoch milliseconds (leases)
    monotonic: Callable[[], float] = time.monotonic  # durations and deadlines
    sleep: Callable[[float], None] = time.sleep  # retry back-off
    progress: Progress = field(default_factory=Progress)

    @property
    def environ(self) -> Mapping[str, str]:
        return self.context.environ

    @property
    def root(self) -> str:
        return self.context.root

    @property
    def settings(self) -> dict:
        return self.context.config.section("preflight")

    def check_settings(self, check_id: str) -> dict:
        return self.settings.get("checks", {}).get(check_id, {})

    def display(self, path: str) -> str:
        """``path`` relative to the repository root when it lies inside it (reports stay portable)."""
        try:
            relative = os.path.relpath(path, self.root)
        except ValueError:  # another drive
            return path
        return path if relative.startswith("..") else relative

    def secret_values(self) -> list[str]:
        """Values of the variables the environment check names: never shown, even in captured output."""
        checked = self.check_settings("environment")
        names = [*checked.get("required_vars", ()), *checked.get("optional_vars", ())]
        values = set()
        for name in names:
            value = self.environ.get(name, "")
            values.update((value, value.strip()))
        return sorted((v for v in values if len(v) >= MIN_REDACTED_LENGTH), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self.secret_values():
            text = text.replace(value, REDACTED)
        return text
