"""`python -m <svc> [serve|migrate]`: the same two entry points for every service."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI

from ferry import logs, metrics, migrations, tracing
from ferry.service import ServiceSpec, create_app


def main(build: Callable[[], ServiceSpec], argv: Sequence[str] | None = None) -> None:
    spec = build()
    parser = argparse.ArgumentParser(prog=spec.name, description=f"Run Ferry's {spec.name}.")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate"],
        help="serve the API (default) or apply database migrations and exit",
    )
    args = parser.parse_args(argv)
    settings = spec.settings
    configure(spec)
    if args.command == "migrate":
        try:
            migrations.upgrade(settings.database_url, settings.db_schema, spec.migrations)
        except migrations.SchemaAhead as exc:
            # A rollback's migrate Job against a schema no longer serving this release.
            raise SystemExit(f"{spec.name} migrate: {exc}") from exc
        return
    if operators := os.environ.get(metrics.MULTIPROCESS_DIR):
        metrics.clear_stale(operators)  # before any worker writes this run's
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 20,
    }
    if settings.workers == 1:
        uvicorn.run(create_app(spec), **options)
        return
    # Several processes, each its own replica: the schema is brought up to date once, here,
    # and the workers' metrics are summed across them (`ferry.metrics.exposition`).
    if settings.migrate_on_start:
        migrations.upgrade(settings.database_url, settings.db_schema, spec.migrations)
    os.environ["FERRY_MIGRATE_ON_START"] = "false"
    with tempfile.TemporaryDirectory(prefix="ferry-metrics-") as shared_metrics:
        os.environ.setdefault(metrics.MULTIPROCESS_DIR, shared_metrics)
        uvicorn.run(f"{build.__module__}:app", factory=True, workers=settings.workers, **options)


def configure(spec: ServiceSpec) -> None:
    """What a serving process sets up before its app: JSON logs and trace export."""
    logs.configure(spec.name, spec.settings.log_level)
    tracing.configure(spec.name, spec.settings.otlp_endpoint)


def worker_app(build: Callable[[], ServiceSpec]) -> FastAPI:
    """The app of a worker process (`FERRY_WORKERS` above 1, or `uvicorn --factory`)."""
    spec = build()
    configure(spec)
    return create_app(spec)
