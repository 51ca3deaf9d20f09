"""Request and response bodies of the freezes router."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from ferry.fields import Prose
from release_svc.api.schemas.common import Instant, Name
from release_svc.domain.freezes import Freeze


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
