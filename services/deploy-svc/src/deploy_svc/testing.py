"""An in-memory `DeploymentViews` for unit tests of deploy-svc's handlers: the same
contract as the PostgreSQL read models, no I/O (as `ferry.testing` is for the event store)."""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass, field
from uuid import UUID

from deploy_svc.domain.deployment import ACTIVE, Deployment
from deploy_svc.domain.facts import ReleaseFacts
from ferry.freezes import FreezePeriod


@dataclass
class InMemoryViews:
    facts: dict[UUID, ReleaseFacts] = field(default_factory=dict)
    freezes: list[FreezePeriod] = field(default_factory=list)
    deployed: set[tuple[UUID, str]] = field(default_factory=set)
    """(release, environment) of each completed deployment not rolled back."""
    deployments: dict[UUID, Deployment] = field(default_factory=dict)
    """The deployment list: a copy of each deployment as last saved."""
    held: list[str] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    """Environment (or service) → the team owning it."""

    async def hold_environment(self, environment: str) -> None:
        self.held.append(environment)

    async def release_facts(self, release_id: UUID) -> ReleaseFacts | None:
        return self.facts.get(release_id)

    async def freezes_in_force(self) -> list[FreezePeriod]:
        return sorted(self.freezes, key=lambda f: (f.start, str(f.freeze_id)))

    async def deployed_to(self, release_ids: Collection[UUID], environment: str) -> set[UUID]:
        return {r for r in release_ids if (r, environment) in self.deployed}

    async def identifiers(self, release_ids: Collection[UUID]) -> dict[UUID, str]:
        return {r: self.facts[r].identifier for r in release_ids if r in self.facts}

    async def busy_targets(self, environment: str) -> dict[str, UUID]:
        return {
            target: d.id
            for d in self.deployments.values()
            if d.environment == environment and d.state in ACTIVE
            for target in d.targets
        }

    async def environment_owners(self, environment: str) -> frozenset[str]:
        owner = self.owners.get(environment)
        return frozenset({owner}) if owner else frozenset()

    async def service_owners(self, services: Collection[str]) -> frozenset[str]:
        return frozenset(self.owners[s] for s in services if s in self.owners)

    async def save(self, deployment: Deployment) -> None:
        self.deployments[deployment.id] = copy.deepcopy(deployment)
