"""deploy-svc: moves what is in the library into live environments."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from deploy_svc.config import Settings
from ferry import catalog
from ferry.events.dml import LibraryEntryOpened
from ferry.events.release import ReleaseCancelled, ReleasePlanned
from ferry.service import ServiceSpec, create_app

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    return ServiceSpec(
        name="deploy-svc",
        settings=settings or Settings(),
        migrations=MIGRATIONS,
        routers=[catalog.router()],
        publishes="deploy.events",
        consumes={
            "release.events": {
                ReleasePlanned: catalog.on_release_planned,
                ReleaseCancelled: catalog.on_release_cancelled,
            },
            "dml.events": {LibraryEntryOpened: catalog.on_library_entry_opened},
        },
    )


def app() -> FastAPI:
    """For `uvicorn --factory deploy_svc.main:app`."""
    return create_app(spec())
