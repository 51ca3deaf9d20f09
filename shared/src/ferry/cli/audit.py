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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from ferry.audit import SERVICES
from ferry.cli.errors import CliError
from ferry.cli.output import Json, Output, table

if TYPE_CHECKING:
    from ferry.audit.signatures import Trust
    from ferry.audit.trail import Trail
    from ferry.audit.verify import Report
    from ferry.kafka_client import KafkaSettings

T = TypeVar("T")

app = typer.Typer(help="The audit log: verify its hash chains; a release's whole history.")

Kafka = Annotated[
    str,
    typer.Option(
        "--kafka",
        envvar="FERRY_KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka's bootstrap servers; its security from FERRY_KAFKA_* (docs/operations.md)",
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
    trusted_keys: Annotated[
        Path | None,
        typer.Option(
            envvar="FERRY_EVENT_TRUSTED_KEYS_FILE",
            help='the keys each service signs with, as JSON {"release-svc": ["<base64 raw '
            'public key>", ...], ...}; trusted beside those of FERRY_EVENT_TRUSTED_KEYS',
            show_default=False,
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Verify every service's event store and topic: each stream's events in order, each
    chained to the one before by its hash, the same on Kafka as in the store, each signed
    event signed by a key its service is trusted with. Exits 1 if anything was edited,
    deleted, reordered, truncated or signed by another key."""
    from ferry.audit.verify import sources, verify

    out = Output(as_json)
    trust = _trust(trusted_keys)
    out.note("reading the topics, then the stores …")
    of = sources(topic_prefix, _schemas(schema or []))
    report = _run(verify(database_url, _kafka(kafka), of, trust))
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
        found = _run(read_trail(_kafka(kafka), release, topic_prefix))
    except UnknownRelease as exc:
        raise CliError(str(exc)) from exc
    out.result(found.as_dict(), lambda console: _show_trail(console, found))


def _kafka(bootstrap: str) -> KafkaSettings:
    """The client settings the services read (FERRY_KAFKA_*), with `--kafka`'s servers."""
    from pydantic import ValidationError

    from ferry.kafka_client import KafkaSettings

    try:
        return KafkaSettings(kafka_bootstrap_servers=bootstrap)
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise CliError(f"the Kafka settings are incomplete: {problems}") from exc


def _trust(path: Path | None) -> Trust:
    """The trusted keys as the services read them: FERRY_EVENT_TRUSTED_KEYS and the file."""
    from pydantic import TypeAdapter, ValidationError

    from ferry.audit.signatures import Trust

    adapter: TypeAdapter[dict[str, list[str]]] = TypeAdapter(dict[str, list[str]])
    setting: dict[str, list[str]] = {}
    try:
        if text := os.environ.get("FERRY_EVENT_TRUSTED_KEYS"):
            setting = adapter.validate_json(text)
        if path is not None:
            for service, keys in adapter.validate_json(path.read_bytes()).items():
                setting.setdefault(service, []).extend(keys)
        return Trust(setting)
    except (OSError, ValidationError, ValueError) as exc:
        raise CliError(f"cannot read the trusted keys: {str(exc).splitlines()[0]}") from exc


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
        _show_signatures(console, report)
        console.print(f"[bold red]BROKEN[/]: {len(report.problems)} problem(s)")
        return
    _show_signatures(console, report)
    stored = [c for c in report.checked if c.where == "store"]
    console.print(
        f"[bold green]OK[/]: {sum(c.events for c in stored)} events in "
        f"{sum(c.streams for c in stored)} streams verified "
        f"({sum(c.unchained for c in stored)} from before the chain), and their copies on Kafka"
    )


def _show_signatures(console: Console, report: Report) -> None:
    rows = [(s.service, s.signed, s.unsigned, s.invalid) for s in report.signatures]
    columns = ("service", "signed", "unsigned (older)", "invalid")
    console.print(table("Signatures of the stored events", columns, rows))


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
