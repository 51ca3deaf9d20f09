"""Calendar feed tokens: a secret URL per person and calendar, for calendar apps that
subscribe to a URL and cannot send a bearer token. Revocable, and expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ferry.auth import Capability, Reader
from ferry.errors import NotFound
from ferry.fields import Line
from ferry.http import problem_responses
from ferry.service import UoW
from release_svc.adapters import feed_tokens
from release_svc.api.filters import ScheduleQuery
from release_svc.api.schedule import calendar

router = APIRouter(prefix="/schedule", tags=["schedule"])
SECRET = r"^[A-Za-z0-9_-]{20,100}$"
NO_TOKEN = problem_responses({404: "No such feed token (or not yours, revoked or expired)"})
"""Its own; ferry.openapi adds the 401, 403, 422 and 503 of a route that takes a token."""


class FeedTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Line = Field(examples=["my work calendar"])
    valid_days: int = Field(default=365, ge=1, le=3650)


class FeedTokenOut(BaseModel):
    token_id: UUID
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class NewFeedToken(FeedTokenOut):
    url: str
    """The feed's path, holding the secret: shown this once, so keep it like a password.
    Append `/schedule.ics` filters (e.g. `?environment=production`) as query parameters."""


class FeedHolder(Capability):
    """The subject whose feed secret is in the path; 404 for any other secret."""

    async def __call__(self, request: Request, secret: Annotated[str, Path(pattern=SECRET)]) -> str:
        async with request.app.state.db.unit_of_work() as uow:
            subject = await feed_tokens.holder(uow, secret, datetime.now(UTC))
        if subject is None:
            raise NotFound("no such feed")
        return subject


FeedSubject = Annotated[str, Depends(FeedHolder())]


@router.post("/feed-tokens", status_code=201, response_model=NewFeedToken)
async def create_feed_token(body: FeedTokenIn, request: Request, caller: Reader) -> NewFeedToken:
    """A secret feed URL for the caller's calendar app: it serves `/schedule.ics` to whoever
    holds it, until revoked or expired."""
    now = datetime.now(UTC)
    async with request.app.state.db.unit_of_work() as uow:
        token, secret = await feed_tokens.create(
            uow, caller.subject, body.label, now, now + timedelta(days=body.valid_days)
        )
        await uow.commit()
    return NewFeedToken(**vars(token), url=f"/schedule/feeds/{secret}.ics")


@router.get("/feed-tokens", response_model=list[FeedTokenOut])
async def list_feed_tokens(uow: UoW, caller: Reader) -> list[FeedTokenOut]:
    """The caller's feed tokens (never their secrets)."""
    async with uow:
        return [FeedTokenOut(**vars(t)) for t in await feed_tokens.of(uow, caller.subject)]


@router.delete("/feed-tokens/{token_id}", status_code=204, responses=NO_TOKEN)
async def revoke_feed_token(token_id: UUID, request: Request, caller: Reader) -> Response:
    """Revoke one of the caller's feed tokens: its URL answers 404 from now on."""
    async with request.app.state.db.unit_of_work() as uow:
        await feed_tokens.revoke(uow, caller.subject, token_id, datetime.now(UTC))
        await uow.commit()
    return Response(status_code=204)


@router.get(
    "/feeds/{secret}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **NO_TOKEN},
)
async def feed(_: FeedSubject, uow: UoW, filters: ScheduleQuery) -> Response:
    """`/schedule.ics` for the holder of a feed token's secret, with the same filters."""
    async with uow:
        return await calendar(uow, filters)
