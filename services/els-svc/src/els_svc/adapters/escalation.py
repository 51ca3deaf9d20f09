"""The optional escalation webhook: each `ElsEscalated` POSTed, signed, to a URL of the
operator's (a paging or chat tool's bridge). The event itself is the record; the webhook
is a courtesy, tried a few times and then logged as missed."""

from __future__ import annotations

import asyncio
import logging

import httpx
import orjson
from pydantic import SecretStr

from ferry import outbound, signing
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events.els import ElsEscalated

log = logging.getLogger(__name__)
ATTEMPTS = 3


class EscalationWebhook:
    def __init__(self, url: str, secret: SecretStr, *, timeout: float = 10.0) -> None:
        self._url = url
        self._secret = secret.get_secret_value().encode()
        self._timeout = timeout

    async def on_escalated(self, event: ElsEscalated, envelope: Envelope, _: UnitOfWork) -> None:
        body = orjson.dumps({"event_id": str(envelope.id), **event.model_dump(mode="json")})
        headers = {"Content-Type": "application/json", **signing.sign(self._secret, body)}
        async with outbound.client(timeout=self._timeout) as client:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    answer = await client.post(self._url, content=body, headers=headers)
                    if answer.is_success:
                        return
                    reason = f"answered {answer.status_code}"
                except httpx.HTTPError as exc:
                    reason = repr(exc)
                await asyncio.sleep(attempt)
        log.error("escalation webhook missed for case %s: %s", event.case_id, reason)
