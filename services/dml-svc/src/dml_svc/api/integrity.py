"""Routes of the integrity scrub: start one, watch its progress, read what it found."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from dml_svc.adapters import scrubs
from dml_svc.api.media import Librarian
from dml_svc.jobs.scrub import ask
from ferry.auth import Reader
from ferry.errors import NotFound
from ferry.http import problem_responses
from ferry.service import UoW


class CorruptedMedia(BaseModel):
    name: str
    version: str
    sha256: str
    found: str
    """What the bytes hash to now, or "missing"."""


class ScrubOut(BaseModel):
    scrub_id: UUID
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    total: int
    """Blobs to re-hash."""
    checked: int
    corrupted: list[CorruptedMedia]

    @classmethod
    def of(cls, scrub: scrubs.Scrub) -> ScrubOut:
        return cls.model_validate(vars(scrub))


router = APIRouter(prefix="/integrity/scrubs", tags=["integrity"])


@router.post(
    "",
    status_code=202,
    response_model=ScrubOut,
    responses=problem_responses({403: "Only librarians start scrubs"}),
)
async def start(request: Request, response: Response, caller: Librarian) -> ScrubOut:
    """Re-hash every blob in the background → `MediaCorruptionDetected` for each media
    item whose bytes no longer match. While one runs, this answers that one. Follow
    `Location` for progress (`checked` of `total`; `finished_at` once done)."""
    scrub = await ask(request.app.state.db, caller.subject)
    response.headers["Location"] = f"/integrity/scrubs/{scrub.scrub_id}"
    return ScrubOut.of(scrub)


@router.get("", response_model=list[ScrubOut])
async def latest(
    uow: UoW, _: Reader, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[ScrubOut]:
    """The latest scrubs, newest first."""
    async with uow:
        return [ScrubOut.of(s) for s in await scrubs.latest(uow, limit)]


@router.get(
    "/{scrub_id}", response_model=ScrubOut, responses=problem_responses({404: "No such scrub"})
)
async def get(scrub_id: UUID, uow: UoW, _: Reader) -> ScrubOut:
    """One scrub's progress and findings."""
    async with uow:
        found = await scrubs.get(uow, scrub_id)
    if found is None:
        raise NotFound(f"no scrub {scrub_id}")
    return ScrubOut.of(found)
