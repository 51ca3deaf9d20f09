"""release-svc settings: the shared ones plus its port, schema and communications poll."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from ferry.auth import Role
from ferry.settings import ServiceSettings


class NotifyWebhook(BaseModel):
    """A chat channel's incoming webhook: its URL (a secret: Slack's and Teams' carry their
    token), the HMAC key its requests are signed with, and the JSON it takes."""

    url: SecretStr
    secret: SecretStr
    format: Literal["slack", "teams"] = "slack"


class Settings(ServiceSettings):
    port: int = Field(8001, gt=0, lt=65536, validation_alias="FERRY_RELEASE_PORT")
    db_schema: str = Field(
        "release", pattern=r"^[a-z_][a-z0-9_]*$", validation_alias="FERRY_RELEASE_DB_SCHEMA"
    )
    communication_poll_seconds: float = Field(30.0, gt=0)
    """How often to look for communication plan entries that fell due."""
    feed_max_streams: int = Field(1000, ge=1)
    """Event feed streams one replica serves at once; past it, `429` with `Retry-After`."""
    feed_max_streams_per_subject: int = Field(10, ge=1)
    """Event feed streams one caller (token subject) may have open at once on a replica."""
    feed_replay_roles: list[Role] = [Role.AUDITOR]
    """Who may read the feed `from=beginning` (a replay of every topic), or resume from a
    cursor further back than `feed_resume_window`."""
    feed_resume_window: int = Field(10_000, ge=0)
    """How far behind the newest event (in records, on any partition) a cursor may resume
    for everyone else: enough for a reconnect, not a replay by a hand-made cursor."""
    smtp_host: str | None = None
    """The SMTP server email notifications go through; without one, they fail (and say so)."""
    smtp_port: int = Field(25, gt=0, lt=65536)
    smtp_from: str = "ferry@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    notify_webhooks: dict[str, NotifyWebhook] = {}
    """Chat webhooks by name, as JSON: audiences name them, events never carry their URL."""
    notify_poll_seconds: float = Field(1.0, gt=0)
    """How often the notifier looks for notifications due."""
    notify_window_warning_minutes: float = Field(30.0, gt=0)
    """How long before a window closes, with its release not deployed there, the people in
    charge of the release are told."""
    notify_lease_seconds: float = Field(60.0, gt=0)
    """How long a notification claimed for delivery is left to its notifier: one that died
    mid-delivery has it tried again (under the same message id) after this."""
    notify_look_seconds: float = Field(60.0, gt=0)
    """How often the notifier looks for what no event announces: windows about to close
    undeployed, improvement actions overdue (each told once)."""
    notify_backoff_seconds: list[float] = Field(
        [30, 120, 600, 3600, 21600], min_length=1, max_length=20
    )
    """The wait after each failed attempt of a delivery; after the last, it has failed."""
