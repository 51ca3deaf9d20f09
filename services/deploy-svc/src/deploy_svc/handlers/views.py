"""What deploy-svc's command handlers read and keep besides the event store: the release
facts its consumers gather and the list of deployments. A port, so the handlers run on
PostgreSQL in the service (`deploy_svc.adapters.views`) and in memory in unit tests
(`deploy_svc.testing`)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol
from uuid import UUID

from deploy_svc.domain.deployment import Deployment
from deploy_svc.domain.facts import ReleaseFacts
from ferry.freezes import FreezePeriod


class DeploymentViews(Protocol):
    async def hold_environment(self, environment: str) -> None:
        """Until the unit of work ends, no other plan for `environment` is judged: two at
        once could each find the same targets free."""

    async def release_facts(self, release_id: UUID) -> ReleaseFacts | None:
        """What is known of the release; None until its `ReleasePlanned` arrived."""

    async def freezes_in_force(self) -> list[FreezePeriod]:
        """Freezes declared and not lifted, in the order they start."""

    async def deployed_to(self, release_ids: Collection[UUID], environment: str) -> set[UUID]:
        """Those of `release_ids` deployed to `environment` (completed, not rolled back)."""

    async def identifiers(self, release_ids: Collection[UUID]) -> dict[UUID, str]:
        """The identifiers (REL-…) of those of `release_ids` known, to name them."""

    async def busy_targets(self, environment: str) -> dict[str, UUID]:
        """Target → the active deployment holding it, in `environment`."""

    async def environment_owners(self, environment: str) -> frozenset[str]:
        """The team owning `environment` (none, or one)."""

    async def service_owners(self, services: Collection[str]) -> frozenset[str]:
        """The teams owning any of `services`."""

    async def save(self, deployment: Deployment) -> None:
        """Keep the deployment list up to date with `deployment`."""
