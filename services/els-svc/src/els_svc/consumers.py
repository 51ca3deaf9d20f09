"""What els-svc does with other services' events and with operations' signals."""

from __future__ import annotations

from collections.abc import Set

from els_svc.handlers import cases as handlers
from els_svc.projections import cases, signals, support
from ferry import catalog
from ferry.consuming import EventHandler, caused_by
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events.deploy import DeploymentCompleted, EnvironmentClass
from ferry.events.els import MetricObserved
from ferry.events.release import Activity, ReleasePlanned, ReleaseRescheduled

ACTOR = "service:els-svc"


async def on_release_planned(event: ReleasePlanned, envelope: Envelope, uow: UnitOfWork) -> None:
    await catalog.on_release_planned(event, envelope, uow)
    els = event.activities.get(Activity.EARLY_LIFE_SUPPORT)
    await support.save(uow, event.release_id, event.escalation_contact, els.end if els else None)


async def on_release_rescheduled(event: ReleaseRescheduled, _: Envelope, uow: UnitOfWork) -> None:
    els = event.activities.get(Activity.EARLY_LIFE_SUPPORT)
    await support.save(uow, event.release_id, None, els.end if els else None)


def supported_in(classes: Set[EnvironmentClass]) -> EventHandler:
    """Open a case for each deployment completed in an environment of one of `classes`."""

    async def on_deployment_completed(
        event: DeploymentCompleted, envelope: Envelope, uow: UnitOfWork
    ) -> None:
        kind = event.environment_class or EnvironmentClass.PRODUCTION
        if kind in classes:
            await handlers.open_case(uow, event, caused_by(envelope, ACTOR))

    return on_deployment_completed


async def on_metric_observed(event: MetricObserved, envelope: Envelope, uow: UnitOfWork) -> None:
    """A signal counts for every open case whose release changes its service there."""
    await signals.keep(uow, event)
    meta = caused_by(envelope, ACTOR)
    for case_id in await cases.open_for(uow, event.service, event.environment):
        await handlers.change(
            uow,
            case_id,
            None,
            meta,
            lambda case: case.observe(
                event.signal_id, event.metric, event.value, event.observed_at, "ops.signals"
            ),
            None,
        )
