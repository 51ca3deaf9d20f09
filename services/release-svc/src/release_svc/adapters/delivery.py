"""The deployments and environments deploy-svc reported on `deploy.events`, kept for the
delivery metrics.

Each event sets only the facts it carries, the first report of a fact winning, so the
tables come out the same whatever order the events arrive in (one deployment's events and
one environment's share a partition; the two do not) and however often. Their consumer is
their own (`release_svc.projections.delivery`), so they hold the whole topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID

from ferry.db import UnitOfWork
from ferry.events.deploy import DeploymentEvent, EnvironmentDefined, UnauthorisedChangeDetected
from ferry.events.release import ReleaseEvent
from release_svc.domain.delivery import Deployment

End = Literal["completed_at", "failed_at", "rolled_back_at"]


async def environment_defined(uow: UnitOfWork, event: EnvironmentDefined) -> None:
    """Remember whether the environment is production; a later definition replaces it."""
    await uow.execute(
        f'INSERT INTO "{uow.schema}".delivery_environments (environment, production) '
        "VALUES ($1, $2) ON CONFLICT (environment) DO UPDATE SET production = $2",
        event.environment,
        event.production,
    )


async def deployment_ended(uow: UnitOfWork, event: DeploymentEvent, end: End, at: datetime) -> None:
    """Record that a deployment reached `end` at `at`; a repeat keeps the first time."""
    await uow.execute(
        f'INSERT INTO "{uow.schema}".delivery_deployments AS d '
        f"(deployment_id, release_id, environment, {end}) VALUES ($1, $2, $3, $4) "
        f"ON CONFLICT (deployment_id) DO UPDATE SET {end} = COALESCE(d.{end}, $4)",
        event.deployment_id,
        event.release_id,
        event.environment,
        at,
    )


async def production_environments(uow: UnitOfWork) -> list[str]:
    rows = await uow.fetch(
        f'SELECT environment FROM "{uow.schema}".delivery_environments '
        "WHERE production ORDER BY environment"
    )
    return [row["environment"] for row in rows]


async def deployments(uow: UnitOfWork, environments: Sequence[str]) -> list[Deployment]:
    """Every deployment to `environments` that ended, however long ago."""
    rows = await uow.fetch(
        "SELECT deployment_id, release_id, environment, completed_at, failed_at, rolled_back_at "
        f'FROM "{uow.schema}".delivery_deployments WHERE environment = ANY($1::text[])',
        list(environments),
    )
    return [Deployment(**dict(row)) for row in rows]


async def deployments_of(uow: UnitOfWork, release_id: UUID) -> list[Deployment]:
    """The release's deployments that ended, to any environment."""
    rows = await uow.fetch(
        "SELECT deployment_id, release_id, environment, completed_at, failed_at, rolled_back_at "
        f'FROM "{uow.schema}".delivery_deployments WHERE release_id = $1',
        release_id,
    )
    return [Deployment(**dict(row)) for row in rows]


async def planned_at(uow: UnitOfWork, release_ids: Sequence[UUID]) -> dict[UUID, datetime]:
    """When each of the releases was planned: the time of the first event of its stream."""
    streams = {f"{ReleaseEvent.stream_prefix}-{r}": r for r in release_ids}
    rows = await uow.fetch(
        "SELECT stream_id, (metadata->>'time')::timestamptz AS planned_at "
        f'FROM "{uow.schema}".events WHERE stream_version = 1 AND stream_id = ANY($1::text[])',
        list(streams),
    )
    return {streams[row["stream_id"]]: row["planned_at"] for row in rows}


async def unauthorised_change(
    uow: UnitOfWork, event: UnauthorisedChangeDetected, event_id: UUID, at: datetime
) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".delivery_unauthorised_changes '
        "(event_id, environment, target, detected_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (event_id) DO NOTHING",
        event_id,
        event.environment,
        event.target,
        at,
    )


async def unauthorised_changes(
    uow: UnitOfWork, environments: Sequence[str], start: datetime, end: datetime
) -> int:
    """How many changes behind Ferry's back were found in `environments` in the period."""
    found: int = await uow.fetchval(
        f'SELECT count(*) FROM "{uow.schema}".delivery_unauthorised_changes '
        "WHERE environment = ANY($1::text[]) AND detected_at >= $2 AND detected_at < $3",
        list(environments),
        start,
        end,
    )
    return found
