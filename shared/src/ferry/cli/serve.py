"""`python -m <svc> [serve|migrate]`: the same two entry points for every service."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import uvicorn

from ferry import logs, migrations, tracing
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
    logs.configure(spec.name, settings.log_level)
    tracing.configure(spec.name, settings.otlp_endpoint)
    if args.command == "migrate":
        migrations.upgrade(settings.database_url, settings.db_schema, spec.migrations)
        return
    uvicorn.run(
        create_app(spec),
        host=settings.host,
        port=settings.port,
        log_config=None,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=20,
    )
