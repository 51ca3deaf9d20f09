"""Bodies of the audiences' and the inbox's routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ferry.events.notify import Channel
from ferry.fields import Line, Notes
from release_svc.domain.audiences import Audience

Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$", max_length=254)
]
WebhookName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")]


class AudienceIn(BaseModel):
    """Who is in the audience (subjects: their inboxes) and the channels that reach it."""

    model_config = ConfigDict(extra="forbid")

    description: Notes = ""
    members: list[Line] = Field(default=[], max_length=500)
    emails: list[Email] = Field(default=[], max_length=200)
    webhooks: list[WebhookName] = Field(default=[], max_length=20)
    """Names of the chat webhooks the operator configured (`FERRY_NOTIFY_WEBHOOKS`)."""


class AudienceOut(BaseModel):
    name: str
    description: str
    members: list[str]
    emails: list[str]
    webhooks: list[str]
    version: int

    @classmethod
    def of(cls, audience: Audience) -> AudienceOut:
        return cls(
            name=audience.name,
            description=audience.description,
            members=sorted(audience.members),
            emails=sorted(audience.emails),
            webhooks=sorted(audience.webhooks),
            version=audience.version,
        )


class NotificationOut(BaseModel):
    """A notification in the caller's inbox."""

    notification_id: UUID
    release_id: UUID | None
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None
    acknowledge: bool
    """Whether the communication plan asks its recipients to acknowledge it."""
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> NotificationOut:
        return cls(**{k: v for k, v in dict(row).items() if k in cls.model_fields})


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next: str | None


class DeliveryOut(NotificationOut):
    """A notification about a release, as its manager follows it: to whom, over which
    channel, how its delivery went."""

    channel: Channel
    recipient: str
    state: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str
    """The channel's last answer when an attempt failed."""


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next: str | None
