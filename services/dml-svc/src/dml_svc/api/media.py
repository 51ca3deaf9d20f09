"""Routes of the library's media: upload (streamed), list, metadata and download."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dml_svc.adapters.blobs import Corrupted, DigestMismatch, TooLarge
from dml_svc.adapters.views import PostgresViews
from dml_svc.api.dependencies import Blobs, DmlSettings
from dml_svc.domain.digests import declared_sha256, repr_digest
from dml_svc.domain.media import LicenceTerms, Media, MediaImmutable, MediaState, StageMedia
from dml_svc.domain.ranges import byte_range
from dml_svc.handlers import library
from dml_svc.projections import media_list
from ferry import commands
from ferry.auth import Principal, Reader, Role, allow, allow_scoped
from ferry.db import Database, UnitOfWork
from ferry.envelope import Meta
from ferry.errors import FerryError
from ferry.events.dml import MediaKind
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.fields import Day, Notes, Prose
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import Reply
from ferry.service import RequestMeta, UoW

log = logging.getLogger(__name__)
LABEL = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"
Label = Annotated[str, Path(pattern=LABEL, description="letters, digits, '.', '_', '+', '-'")]
MEDIA_TYPE = r"^[\w.+-]+/[\w.+-]+$"
# Each route's own problems; ferry.openapi adds those every route shares (401, 403, 422,
# 503, and 400, 409, 428 where a body or `If-Match` is taken).
NO_MEDIA = {404: "No such media"}
UPLOAD_PROBLEMS = problem_responses(
    {
        409: "name@version exists with other bytes, or the media is revoked",
        413: "Larger than the library accepts",
        422: "Invalid field, or the bytes do not match the declared digest",
    }
)
CHANGE_PROBLEMS = problem_responses({**NO_MEDIA, 409: "The media is revoked, or If-Match is stale"})
DOWNLOAD_PROBLEMS = problem_responses(
    {
        **NO_MEDIA,
        403: "The caller's roles do not reach this media",
        409: "The media is revoked",
        500: "Its stored bytes no longer match the recorded digest (`MediaCorruptionDetected`)",
    }
)
BYTES = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The media's bytes, streamed; `Content-Type` is recorded as its type",
        "content": {"application/octet-stream": BYTES},
    }
}
CONTENT = {
    "description": "The media's bytes, served as its own media type",
    "content": {"application/octet-stream": BYTES},
}
UNSATISFIABLE: dict[int | str, dict[str, Any]] = {
    416: {
        "description": "The range lies outside the media; `Content-Range` gives its size",
        "headers": {
            "Content-Range": {
                "required": True,
                "schema": {"type": "string", "pattern": r"^bytes \*/[0-9]+$"},
            }
        },
    }
}
Librarian = Annotated[Principal, allow(Role.DML_LIBRARIAN)]
Taker = Annotated[Principal, allow_scoped(Role.TESTER, Role.DEPLOYER, Role.DML_LIBRARIAN)]
"""A tester or deployer of a team takes only media for a service the team owns."""

# Staged media are for validating; definitive ones for deploying; librarians keep both.
REACH: dict[str, frozenset[MediaState]] = {
    Role.TESTER: frozenset({MediaState.STAGED}),
    Role.DEPLOYER: frozenset({MediaState.DEFINITIVE}),
    Role.DML_LIBRARIAN: frozenset({MediaState.STAGED, MediaState.DEFINITIVE}),
}


class LicenceOut(BaseModel):
    licence_name: str
    licence_version: str
    licence_sha256: str
    seats: int | None
    expires_on: date | None
    terms: str


class MediaOut(BaseModel):
    name: str
    version: str
    kind: MediaKind
    media_type: str
    size: int
    sha256: str
    supplier: str
    service: str | None = None
    """The service it is for, whose team's testers and deployers take it."""
    state: MediaState
    licence: LicenceOut | None = None
    """Purchased software's licence, if attached."""
    stream_version: int

    @classmethod
    def of(cls, media: Media) -> MediaOut:
        assert media.state is not None
        return cls(
            name=media.name,
            version=media.media_version,
            kind=media.kind,
            media_type=media.media_type,
            size=media.size,
            sha256=media.sha256,
            supplier=media.supplier,
            service=media.service,
            state=media.state,
            licence=LicenceOut.model_validate(media.licence.model_dump())
            if media.licence
            else None,
            stream_version=media.version,
        )


class LicenceIn(BaseModel):
    """The licence document (staged as media of kind licence) and its terms."""

    model_config = ConfigDict(extra="forbid")

    licence_name: Annotated[str, StringConstraints(pattern=LABEL)]
    licence_version: Annotated[str, StringConstraints(pattern=LABEL)]
    seats: int | None = Field(default=None, ge=1, le=10_000_000)
    expires_on: Day | None = None
    terms: Notes = ""


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Prose


