"""dml-svc's handlers, for its API and for other services' events."""

from __future__ import annotations

from uuid import UUID

from dml_svc.domain.library import LibraryEntry
from ferry.aggregate import rebuild, record
from ferry.consuming import caused_by
from ferry.envelope import Envelope
from ferry.errors import NotFound
from ferry.events.dml import LibraryEntryEvent
from ferry.events.release import ReleasePlanned
from ferry.eventstore import WithEvents

ACTOR = "service:dml-svc"


def stream_id(release_id: UUID) -> str:
    return f"{LibraryEntryEvent.stream_prefix}-{release_id}"


async def load_entry(uow: WithEvents, release_id: UUID) -> LibraryEntry:
    entry = LibraryEntry(release_id)
    return await rebuild(uow.events, stream_id(release_id), entry, LibraryEntryEvent)


async def get_entry(uow: WithEvents, release_id: UUID) -> LibraryEntry:
    entry = await load_entry(uow, release_id)
    if not entry.exists:
        raise NotFound(f"the library has no entry for release {release_id}")
    return entry


async def on_release_planned(event: ReleasePlanned, envelope: Envelope, uow: WithEvents) -> None:
    """Open the planned release's (empty) library entry."""
    entry = await load_entry(uow, event.release_id)
    new = entry.open(event.name, event.version)
    await record(uow.events, stream_id(entry.release_id), entry, new, caused_by(envelope, ACTOR))
