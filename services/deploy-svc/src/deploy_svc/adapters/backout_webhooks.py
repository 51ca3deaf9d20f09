"""The webhooks a backout plan's `webhook` steps call, by name: URL and key only in the
operator's configuration (`FERRY_DEPLOY_BACKOUT_WEBHOOKS`), each request signed like every
webhook Ferry sends (`ferry.signing`) and carrying an `Idempotency-Key`, so a step repeated
after a crash is one call to the receiver. What a refusal says names the webhook and the
status only: it goes into an event, kept for ever."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from ferry import outbound, signing


class BackoutWebhook(BaseModel):
    url: SecretStr
    """A secret: chat and automation URLs often carry their token."""
    secret: SecretStr
    """The HMAC key the requests are signed with."""


class WebhookRefused(Exception):
    """The webhook did not take the step; the reason names it and the status, nothing else."""


class BackoutWebhooks:
    def __init__(
        self,
        hooks: Mapping[str, BackoutWebhook],
        *,
        timeout: float = 30,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._hooks = hooks
        self._timeout = timeout
        self._transport = transport

    async def call(self, name: str, key: str, payload: Mapping[str, Any]) -> str:
        """POST `payload` to the webhook `name`; what it answered, if it took it."""
        hook = self._hooks.get(name)
        if hook is None:
            raise WebhookRefused(f"no backout webhook {name} is configured")
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            **signing.sign(hook.secret.get_secret_value().encode(), body),
        }
        try:
            async with outbound.client(timeout=self._timeout, transport=self._transport) as client:
                answer = await client.post(
                    hook.url.get_secret_value(), content=body, headers=headers
                )
        except httpx.HTTPError as exc:
            raise WebhookRefused(f"webhook {name} did not answer ({type(exc).__name__})") from exc
        if not answer.is_success:
            raise WebhookRefused(f"webhook {name} answered HTTP {answer.status_code}")
        return f"webhook {name} answered HTTP {answer.status_code}"
