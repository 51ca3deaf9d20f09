"""release-svc: plans and controls releases."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from ferry import proposals_api
from ferry.cli.serve import worker_app
from ferry.db import UnitOfWork
from ferry.events.change import ChangeApproved, ChangeRejected
from ferry.events.deploy import DeploymentCompleted, DeploymentRolledBack, DeploymentStarted
from ferry.events.dml import MediaRevoked, MediaStaged, ReleaseAvailable
from ferry.events.els import ElsExited, ElsStarted
from ferry.events.governance import GovernedKind
from ferry.governance import Proposal
from ferry.kafka import SERVICE_TOPICS
from ferry.service import ServiceSpec
from release_svc import consumers
from release_svc.adapters.channels import Channels
from release_svc.api import (
    actions,
    dashboard,
    delivery,
    events,
    feeds,
    freezes,
    history,
    lifecycle,
    notifications,
    planning,
    policies,
    readiness,
    routes,
    schedule,
    teams,
)
from release_svc.config import Settings
from release_svc.handlers import freezes as freeze_handlers
from release_svc.handlers import teams as team_handlers
from release_svc.jobs import communications
from release_svc.jobs import notifications as notifier
from release_svc.projections import delivery as delivery_projection
from release_svc.projections import els_record
from release_svc.projections import notifications as notify_projection

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    return ServiceSpec(
        name="release-svc",
        settings=settings,
        migrations=MIGRATIONS,
        routers=[
            routes.router,
            planning.router,
            lifecycle.router,
            policies.router,
            freezes.router,
            schedule.router,
            feeds.router,
            history.router,
            events.router(settings),
            delivery.router,
            dashboard.router,
            teams.router,
            actions.router,
            readiness.router,
            notifications.router,
            proposals_api.router,
        ],
        publishes="release.events",
        consumes={
            "dml.events": {
                MediaStaged: consumers.on_media_staged,
                MediaRevoked: consumers.on_media_revoked,
                ReleaseAvailable: consumers.on_release_available,
            },
            "deploy.events": {
                DeploymentStarted: consumers.on_deployment_started,
                DeploymentCompleted: consumers.on_deployment_completed,
                DeploymentRolledBack: consumers.on_deployment_rolled_back,
            },
            "els.events": {
                ElsStarted: consumers.on_els_started,
                ElsExited: consumers.on_els_exited,
            },
            "change.events": {
                ChangeApproved: consumers.on_change_approved,
                ChangeRejected: consumers.on_change_rejected,
            },
        },
        governs={
            GovernedKind.RELEASE_POLICY: _policy_set,
            GovernedKind.FREEZE_LIFT: freeze_handlers.freeze_lifted,
            GovernedKind.TEAM: team_handlers.team_defined,
        },
        reads=SERVICE_TOPICS,
        projections={
            "delivery": delivery_projection.CONSUMES,
            "els": els_record.CONSUMES,
            "notify": notify_projection.CONSUMES,
        },
        jobs={
            "communications": functools.partial(
                communications.run, every=settings.communication_poll_seconds
            ),
            "notifications": functools.partial(
                notifier.run,
                channels=Channels(settings),
                every=settings.notify_poll_seconds,
                look_every=settings.notify_look_seconds,
                window_warning=timedelta(minutes=settings.notify_window_warning_minutes),
            ),
        },
        state={"notify_webhooks": frozenset(settings.notify_webhooks)},
    )


async def _policy_set(_: UnitOfWork, __: Proposal) -> None:
    """Nothing more to do: policies are read from their streams."""


def app() -> FastAPI:
    """For `uvicorn --factory release_svc.main:app`, and each worker of several."""
    return worker_app(spec)
