"""dml-svc: the Definitive Media Library and the Definitive Hardware Store."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dml_svc.adapters.blobs import LocalBlobStore
from dml_svc.adapters.signing import Signer
from dml_svc.api import dependencies, integrity, media, routes, spares
from dml_svc.config import Settings
from dml_svc.consumers import Availability
from dml_svc.handlers.library import on_release_planned
from dml_svc.jobs.scrub import Scrubber
from dml_svc.projections import approved_changes
from ferry import team_table
from ferry.cli.serve import worker_app
from ferry.events.change import ChangeApproved, ChangeRejected
from ferry.events.release import ReleaseApproved, ReleasePlanned, ReleaseValidated
from ferry.events.team import TeamDefined
from ferry.service import ServiceSpec

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    blobs = LocalBlobStore(settings.media_dir / "blobs")
    signer = (
        Signer.from_file(settings.signing_key_file)
        if settings.signing_key_file
        else Signer.development(settings.media_dir / "keys")
    )
    availability = Availability(signer)
    scrubber = Scrubber(blobs, settings.scrub_interval_seconds)
    return ServiceSpec(
        name="dml-svc",
        settings=settings,
        migrations=MIGRATIONS,
        routers=[
            routes.router,
            media.router,
            integrity.router,
            spares.router,
        ],
        state=dependencies.provide(settings, blobs, signer),
        publishes="dml.events",
        jobs={"scrub": scrubber.run},
        consumes={
            "release.events": {
                ReleasePlanned: on_release_planned,
                ReleaseValidated: availability.on_release_validated,
                ReleaseApproved: availability.on_release_approved,
                TeamDefined: team_table.on_team_defined,
            },
            "change.events": {
                ChangeApproved: approved_changes.on_change_approved,
                ChangeRejected: approved_changes.on_change_rejected,
            },
        },
    )


def app() -> FastAPI:
    """For `uvicorn --factory dml_svc.main:app`, and each worker of several."""
    return worker_app(spec)
