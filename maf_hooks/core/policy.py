"""Policy rules: THE override rule, and how long a lease may be.

The override rule decides every use of ``MAF_RESERVATION_OVERRIDE``: on a conflict (the change
goes through, recorded, the holder told) and when the hook cannot decide at all (the change goes
through unchecked). Both paths call :func:`override`, so a reason the configuration requires is
required on both.
"""

from __future__ import annotations

from maf_hooks import permissions
from maf_hooks.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hook's path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

OVERRIDE_HOW = (
    "Emergency override (audited, the holder is told): "
    "MAF_RESERVATION_OVERRIDE=1 MAF_OVERRIDE_REASON='why' git commit ..."
)
TRUTHY = frozenset({"1", "true", "yes", "on"})


HOOK_MODES = ("strict", "warn", "off")


def hook_mode(cfg: Any, environ: Mapping[str, str]) -> str:
    """THE hook mode: the configuration's ``reservation.hook_mode`` (which
    ``MAF_RESERVATION_HOOK_MODE`` overrides, validated); with no configuration (not loaded yet, or
    it failed to load) the variable alone. Anything else reads as strict: the hook fails closed."""
    if cfg is not None:
        return str(cfg.get("reservation.hook_mode"))
    value = environ.get("MAF_RESERVATION_HOOK_MODE", "").strip().lower()
    return value if value in HOOK_MODES else "strict"


def override_requested(environ: Mapping[str, str] | None) -> bool:
    return bool(environ) and environ.get("MAF_RESERVATION_OVERRIDE", "").strip().lower() in TRUTHY  # type: ignore[union-attr]


class Override:
    """The verdict on an override: ``asked`` (the variable is set), ``allowed``, the ``reason``
    given, and ``refusal``, why an asked-for override is not honoured."""

    def __init__(self, asked: bool, allowed: bool, reason: str = "", refusal: str = "") -> None:
        self.asked = asked
        self.allowed = allowed
        self.reason = reason
        self.refusal = refusal


def override(cfg: Any, environ: Mapping[str, str], agent: str | None) -> Override:
    """Whether ``MAF_RESERVATION_OVERRIDE`` lets ``agent``'s change through: asked for, allowed
    by ``reservation.allow_override``, with ``MAF_OVERRIDE_REASON`` when
    ``reservation.require_override_reason`` says so, and by the agent's ``can_override`` rule.
    ``cfg`` None (the configuration did not load): the team's rules are unknown, so the override
    is not honoured (fail closed; the committer can fix the configuration). A reason that is not
    plain text (:func:`maf_hooks.core.text.problem`: a control character, more than 1,000
    characters) is not honoured either."""
    from maf_hooks.core.text import problem, storable

    reason = storable(environ.get("MAF_OVERRIDE_REASON", "").strip())  # recorded: valid text
    if not override_requested(environ):
        return Override(False, False, reason)
    wrong = problem(reason, "MAF_OVERRIDE_REASON")
    if wrong:
        return Override(True, False, reason, f"MAF_RESERVATION_OVERRIDE is set, but it is not honoured: {wrong}")
    if cfg is None:
        return Override(True, False, reason, "MAF_RESERVATION_OVERRIDE is set, but the configuration could not be "
                                             "read, so its override rules are unknown: fix the configuration "
                                             "(`maf config validate`) and commit again.")
    if not cfg.get("reservation.allow_override"):
        return Override(True, False, reason, "MAF_RESERVATION_OVERRIDE is set, but overrides are disabled here "
                                             "(reservation.allow_override = false).")
    if cfg.get("reservation.require_override_reason") and not reason:
        return Override(True, False, reason, "MAF_RESERVATION_OVERRIDE is set, but this repository requires a "
                                             "reason (reservation.require_override_reason = true): "
                                             "set MAF_OVERRIDE_REASON.")
    refusal = permissions.for_agent(cfg, agent).refusal("can_override", "use MAF_RESERVATION_OVERRIDE")
    if refusal:
        return Override(True, False, reason, refusal)
    return Override(True, True, reason)


def lease_ttl(reservation: Mapping[str, Any], ttl: str | None, timeout_minutes: int | None) -> int:
    """The lease length in ms: ``ttl`` (a duration) or ``timeout_minutes``, else the default;
    above ``max_timeout_minutes`` is refused. ``reservation`` is the configuration's section."""
    from maf_hooks.timeutil import parse_duration_ms

    if ttl and timeout_minutes is not None:
        raise UsageError("Give either --ttl or --timeout, not both.")
    maximum = reservation["max_timeout_minutes"]
    if ttl:
        value = parse_duration_ms(ttl, what="--ttl")
    elif timeout_minutes is not None:
        if timeout_minutes <= 0:
            raise UsageError(f"Invalid --timeout {timeout_minutes}: it must be a positive number of minutes.")
        value = timeout_minutes * 60_000
    else:
        value = reservation["default_timeout_minutes"] * 60_000
    if value > maximum * 60_000:
        raise UsageError(
            f"A lease of {value / 60_000:g} minutes is above the maximum of {maximum} minutes "
            "(reservation.max_timeout_minutes, env MAF_RESERVATION_MAX_TIMEOUT). Ask for less and renew it."
        )
    return value


def unchecked(cfg: Any, environ: Mapping[str, str], agent: str | None, cause: str, *,
              what: str = "change", how: str = OVERRIDE_HOW) -> tuple[bool, list[str]]:
    """THE rule for a check that could not run (a broken database, bad input, a bug): refused (it
    fails closed) unless THE override rule lets it through unchecked, the hook mode is warn, or
    the team chose ``reservation.on_error = "allow"``. ``(allowed, messages)``; ``what`` names
    the thing let through or refused ("change", "edit"), ``how`` how to override it."""
    messages: list[str] = []
    if override_requested(environ):
        verdict = override(cfg, environ, agent)
        if verdict.allowed:
            return True, [f"WARNING: MAF_RESERVATION_OVERRIDE is set and the reservation check could not run "
                          f"({cause}). Let through WITHOUT a check; nothing could be recorded."]
        messages.append(str(verdict.refusal))
    mode = hook_mode(cfg, environ)
    on_error = cfg.get("reservation.on_error") if cfg else "block"
    if mode == "warn" or on_error == "allow":
        why = "hook mode is warn" if mode == "warn" else 'reservation.on_error = "allow"'
        return True, [*messages, f"warning: the reservation check could not run ({cause}). Let through because {why}."]
    messages.append(
        f"RESERVATION CHECK FAILED, so this {what} is refused (the check fails closed): {cause} "
        f"Fix the cause, or if you must proceed now: {how} "
        '(a team can choose fail-open with reservation.on_error = "allow").')
    return False, messages
