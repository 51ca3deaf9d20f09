"""els-svc settings: the shared ones plus its port and schema."""

from __future__ import annotations

from pydantic import Field, SecretStr

from ferry.events.deploy import EnvironmentClass
from ferry.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = Field(8004, gt=0, lt=65536, validation_alias="FERRY_ELS_PORT")
    db_schema: str = Field(
        "els", pattern=r"^[a-z_][a-z0-9_]*$", validation_alias="FERRY_ELS_DB_SCHEMA"
    )
    evaluate_seconds: float = Field(60, gt=0, validation_alias="FERRY_ELS_EVALUATE_SECONDS")
    """How often cases are judged as their periods close."""
    environment_classes: frozenset[EnvironmentClass] = Field(
        frozenset({EnvironmentClass.PRODUCTION}),
        validation_alias="FERRY_ELS_ENVIRONMENT_CLASSES",
    )
    """The classes of environment whose completed deployments get Early Life Support (a
    deployment recorded before classes counts as production's)."""
    escalation_webhook_url: str | None = Field(
        None, pattern=r"^https?://", validation_alias="FERRY_ELS_ESCALATION_WEBHOOK_URL"
    )
    """Where each escalation is also POSTed, signed (unset: the event alone)."""
    escalation_webhook_secret: SecretStr = Field(
        SecretStr(""), validation_alias="FERRY_ELS_ESCALATION_WEBHOOK_SECRET"
    )
    """The HMAC secret the escalation webhook's requests are signed with."""
