"""release-svc: plans and controls releases."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from ferry.service import ServiceSpec, create_app
from release_svc.api.routes import router
from release_svc.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    return ServiceSpec(
        name="release-svc",
        settings=settings or Settings(),
        migrations=MIGRATIONS,
        routers=[router],
        publishes="release.events",
    )


def app() -> FastAPI:
    """For `uvicorn --factory release_svc.main:app`."""
    return create_app(spec())
