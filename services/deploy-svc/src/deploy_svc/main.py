"""deploy-svc: moves what is in the library into live environments."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from deploy_svc import consumers
from deploy_svc.adapters.backout_webhooks import BackoutWebhooks
from deploy_svc.adapters.deployment_log import DeploymentLog
from deploy_svc.adapters.library import Library
from deploy_svc.api import dependencies, logs, routes, webhooks
from deploy_svc.config import Settings
from deploy_svc.drivers.registry import drivers
from deploy_svc.handlers import environments
from deploy_svc.jobs.drift import DriftCheck
from deploy_svc.jobs.executor import Executor
from ferry import catalog, proposals_api
from ferry.cli.serve import worker_app
from ferry.db import Database
from ferry.events.dml import LibraryEntryOpened
from ferry.events.governance import GovernedKind
from ferry.service import Job, ServiceSpec

MIGRATIONS = Path(__file__).parent / "migrations"


def spec(settings: Settings | None = None) -> ServiceSpec:
    settings = settings or Settings()
    return ServiceSpec(
        name="deploy-svc",
        settings=settings,
        migrations=MIGRATIONS,
        routers=[
            catalog.router(),
            routes.router,
            webhooks.router,
            logs.router,
            proposals_api.router,
        ],
        state=dependencies.provide(settings, drivers(settings)),
        publishes="deploy.events",
        governs={GovernedKind.ENVIRONMENT: environments.environment_defined},
        jobs=_jobs(settings),
        consumes={
            # The catalog's ReleasePlanned and ReleaseCancelled run within the facts' handlers.
            "release.events": consumers.RELEASE_EVENTS,
            "dml.events": {
                LibraryEntryOpened: catalog.on_library_entry_opened,
                **consumers.DML_EVENTS,
            },
            "deploy.events": consumers.DEPLOY_EVENTS,
            "els.events": consumers.ELS_EVENTS,
        },
    )


def _jobs(settings: Settings) -> dict[str, Job]:
    """The executor, and the drift check unless it is off (`FERRY_DEPLOY_DRIFT_SECONDS=0`)."""
    every = settings.drift_seconds
    found: dict[str, Job] = {"executor": lambda db: _executor(settings, db).run(db)}
    if every:
        found["drift"] = lambda db: DriftCheck(drivers(settings, db), every).run(db)
    return found


def _executor(settings: Settings, db: Database) -> Executor:
    return Executor(
        drivers(settings, db),
        Library.of(settings).fetch_release,
        lease_seconds=settings.lease_seconds,
        poll_seconds=settings.executor_poll_seconds,
        log=DeploymentLog(settings),
        webhooks=BackoutWebhooks(settings.backout_webhooks),
    )


def app() -> FastAPI:
    """For `uvicorn --factory deploy_svc.main:app`, and each worker of several."""
    return worker_app(spec)
