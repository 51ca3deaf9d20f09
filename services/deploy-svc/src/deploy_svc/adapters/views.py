"""deploy-svc's read models in PostgreSQL, as its command handlers see them
(`deploy_svc.handlers.views.DeploymentViews`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from deploy_svc.domain.deployment import Deployment
from deploy_svc.domain.facts import ReleaseFacts
from deploy_svc.projections import deployments, release_facts
from ferry import team_table
from ferry.db import UnitOfWork
from ferry.freezes import FreezePeriod
from ferry.teams import Owned


@dataclass(frozen=True)
class PostgresViews:
    uow: UnitOfWork

    async def hold_environment(self, environment: str) -> None:
        await deployments.hold_environment(self.uow, environment)

    async def release_facts(self, release_id: UUID) -> ReleaseFacts | None:
        return await release_facts.facts(self.uow, release_id)

    async def freezes_in_force(self) -> list[FreezePeriod]:
        return await release_facts.freezes_in_force(self.uow)

    async def deployed_to(self, release_ids: Collection[UUID], environment: str) -> set[UUID]:
        return await release_facts.deployed_to(self.uow, release_ids, environment)

    async def identifiers(self, release_ids: Collection[UUID]) -> dict[UUID, str]:
        return await release_facts.identifiers(self.uow, release_ids)

    async def busy_targets(self, environment: str) -> dict[str, UUID]:
        return await deployments.busy_targets(self.uow, environment)

    async def environment_owners(self, environment: str) -> frozenset[str]:
        return await team_table.owners(self.uow, Owned.ENVIRONMENT, [environment])

    async def service_owners(self, services: Collection[str]) -> frozenset[str]:
        return await team_table.owners(self.uow, Owned.SERVICE, services)

    async def save(self, deployment: Deployment) -> None:
        await deployments.save(self.uow, deployment)
