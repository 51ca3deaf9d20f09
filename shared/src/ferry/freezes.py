"""A freeze (blackout) period: when nothing in its scope may be deployed.

release-svc declares freezes and flags the release windows they cover; deploy-svc learns
them from `FreezePeriodDeclared` and refuses a deployment that would start in one. Both
judge a freeze's scope by this one value, so they cannot come to disagree.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ferry.events.policy import FreezePeriodDeclared
from ferry.events.release import DeploymentWindow


@dataclass(frozen=True)
class FreezePeriod:
    """A freeze as declared. Empty `environments` or `services` means all of them."""

    freeze_id: UUID
    start: datetime
    end: datetime
    reason: str
    environments: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()

    @classmethod
    def declared(cls, event: FreezePeriodDeclared) -> FreezePeriod:
        return cls(
            event.freeze_id,
            event.start,
            event.end,
            event.reason,
            frozenset(event.environments),
            frozenset(event.services),
        )

    def applies_to(self, environment: str, services: Set[str]) -> bool:
        """Whether a release touching `services`, deployed to `environment`, is in scope;
        one that names no service only by a freeze of every service."""
        in_environment = not self.environments or environment in self.environments
        return in_environment and (not self.services or bool(self.services & services))

    def covers(self, window: DeploymentWindow, services: Set[str]) -> bool:
        """Whether deploying in `window` a release touching `services` falls in the freeze."""
        overlaps = window.start < self.end and self.start < window.end
        return overlaps and self.applies_to(window.environment, services)

    def holds_at(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def describe(self) -> str:
        return f"freeze {self.freeze_id} ({self.reason}, {self.start} to {self.end})"
