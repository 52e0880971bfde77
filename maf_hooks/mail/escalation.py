"""The mail of an escalation: its subject and readable text (both naming the repository), with
the JSON payload attached; every message of one escalation is in one thread."""

from __future__ import annotations

import json

from maf_hooks.core.text import SIGNATURE, shown
from maf_hooks.identity import is_valid_agent_id
from maf_hooks.mail.message import build_message, thread_root

TYPE_CHECKING = False
if TYPE_CHECKING:
    from email.message import EmailMessage
    from typing import Any


def build(maf_type: str, payload: dict[str, Any], target: str, repository: str) -> EmailMessage:
    """The Maildir/SMTP message for an escalation payload, about ``repository``; it refers to
    the escalation's :func:`~maf_hooks.mail.message.thread_root`."""
    sender = payload.get("agentId")
    return build_message(
        sender=sender if sender and is_valid_agent_id(sender) else None,
        recipient=target,
        subject=subject(maf_type, payload, repository),
        text=readable(maf_type, payload, repository),
        maf_type=maf_type,
        json_payload=payload,
        extra_headers={"X-MAF-Escalation-Id": payload["escalationId"]},
        references=[thread_root(str(payload["escalationId"]))],
    )


def subject(maf_type: str, payload: dict[str, Any], repository: str) -> str:
    reason = " ".join(str(payload.get("reason", "")).split())[:120]
    head = f"[MAF] {maf_type} in {shown(repository)}"
    if maf_type == "ESCALATION_REQUEST":
        return f"{head} level {payload.get('level')} ({payload.get('priority')}): {reason}"
    if maf_type == "ESCALATION_TIMEOUT":
        return f"{head}: nobody acknowledged {payload.get('escalationId')}: {reason}"
    return f"{head} {payload.get('status', '')}: {payload.get('escalationId')}"


def readable(maf_type: str, payload: dict[str, Any], repository: str) -> str:
    lines = [f"{maf_type} {payload.get('escalationId')} in {shown(repository)}", ""]
    if maf_type == "ESCALATION_RESPONSE":
        lines.append(f"Your escalation was {payload.get('status')} by {payload.get('respondedBy')}.")
        if payload.get("note"):
            lines.append(f"Note: {payload['note']}")
    else:
        lines += [
            f"Agent:    {payload.get('agentId')}",
            f"Path:     {payload.get('pathId')} (level {payload.get('level')})",
            f"Priority: {payload.get('priority')}",
            f"Reason:   {payload.get('reason')}",
        ]
        if maf_type == "ESCALATION_TIMEOUT":
            lines += ["", "Nobody acknowledged this escalation in time; it is closed as timed out."]
        else:
            lines += ["", f"Acknowledge: maf escalate ack {payload.get('escalationId')} --note '...'",
                      f"Resolve:     maf escalate resolve {payload.get('escalationId')} --note '...'"]
    if payload.get("context"):
        lines += ["", "Context:", json.dumps(payload["context"], indent=2, sort_keys=True)]
    return "\n".join(lines + ["", SIGNATURE]) + "\n"
