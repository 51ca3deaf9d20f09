"""`ferry audit …`: check the tamper-evident audit log, and read one release's history.

Unlike the other commands these read the services' data directly: each event store (its
PostgreSQL schema) and the Kafka topics, so they take the services' own settings. Their
clients are imported when a command runs: `ferry`, and its completion at every TAB, start
without them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from ferry.audit import SERVICES
from ferry.cli.errors import CliError
from ferry.cli.output import Json, Output, table

if TYPE_CHECKING:
    from ferry.audit.trail import Trail
    from ferry.audit.verify import Report

T = TypeVar("T")

app = typer.Typer(help="The audit log: verify its hash chains; a release's whole history.")

Kafka = Annotated[
    str,
    typer.Option(
        "--kafka", envvar="FERRY_KAFKA_BOOTSTRAP_SERVERS", help="Kafka's bootstrap servers"
    ),
]
TopicPrefix = Annotated[
    str,
    typer.Option(envvar="FERRY_TOPIC_PREFIX", help="prefixed to every topic name"),
]


@app.command("verify")
def verify_command(
    database_url: Annotated[
        str,
        typer.Option(envvar="FERRY_DATABASE_URL", help="the services' PostgreSQL database"),
    ] = "postgresql://ferry:ferry@127.0.0.1:5432/ferry",
    kafka: Kafka = "127.0.0.1:9092",
    topic_prefix: TopicPrefix = "",
    schema: Annotated[
        list[str] | None,
        typer.Option(
            help="SERVICE=SCHEMA when a service's schema is not its name (default: "
            "FERRY_<SERVICE>_DB_SCHEMA, else the name); repeat for several",
            show_default=False,
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Verify every service's event store and topic: each stream's events in order, each
    chained to the one before by its hash, the same on Kafka as in the store. Exits 1 if
    anything was edited, deleted, reordered or truncated."""
    from ferry.audit.verify import sources, verify

    out = Output(as_json)
    out.note("reading the topics, then the stores …")
    report = _run(verify(database_url, kafka, sources(topic_prefix, _schemas(schema or []))))
    out.result(report.as_dict(), lambda console: _show_report(console, report))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def trail(
    release: Annotated[str, typer.Argument(help="the release: REL-… or its id")],
    kafka: Kafka = "127.0.0.1:9092",
    topic_prefix: TopicPrefix = "",
    as_json: Json = False,
) -> None:
    """The whole history of one release across the services, in time order: planning,
    package, validation, approval, the library, each deployment, Early Life Support and
    the review, with who did it and in which conversation (correlation id)."""
    from ferry.audit.trail import UnknownRelease, read_trail

    out = Output(as_json)
    try:
        found = _run(read_trail(kafka, release, topic_prefix))
    except UnknownRelease as exc:
        raise CliError(str(exc)) from exc
    out.result(found.as_dict(), lambda console: _show_trail(console, found))


def _schemas(pairs: list[str]) -> dict[str, str]:
    schemas = {
        service: os.environ[f"FERRY_{service.upper()}_DB_SCHEMA"]
        for service in SERVICES
        if os.environ.get(f"FERRY_{service.upper()}_DB_SCHEMA")
    }
    for pair in pairs:
        service, _, name = pair.partition("=")
        if service not in SERVICES or not name:
            raise typer.BadParameter(
                f"{pair!r}: expected SERVICE=SCHEMA, SERVICE one of {', '.join(SERVICES)}",
                param_hint="--schema",
            )
        schemas[service] = name
    return schemas


def _run(work: Awaitable[T]) -> T:
    import asyncpg
    from aiokafka.errors import KafkaError

    async def run() -> T:
        return await work

    try:
        return asyncio.run(run())
    except (OSError, asyncpg.PostgresError, KafkaError) as exc:
        raise CliError(f"cannot read the audit log: {exc!r}") from exc


def _show_report(console: Console, report: Report) -> None:
    rows = [
        (
            c.where,
            c.source,
            c.events if c.exists else "absent",
            c.streams,
            c.unchained,
            sum(1 for p in report.problems if (p.where, p.source) == (c.where, c.source)),
        )
        for c in report.checked
    ]
    columns = ("in", "schema or topic", "events", "streams", "unchained", "problems")
    console.print(table("Verified", columns, rows))
    if report.problems:
        broken = [
            (p.where, p.source, p.stream, p.version, p.kind, p.detail) for p in report.problems
        ]
        columns = ("in", "schema or topic", "stream", "version", "what", "detail")
        console.print(table("Broken links (the first of each stream)", columns, broken))
        console.print(f"[bold red]BROKEN[/]: {len(report.problems)} problem(s)")
        return
    stored = [c for c in report.checked if c.where == "store"]
    console.print(
        f"[bold green]OK[/]: {sum(c.events for c in stored)} events in "
        f"{sum(c.streams for c in stored)} streams verified "
        f"({sum(c.unchained for c in stored)} from before the chain), and their copies on Kafka"
    )


def _show_trail(console: Console, found: Trail) -> None:
    name = f"{found.identifier} ({found.release_id})" if found.identifier else found.release_id
    rows = [
        (
            e.time.isoformat(timespec="milliseconds"),
            e.service,
            e.type,
            f"{e.actor} ({e.roles})" if e.roles else e.actor,
            e.correlationid,
            e.subject,
            e.summary,
        )
        for e in found.entries
    ]
    columns = ("time", "service", "event", "actor", "correlation", "subject", "summary")
    console.print(table(f"Release {name}: {len(rows)} events", columns, rows))
