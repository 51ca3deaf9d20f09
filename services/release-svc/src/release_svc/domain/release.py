"""The Release aggregate: decide on commands, evolve by events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

from ferry.errors import Conflict, Forbidden, InvalidTransition, Unprocessable
from ferry.events.release import (
    ReleaseCancelled,
    ReleaseDependenciesSet,
    ReleaseEvent,
    ReleasePlanned,
    ReleaseRescheduled,
    ReleaseType,
)
from release_svc.domain.dependencies import find_cycle


class Status(StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


class InvalidPlan(Unprocessable):
    """A release plan that breaks a rule, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotTheReleaseManager(Forbidden):
    """Only a release's manager may change its plan."""


class AlreadyPlanned(Conflict):
    """A release with this id exists already."""


@dataclass(frozen=True)
class PlanRelease:
    """Plan a new release."""

    release_id: UUID
    name: str
    version: str
    planned_start: date
    planned_end: date
    release_manager: str
    identifier: str
    release_type: ReleaseType = ReleaseType.MINOR
    description: str = ""
    owners: frozenset[str] = frozenset()
    escalation_contact: str = ""


@dataclass(frozen=True)
class RescheduleRelease:
    """Move a release's planned dates."""

    release_id: UUID
    planned_start: date
    planned_end: date
    reason: str
    by: str


@dataclass(frozen=True)
class SetDependencies:
    """Say which releases a release depends on."""

    release_id: UUID
    depends_on: frozenset[UUID]
    by: str


class DependencyCycle(InvalidPlan):
    """The dependencies would close a cycle."""


@dataclass(frozen=True)
class CancelRelease:
    """Call a release off."""

    release_id: UUID
    reason: str
    by: str


def _check_dates(start: date, end: date) -> None:
    if end < start:
        raise InvalidPlan("planned_end", "must not be before planned_start")


@dataclass
class Release:
    """A release as its events tell it. `version` is its stream version (the ETag)."""

    id: UUID
    version: int = 0
    status: Status | None = None
    name: str = ""
    release_version: str = ""
    planned_start: date | None = None
    planned_end: date | None = None
    release_manager: str = ""
    identifier: str = ""
    release_type: ReleaseType = ReleaseType.MINOR
    description: str = ""
    owners: frozenset[str] = frozenset()
    escalation_contact: str = ""
    depends_on: frozenset[UUID] = frozenset()

    @classmethod
    def replay(cls, release_id: UUID, events: Iterable[ReleaseEvent]) -> Release:
        release = cls(release_id)
        for event in events:
            release.apply(event)
        return release

    @property
    def exists(self) -> bool:
        return self.version > 0

    def plan(self, cmd: PlanRelease) -> list[ReleaseEvent]:
        if self.exists:
            raise AlreadyPlanned(f"release {self.id} is already planned")
        _check_dates(cmd.planned_start, cmd.planned_end)
        return [
            ReleasePlanned(
                release_id=cmd.release_id,
                name=cmd.name,
                version=cmd.version,
                planned_start=cmd.planned_start,
                planned_end=cmd.planned_end,
                release_manager=cmd.release_manager,
                identifier=cmd.identifier,
                release_type=cmd.release_type,
                description=cmd.description,
                owners=sorted(cmd.owners),
                escalation_contact=cmd.escalation_contact,
            )
        ]

    def reschedule(self, cmd: RescheduleRelease) -> list[ReleaseEvent]:
        self._check_changeable(cmd.by, "reschedule")
        _check_dates(cmd.planned_start, cmd.planned_end)
        if (cmd.planned_start, cmd.planned_end) == (self.planned_start, self.planned_end):
            return []
        return [
            ReleaseRescheduled(
                release_id=self.id,
                planned_start=cmd.planned_start,
                planned_end=cmd.planned_end,
                reason=cmd.reason,
            )
        ]

    def set_dependencies(
        self, cmd: SetDependencies, graph: Mapping[UUID, Set[UUID]], names: Mapping[UUID, str]
    ) -> list[ReleaseEvent]:
        """`graph`: every other known release's dependencies; `names`: their identifiers."""
        self._check_changeable(cmd.by, "change the dependencies of")
        if unknown := sorted(str(r) for r in cmd.depends_on - graph.keys() - {self.id}):
            raise InvalidPlan("depends_on", f"no such releases: {', '.join(unknown)}")
        if (cycle := find_cycle(self.id, cmd.depends_on, graph)) is not None:
            named = " → ".join(names.get(r, str(r)) for r in cycle)
            raise DependencyCycle("depends_on", f"would close the cycle {named}")
        if cmd.depends_on == self.depends_on:
            return []
        return [ReleaseDependenciesSet(release_id=self.id, depends_on=sorted(cmd.depends_on))]

    def cancel(self, cmd: CancelRelease) -> list[ReleaseEvent]:
        self._check_changeable(cmd.by, "cancel")
        return [ReleaseCancelled(release_id=self.id, reason=cmd.reason)]

    def _check_changeable(self, subject: str, action: str) -> None:
        """A plan changes while it is only planned (later states, up to deployment, will join
        as the lifecycle grows), and only at the hands of its manager or owners."""
        if self.status is not Status.PLANNED:
            raise InvalidTransition(self.id, str(self.status), action)
        if subject != self.release_manager and subject not in self.owners:
            raise NotTheReleaseManager(
                f"only the release's manager, {self.release_manager}, or its owners may "
                "change its plan"
            )

    def apply(self, event: ReleaseEvent) -> None:
        """Evolve by one event; also how the release is rebuilt from its stream."""
        match event:
            case ReleasePlanned():
                self.status = Status.PLANNED
                self.name = event.name
                self.release_version = event.version
                self.planned_start = event.planned_start
                self.planned_end = event.planned_end
                self.release_manager = event.release_manager
                self.identifier = event.identifier
                self.release_type = event.release_type
                self.description = event.description
                self.owners = frozenset(event.owners)
                self.escalation_contact = event.escalation_contact
            case ReleaseRescheduled():
                self.planned_start = event.planned_start
                self.planned_end = event.planned_end
            case ReleaseCancelled():
                self.status = Status.CANCELLED
            case ReleaseDependenciesSet():
                self.depends_on = frozenset(event.depends_on)
        self.version += 1
