"""What each agent may do: ``[agents.<id>]`` over ``[agents.default]`` over allow-everything.

Identities are self-declared (``--agent``, ``MAF_AGENT_ID``, git config), so these rules keep honest
agents from mistakes; they are not a defence against an agent that lies about who it is.
"""

from __future__ import annotations

from maf_hooks.errors import Refused


class Permissions:
    def __init__(self, agent: str | None, settings: dict, sources: dict):
        self.agent = agent
        self.settings = settings
        self.sources = sources  # rule -> the table that set it: agents.<id> or agents.default

    def source(self, rule: str) -> str:
        return self.sources.get(rule, "no [agents] rule")

    def allows(self, rule: str) -> bool:
        value = self.settings.get(rule)
        return True if value is None else bool(value)

    def refusal(self, rule: str, what: str) -> str | None:
        """None when allowed, else the message naming the rule."""
        if self.allows(rule):
            return None
        return f"{self.agent or 'this agent'} may not {what}: {rule} = false in [{self.source(rule)}]."

    def require(self, rule: str, what: str) -> None:
        message = self.refusal(rule, what)
        if message:
            raise Refused(message)

    def require_lease_minutes(self, minutes: float) -> None:
        limit = self.settings.get("max_lease_timeout_minutes")
        if limit is not None and minutes > limit:
            raise Refused(
                f"{self.agent} may not lease for {minutes:g} minutes: max_lease_timeout_minutes = {limit} "
                f"in [{self.source('max_lease_timeout_minutes')}]."
            )

    def require_target(self, target: str) -> None:
        allowed = self.settings.get("allowed_targets")
        if allowed is not None and target not in allowed:
            raise Refused(
                f"{self.agent} may not escalate to {target!r}: allowed_targets = {allowed} "
                f"in [{self.source('allowed_targets')}]."
            )


def for_agent(config, agent: str | None) -> Permissions:
    """The rules for ``agent``: each key from ``[agents.<id>]`` if set there, else ``[agents.default]``."""
    agents = config.get("agents") or {}
    settings: dict = {}
    sources: dict = {}
    for table in ("default", agent):
        entry = agents.get(table) if table else None
        for key, value in (entry or {}).items():
            if value is not None:
                settings[key] = value
                sources[key] = f"agents.{table}"
    return Permissions(agent, settings, sources)
