"""What a service records of another's event it would not act on: every service publishes
these on its own topic, the audit log of its refusals."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from ferry.events.base import Event


class ForeignEventRejected(Event):
    """A consumer did not act on an event from another service: a decision without a valid
    signature from the service owning its type (see `ferry.eventsigning`).

    Recorded with the record's place on Kafka, so the record itself can be found and
    examined; the event was not applied, in part or in whole.
    """

    type: Literal["ForeignEventRejected"] = "ForeignEventRejected"
    schema_version: Literal[1] = 1
    stream_prefix: ClassVar[str] = "rejected"
    consumer: str
    """The consumer (group) that refused it."""
    event_type: str
    event_id: UUID
    source: str
    """The service the event claimed to come from (its CloudEvents `source`)."""
    subject: str
    """What it was about: its aggregate's id (its CloudEvents `subject`)."""
    signingkey: str | None
    """The id of the key it was signed with, if any."""
    topic: str
    partition: int
    offset: int
    reason: str

    def aggregate_id(self) -> str:
        # One stream per consumer and record: refusals never contend for a stream's head,
        # not even two records forged with the same event id.
        return f"{self.consumer}-{self.topic}-{self.partition}-{self.offset}"
