"""Routes of the audiences' directory and of each person's inbox.

Communication plans name audiences; the notifier (`jobs.notifications`) delivers what falls
due to their members' inboxes and their email addresses or chat webhooks, and what goes
wrong (a failed or rolled-back deployment, an escalation) to the people in charge of the
release at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from ferry import commands
from ferry.auth import Principal, Reader, Role, allow
from ferry.db import UnitOfWork
from ferry.errors import NotFound
from ferry.events.notify import AUDIENCE_NAME_PATTERN, Channel, NotificationAcknowledged
from ferry.http import VersionIfAny, etag, problem_responses, saved
from ferry.idempotency import Reply, json_reply
from ferry.service import RequestMeta, UoW
from release_svc.adapters import audiences, notifications
from release_svc.api.common import BAD_CURSOR
from release_svc.api.filters import Cursor, Limit
from release_svc.api.schemas.notifications import (
    AudienceIn,
    AudienceOut,
    DeliveryOut,
    DeliveryPage,
    NotificationOut,
    NotificationPage,
)
from release_svc.domain.audiences import DefineAudience
from release_svc.handlers import audiences as handlers

router = APIRouter(tags=["notifications"])
Manager = Annotated[Principal, allow(Role.RELEASE_MANAGER, Role.FERRY_ADMIN)]
"""Who keeps the directory: release managers (of every team) and Ferry's administrators."""
Name = Annotated[str, Path(pattern=AUDIENCE_NAME_PATTERN)]
NO_AUDIENCE = {404: "No such audience"}


@router.get("/audiences", response_model=list[AudienceOut])
async def list_audiences(uow: UoW, _: Reader) -> list[AudienceOut]:
    """Every audience, by name."""
    async with uow:
        return [AudienceOut.of(a) for a in await audiences.every(uow)]


@router.get(
    "/audiences/{name}", response_model=AudienceOut, responses=problem_responses(NO_AUDIENCE)
)
async def get_audience(name: Name, uow: UoW, response: Response, _: Reader) -> AudienceOut:
    async with uow:
        audience = await audiences.named(uow, name)
    if audience is None:
        raise NotFound(f"no audience {name}")
    response.headers["ETag"] = etag(audience.version)
    return AudienceOut.of(audience)


@router.put(
    "/audiences/{name}",
    response_model=AudienceOut,
    responses=problem_responses({409: "The audience changed since it was read"}),
)
async def define_audience(
    name: Name,
    body: AudienceIn,
    request: Request,
    caller: Manager,
    meta: RequestMeta,
    version: VersionIfAny,
) -> Response:
    """Create an audience (without `If-Match`) or replace it (with its `ETag`) →
    `AudienceDefined`. A plan entry's audience `Service desk` is the audience
    `service-desk`; its `channel` says which of the audience's channels it goes over
    (`email`, or `chat`/`webhook`), its members' inboxes always."""
    cmd = DefineAudience(
        name,
        body.description,
        frozenset(body.members),
        frozenset(body.emails),
        frozenset(body.webhooks),
        caller.subject,
    )
    known = request.app.state.notify_webhooks

    async def work(uow: UnitOfWork) -> Reply:
        audience = await handlers.define(uow, cmd, version, meta, known)
        return saved(AudienceOut.of(audience), audience.version)

    return await commands.respond(request.app.state.db, work)


@router.get("/notifications", response_model=NotificationPage, responses=BAD_CURSOR)
async def inbox(
    uow: UoW,
    caller: Reader,
    unread: Annotated[bool, Query(description="only those not yet read")] = False,
    unacknowledged: Annotated[
        bool, Query(description="only those asking for an acknowledgement not yet given")
    ] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> NotificationPage:
    """The caller's inbox, newest first (follow `next`)."""
    async with uow:
        rows, next_cursor = await notifications.inbox(
            uow, caller.subject, unread, unacknowledged, limit, cursor
        )
    return NotificationPage(items=[NotificationOut.of(r) for r in rows], next=next_cursor)


@router.get(
    "/releases/{release_id}/notifications", response_model=DeliveryPage, responses=BAD_CURSOR
)
async def release_notifications(
    release_id: UUID, uow: UoW, _: Reader, limit: Limit = 50, cursor: Cursor = None
) -> DeliveryPage:
    """Every notification about the release, newest first: to whom, over which channel,
    whether it was delivered (or is being tried again, or failed, and why), read and
    acknowledged."""
    async with uow:
        rows, next_cursor = await notifications.of_release(uow, release_id, limit, cursor)
    return DeliveryPage(items=[DeliveryOut.of(r) for r in rows], next=next_cursor)


@router.post(
    "/notifications/{notification_id}/acknowledgement",
    response_model=NotificationOut,
    responses=problem_responses(
        {404: "Not in the caller's inbox", 409: "It asks for no acknowledgement"}
    ),
)
async def acknowledge(
    notification_id: UUID, request: Request, caller: Reader, meta: RequestMeta
) -> Response:
    """Acknowledge one of the caller's notifications whose plan asks for it (and read it) →
    `NotificationAcknowledged`, the first time."""

    async def work(uow: UnitOfWork) -> Reply:
        row, first = await notifications.acknowledge(
            uow, caller.subject, notification_id, datetime.now(UTC)
        )
        if first:
            acknowledged = NotificationAcknowledged(
                notification_id=notification_id,
                release_id=row["release_id"],
                cause=row["cause"],
                channel=Channel.INBOX,
                recipient=caller.subject,
            )
            await uow.events.append(f"notification-{notification_id}", 1, [acknowledged], meta)
        return json_reply(200, NotificationOut.of(row).model_dump(mode="json"))

    return await commands.respond(request.app.state.db, work)


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationOut,
    responses=problem_responses({404: "Not in the caller's inbox"}),
)
async def read(notification_id: UUID, uow: UoW, caller: Reader) -> NotificationOut:
    """Mark one of the caller's notifications read."""
    async with uow:
        row = await notifications.mark_read(uow, caller.subject, notification_id, datetime.now(UTC))
        await uow.commit()
    return NotificationOut.of(row)
