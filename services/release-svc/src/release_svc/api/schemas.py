"""Request and response bodies of the releases API."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from ferry.events.release import ReleaseType
from ferry.fields import Line, Notes, Prose
from release_svc.domain.release import Release

VersionLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.+-]+$"),
]


class Dates(BaseModel):
    """Planned start and end, end not before start."""

    model_config = ConfigDict(extra="forbid")

    planned_start: date
    planned_end: date

    @field_validator("planned_end")
    @classmethod
    def _not_before_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("planned_start")
        if start is not None and end < start:
            raise ValueError("must not be before planned_start")
        return end


class ReleasePlanIn(Dates):
    """A minimal release plan: what and when."""

    name: Line = Field(examples=["Payments 2026.12"])
    version: VersionLabel = Field(examples=["2026.12.0"])
    release_type: ReleaseType = ReleaseType.MINOR
    description: Notes = ""
    owners: list[Line] = Field(
        default=[], max_length=50, description="subjects who may change the plan too"
    )
    escalation_contact: Notes = Field(
        default="", description="the team or person deployment incidents escalate to"
    )


class ScheduleIn(Dates):
    """New planned dates and why they moved."""

    reason: Prose


class CancellationIn(BaseModel):
    """Why a release is called off."""

    model_config = ConfigDict(extra="forbid")

    reason: Prose


class DependenciesIn(BaseModel):
    """All the releases this one depends on (replacing the earlier set)."""

    model_config = ConfigDict(extra="forbid")

    depends_on: list[UUID] = Field(max_length=100)


class ReleaseOut(BaseModel):
    """A release as release-svc knows it."""

    id: UUID
    identifier: str
    release_type: ReleaseType
    name: str
    description: str
    version: str
    status: str
    planned_start: date | None
    planned_end: date | None
    release_manager: str
    owners: list[str]
    escalation_contact: str
    depends_on: list[UUID]
    stream_version: int

    @classmethod
    def of(cls, release: Release) -> ReleaseOut:
        return cls(
            id=release.id,
            identifier=release.identifier,
            release_type=release.release_type,
            name=release.name,
            description=release.description,
            version=release.release_version,
            status=str(release.status),
            planned_start=release.planned_start,
            planned_end=release.planned_end,
            release_manager=release.release_manager,
            owners=sorted(release.owners),
            escalation_contact=release.escalation_contact,
            depends_on=sorted(release.depends_on),
            stream_version=release.version,
        )


class ReleaseSummary(BaseModel):
    """A release as the list shows it."""

    release_id: UUID
    identifier: str | None
    release_type: ReleaseType | None
    name: str
    version: str
    status: str
    planned_start: date
    planned_end: date
    release_manager: str
    stream_version: int


class ReleasePage(BaseModel):
    """A page of releases; `next` is the cursor of the following page, or null at the end."""

    items: list[ReleaseSummary]
    next: str | None
