"""Command handlers: load the release, let it decide, append what it decided."""

from __future__ import annotations

from uuid import UUID

from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, NotFound
from ferry.events import REGISTRY
from ferry.events.release import ReleaseEvent
from ferry.eventstore import WithEvents
from release_svc.domain.release import PlanRelease, Release, RescheduleRelease


def stream_id(release_id: UUID) -> str:
    return f"{ReleaseEvent.stream_prefix}-{release_id}"


async def load_release(uow: WithEvents, release_id: UUID) -> Release:
    """The release as its stream tells it; a release never planned has version 0."""
    stream = await uow.events.replay(stream_id(release_id), REGISTRY)
    release = Release.replay(release_id, [e for e in stream.events if isinstance(e, ReleaseEvent)])
    release.version = stream.version  # counts events of types this version cannot read, too
    return release


async def get_release(uow: WithEvents, release_id: UUID) -> Release:
    release = await load_release(uow, release_id)
    if not release.exists:
        raise NotFound(f"no release {release_id}")
    return release


async def plan_release(cmd: PlanRelease, uow: WithEvents, meta: Meta) -> Release:
    """Plan a release (appends `ReleasePlanned`); the caller commits."""
    release = await load_release(uow, cmd.release_id)
    new = release.plan(cmd)
    await uow.events.append(stream_id(release.id), release.version, new, meta)
    for event in new:
        release.apply(event)
    return release


async def reschedule_release(
    cmd: RescheduleRelease, expected_version: int, uow: WithEvents, meta: Meta
) -> Release:
    """Move a release's dates, if it is still at `expected_version`; the caller commits."""
    release = await get_release(uow, cmd.release_id)
    if release.version != expected_version:
        raise ConcurrencyError(stream_id(release.id), expected_version)
    new = release.reschedule(cmd)
    await uow.events.append(stream_id(release.id), release.version, new, meta)
    for event in new:
        release.apply(event)
    return release
