"""dml-svc: the Definitive Media Library and the Definitive Hardware Store."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dml_svc.api.routes import router
from dml_svc.config import Settings
from dml_svc.handlers import on_release_planned
from ferry.events.release import ReleasePlanned
from ferry.service import ServiceSpec, create_app

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    return ServiceSpec(
        name="dml-svc",
        settings=settings or Settings(),
        migrations=MIGRATIONS,
        routers=[router],
        publishes="dml.events",
        consumes={"release.events": {ReleasePlanned: on_release_planned}},
    )


def app() -> FastAPI:
    """For `uvicorn --factory dml_svc.main:app`."""
    return create_app(spec())
