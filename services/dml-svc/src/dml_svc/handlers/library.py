"""dml-svc's handlers of library entries and media, for its API and for release-svc's
`ReleasePlanned`: load the aggregate, let it decide, append what it decided."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from dml_svc.domain.library import LibraryEntry
from dml_svc.domain.media import (
    LicenceTerms,
    Media,
    MediaState,
    StageMedia,
    check_label,
    media_id,
)
from dml_svc.handlers.views import LibraryViews
from ferry.aggregate import at_version, existing, rebuild, record
from ferry.consuming import caused_by
from ferry.envelope import Envelope, Meta
from ferry.errors import NotFound
from ferry.events.dml import LibraryEntryEvent, MediaEvent
from ferry.events.release import ReleasePlanned
from ferry.eventstore import WithEvents
from ferry.grants import Acting
from ferry.teams import Owned

ACTOR = "service:dml-svc"


def stream_id(release_id: UUID) -> str:
    return f"{LibraryEntryEvent.stream_prefix}-{release_id}"


async def load_entry(uow: WithEvents, release_id: UUID) -> LibraryEntry:
    entry = LibraryEntry(release_id)
    return await rebuild(uow.events, stream_id(release_id), entry, LibraryEntryEvent)


async def get_entry(uow: WithEvents, release_id: UUID) -> LibraryEntry:
    missing = f"the library has no entry for release {release_id}"
    entry = LibraryEntry(release_id)
    return await existing(uow.events, stream_id(release_id), entry, LibraryEntryEvent, missing)


async def on_release_planned(event: ReleasePlanned, envelope: Envelope, uow: WithEvents) -> None:
    """Open the planned release's (empty) library entry."""
    entry = await load_entry(uow, event.release_id)
    new = entry.open(event.name, event.version)
    await record(uow.events, stream_id(entry.release_id), entry, new, caused_by(envelope, ACTOR))


def media_stream_id(media: UUID) -> str:
    return f"{MediaEvent.stream_prefix}-{media}"


async def load_media(uow: WithEvents, name: str, version: str) -> Media:
    found = Media(media_id(check_label("name", name), check_label("version", version)))
    return await rebuild(uow.events, media_stream_id(found.id), found, MediaEvent)


async def get_media(uow: WithEvents, name: str, version: str) -> Media:
    found = await load_media(uow, name, version)
    if not found.exists:
        raise NotFound(f"the library has no {name}@{version}")
    return found


async def stage_media(
    cmd: StageMedia, uow: WithEvents, views: LibraryViews, meta: Meta
) -> tuple[Media, bool]:
    """Stage media → `MediaStaged`; True if it is new, False if the same bytes were there."""
    found = await load_media(uow, cmd.name, cmd.version)
    new = found.stage(cmd)
    return await _decided(uow, views, found, new, meta), bool(new)


async def retrieve_media(
    uow: WithEvents,
    views: LibraryViews,
    name: str,
    version: str,
    by: str,
    acting: Acting,
    reach: Mapping[str, frozenset[MediaState]],
    meta: Meta,
) -> Media:
    """Record a download → `MediaRetrieved`, if the caller may take media in its state:
    `reach`, the states each role takes, counting the roles held everywhere or for the
    team owning the media's service (403 naming it otherwise)."""
    media = await get_media(uow, name, version)
    owners = await views.owner(Owned.SERVICE, media.service) if media.service else frozenset()
    acting.on(owners, f"media {name}@{version}")
    may_take = frozenset().union(*(reach.get(role, ()) for role in acting.roles_on(owners)))
    return await _decided(uow, views, media, media.retrieve(by, may_take), meta)


async def record_corruption(
    uow: WithEvents,
    views: LibraryViews,
    name: str,
    version: str,
    found: str,
    detected_by: str,
    meta: Meta,
) -> Media:
    """Record that the media's bytes no longer match → `MediaCorruptionDetected`."""
    media = await get_media(uow, name, version)
    return await _decided(uow, views, media, media.corruption_detected(found, detected_by), meta)


async def attach_licence(
    uow: WithEvents,
    views: LibraryViews,
    name: str,
    version: str,
    licence: tuple[str, str],
    terms: LicenceTerms,
    expected_version: int,
    meta: Meta,
) -> Media:
    """Attach a licence (a media item of kind licence) to software → `LicenceAttached`."""
    media = await _media_at(uow, name, version, expected_version)
    document = await load_media(uow, *licence)
    return await _decided(uow, views, media, media.attach_licence(document, terms), meta)


async def revoke_media(
    uow: WithEvents,
    views: LibraryViews,
    name: str,
    version: str,
    reason: str,
    expected_version: int,
    meta: Meta,
) -> Media:
    """Withdraw media → `MediaRevoked`, if still at the version the librarian read."""
    media = await _media_at(uow, name, version, expected_version)
    return await _decided(uow, views, media, media.revoke(reason), meta)


async def authorize_media(
    uow: WithEvents, views: LibraryViews, media: Media, release_id: UUID, meta: Meta
) -> Media:
    """Make staged media definitive for an approved release → `MediaAuthorized` (media
    already definitive decides nothing)."""
    return await _decided(uow, views, media, media.authorize(release_id), meta)


async def _media_at(uow: WithEvents, name: str, version: str, expected_version: int) -> Media:
    """The media item as the librarian read it (`If-Match`), or `ConcurrencyError`."""
    found = Media(media_id(check_label("name", name), check_label("version", version)))
    missing = f"the library has no {name}@{version}"
    stream = media_stream_id(found.id)
    return await at_version(uow.events, stream, found, MediaEvent, missing, expected_version)


async def _decided(
    uow: WithEvents, views: LibraryViews, media: Media, new: list[MediaEvent], meta: Meta
) -> Media:
    """Append what the media item decided and bring the media list up to it."""
    await record(uow.events, media_stream_id(media.id), media, new, meta)
    await views.save_media(media)
    return media


async def revoke_release(
    uow: WithEvents,
    views: LibraryViews,
    release_id: UUID,
    reason: str,
    expected_version: int,
    meta: Meta,
) -> tuple[LibraryEntry, list[Media]]:
    """Withdraw a release → `ReleaseRevoked`, and `MediaRevoked` for each of its media not
    revoked already."""
    missing = f"the library has no entry for release {release_id}"
    entry = await at_version(
        uow.events,
        stream_id(release_id),
        LibraryEntry(release_id),
        LibraryEntryEvent,
        missing,
        expected_version,
    )
    await record(uow.events, stream_id(release_id), entry, entry.revoke(reason), meta)
    revoked = []
    for ref in entry.approved_media:
        media = await load_media(uow, ref.name, ref.version)
        if media.exists and media.state is not MediaState.REVOKED:
            revoked.append(await _decided(uow, views, media, media.revoke(reason), meta))
    return entry, revoked
