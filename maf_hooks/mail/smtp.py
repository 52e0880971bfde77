"""Sending a message by SMTP, as ``escalation.smtp`` configures (host, port, STARTTLS, login)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from email.message import EmailMessage
    from typing import Any


def send(settings: Mapping[str, Any], address: str, message: EmailMessage, timeout: float,
         environ: Mapping[str, str]) -> None:
    """Send ``message`` to ``address``; the password is ``environ[settings["password_env"]]``."""
    import smtplib

    if not settings.get("host"):
        raise RuntimeError("escalation.smtp.host is not configured")
    del message["To"]
    message["To"] = address
    with smtplib.SMTP(settings["host"], settings.get("port", 25), timeout=timeout) as client:
        if settings.get("starttls"):
            client.starttls()
        if settings.get("username"):
            variable = settings.get("password_env") or ""
            client.login(settings["username"], environ.get(variable, ""))
        client.send_message(message, from_addr=settings.get("from_address"), to_addrs=[address])
