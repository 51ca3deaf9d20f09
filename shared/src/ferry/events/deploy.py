"""Events published by deploy-svc on `deploy.events`."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ferry.events.base import Event

# --- Environments and their targets --------------------------------------------------


class TargetSpec(BaseModel):
    """One place a release is installed, and the driver that installs it there."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    driver: str
    """`local`, `webhook` or `kubernetes`."""
    settings: dict[str, object] = {}
    """The driver's own settings (a folder, a URL, a namespace; never a secret itself:
    secrets are named, and read from the service's configuration)."""


class EnvironmentEvent(Event):
    stream_prefix: ClassVar[str] = "environment"
    environment: str

    def aggregate_id(self) -> str:
        return self.environment


class EnvironmentDefined(EnvironmentEvent):
    """An environment and all its targets (replacing the earlier definition)."""

    type: Literal["EnvironmentDefined"] = "EnvironmentDefined"
    schema_version: Literal[1] = 1
    production: bool
    """Whether `approver-cannot-deploy-to-production` applies here."""
    targets: list[TargetSpec]


# --- Deployments ---------------------------------------------------------------------


class Strategy(StrEnum):
    BIG_BANG = "big_bang"
    PHASED = "phased"
    CANARY = "canary"


class Wave(BaseModel):
    """Targets deployed together, then verified, then left to soak."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    targets: list[str]
    soak_seconds: float = 0


class DeploymentEvent(Event):
    """An event of one deployment of a release to an environment."""

    stream_prefix: ClassVar[str] = "deployment"
    deployment_id: UUID
    release_id: UUID
    environment: str

    def aggregate_id(self) -> str:
        return str(self.deployment_id)


class DeploymentScheduled(DeploymentEvent):
    """A deployment plan was accepted: what, where, in which waves, from when."""

    type: Literal["DeploymentScheduled"] = "DeploymentScheduled"
    schema_version: Literal[1] = 1
    release_version: str
    strategy: Strategy
    waves: list[Wave]
    scheduled_start: AwareDatetime
    requested_by: str
    services: list[str] = []
    configuration_items: list[str] = []


class DeploymentStarted(DeploymentEvent):
    type: Literal["DeploymentStarted"] = "DeploymentStarted"
    schema_version: Literal[1] = 1


class WaveStarted(DeploymentEvent):
    type: Literal["WaveStarted"] = "WaveStarted"
    schema_version: Literal[1] = 1
    wave: int
    """From 0."""


class TargetDeployed(DeploymentEvent):
    """The release is live on one target (installed and switched)."""

    type: Literal["TargetDeployed"] = "TargetDeployed"
    schema_version: Literal[1] = 1
    wave: int
    target: str
    previous_version: str | None = None
    """What was live before, for a rollback to go back to."""


class TargetFailed(DeploymentEvent):
    type: Literal["TargetFailed"] = "TargetFailed"
    schema_version: Literal[1] = 1
    wave: int
    target: str
    reason: str


class WaveVerified(DeploymentEvent):
    """Every target of the wave passed its verification, and the wave soaked."""

    type: Literal["WaveVerified"] = "WaveVerified"
    schema_version: Literal[1] = 1
    wave: int


class DeploymentCompleted(DeploymentEvent):
    """Every wave was installed and verified: what Early Life Support needs to begin."""

    type: Literal["DeploymentCompleted"] = "DeploymentCompleted"
    schema_version: Literal[1] = 1
    services: list[str] = []
    configuration_items: list[str] = []
    completed_at: AwareDatetime | None = None
    deployed_by: str = ""


class DeploymentFailed(DeploymentEvent):
    type: Literal["DeploymentFailed"] = "DeploymentFailed"
    schema_version: Literal[1] = 1
    reason: str


class RollbackStarted(DeploymentEvent):
    """The release's backout plan is being followed: targets go back to what was before."""

    type: Literal["RollbackStarted"] = "RollbackStarted"
    schema_version: Literal[1] = 1
    reason: str
    requested_by: str = ""


class TargetRolledBack(DeploymentEvent):
    type: Literal["TargetRolledBack"] = "TargetRolledBack"
    schema_version: Literal[1] = 1
    target: str
    version: str | None
    """The version live again (None: nothing was there before)."""


class DeploymentRolledBack(DeploymentEvent):
    type: Literal["DeploymentRolledBack"] = "DeploymentRolledBack"
    schema_version: Literal[1] = 1


class DeploymentPaused(DeploymentEvent):
    type: Literal["DeploymentPaused"] = "DeploymentPaused"
    schema_version: Literal[1] = 1
    by: str


class DeploymentResumed(DeploymentEvent):
    type: Literal["DeploymentResumed"] = "DeploymentResumed"
    schema_version: Literal[1] = 1
    by: str


class DeploymentPausedOutsideWindow(DeploymentEvent):
    """A wave was due once the release's window for the environment had closed: the
    deployment waits for a new window (it then resumes by itself), or a change authority's
    override."""

    type: Literal["DeploymentPausedOutsideWindow"] = "DeploymentPausedOutsideWindow"
    schema_version: Literal[1] = 1
    wave: int
    """The wave that did not start."""
    window_end: AwareDatetime | None
    """When the window closed; None: the release has no window for the environment now."""


class DeploymentWindowOverridden(DeploymentEvent):
    """A change authority let a deployment paused outside its window go on, to the end,
    with the reason."""

    type: Literal["DeploymentWindowOverridden"] = "DeploymentWindowOverridden"
    schema_version: Literal[1] = 1
    by: str
    reason: str


class DeploymentAborted(DeploymentEvent):
    """Stopped for good where it was, without rolling back."""

    type: Literal["DeploymentAborted"] = "DeploymentAborted"
    schema_version: Literal[1] = 1
    by: str
    reason: str
