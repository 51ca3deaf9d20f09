"""els-svc: Early Life Support after each deployment until "normal" is reached."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from els_svc import consumers, evaluator
from els_svc.api import routes
from els_svc.config import Settings
from ferry import catalog
from ferry.events.deploy import DeploymentCompleted
from ferry.events.els import MetricObserved
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
        },
        jobs={"evaluator": lambda db: evaluator.run(db, every)},
    )


def app() -> FastAPI:
    """For `uvicorn --factory els_svc.main:app`."""
    return create_app(spec())
