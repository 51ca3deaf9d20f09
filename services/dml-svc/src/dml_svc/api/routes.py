"""Routes of the Definitive Media Library."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel

from dml_svc import handlers
from dml_svc.domain.library import LibraryEntry
from ferry.auth import Reader
from ferry.http import etag, problem_responses
from ferry.service import UoW

router = APIRouter(prefix="/library", tags=["library"])


class LibraryEntryOut(BaseModel):
    """A release's entry in the library."""

    release_id: UUID
    name: str
    version: str
    state: str
    media: list[str]
    stream_version: int

    @classmethod
    def of(cls, entry: LibraryEntry) -> LibraryEntryOut:
        return cls(
            release_id=entry.release_id,
            name=entry.name,
            version=entry.release_version,
            state=str(entry.state),
            media=[],
            stream_version=entry.version,
        )


@router.get(
    "/releases/{release_id}",
    response_model=LibraryEntryOut,
    responses=problem_responses({404: "No entry for this release"}),
)
async def get_entry(release_id: UUID, uow: UoW, response: Response, _: Reader) -> LibraryEntryOut:
    """The library entry of a release, opened when release-svc planned it."""
    async with uow:
        entry = await handlers.get_entry(uow, release_id)
    response.headers["ETag"] = etag(entry.version)
    return LibraryEntryOut.of(entry)
