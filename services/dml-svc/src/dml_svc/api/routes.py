"""Routes of the library's release entries and its signing key."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from dml_svc.adapters.views import PostgresViews
from dml_svc.api.dependencies import ManifestSigner
from dml_svc.api.media import Librarian, RevocationIn
from dml_svc.domain.library import LibraryEntry
from dml_svc.handlers import library
from ferry import commands
from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.events.release import MediaRef
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import Reply
from ferry.service import RequestMeta, UoW


class SignedManifest(BaseModel):
    package_revision: int
    manifest: str
    """Canonical JSON, exactly the text signed."""
    signature: str
    """Ed25519 over the manifest's UTF-8 bytes, base64."""
    key_id: str


class LibraryEntryOut(BaseModel):
    """A release's entry in the library."""

    release_id: UUID
    name: str
    version: str
    state: str
    media: list[MediaRef]
    """The approved package's media."""
    available: SignedManifest | None
    refused: list[str]
    """Why the approved package could not be made available, if it could not."""
    stream_version: int

    @classmethod
    def of(cls, entry: LibraryEntry) -> LibraryEntryOut:
        available = entry.available
        return cls(
            release_id=entry.release_id,
            name=entry.name,
            version=entry.release_version,
            state=str(entry.state),
            media=list(entry.approved_media),
            available=SignedManifest.model_validate(available.model_dump()) if available else None,
            refused=entry.refusals,
            stream_version=entry.version,
        )


class SigningKeyOut(BaseModel):
    algorithm: str = "Ed25519"
    key_id: str
    public_key_pem: str


router = APIRouter(prefix="/library", tags=["library"])


@router.get(
    "/releases/{release_id}",
    response_model=LibraryEntryOut,
    responses=problem_responses({404: "No entry for this release"}),
)
async def get_entry(release_id: UUID, uow: UoW, response: Response, _: Reader) -> LibraryEntryOut:
    """The library entry of a release: opened when release-svc planned it, available with
    a signed manifest once its package is validated and approved."""
    async with uow:
        entry = await library.get_entry(uow, release_id)
    response.headers["ETag"] = etag(entry.version)
    return LibraryEntryOut.of(entry)


@router.post(
    "/releases/{release_id}/revoke",
    response_model=LibraryEntryOut,
    responses=problem_responses(
        {404: "No entry for this release", 409: "Revoked already, or If-Match is stale"}
    ),
)
async def revoke(
    release_id: UUID,
    revocation: RevocationIn,
    request: Request,
    _: Librarian,
    meta: RequestMeta,
    expected: ExpectedVersion,
) -> Response:
    """Withdraw a release → `ReleaseRevoked`, and `MediaRevoked` for each of its media:
    nothing of it may be downloaded or deployed any more. Requires `If-Match`."""

    async def work(uow: UnitOfWork) -> Reply:
        entry, _ = await library.revoke_release(
            uow, PostgresViews(uow), release_id, revocation.reason, expected, meta
        )
        return saved(LibraryEntryOut.of(entry), entry.version)

    return await commands.respond(request.app.state.db, work)


@router.get("/signing-key", response_model=SigningKeyOut)
async def signing_key(_: Reader, signer: ManifestSigner) -> SigningKeyOut:
    """The public key that verifies the library's manifests."""
    return SigningKeyOut(key_id=signer.key_id, public_key_pem=signer.public_pem)
