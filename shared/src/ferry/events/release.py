"""Events published by release-svc on `release.events`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from ferry.events.base import Event


class ReleaseType(StrEnum):
    """How big a change a release is; an emergency release takes the emergency path."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"
    EMERGENCY = "emergency"


class ReleaseEvent(Event):
    """An event of one release's stream."""

    stream_prefix: ClassVar[str] = "release"
    release_id: UUID

    def aggregate_id(self) -> str:
        return str(self.release_id)


class ReleasePlanned(ReleaseEvent):
    """A release manager planned a release."""

    type: Literal["ReleasePlanned"] = "ReleasePlanned"
    schema_version: Literal[1] = 1
    name: str
    version: str
    planned_start: date
    planned_end: date
    release_manager: str
    """The subject who planned it and manages it."""
    identifier: str
    """Human-readable and unique, e.g. REL-2026-0042."""
    # Defaults: events stored before these fields existed still read as they meant.
    release_type: ReleaseType = ReleaseType.MINOR
    description: str = ""
    owners: list[str] = []
    """Subjects who, besides the release manager, may change the plan."""
    escalation_contact: str = ""
    """The team or person deployment incidents and support escalate to."""


class ReleaseRescheduled(ReleaseEvent):
    """A release's planned dates moved; the earlier ones stay in its history."""

    type: Literal["ReleaseRescheduled"] = "ReleaseRescheduled"
    schema_version: Literal[1] = 1
    planned_start: date
    planned_end: date
    reason: str


class ReleaseCancelled(ReleaseEvent):
    """A release was called off before it was deployed."""

    type: Literal["ReleaseCancelled"] = "ReleaseCancelled"
    schema_version: Literal[1] = 1
    reason: str


class ReleaseDependenciesSet(ReleaseEvent):
    """The releases a release depends on (all of them, replacing the earlier set)."""

    type: Literal["ReleaseDependenciesSet"] = "ReleaseDependenciesSet"
    schema_version: Literal[1] = 1
    depends_on: list[UUID]
