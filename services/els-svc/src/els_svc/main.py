"""els-svc: Early Life Support after each deployment until "normal" is reached."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from els_svc import consumers, evaluator
from els_svc.api import routes
from els_svc.config import Settings
from els_svc.escalation import EscalationWebhook
from ferry import catalog
from ferry.consuming import EventHandler
from ferry.events import Event
from ferry.events.deploy import DeploymentCompleted
from ferry.events.els import ElsEscalated, MetricObserved
from ferry.events.release import ReleaseCancelled, ReleasePlanned, ReleaseRescheduled
from ferry.service import ServiceSpec, create_app

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
            },
            "deploy.events": {DeploymentCompleted: consumers.on_deployment_completed},
            "ops.signals": {MetricObserved: consumers.on_metric_observed},
            **_escalations(settings),
        },
        jobs={"evaluator": lambda db: evaluator.run(db, every)},
    )


def _escalations(settings: Settings) -> dict[str, dict[type[Event], EventHandler]]:
    """Its own escalations, read back from els.events to call the webhook, if one is set."""
    if settings.escalation_webhook_url is None:
        return {}
    webhook = EscalationWebhook(settings.escalation_webhook_url, settings.escalation_webhook_secret)
    return {"els.events": {ElsEscalated: webhook.on_escalated}}


def app() -> FastAPI:
    """For `uvicorn --factory els_svc.main:app`."""
    return create_app(spec())
