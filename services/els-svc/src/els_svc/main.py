"""els-svc: Early Life Support after each deployment until "normal" is reached."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from els_svc.config import Settings
from ferry import catalog
from ferry.events.release import ReleaseCancelled, ReleasePlanned
from ferry.service import ServiceSpec, create_app

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    # deploy.events is subscribed already: DeploymentCompleted will open ELS cases.
    return ServiceSpec(
        name="els-svc",
        settings=settings or Settings(),
        migrations=MIGRATIONS,
        routers=[catalog.router()],
        publishes="els.events",
        consumes={
            "release.events": {
                ReleasePlanned: catalog.on_release_planned,
                ReleaseCancelled: catalog.on_release_cancelled,
            },
            "deploy.events": {},
        },
    )


def app() -> FastAPI:
    """For `uvicorn --factory els_svc.main:app`."""
    return create_app(spec())
