"""Events published by deploy-svc on `deploy.events`."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from ferry.events.base import Event


class DeploymentEvent(Event):
    """An event of one deployment of a release to an environment."""

    stream_prefix: ClassVar[str] = "deployment"
    deployment_id: UUID
    release_id: UUID
    environment: str

    def aggregate_id(self) -> str:
        return str(self.deployment_id)


class DeploymentCompleted(DeploymentEvent):
    """Every wave of the deployment was installed and verified."""

    type: Literal["DeploymentCompleted"] = "DeploymentCompleted"
    schema_version: Literal[1] = 1
