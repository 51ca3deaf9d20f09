"""What deploy-svc knows of releases, freezes and the library, from the other services'
events: what a deployment plan is judged against. Plain values; `adapters.release_facts`
keeps and reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ferry.events.release import BackoutStep, BackoutTrigger, Level, MediaRef
from ferry.events.strategy import Strategy
from ferry.manifest import SignedManifest


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class BuiltPackage:
    """The release's latest package as release-svc built it: what development and test
    environments take (staged media) before approval."""

    revision: int
    media: tuple[MediaRef, ...]
    built_by: str


@dataclass(frozen=True)
class RiskLimits:
    """What the release's policy asks of its production deployments, for its risk level."""

    level: Level | None
    least_strategy: Strategy = Strategy.BIG_BANG
    min_soak_seconds: float = 0


UNLIMITED = RiskLimits(None)
"""No rule: not approved yet, or its policy has none for its risk level."""


@dataclass(frozen=True)
class ReleaseFacts:
    release_id: UUID
    identifier: str
    version: str
    cancelled: bool = False
    windows: dict[str, Window] | None = None
    """Per environment."""
    overridden_freezes: frozenset[UUID] = frozenset()
    depends_on: frozenset[UUID] = frozenset()
    approvers: frozenset[str] = frozenset()
    built_by: str = ""
    """Who built the approved package; empty if its approval did not say."""
    validated_by: frozenset[str] = frozenset()
    """Who recorded validations of the approved package."""
    segregation: frozenset[str] = frozenset()
    """The segregation-of-duties rules of the release's policy, from `ReleaseApproved`."""
    services: frozenset[str] = frozenset()
    configuration_items: frozenset[str] = frozenset()
    available: SignedManifest | None = None
    """Set once the DML made the release available."""
    revoked: bool = False
    """The DML revoked the release, or any of its media."""
    readiness_open: frozenset[str] = frozenset()
    """What its approval said must be ready before production, not yet confirmed."""
    package: BuiltPackage | None = None
    team: str | None = None
    """The team it is planned for, if any."""
    risk: RiskLimits = UNLIMITED
    """From its approval: none until approved, or if the policy has no rule for its level."""
    backout_steps: tuple[BackoutStep, ...] = ()
    """Its backout plan, as release-svc has it now."""
    backout_triggers: tuple[BackoutTrigger, ...] = ()
