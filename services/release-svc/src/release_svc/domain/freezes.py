"""Freeze (blackout) periods: when nothing in their scope may be deployed."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from uuid import UUID

from ferry.errors import Conflict, InvalidTransition
from ferry.events.policy import FreezeEvent, FreezePeriodDeclared, FreezePeriodLifted
from ferry.events.release import DeploymentWindow
from ferry.eventsourced import EventSourced
from ferry.freezes import FreezePeriod
from release_svc.domain.plan import InvalidPlan


def covering(
    freezes: Iterable[FreezePeriod], window: DeploymentWindow, services: Set[str]
) -> list[FreezePeriod]:
    return [f for f in freezes if f.covers(window, services)]


class FreezeAlreadyDeclared(Conflict):
    """A freeze with this id exists already."""


@dataclass
class Freeze(EventSourced):
    """The aggregate of one freeze period."""

    id: UUID
    version: int = 0
    period: FreezePeriod | None = None
    lifted: bool = False
    lift_reason: str = ""

    def declare(self, period: FreezePeriod) -> list[FreezeEvent]:
        if self.exists:
            raise FreezeAlreadyDeclared(f"freeze {self.id} is already declared")
        if period.end <= period.start:
            raise InvalidPlan("end", "must be after start")
        return [
            FreezePeriodDeclared(
                freeze_id=period.freeze_id,
                start=period.start,
                end=period.end,
                reason=period.reason,
                environments=sorted(period.environments),
                services=sorted(period.services),
            )
        ]

    def lift(self, reason: str) -> list[FreezePeriodLifted]:
        if self.lifted:
            raise InvalidTransition(self.id, "lifted", "lift")
        return [FreezePeriodLifted(freeze_id=self.id, reason=reason)]

    def _evolve(self, event: FreezeEvent) -> None:
        match event:
            case FreezePeriodDeclared():
                self.period = FreezePeriod.declared(event)
            case FreezePeriodLifted():
                self.lifted = True
                self.lift_reason = event.reason
