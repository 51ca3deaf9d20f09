"""Events of notifications, published by release-svc on `release.events`: the directory of
audiences, and each delivery to a person or channel.

No event carries a secret: a webhook is named, its URL and key stay in the operator's
configuration; a failure's reason is the channel's answer code (an SMTP reply code, an
HTTP status), never the remote's text nor a URL.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from ferry.events.base import Event

AUDIENCE_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"


class Channel(StrEnum):
    """How a notification reaches its recipient."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    """A chat channel's incoming webhook (Slack- or Teams-compatible), by name."""
    INBOX = "inbox"
    """The person's in-app inbox (`GET /notifications`)."""


class AudienceEvent(Event):
    stream_prefix: ClassVar[str] = "audience"
    audience: str = Field(pattern=AUDIENCE_NAME_PATTERN)

    def aggregate_id(self) -> str:
        return self.audience


class AudienceDefined(AudienceEvent):
    """An audience as it now is (replacing its earlier definition): who is in it and the
    channels that reach it."""

    type: Literal["AudienceDefined"] = "AudienceDefined"
    schema_version: Literal[1] = 1
    description: str = ""
    members: list[str] = []
    """Subjects: each gets the audience's notifications in their inbox."""
    emails: list[str] = []
    webhooks: list[str] = []
    """Names of webhooks the operator configured (`FERRY_NOTIFY_WEBHOOKS`)."""
    by: str


class NotificationEvent(Event):
    stream_prefix: ClassVar[str] = "notification"
    notification_id: UUID
    release_id: UUID | None = None
    cause: UUID
    """The event that called for it (`CommunicationDue`, `DeploymentFailed`, ...)."""
    channel: Channel
    recipient: str
    """A subject (inbox), an email address, or a webhook's name."""

    def aggregate_id(self) -> str:
        return str(self.notification_id)


class NotificationSent(NotificationEvent):
    type: Literal["NotificationSent"] = "NotificationSent"
    schema_version: Literal[1] = 1
    subject: str
    attempts: int


class NotificationAcknowledged(NotificationEvent):
    """Its recipient acknowledged a notification the plan asked them to."""

    type: Literal["NotificationAcknowledged"] = "NotificationAcknowledged"
    schema_version: Literal[1] = 1


class NotificationFailed(NotificationEvent):
    """Given up after its last attempt; `reason` names the channel's last answer code."""

    type: Literal["NotificationFailed"] = "NotificationFailed"
    schema_version: Literal[1] = 1
    subject: str
    attempts: int
    reason: str
