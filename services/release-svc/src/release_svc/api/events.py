"""`GET /events`: every Ferry service's events as Server-Sent Events, for dashboards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal
from uuid import UUID

import anyio
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, Query, Request, Response
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ferry import team_table
from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.errors import Forbidden, NotFound, Unavailable
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.feed import Filter, StreamLimits, TeamScope, TooManyStreams, decode_cursor
from ferry.http import problem, problem_responses
from ferry.kafka import SERVICE_TOPICS
from ferry.service import UoW
from ferry.streaming import stopping
from ferry.teams import Owned
from release_svc.adapters import release_list
from release_svc.adapters.feed_hub import FeedHub, Subscription
from release_svc.api.routes import IDENTIFIER_OR_UUID
from release_svc.config import Settings
from release_svc.handlers import releases as handlers


class KafkaUnavailable(Unavailable):
    """Kafka cannot be reached to start the stream; the client retries shortly."""


class EventStreamResponse(StreamingResponse):
    """`text/event-stream` of a `Subscription`, which it closes however the response ends."""

    media_type = "text/event-stream"

    def __init__(
        self,
        stream: Subscription,
        request: Request,
        wanted: Filter,
        *,
        deadline: float | None,
        ended: Callable[[], None],
    ) -> None:
        super().__init__(
            stream.messages(wanted, stopping(request.app), deadline=deadline),
            # No caching, and no buffering by a proxy (nginx): each message goes out at once.
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._stream = stream
        self._ended = ended

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._ended()
            # Shielded: a client that left cancels the response, and its stream must still
            # close, or a reader of its own (and the shared one, were it the last) would
            # outlive the connection.
            with anyio.CancelScope(shield=True):
                await self._stream.close()


def router(settings: Settings) -> APIRouter:
    """`GET /events`, reading the topics `settings` name from the brokers it names."""
    router = APIRouter(tags=["events"])
    topics = {settings.topic(topic): topic for topic in SERVICE_TOPICS}
    hub = FeedHub(
        settings,
        topics,
        client_id=f"{settings.topic_prefix}release-svc-feed",
    )
    limits = StreamLimits(settings.feed_max_streams, settings.feed_max_streams_per_subject)
    replay_roles = frozenset(settings.feed_replay_roles)

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
                    403: "`from=beginning`, or a cursor further back than a reconnect's, "
                    "without a role allowed to replay (the auditor)",
                    404: "No such release",
                    429: "Too many streams open, the caller's or this replica's; `Retry-After`",
                    503: "Kafka cannot be reached; retry",
                }
            ),
        },
    )
    async def events(
        request: Request,
        uow: UoW,
        caller: Reader,
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
            Query(
                alias="from",
                description="without a cursor: only new events, or all of them (auditors)",
            ),
        ] = "now",
        team: Annotated[
            str | None,
            Query(
                pattern=TEAM_NAME_PATTERN,
                description="only the events of this team's releases, services and "
                "environments; by default the caller's teams' when all its roles are held "
                "for teams",
            ),
        ] = None,
        last_event_id: Annotated[
            str | None,
            Query(description="the cursor to resume after, for clients that cannot send headers"),
        ] = None,
        last_event_id_header: Annotated[
            str | None,
            Header(alias="Last-Event-ID", description="the `id` of the last message received"),
        ] = None,
    ) -> Response:
        """Ferry's events as they are published, from release.events, dml.events, deploy.events
        and els.events; resumable exactly after any message with its `id`. A stream ends when
        the caller's token expires."""
        if last_event_id_header is not None:  # a reconnecting EventSource: newer than the URL's
            resume = decode_cursor(last_event_id_header, "Last-Event-ID")
        elif last_event_id is not None:
            resume = decode_cursor(last_event_id, "last_event_id")
        else:
            resume = None
        from_beginning = resume is None and start == "beginning"
        if from_beginning and not caller.has_any(replay_roles):
            # A replay of every topic costs a reader of its own for as long as it takes.
            allowed = ", ".join(sorted(replay_roles))
            raise Forbidden(f"from=beginning needs one of the roles: {allowed}")
        wanted = await _filter(uow, frozenset(event_type or ()), release, caller.listed_teams(team))
        try:
            limits.admit(caller.subject)
        except TooManyStreams as exc:
            return problem(
                exc.status, exc.title, str(exc), headers={"Retry-After": str(exc.retry_after)}
            )
        try:
            # A cursor far back is a replay too: only a reconnect's worth for everyone else.
            window = None if caller.has_any(replay_roles) else settings.feed_resume_window
            stream = await hub.subscribe(resume, from_beginning=from_beginning, max_behind=window)
        except BaseException as exc:
            limits.release(caller.subject)
            if isinstance(exc, KafkaError):
                raise KafkaUnavailable(f"Kafka cannot be reached: {type(exc).__name__}") from exc
            raise
        return EventStreamResponse(
            stream,
            request,
            wanted,
            deadline=caller.expires_at,
            ended=lambda: limits.release(caller.subject),
        )

    return router


async def _filter(
    uow: UnitOfWork, types: frozenset[str], release: str | None, teams: frozenset[str] | None
) -> Filter:
    """The events a client asked for; the database is read only when a release or teams
    narrow them, so an unfiltered stream starts even while PostgreSQL is away."""
    if release is None and teams is None:
        return Filter(types=types)
    async with uow:
        return Filter(
            types=types,
            release_id=await _release_id(uow, release),
            teams=await _team_scope(uow, teams),
        )


async def _team_scope(uow: UnitOfWork, teams: frozenset[str] | None) -> TeamScope | None:
    """What of `teams` the feed tells apart (None: every team's)."""
    if teams is None:
        return None
    return TeamScope(
        teams=teams,
        services=await team_table.owned(uow, teams, Owned.SERVICE),
        environments=await team_table.owned(uow, teams, Owned.ENVIRONMENT),
        releases={str(r) for r in await release_list.touching(uow, teams)},
    )


async def _release_id(uow: UnitOfWork, release: str | None) -> UUID | None:
    """The id of the release `release` names, by the release-svc's own records."""
    if release is None:
        return None
    if release.upper().startswith("REL-"):
        found = await release_list.release_id_of(uow, release.upper())
        if found is None:
            raise NotFound(f"no release {release}")
        return found
    return (await handlers.get_release(uow, UUID(release))).id
