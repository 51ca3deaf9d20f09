"""The CloudEvents 1.0 envelope every Ferry event travels in, with Ferry's extensions.

Hand-written, not the CloudEvents SDK (#15): cloudevents 2.2.0 serialises this envelope 2.6x
and parses it 3.7x slower (its pydantic API 59x and 9x), and accepts a missing time, subject or
data, a non-UUID id, specversion 0.3 and a non-numeric streamversion. Both refuse an empty
source or type and a time without offset; only the SDK a badly named extension attribute,
which Ferry ignores as it does any it does not know. `python -m bench.standards`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


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

    The audit chain (`ferry.audit.chain`): `streamid` (the event store stream the event
    belongs to; several streams may share a subject), `prevhash` (the `hash` of the
    stream's previous event; None for its first) and `hash` (SHA-256 of the envelope's
    canonical JSON without `hash`). Events written before the chain existed have none.

    Signed decisions (`ferry.eventsigning`): `signature` (base64 Ed25519 signature of
    `hash` by the publishing service) and `signingkey` (that key's id). Not hashed: the
    signature is over the hash. None for a service with no signing key configured.
    """

    # extra="ignore": unknown extension attributes from newer producers are not an error.
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    # CloudEvents: `source` and `type` non-empty, `time` RFC 3339 (with its offset).
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: AwareDatetime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str
    causationid: str | None = None
    actor: str = "external"
    actorroles: str | None = None
    traceparent: str | None = None
    streamversion: int = 0
    """0 for an event from outside Ferry (on an inbound topic), which has no stream here."""
    streamid: str | None = None
    prevhash: str | None = None
    hash: str | None = None
    signature: str | None = None
    signingkey: str | None = None
    data: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _conversation_starts_here(cls, values: Any) -> Any:
        # Outside tools need not know the extension: their event starts its own conversation.
        if isinstance(values, dict) and not values.get("correlationid") and "id" in values:
            return {**values, "correlationid": str(values["id"])}
        return values

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)
