"""Response bodies of the schedule router."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import (
    BaseModel,
)

from ferry.events.release import Level
from release_svc.domain.schedule import ConflictKind, Scheduled


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
    teams: list[str]
    """The teams the release touches: the one it is planned for, those owning its services."""
    deployed: bool
    conflicts: list[ConflictOut]
    readiness_open: list[str]
    """What its approval said must be ready before production and is not yet confirmed
    (`GET /releases/{id}/readiness`): deploy-svc refuses production until it is."""
    risk: Level | None
    """The release's assessed risk (its policy's rule for it binds production deployments);
    null until assessed."""

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
            teams=list(shown.teams),
            deployed=entry.deployed,
            conflicts=[
                ConflictOut(
                    kind=c.kind, releases=list(c.releases), freeze_id=c.freeze_id, detail=c.detail
                )
                for c in shown.conflicts
            ],
            readiness_open=list(shown.readiness_open),
            risk=shown.risk,
        )


class SchedulePage(BaseModel):
    """A page of the schedule; `next` is the cursor of the following page, or null."""

    items: list[ScheduleEntryOut]
    next: str | None
