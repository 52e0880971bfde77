"""What each agent may do: ``[agents.<id>]`` over ``[agents.default]`` over allow-everything.

Identities are self-declared (``--agent``, ``MAF_AGENT_ID``, git config), so these rules keep honest
agents from mistakes; they are not a defence against an agent that lies about who it is.
"""

from __future__ import annotations

from maf_hooks.errors import Refused

RULES = ("can_acquire_lease", "can_force", "can_override", "can_escalate")


class Permissions:
    def __init__(self, agent: str | None, settings: dict, source: str):
        self.agent = agent
        self.settings = settings
        self.source = source  # which table decided: agents.<id>, agents.default or none

    def allows(self, rule: str) -> bool:
        value = self.settings.get(rule)
        return True if value is None else bool(value)

    def refusal(self, rule: str, what: str) -> str | None:
        """None when allowed, else the message naming the rule."""
        if self.allows(rule):
            return None
        return f"{self.agent or 'this agent'} may not {what}: {rule} = false in [{self.source}]."

    def require(self, rule: str, what: str) -> None:
        message = self.refusal(rule, what)
        if message:
            raise Refused(message)

    def require_lease_minutes(self, minutes: float) -> None:
        limit = self.settings.get("max_lease_timeout_minutes")
        if limit is not None and minutes > limit:
            raise Refused(
                f"{self.agent} may not lease for {minutes:g} minutes: max_lease_timeout_minutes = {limit} "
                f"in [{self.source}]."
            )

    def require_target(self, target: str) -> None:
        allowed = self.settings.get("allowed_targets")
        if allowed is not None and target not in allowed:
            raise Refused(
                f"{self.agent} may not escalate to {target!r}: allowed_targets = {allowed} in [{self.source}]."
            )


def for_agent(config, agent: str | None) -> Permissions:
    agents = config.get("agents") or {}
    if not agents:
        return Permissions(agent, {}, "no [agents] table")
    default = agents.get("default") or {}
    own = agents.get(agent) if agent else None
    if own is not None:
        merged = dict(default)
        merged.update({key: value for key, value in own.items() if value is not None})
        return Permissions(agent, merged, f"agents.{agent}")
    return Permissions(agent, dict(default), "agents.default")
