"""What a check finds (:class:`Outcome`) and what the report keeps of it (:class:`CheckResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

PASSED = "passed"
WARNING = "warning"
FAILED = "failed"
SKIPPED = "skipped"
STATUSES = (PASSED, WARNING, FAILED, SKIPPED)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``plural(1, "file")`` -> ``1 file``; ``plural(2, "file")`` -> ``2 files``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def joined(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(words) if len(words) <= 2 else f"{', '.join(words[:-1])} and {words[-1]}"


def summarize(findings: list) -> str:
    """A check's one-line message for several findings (each is listed under the line)."""
    if len(findings) <= 1:
        return "".join(findings)
    return f"{findings[0]} (and {len(findings) - 1} more)"


@dataclass
class Annotation:
    """One GitHub workflow annotation: ``level`` is ``error`` or ``warning``."""

    level: str
    message: str
    file: Optional[str] = None


@dataclass
class Outcome:
    """What one check (or one attempt of a smoke test) found.

    ``findings`` are short lines shown under the check's line (one per problem); they are also
    kept in ``details["findings"]``. ``recommendations`` say how to fix what was found.
    """

    status: str
    message: str
    details: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    recommendations: list = field(default_factory=list)
    annotations: list = field(default_factory=list)
    fixable: bool = False  # `--fix` would change this
    timed_out: bool = False


@dataclass
class CheckResult:
    id: str
    name: str
    kind: str  # "check" (built-in) or the smoke test's type
    status: str
    message: str
    details: dict = field(default_factory=dict)
    duration_ms: float = 0.0
    attempts: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    recommendations: list = field(default_factory=list)
    annotations: list = field(default_factory=list)
    fixable: bool = False
    timed_out: bool = False

    @property
    def smoke(self) -> bool:
        return self.kind != "check"

    def to_json(self) -> dict:
        details = dict(self.details)
        if self.findings:
            details.setdefault("findings", list(self.findings))
        return {
            "id": self.id,
            "name": self.name,
            "type": self.kind,
            "status": self.status,
            "message": self.message,
            "details": details,
            "durationMs": round(self.duration_ms, 1),
            "attempts": self.attempts,
        }
