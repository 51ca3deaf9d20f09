"""Fields and bodies more than one router's schemas share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from ferry.events.release import Activity, ScopeKind, Span
from ferry.fields import Day, Line, Moment, Notes

VersionLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.+-]+$"),
]


class Dates(BaseModel):
    """Planned start and end, end not before start."""

    model_config = ConfigDict(extra="forbid")

    planned_start: Day
    planned_end: Day

    @field_validator("planned_end")
    @classmethod
    def _not_before_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("planned_start")
        if start is not None and end < start:
            raise ValueError("must not be before planned_start")
        return end


Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][\w.-]*$"
    ),
]
"""An environment or service name: letters, digits, `.`, `_`, `-`."""


class SpanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Day
    end: Day


Activities = Annotated[
    dict[Activity, SpanIn],
    Field(
        default={},
        description="planned first and last day of each activity, within the release's dates",
        examples=[{"deployment": {"start": "2026-12-03", "end": "2026-12-03"}}],
    ),
]


def spans(activities: dict[Activity, SpanIn]) -> dict[Activity, Span]:
    return {a: Span(start=s.start, end=s.end) for a, s in activities.items()}


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Instant = Annotated[Moment, AfterValidator(_in_utc)]
"""A `Moment`, in UTC."""


class ScopeItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ScopeKind
    name: Line
    version: Notes = Field(default="", max_length=64)
    description: Notes = ""
