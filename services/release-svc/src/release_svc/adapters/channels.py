"""Delivering one notification over its channel: email over SMTP, a chat webhook
(Slack- or Teams-compatible JSON, signed like Ferry's other webhooks), or the inbox, which
needs nothing more than the row itself.

A failure raises `DeliveryFailed` with a reason fit for an event: an SMTP reply code or an
HTTP status, never the remote's text, a webhook's URL (Slack's and Teams' carry their token)
nor a password.
"""

from __future__ import annotations

import asyncio
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import orjson

from ferry import outbound, signing
from ferry.events.notify import Channel
from release_svc.adapters.notifications import Due
from release_svc.config import NotifyWebhook, Settings

TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """The channel refused or could not be reached; the message says how, safely."""


class Channels:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.backoff = tuple(settings.notify_backoff_seconds)
        self.lease = timedelta(seconds=settings.notify_lease_seconds)

    async def send(self, due: Due) -> None:
        match due.channel:
            case Channel.INBOX:
                return
            case Channel.EMAIL:
                await asyncio.to_thread(self._email, due)
            case Channel.WEBHOOK:
                await self._webhook(due)

    def _email(self, due: Due) -> None:
        s = self.settings
        if not s.smtp_host:
            raise DeliveryFailed("no SMTP server is configured (FERRY_SMTP_HOST)")
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = due.recipient
        message["Subject"] = due.subject
        # The same id on every attempt: a receiver that saw it already drops the repeat.
        message["Message-ID"] = f"<{due.notification_id}@ferry>"
        message.set_content(due.body)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username and s.smtp_password:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            # The code alone: the server's text is a remote answer, and the reason is kept
            # for ever in NotificationFailed.
            raise DeliveryFailed(f"SMTP server answered {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {type(exc).__name__}") from exc

    async def _webhook(self, due: Due) -> None:
        webhook = self.settings.notify_webhooks.get(due.recipient)
        if webhook is None:
            raise DeliveryFailed(f"webhook {due.recipient} is not configured")
        body = orjson.dumps(_payload(webhook, due))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": str(due.notification_id),
            **signing.sign(webhook.secret.get_secret_value().encode(), body),
        }
        try:
            async with outbound.client(timeout=TIMEOUT_SECONDS) as client:
                answer = await client.post(
                    webhook.url.get_secret_value(), content=body, headers=headers
                )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook {due.recipient}: {type(exc).__name__}") from exc
        if not answer.is_success:
            raise DeliveryFailed(f"webhook {due.recipient} answered HTTP {answer.status_code}")


def _payload(webhook: NotifyWebhook, due: Due) -> dict[str, Any]:
    if webhook.format == "teams":
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": due.subject,
            "title": due.subject,
            "text": due.body,
        }
    return {"text": f"*{due.subject}*\n{due.body}"}
