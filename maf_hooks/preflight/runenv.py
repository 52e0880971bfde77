"""Everything a check may consult while it runs, with the clocks injectable for tests."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Protocol

from maf_hooks.timeutil import now_ms

TYPE_CHECKING = False
if TYPE_CHECKING:
    from maf_hooks.store.base import Store

MAX_DB_WAIT_SECONDS = 15.0  # a check waits at most this long for another writer's lock

MIN_REDACTED_LENGTH = 4  # shorter values would match everywhere ("1", "dev")
REDACTED = "***"


class Progress(Protocol):
    """Told when slow work starts and when each check ends; the command line shows it."""

    def start(self, check_id: str, name: str, attempt: int, attempts: int, timeout: float | None) -> None: ...

    def retry(self, check_id: str, name: str, attempt: int, attempts: int, delay: float) -> None: ...

    def done(self, result: Any) -> None: ...


class Silent:
    """The library's :class:`Progress`: it tells no one."""

    def start(self, check_id: str, name: str, attempt: int, attempts: int, timeout: float | None) -> None:
        pass

    def retry(self, check_id: str, name: str, attempt: int, attempts: int, delay: float) -> None:
        pass

    def done(self, result: Any) -> None:
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
    progress: Progress = field(default_factory=Silent)

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
        """``path`` relative to the repository root when it lies inside it (reports stay portable);
        a server's URL as it is."""
        if "://" in path:
            return path
        try:
            relative = os.path.relpath(path, self.root)
        except ValueError:  # another drive
            return path
        return path if relative.startswith("..") else relative

    def open_store(self, *, read_only: bool = True) -> Store:
        """The lease store, which must exist, opened as it is (never created or migrated):
        ``read_only`` (the checks) or for writing (``--fix``, the run's record)."""
        timeout = min(self.settings["timeout_seconds"], MAX_DB_WAIT_SECONDS)
        return self.context.store_location.open(environ=self.environ, clock=self.clock, create=False,
                                                migrate=False, read_only=read_only, timeout=timeout)

    def storage_message(self, exc: Exception) -> str:
        """A storage error's message with the database's path as reports show it (:meth:`display`)."""
        path = self.context.db_path
        return str(exc).replace(path, self.display(path))

    def secret_values(self) -> list[str]:
        """Values of the variables the environment check names: never shown, even in captured output."""
        checked = self.check_settings("environment")
        names = [*checked.get("required_vars", ()), *checked.get("optional_vars", ())]
        values: set[str] = set()
        for name in names:
            value = self.environ.get(name, "")
            values.update((value, value.strip()))
        return sorted((v for v in values if len(v) >= MIN_REDACTED_LENGTH), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self.secret_values():
            text = text.replace(value, REDACTED)
        return text
