"""A release's history: every event of its stream, who caused it and in which conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ferry.auth import Reader
from ferry.envelope import Envelope
from ferry.errors import NotFound
from ferry.http import problem_responses
from ferry.service import UoW
from release_svc.handlers import releases as handlers

router = APIRouter(prefix="/releases", tags=["releases"])


class HistoryEvent(BaseModel):
    """One event of a release's stream, as it was recorded."""

    id: UUID
    type: str
    stream_version: int
    """Its place in the release's stream, from 1: what `after` pages by."""
    time: datetime
    actor: str
    """Who did it: a token's subject, or `service:<name>`."""
    actor_roles: list[str]
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, envelope: Envelope) -> HistoryEvent:
        return cls(
            id=envelope.id,
            type=envelope.type,
            stream_version=envelope.streamversion,
            time=envelope.time,
            actor=envelope.actor,
            actor_roles=envelope.actorroles.split(",") if envelope.actorroles else [],
            correlation_id=envelope.correlationid,
            causation_id=envelope.causationid,
            data=envelope.data,
        )


class HistoryPage(BaseModel):
    items: list[HistoryEvent]
    next: int | None
    """The `after` of the following page; null on the last."""


@router.get(
    "/{release_id}/history",
    response_model=HistoryPage,
    responses=problem_responses(
        {
            401: "No valid bearer token",
            403: "The caller has no Ferry role",
            404: "No such release",
            422: "Invalid parameter; `errors` names each",
        }
    ),
)
async def release_history(
    release_id: UUID,
    uow: UoW,
    _: Reader,
    after: Annotated[
        int,
        Query(ge=0, le=2**31 - 1, description="the `stream_version` the previous page ended at"),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> HistoryPage:
    """Every event of the release in the order it happened, a page at a time (follow
    `next`): its type and data, when, who (and their roles), and the correlation and
    causation ids that tie it to the request or event that caused it."""
    stream = handlers.stream_id(release_id)
    async with uow:
        # One more than asked tells whether there is a next page.
        events = await uow.events.load(stream, after=after, limit=limit + 1)
        if not events and not await uow.events.load(stream, limit=1):
            raise NotFound(f"no release {release_id}")
    page = events[:limit]
    more = len(events) > limit
    return HistoryPage(
        items=[HistoryEvent.of(e) for e in page], next=page[-1].streamversion if more else None
    )