class MediaPage(BaseModel):
    items: list[MediaOut]
    next: str | None


router = APIRouter(prefix="/media", tags=["media"])


@router.put(
    "/{name}/{version}",
    response_model=MediaOut,
    status_code=201,
    responses={
        **UPLOAD_PROBLEMS,
        200: {"model": MediaOut, "description": "The same bytes were staged before"},
    },
    # The route reads the raw stream, so FastAPI cannot see the body: state it.
    openapi_extra=UPLOAD_BODY,
)
async def upload(
    name: Label,
    version: Label,
    request: Request,
    caller: Librarian,
    meta: RequestMeta,
    blobs: Blobs,
    settings: DmlSettings,
    kind: MediaKind = MediaKind.SOFTWARE,
    supplier: Annotated[str, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = "",
    service: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="the service it is for: the owning team's testers and deployers take "
            "it; media for no service, only testers and deployers of every team",
        ),
    ] = None,
    # Validated, but stated by the request body's media type: OpenAPI ignores a
    # `Content-Type` header parameter.
    content_type: Annotated[
        str, Header(alias="Content-Type", pattern=MEDIA_TYPE, include_in_schema=False)
    ] = "application/octet-stream",
    content_length: Annotated[int | None, Header(alias="Content-Length", ge=0)] = None,
    repr_digest_: Annotated[str | None, Header(alias="Repr-Digest", max_length=500)] = None,
    digest: Annotated[str | None, Header(alias="Digest", max_length=500)] = None,
) -> Response:
    """Stage media (quarantine) → `MediaStaged`. The body streams to disk while it is
    hashed. Declare its digest with `Repr-Digest: sha-256=:<base64>:` (or `Digest`) to
    have a corrupted upload refused. The same bytes again answer 200; other bytes under
    the same name@version 409: the library never overwrites. Name the `service` it is for
    to let that service's team's testers and deployers take it."""
    max_upload_bytes = settings.max_upload_bytes
    if content_length is not None and content_length > max_upload_bytes:
        raise TooLarge(f"{content_length} bytes exceed the limit of {max_upload_bytes}")
    expect = declared_sha256(repr_digest_, digest)
    async with request.app.state.db.unit_of_work() as uow:
        held = (await library.load_media(uow, name, version)).sha256 or None
    if held and expect and expect != held:
        raise MediaImmutable(f"{name}@{version} is in the library with sha256 {held}")
    # Stored before the metadata: should the transaction fail, the blob is an orphan a
    # retry reuses, never metadata without bytes. Bytes differing from those already
    # held under this name@version are not kept at all.
    try:
        blob = await blobs.put(request.stream(), max_upload_bytes, expect or held)
    except DigestMismatch as exc:
        if held and not expect:
            raise MediaImmutable(
                f"{name}@{version} is in the library with other bytes (sha256 {held}); "
                "the library never overwrites: give the new bytes a new version"
            ) from exc
        raise
    cmd = StageMedia(name, version, blob, kind, content_type, supplier, service)

    async def work(uow: UnitOfWork) -> Reply:
        media, new = await library.stage_media(cmd, uow, PostgresViews(uow), meta)
        out = MediaOut.of(media)
        return saved(
            out, media.version, status=201 if new else 200, location=f"/media/{name}/{version}"
        )

    return await commands.respond(request.app.state.db, work)


@router.post("/{name}/{version}/revoke", response_model=MediaOut, responses=CHANGE_PROBLEMS)
async def revoke(
    name: Label,
    version: Label,
    revocation: RevocationIn,
    request: Request,
    _: Librarian,
    meta: RequestMeta,
    expected: ExpectedVersion,
) -> Response:
    """Withdraw media for good (e.g. a vulnerability was found) → `MediaRevoked`. Nobody
    may download it any more, and deploy-svc refuses it. Requires `If-Match`."""

    async def work(uow: UnitOfWork) -> Reply:
        views = PostgresViews(uow)
        media = await library.revoke_media(
            uow, views, name, version, revocation.reason, expected, meta
        )
        return saved(MediaOut.of(media), media.version)

    return await commands.respond(request.app.state.db, work)


@router.put("/{name}/{version}/licence", response_model=MediaOut, responses=CHANGE_PROBLEMS)
async def attach_licence(
    name: Label,
    version: Label,
    body: LicenceIn,
    request: Request,
    _: Librarian,
    meta: RequestMeta,
    expected: ExpectedVersion,
) -> Response:
    """Attach purchased software's licence: its document, a media item of kind licence
    in the library, and its terms (seats, expiry) → `LicenceAttached`. Requires
    `If-Match`; a later call renews it."""
    terms = LicenceTerms(body.seats, body.expires_on, body.terms)
    document = (body.licence_name, body.licence_version)

    async def work(uow: UnitOfWork) -> Reply:
        views = PostgresViews(uow)
        media = await library.attach_licence(
            uow, views, name, version, document, terms, expected, meta
        )
        return saved(MediaOut.of(media), media.version)

    return await commands.respond(request.app.state.db, work)


