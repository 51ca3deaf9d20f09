"""Releases as their event streams tell them: what handlers decide on, and what the
consumers of other services' events read a release by."""

from __future__ import annotations

from uuid import UUID

from ferry.aggregate import rebuild
from ferry.events.release import ReleaseEvent
from ferry.eventstore import WithEvents
from release_svc.domain.release import Release


def stream_id(release_id: UUID) -> str:
    return f"{ReleaseEvent.stream_prefix}-{release_id}"


async def load_release(uow: WithEvents, release_id: UUID) -> Release:
    """The release as its stream tells it; a release never planned has version 0."""
    return await rebuild(uow.events, stream_id(release_id), Release(release_id), ReleaseEvent)
