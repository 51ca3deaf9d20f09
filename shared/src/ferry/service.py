"""What every Ferry service is made of: app, migrations, outbox relay, consumers, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
from asgi_correlation_id import correlation_id
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ferry import characters, http, metrics, migrations, openapi, tracing
from ferry.auth import KeySet, Principal, TokenVerifier, authenticate
from ferry.consuming import Dispatcher, EventHandler
from ferry.db import Database, UnitOfWork
from ferry.envelope import Meta
from ferry.events import Event, asyncapi
from ferry.eventsigning import EventSigner, TrustedKeys
from ferry.kafka import Consumer, Publisher, relay_transactional_id
from ferry.outbox import OutboxRelay
from ferry.proposals import Enactors
from ferry.settings import ServiceSettings
from ferry.tracing import current_traceparent
from ferry.workers import Workers

log = logging.getLogger(__name__)

Job = Callable[[Database], Coroutine[Any, Any, None]]
"""A background job of a service's own: given the service's database, runs until cancelled."""


@dataclass(frozen=True)
class ServiceSpec:
    """A service's own parts; `create_app` wires them to the shared machinery."""

    name: str
    settings: ServiceSettings
    migrations: Path
    routers: Sequence[APIRouter] = ()
    publishes: str | None = None
    """The topic its outbox relays to (unprefixed), or None for a service that publishes nothing."""
    consumes: Mapping[str, Mapping[type[Event], EventHandler]] = field(default_factory=dict)
    """Per topic (unprefixed): the event types it handles and their handlers."""
    reads: Sequence[str] = ()
    """Topics (unprefixed) it reads by hand, without a consumer group: the event feed."""
    projections: Mapping[str, Mapping[str, Mapping[type[Event], EventHandler]]] = field(
        default_factory=dict
    )
    """Read models kept from topics by consumers of their own, by name, each like `consumes`:
    its own consumer group and inbox (`<service>.<name>`), so one added later reads every
    event from the topics' beginning, not only those after it, nor misses those the service
    had handled before."""
    jobs: Mapping[str, Job] = field(default_factory=dict)
    """Its own background jobs, by name: run beside the relay and consumers, and reported by
    `/readyz` should one end."""
    governs: Enactors = field(default_factory=dict)
    """What it governs under the two-person rule, each kind with what it does once a
    proposal is approved; such a service also lists `ferry.proposals_api.router` in
    `routers`."""
    state: Mapping[str, object] = field(default_factory=dict)
    """What its routes depend on beyond the database (a blob store, drivers, its settings),
    by name: set on `app.state`, where each router's dependency reads its own."""


async def request_meta(caller: Annotated[Principal, Depends(authenticate)]) -> Meta:
    """Metadata for an event an API call appends: who called, in which conversation."""
    cid = correlation_id.get() or "-"
    return Meta(
        actor=caller.subject,
        correlation_id=cid,
        causation_id=f"http:{cid}",
        roles=tuple(sorted(caller.roles)),
        traceparent=current_traceparent(),
    )


def token_verifier(settings: ServiceSettings) -> TokenVerifier:
    """The verifier the settings describe; refuses to build without an issuer's keys."""
    url, file = settings.auth_jwks_url, settings.auth_jwks_file
    if not settings.auth_issuer or (url is None) == (file is None):
        raise ConfigurationError(
            "set FERRY_AUTH_ISSUER and exactly one of FERRY_AUTH_JWKS_URL and "
            "FERRY_AUTH_JWKS_FILE (for a local run, see docs/api.md, Tokens)"
        )
    return TokenVerifier(
        KeySet(url=url, file=file, refresh_seconds=settings.auth_jwks_refresh_seconds),
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        roles_claim=settings.auth_roles_claim,
        role_map=settings.auth_role_map,
    )


class ConfigurationError(RuntimeError):
    """The service's settings cannot work; the message says which to set."""


UoW = Annotated[UnitOfWork, Depends(http.unit_of_work)]
RequestMeta = Annotated[Meta, Depends(request_meta)]


def create_app(spec: ServiceSpec) -> FastAPI:
    """The service's FastAPI app; its lifespan runs migrations, the relay and the consumers."""
    settings = spec.settings
    signer = signer_of(settings)
    db = Database(
        settings.database_url,
        settings.db_schema,
        spec.name,
        pool_size=settings.db_pool_size,
        signer=signer,
    )
    publisher = Publisher(settings, client_id=spec.name)
    verifier = token_verifier(settings)
    relay = _relay(spec, db)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await asyncio.to_thread(
                migrations.upgrade, settings.database_url, settings.db_schema, spec.migrations
            )
        async with contextlib.AsyncExitStack() as stack:
            # Callbacks run last-in first-out: the workers stop, then what the last requests
            # committed is published, then what they all used closes.
            stack.push_async_callback(asyncio.to_thread, tracing.flush)
            stack.push_async_callback(db.dispose)
            stack.push_async_callback(publisher.close)
            if relay is not None:
                stack.push_async_callback(relay.close)
                stack.push_async_callback(relay.drain, settings.shutdown_drain_seconds)
            stack.push_async_callback(workers.stop)
            workers.start(_jobs(spec, db, relay))
            yield

    workers = Workers()
    # Before any route's own dependencies, so nothing (not even a token check) sees them.
    refuse = Depends(characters.refuse_unsafe_characters)
    app = FastAPI(title=spec.name, lifespan=lifespan, dependencies=[refuse])
    app.state.db = db
    app.state.publisher = publisher
    app.state.verifier = verifier
    app.state.enactors = spec.governs
    for name, value in spec.state.items():
        setattr(app.state, name, value)
    http.install(app, spec.name)
    openapi.install(app)
    tracing.instrument(app)
    app.include_router(_health_router(spec, db, publisher, workers))
    # Beside /openapi.json and, like it, open to all: what travels on the topics.
    app.add_route("/asyncapi.json", _asyncapi_document, include_in_schema=False)
    # Open too: public keys, which consumers are configured to trust (`ferry.eventsigning`).
    app.add_route("/signing-keys", _signing_keys(spec.name, signer), include_in_schema=False)
    for router in spec.routers:
        app.include_router(router)
    return app


