"""els-svc: Early Life Support after each deployment until "normal" is reached."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from els_svc import consumers
from els_svc.adapters.escalation import EscalationWebhook
from els_svc.api import routes
from els_svc.config import Settings
from els_svc.jobs import evaluator
from ferry import catalog, team_table
from ferry.cli.serve import worker_app
from ferry.consuming import EventHandler
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events import Event
from ferry.events.deploy import DeploymentCompleted
from ferry.events.dml import LibraryEntryOpened, ReleaseAvailable, ReleaseRevoked
from ferry.events.els import ElsEscalated, MetricObserved
from ferry.events.release import ReleaseCancelled, ReleasePlanned, ReleaseRescheduled
from ferry.events.team import TeamDefined
from ferry.service import ServiceSpec

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    every = settings.evaluate_seconds
    return ServiceSpec(
        name="els-svc",
        settings=settings,
        migrations=MIGRATIONS,
        routers=[catalog.router(), routes.router],
        publishes="els.events",
        consumes={
            "release.events": {
                ReleasePlanned: consumers.on_release_planned,
                ReleaseRescheduled: consumers.on_release_rescheduled,
                ReleaseCancelled: catalog.on_release_cancelled,
                TeamDefined: team_table.on_team_defined,
            },
            "deploy.events": {
                DeploymentCompleted: consumers.supported_in(settings.environment_classes)
            },
            "dml.events": {
                LibraryEntryOpened: catalog.on_library_entry_opened,
                ReleaseAvailable: catalog.on_release_available,
                ReleaseRevoked: catalog.on_release_revoked,
            },
            "ops.signals": {MetricObserved: consumers.on_metric_observed},
            **_escalations(settings),
        },
        jobs={"evaluator": lambda db: evaluator.run(db, every)},
    )


def _escalations(settings: Settings) -> dict[str, dict[type[Event], EventHandler]]:
    """Its own escalations, read back from els.events to call the webhook. Read even with
    no webhook set: its Kafka rights do not hang on a setting, and one set later is called
    for the escalations after it, not for the whole backlog at once."""
    if settings.escalation_webhook_url is None:
        return {"els.events": {ElsEscalated: _no_webhook}}
    webhook = EscalationWebhook(settings.escalation_webhook_url, settings.escalation_webhook_secret)
    return {"els.events": {ElsEscalated: webhook.on_escalated}}


async def _no_webhook(_: ElsEscalated, __: Envelope, ___: UnitOfWork) -> None:
    """No webhook is set: the escalation is on the bus, for whoever subscribes."""


def app() -> FastAPI:
    """For `uvicorn --factory els_svc.main:app`, and each worker of several."""
    return worker_app(spec)
