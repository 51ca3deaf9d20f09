"""`GET /events`: every Ferry service's events as Server-Sent Events, for dashboards."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import anyio
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.errors import FerryError, NotFound
from ferry.feed import Filter, decode_cursor
from ferry.http import problem_responses
from ferry.kafka import SERVICE_TOPICS
from ferry.service import UoW
from ferry.settings import ServiceSettings
from ferry.streaming import stopping
from release_svc import handlers
from release_svc.adapters import release_list
from release_svc.adapters.event_stream import EventStream
from release_svc.api.routes import IDENTIFIER_OR_UUID


class KafkaUnavailable(FerryError):
    """Kafka cannot be reached to start the stream; the client retries shortly."""

    status = 503
    title = "Service unavailable"


class EventStreamResponse(StreamingResponse):
    """`text/event-stream` of an `EventStream`, which it closes however the response ends."""

    media_type = "text/event-stream"

    def __init__(self, stream: EventStream, request: Request, wanted: Filter) -> None:
        super().__init__(
            stream.messages(wanted, stopping(request.app)),
            # No caching, and no buffering by a proxy (nginx): each message goes out at once.
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: a client that left cancels the response, and the consumer must still
            # stop, or its fetcher task would outlive the connection.
            with anyio.CancelScope(shield=True):
                await self._stream.close()


def router(settings: ServiceSettings) -> APIRouter:
    """`GET /events`, reading the topics `settings` name from the brokers it names."""
    router = APIRouter(tags=["events"])
    topics = {settings.topic(topic): topic for topic in SERVICE_TOPICS}

    @router.get(
        "/events",
        response_class=EventStreamResponse,
        status_code=200,  # said here: the response's own signature takes no status
        responses={
            200: {
                "description": "Server-Sent Events: `id` (the cursor to resume after it), `event` "
                "(the event type) and `data` (the CloudEvents envelope as on Kafka); first, "
                "and every 15 s without events, a message of only the `id` (and a "
                "`: keep-alive` comment), so a client always has a place to resume from",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            **problem_responses(
                {
                    400: "An unreadable Last-Event-ID (or last_event_id)",
                    401: "No valid bearer token",
                    404: "No such release",
                    503: "Kafka cannot be reached; retry",
                }
            ),
        },
    )
    async def events(
        request: Request,
        uow: UoW,
        _: Reader,
        event_type: Annotated[
            list[str] | None,
            Query(alias="type", description="only events of these types (repeat it for several)"),
        ] = None,
        release: Annotated[
            str | None,
            Query(
                pattern=IDENTIFIER_OR_UUID,
                description="only the events of this release (its id or identifier, e.g. "
                "REL-2026-0042): on release.events its own, elsewhere those naming it as "
                "`data.release_id`",
            ),
        ] = None,
        start: Annotated[
            Literal["now", "beginning"],
            Query(alias="from", description="without a cursor: only new events, or all of them"),
        ] = "now",
        last_event_id: Annotated[
            str | None,
            Query(description="the cursor to resume after, for clients that cannot send headers"),
        ] = None,
        last_event_id_header: Annotated[
            str | None,
            Header(alias="Last-Event-ID", description="the `id` of the last message received"),
        ] = None,
    ) -> EventStreamResponse:
        """Ferry's events as they are published, from release.events, dml.events, deploy.events
        and els.events; resumable exactly after any message with its `id`."""
        if last_event_id_header is not None:  # a reconnecting EventSource: newer than the URL's
            resume = decode_cursor(last_event_id_header, "Last-Event-ID")
        elif last_event_id is not None:
            resume = decode_cursor(last_event_id, "last_event_id")
        else:
            resume = None
        wanted = Filter(
            types=frozenset(event_type or ()), release_id=await _release_id(uow, release)
        )
        try:
            stream = await EventStream.open(
                settings.kafka_bootstrap_servers,
                topics,
                client_id=f"{settings.topic_prefix}release-svc-feed",
                start=resume,
                from_beginning=start == "beginning",
            )
        except KafkaError as exc:
            raise KafkaUnavailable(f"Kafka cannot be reached: {type(exc).__name__}") from exc
        return EventStreamResponse(stream, request, wanted)

    return router


async def _release_id(uow: UnitOfWork, release: str | None) -> UUID | None:
    """The id of the release `release` names, by the release-svc's own records."""
    if release is None:
        return None
    async with uow:
        if release.upper().startswith("REL-"):
            found = await release_list.release_id_of(uow, release.upper())
            if found is None:
                raise NotFound(f"no release {release}")
            return found
        return (await handlers.get_release(uow, UUID(release))).id
