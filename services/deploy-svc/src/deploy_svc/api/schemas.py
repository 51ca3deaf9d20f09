"""Request and response bodies of deploy-svc's API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from deploy_svc.config import DriverName
from deploy_svc.domain.deployment import Deployment
from deploy_svc.domain.environment import Environment
from ferry.events.deploy import EnvironmentClass, Strategy, TargetSpec, ValidationEvidence, Wave
from ferry.events.release import BackoutStep, ValidationKind
from ferry.fields import Moment, Notes, Prose

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    driver: DriverName = Field(
        description="one of those the operator enabled (FERRY_DEPLOY_DRIVERS)"
    )
    settings: dict[str, object] = Field(default={}, description="the driver's own settings")


class EnvironmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    environment_class: EnvironmentClass | None = Field(
        default=None,
        alias="class",
        description="development, test, staging or production; absent: production if "
        "`production` is true, else staging",
    )
    production: bool | None = Field(
        default=None, description="the same as `class: production` (before classes)"
    )
    targets: list[TargetIn] = Field(min_length=1, max_length=5000)
    reason: str = Field("", max_length=2000)
    """Why: required when the change is a proposal (a production environment's, or a
    change of class)."""

    @model_validator(mode="after")
    def _one_class(self) -> EnvironmentIn:
        given = self.environment_class
        if given is not None and self.production not in (
            None,
            given is EnvironmentClass.PRODUCTION,
        ):
            raise ValueError("production contradicts class: give one of them")
        return self

    @property
    def classified(self) -> EnvironmentClass:
        return EnvironmentClass.of(bool(self.production), self.environment_class)


class EnvironmentOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    name: str
    environment_class: EnvironmentClass = Field(alias="class")
    production: bool
    targets: list[TargetSpec]
    stream_version: int

    @classmethod
    def of(cls, environment: Environment) -> EnvironmentOut:
        return cls(
            name=environment.name,
            environment_class=environment.environment_class,
            production=environment.production,
            targets=environment.targets,
            stream_version=environment.version,
        )


class StrategyIn(BaseModel):
    """Big bang (one wave), phased (`sizes` or `percentages` of the targets per wave, the
    rest last) or canary (`canary` targets first, then the rest)."""

    model_config = ConfigDict(extra="forbid")

    kind: Strategy = Strategy.BIG_BANG
    sizes: list[Annotated[int, Field(ge=1)]] = Field(default=[], max_length=100)
    percentages: list[Annotated[float, Field(gt=0, le=100)]] = Field(default=[], max_length=100)
    canary: int = Field(default=1, ge=1)
    soak_seconds: float = Field(default=0, ge=0, le=86400, description="after each wave")


class DeploymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release_id: UUID
    environment: Name
    targets: list[Name] = Field(default=[], max_length=5000, description="empty: all of them")
    strategy: StrategyIn = StrategyIn()
    scheduled_start: Moment | None = Field(
        default=None, description="when to start (inside the window); absent: now"
    )
    validation: ValidationKind | None = Field(
        default=None,
        description="test environments: the validation its verification records "
        "(ValidationResultRecorded, the deployment as evidence)",
    )


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Prose


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Notes = Field(default="", description="what was done, for the record")


class DeploymentOut(BaseModel):
    id: UUID
    release_id: UUID | None
    environment: str
    release_version: str
    environment_class: EnvironmentClass | None
    """None: planned before environments had classes."""
    package_revision: int | None
    """The built package it takes (development, test); None: what the DML made available."""
    validates: ValidationEvidence | None
    state: str
    paused: bool
    awaiting_window: bool
    """Paused because a wave was due after its window closed: it goes on by itself in a new
    window of the release, or once a change authority overrides."""
    window_overridden: bool
    strategy: Strategy
    waves: list[Wave]
    verified_waves: list[int]
    deployed: list[str]
    """Targets the new version is live on (or was, before a rollback)."""
    failed: dict[str, str]
    rolled_back: list[str]
    backout: list[BackoutStep]
    """The backout plan being followed (from `RollbackStarted`); empty until then."""
    backout_done: list[int]
    awaiting_step: int | None
    """The backout step waiting to be confirmed, if any."""
    reason: str
    scheduled_start: datetime | None
    requested_by: str
    stream_version: int

    @classmethod
    def of(cls, deployment: Deployment) -> DeploymentOut:
        return cls(
            id=deployment.id,
            release_id=deployment.release_id,
            environment=deployment.environment,
            release_version=deployment.release_version,
            environment_class=deployment.environment_class,
            package_revision=deployment.package_revision,
            validates=deployment.validates,
            state=str(deployment.state),
            paused=deployment.paused,
            awaiting_window=deployment.awaiting_window,
            window_overridden=deployment.window_overridden,
            strategy=deployment.strategy,
            waves=deployment.waves,
            verified_waves=sorted(deployment.verified_waves),
            deployed=sorted(deployment.deployed),
            failed=deployment.failed,
            rolled_back=sorted(deployment.rolled_back),
            backout=deployment.backout,
            backout_done=sorted(deployment.backout_done),
            awaiting_step=deployment.awaiting_step,
            reason=deployment.reason,
            scheduled_start=deployment.scheduled_start,
            requested_by=deployment.requested_by,
            stream_version=deployment.version,
        )


class DeploymentSummary(BaseModel):
    deployment_id: UUID
    release_id: UUID
    environment: str
    release_version: str
    state: str
    paused: bool
    awaiting_window: bool
    scheduled_start: datetime
    requested_by: str
    targets: list[str]
    deployed: list[str]
    reason: str
    stream_version: int


class UnauthorisedChangeOut(BaseModel):
    """A target found running something else than what Ferry deployed there last."""

    environment: str
    target: str
    expected: str | None
    """What Ferry made live there last (null: it took the release off)."""
    found: str | None
    """What the target said was live (null: nothing)."""
    detected_at: datetime
    cleared_at: datetime | None
    """When the target ran what Ferry deployed there again; null while it does not."""