def _relay(spec: ServiceSpec, db: Database) -> OutboxRelay | None:
    """The outbox relay, with a producer of its own: a transactional one, which readiness
    checks must not start (starting it fences the relay of another replica)."""
    if not spec.publishes:
        return None
    settings = spec.settings
    publisher = Publisher(
        settings,
        client_id=f"{spec.name}-relay",
        transactional_id=relay_transactional_id(spec.name, settings.topic_prefix),
    )
    return OutboxRelay(db, publisher, settings.topic(spec.publishes))


def signer_of(settings: ServiceSettings) -> EventSigner | None:
    """The key the service signs its events with, or None (unsigned) when none is set."""
    if settings.event_signing_key_file is None:
        log.warning("no FERRY_EVENT_SIGNING_KEY_FILE: this service's events are unsigned")
        return None
    try:
        return EventSigner.from_file(settings.event_signing_key_file)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"FERRY_EVENT_SIGNING_KEY_FILE: {exc}") from exc


def _signing_keys(service: str, signer: EventSigner | None) -> Callable[[Request], Any]:
    keys = [] if signer is None else [{"keyid": signer.key_id, "publickey": signer.public_key}]
    body = orjson.dumps({"service": service, "algorithm": "Ed25519", "keys": keys})

    async def signing_keys(_: Request) -> Response:
        """The public keys this service signs its events with (raw, base64), by key id."""
        return Response(body, media_type="application/json")

    return signing_keys


async def _asyncapi_document(_: Request) -> Response:
    """The AsyncAPI document of every topic and event (`ferry.events.asyncapi`)."""
    return Response(asyncapi.document_json(), media_type="application/json")


def _jobs(
    spec: ServiceSpec, db: Database, relay: OutboxRelay | None
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    settings = spec.settings
    jobs: list[tuple[str, Coroutine[Any, Any, None]]] = []
    trusted = TrustedKeys.from_setting(
        settings.trusted_event_keys(), settings.change_tool_secrets()
    )
    if relay is not None:
        jobs.append(("outbox-relay", relay.run()))
    consumers = {"consumer": (spec.name, spec.consumes)} | {
        f"consumer-{name}": (f"{spec.name}.{name}", topics)
        for name, topics in spec.projections.items()
    }
    for job, (group, consumes) in consumers.items():
        if not consumes:
            continue
        handlers = {t: h for per_topic in consumes.values() for t, h in per_topic.items()}
        consumer = Consumer(
            settings,
            group_id=f"{settings.topic_prefix}{group}",
            topics=[settings.topic(topic) for topic in consumes],
            handle=Dispatcher(group, db, handlers, trusted),
        )
        jobs.append((job, consumer.run()))
    jobs.extend((name, job(db)) for name, job in spec.jobs.items())
    return jobs


async def _answers_within(publisher: Publisher, seconds: float) -> bool:
    """Whether Kafka answers the publisher in time: a broker that hangs rather than refuses
    must not hold the probe (readiness does not wait on Kafka)."""
    try:
        return await asyncio.wait_for(publisher.ready(), seconds)
    except TimeoutError:
        return False


def _health_router(
    spec: ServiceSpec, db: Database, publisher: Publisher, workers: Workers
) -> APIRouter:
    router = APIRouter(tags=["health"])
    head = migrations.head(spec.migrations)
    shipped = migrations.shipped_revisions(spec.migrations)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @router.get("/readyz", responses=http.problem_responses({503: "A dependency is not ready"}))
    async def readyz() -> Response:
        """Ready to serve: PostgreSQL answers with a schema this code is compatible with (its
        own revision, or a later one that still serves it: a rollout or a rollback across a
        migration), and the background jobs run. Kafka is reported but not required: the
        outbox keeps events while the broker is away, and reads and callbacks need none."""
        checks = {"database": "ok", "migrations": "ok", "workers": "ok"}
        try:
            async with db.unit_of_work() as uow:
                found = await migrations.applied(uow)
                if not await migrations.serves(uow, found, head, shipped):
                    checks["migrations"] = f"schema at {found}, this code needs {head}"
        except Exception as exc:  # any failure means "not ready", never a 500 here
            log.warning("readiness: database check failed: %r", exc)
            checks["database"] = checks["migrations"] = f"unreachable: {type(exc).__name__}"
        if dead := workers.dead():
            checks["workers"] = "ended: " + ", ".join(dead)
        ready = all(value == "ok" for value in checks.values())
        checks["kafka"] = "ok" if await _answers_within(publisher, 1.0) else "unreachable"
        if ready:
            body = orjson.dumps({"status": "ready", "checks": checks})
            return Response(body, media_type="application/json")
        return http.problem(503, "Not ready", "a dependency is not ready", checks=checks)

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    )
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
