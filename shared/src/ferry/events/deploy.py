"""Events published by deploy-svc on `deploy.events`."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ferry.events.base import Event
from ferry.events.release import BackoutStep, BackoutStepKind, ValidationKind
from ferry.events.strategy import Strategy as Strategy  # deployments name it

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


class EnvironmentClass(StrEnum):
    """What an environment is for. Development and test environments take a release as
    soon as its package is built (its staged media), for Service Validation and Testing;
    staging and production ones only what the DML made available. Only production moves a
    release's lifecycle and counts in the delivery metrics."""

    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"

    @property
    def takes_staged_media(self) -> bool:
        return self in (EnvironmentClass.DEVELOPMENT, EnvironmentClass.TEST)

    @property
    def needs_window(self) -> bool:
        """Whether a release goes there only in its deployment window for it."""
        return not self.takes_staged_media

    @classmethod
    def of(cls, production: bool, environment_class: EnvironmentClass | None) -> EnvironmentClass:
        """The class an event names, or, in one recorded before classes existed, the one
        its `production` flag meant."""
        if environment_class is not None:
            return environment_class
        return cls.PRODUCTION if production else cls.STAGING


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
    """Whether it is of class production (kept for consumers that know no classes)."""
    targets: list[TargetSpec]
    environment_class: EnvironmentClass | None = None
    """None in events recorded before classes: `EnvironmentClass.of` tells."""


# --- Deployments ---------------------------------------------------------------------


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
    environment_class: EnvironmentClass | None = None
    """The environment's class when the deployment was planned; None in events recorded
    before classes, when every deployment counted as a production one."""

    @property
    def in_production(self) -> bool:
        """Whether it moves the release's lifecycle (old events: every deployment did)."""
        return self.environment_class in (None, EnvironmentClass.PRODUCTION)

    def aggregate_id(self) -> str:
        return str(self.deployment_id)


class ValidationEvidence(BaseModel):
    """A test deployment that validates the package it took: its verification (passing,
    or failing and rolled back) becomes that kind of validation of that package revision,
    recorded for the tester who asked for it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: ValidationKind
    package_revision: int
    tester: str


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
    package_revision: int | None = None
    """For a development or test environment: the built package it takes (staged media);
    None: the media the DML made available."""
    validates: ValidationEvidence | None = None


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
    validates: ValidationEvidence | None = None
    """A passed validation of the package, for release-svc to record."""


class DeploymentFailed(DeploymentEvent):
    type: Literal["DeploymentFailed"] = "DeploymentFailed"
    schema_version: Literal[1] = 1
    reason: str


class RollbackStarted(DeploymentEvent):
    """The release's backout plan is being followed, step by step."""

    type: Literal["RollbackStarted"] = "RollbackStarted"
    schema_version: Literal[1] = 1
    reason: str
    requested_by: str = ""
    steps: list[BackoutStep] = []
    """The release's backout plan as it was then (the driver's rollback first unless the
    plan places it); empty in events recorded before plans were typed: the rollback alone."""


class BackoutStepAwaitingConfirmation(DeploymentEvent):
    """A manual step of the backout (or a webhook step that failed) waits for someone to
    do it and confirm it (`POST /deployments/{id}/backout/{step}/confirm`)."""

    type: Literal["BackoutStepAwaitingConfirmation"] = "BackoutStepAwaitingConfirmation"
    schema_version: Literal[1] = 1
    step: int
    """From 0, in the plan's order."""
    description: str
    reason: str = ""
    """Why it waits when it is not a manual step (e.g. the webhook's answer code)."""


class BackoutStepDone(DeploymentEvent):
    """A step of the backout is done: by deploy-svc (`service:deploy-svc`), or confirmed by
    the person who did it."""

    type: Literal["BackoutStepDone"] = "BackoutStepDone"
    schema_version: Literal[1] = 1
    step: int
    kind: BackoutStepKind
    by: str
    note: str = ""


class TargetRolledBack(DeploymentEvent):
    type: Literal["TargetRolledBack"] = "TargetRolledBack"
    schema_version: Literal[1] = 1
    target: str
    version: str | None
    """The version live again (None: nothing was there before)."""


class DeploymentRolledBack(DeploymentEvent):
    type: Literal["DeploymentRolledBack"] = "DeploymentRolledBack"
    schema_version: Literal[1] = 1
    validates: ValidationEvidence | None = None
    """A failed validation of the package (it failed and was rolled back), for release-svc
    to record."""


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


# --- Drift: what runs on a target that Ferry did not put there ---------------------------


class TargetEvent(Event):
    """An event of one target of an environment, apart from any deployment."""

    stream_prefix: ClassVar[str] = "target"
    environment: str
    target: str

    def aggregate_id(self) -> str:
        return f"{self.environment}:{self.target}"


class UnauthorisedChangeDetected(TargetEvent):
    """A target runs something else than what Ferry deployed there last: a change made
    behind Ferry's back (no deployment held the target when it was looked at)."""

    type: Literal["UnauthorisedChangeDetected"] = "UnauthorisedChangeDetected"
    schema_version: Literal[1] = 1
    expected: str | None
    """The version Ferry made live there last (None: it took the release off)."""
    found: str | None
    """What the target says is live (None: nothing)."""


class UnauthorisedChangeCleared(TargetEvent):
    """The target runs what Ferry deployed there again."""

    type: Literal["UnauthorisedChangeCleared"] = "UnauthorisedChangeCleared"
    schema_version: Literal[1] = 1
    version: str | None
