"""The deployments and environments the delivery metrics count, kept from `deploy.events`
by a consumer of its own (`ServiceSpec.projections`): it reads the topic from its beginning,
whatever release-svc's main consumer had handled before the read model existed."""

from __future__ import annotations

from collections.abc import Mapping

from ferry.consuming import EventHandler
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events import Event
from ferry.events.deploy import (
    DeploymentAborted,
    DeploymentCompleted,
    DeploymentFailed,
    DeploymentRolledBack,
    EnvironmentDefined,
    UnauthorisedChangeDetected,
)
from release_svc.adapters import delivery


async def on_completed(event: DeploymentCompleted, envelope: Envelope, uow: UnitOfWork) -> None:
    await delivery.deployment_ended(uow, event, "completed_at", event.completed_at or envelope.time)


async def on_failed(
    event: DeploymentFailed | DeploymentAborted, envelope: Envelope, uow: UnitOfWork
) -> None:
    """A deployment that failed, or was stopped for good where it was: not a good one."""
    await delivery.deployment_ended(uow, event, "failed_at", envelope.time)


async def on_rolled_back(event: DeploymentRolledBack, envelope: Envelope, uow: UnitOfWork) -> None:
    await delivery.deployment_ended(uow, event, "rolled_back_at", envelope.time)


async def on_unauthorised_change(
    event: UnauthorisedChangeDetected, envelope: Envelope, uow: UnitOfWork
) -> None:
    await delivery.unauthorised_change(uow, event, envelope.id, envelope.time)


async def on_environment_defined(event: EnvironmentDefined, _: Envelope, uow: UnitOfWork) -> None:
    await delivery.environment_defined(uow, event)


CONSUMES: Mapping[str, Mapping[type[Event], EventHandler]] = {
    "deploy.events": {
        DeploymentCompleted: on_completed,
        DeploymentFailed: on_failed,
        DeploymentAborted: on_failed,
        DeploymentRolledBack: on_rolled_back,
        EnvironmentDefined: on_environment_defined,
        UnauthorisedChangeDetected: on_unauthorised_change,
    }
}
