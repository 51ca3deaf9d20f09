"""Request and response bodies of the freezes and schedule API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from ferry.fields import Moment, Prose
from release_svc.api.schemas import Name
from release_svc.domain.freezes import Freeze
from release_svc.domain.schedule import ConflictKind, Scheduled


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Instant = Annotated[Moment, AfterValidator(_in_utc)]
"""A `Moment`, in UTC."""


class FreezeIn(BaseModel):
    """A freeze period: nothing in its scope may be deployed from `start` to `end`."""

    model_config = ConfigDict(extra="forbid")

    start: Instant = Field(examples=["2026-12-20T00:00:00+01:00"])
    end: Instant = Field(examples=["2027-01-04T00:00:00+01:00"])
    reason: Prose = Field(examples=["year-end trading peak"])
    environments: list[Name] = Field(
        default=[], max_length=50, description="empty: every environment"
    )
    services: list[Name] = Field(default=[], max_length=200, description="empty: every service")

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("must be after start")
        return end


class LiftIn(BaseModel):
    """Why a freeze no longer applies."""

    model_config = ConfigDict(extra="forbid")

    reason: Prose


class FreezeOut(BaseModel):
    """A freeze period; `lifted` ones no longer apply."""

    id: UUID
    start: datetime
    end: datetime
    reason: str
    environments: list[str]
    services: list[str]
    lifted: bool
    lift_reason: str
    stream_version: int

    @classmethod
    def of(cls, freeze: Freeze) -> FreezeOut:
        period = freeze.period
        assert period is not None, "only a declared freeze is shown"
        return cls(
            id=freeze.id,
            start=period.start,
            end=period.end,
            reason=period.reason,
            environments=sorted(period.environments),
            services=sorted(period.services),
            lifted=freeze.lifted,
            lift_reason=freeze.lift_reason,
            stream_version=freeze.version,
        )


class FreezePage(BaseModel):
    """A page of freezes; `next` is the cursor of the following page, or null at the end."""

    items: list[FreezeOut]
    next: str | None


class ConflictOut(BaseModel):
    """A clash to resolve: its kind, every release involved (by identifier), the freeze."""

    kind: ConflictKind
    releases: list[str]
    freeze_id: UUID | None
    detail: str


class ScheduleEntryOut(BaseModel):
    """One release's deployment window in one environment."""

    release_id: UUID
    identifier: str
    name: str
    status: str
    environment: str
    start: datetime
    end: datetime
    services: list[str]
    owners: list[str]
    """The release manager and the owners."""
    depends_on: list[UUID]
    deployed: bool
    conflicts: list[ConflictOut]

    @classmethod
    def of(cls, shown: Scheduled) -> ScheduleEntryOut:
        entry = shown.entry
        return cls(
            release_id=entry.release_id,
            identifier=entry.identifier,
            name=shown.name,
            status=str(entry.status),
            environment=entry.window.environment,
            start=entry.window.start,
            end=entry.window.end,
            services=sorted(entry.services),
            owners=list(shown.owners),
            depends_on=sorted(entry.depends_on),
            deployed=entry.deployed,
            conflicts=[
                ConflictOut(
                    kind=c.kind, releases=list(c.releases), freeze_id=c.freeze_id, detail=c.detail
                )
                for c in shown.conflicts
            ],
        )


class SchedulePage(BaseModel):
    """A page of the schedule; `next` is the cursor of the following page, or null."""

    items: list[ScheduleEntryOut]
    next: str | None
