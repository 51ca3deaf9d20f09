"""The CloudEvents 1.0 envelope every Ferry event travels in, with Ferry's extensions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class Meta:
    """Who caused an event and in which conversation: copied into each envelope."""

    actor: str
    correlation_id: str
    causation_id: str | None = None
    roles: tuple[str, ...] = ()
    """The actor's roles when it acted (from its token)."""
    traceparent: str | None = None
    """The W3C trace context of the work that caused the event."""


class Envelope(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode.

    Extensions: `correlationid` (the conversation, from `X-Correlation-ID`), `causationid`
    (the event or request that caused this one), `actor` (who did it: a token's subject, or
    `service:<name>`), `actorroles` (the actor's roles then, comma-separated) and
    `streamversion` (the event's version within its aggregate's stream), and `traceparent`
    (CloudEvents' distributed-tracing extension: the trace the event belongs to).
    """

    # extra="ignore": unknown extension attributes from newer producers are not an error.
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    source: str
    type: str
    time: datetime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str
    causationid: str | None = None
    actor: str
    actorroles: str | None = None
    traceparent: str | None = None
    streamversion: int
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)