@router.get(
    "",
    response_model=MediaPage,
    responses=problem_responses({400: "A cursor this API did not give out"}),
)
async def list_media(
    uow: UoW,
    caller: Reader,
    name: Annotated[str | None, Query(max_length=128)] = None,
    kind: MediaKind | None = None,
    state: MediaState | None = None,
    team: Annotated[
        str | None,
        Query(
            pattern=TEAM_NAME_PATTERN,
            description="only media for a service this team owns; by default the caller's "
            "teams' when all its roles are held for teams",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> MediaPage:
    """Media by name and version, filtered, a page at a time (follow `next`)."""
    filters = media_list.Filters(name, kind, state, caller.listed_teams(team))
    async with uow:
        rows, next_cursor = await media_list.page(uow, filters, limit, cursor)
    items = [MediaOut(**{k: v for k, v in dict(row).items() if k != "media_id"}) for row in rows]
    return MediaPage(items=items, next=next_cursor)


@router.get("/{name}/{version}", response_model=MediaOut, responses=problem_responses(NO_MEDIA))
async def get_media(
    name: Label, version: Label, uow: UoW, response: Response, _: Reader
) -> MediaOut:
    """One media item's metadata."""
    async with uow:
        media = await library.get_media(uow, name, version)
    response.headers["ETag"] = etag(media.version)
    return MediaOut.of(media)


@router.get(
    "/{name}/{version}/content",
    response_class=StreamingResponse,
    responses={
        200: CONTENT,
        206: {**CONTENT, "description": "The one range asked for (`Content-Range`)"},
        **DOWNLOAD_PROBLEMS,
        **UNSATISFIABLE,
    },
)
async def download(
    name: Label,
    version: Label,
    request: Request,
    caller: Taker,
    meta: RequestMeta,
    blobs: Blobs,
    range_: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
) -> StreamingResponse:
    """The media's bytes → `MediaRetrieved` (who, what, when). Staged media are for
    testers and librarians; definitive ones for deployers and librarians. One `Range`
    of bytes may be asked for (206). The bytes are re-hashed as they stream: should they
    no longer match the recorded digest, the transfer is cut off before its end and
    `MediaCorruptionDetected` published."""
    acting = caller.acting_as(Role.TESTER, Role.DEPLOYER, Role.DML_LIBRARIAN)
    db = request.app.state.db
    # Recorded before the bytes flow: a download cut short was still a download.
    async with db.unit_of_work() as uow:
        views = PostgresViews(uow)
        media = await library.retrieve_media(
            uow, views, name, version, caller.subject, acting, REACH, meta
        )
        await uow.commit()
    span = byte_range(range_, media.size)
    # A range may end long before the blob does: the whole blob is checked first, as
    # streaming the range alone would send its bytes before the digest could be known.
    if span:
        found = await blobs.verify(media.sha256)
    else:
        found = media.sha256 if await blobs.exists(media.sha256) else "missing"
    if found != media.sha256:
        await _corrupted(db, name, version, found, meta)
        raise MediaCorrupted(f"{name}@{version}: its stored bytes no longer match")
    first, last = span or (0, media.size - 1)
    headers = {
        "Content-Length": str(last - first + 1),
        "Accept-Ranges": "bytes",
        "ETag": f'"{media.sha256}"',
        "Repr-Digest": repr_digest(media.sha256),
        "Content-Disposition": f'attachment; filename="{media.name}"',
    }
    if span:
        headers["Content-Range"] = f"bytes {first}-{last}/{media.size}"

    async def verified() -> AsyncIterator[bytes]:
        try:
            async for chunk in blobs.read(media.sha256, first, last):
                yield chunk
        except Corrupted as exc:
            await _corrupted(db, name, version, exc.found, meta)
            raise  # the server cuts the transfer short: the client sees it incomplete

    return StreamingResponse(verified(), 206 if span else 200, headers, media_type=media.media_type)


class MediaCorrupted(FerryError):
    status = 500
    title = "Media corrupted"


async def _corrupted(db: Database, name: str, version: str, found: str, meta: Meta) -> None:
    log.error(
        "%s@%s: stored bytes hash to %s; publishing MediaCorruptionDetected", name, version, found
    )
    async with db.unit_of_work() as uow:
        views = PostgresViews(uow)
        await library.record_corruption(uow, views, name, version, found, "download", meta)
        await uow.commit()
