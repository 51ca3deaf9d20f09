"""Command handlers: load the release, let it decide, append what it decided."""

from __future__ import annotations

from collections.abc import Mapping, Set
from uuid import UUID

from ferry.aggregate import rebuild, record
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, NotFound
from ferry.events.release import ReleaseEvent
from ferry.eventstore import WithEvents
from release_svc.domain.release import (
    CancelRelease,
    PlanRelease,
    Release,
    RescheduleRelease,
    SetDependencies,
)


def stream_id(release_id: UUID) -> str:
    return f"{ReleaseEvent.stream_prefix}-{release_id}"


async def load_release(uow: WithEvents, release_id: UUID) -> Release:
    """The release as its stream tells it; a release never planned has version 0."""
    return await rebuild(uow.events, stream_id(release_id), Release(release_id), ReleaseEvent)


async def get_release(uow: WithEvents, release_id: UUID) -> Release:
    release = await load_release(uow, release_id)
    if not release.exists:
        raise NotFound(f"no release {release_id}")
    return release


async def get_release_at(uow: WithEvents, release_id: UUID, expected_version: int) -> Release:
    """The release, if it is still at the version the caller read (its `If-Match`)."""
    release = await get_release(uow, release_id)
    if release.version != expected_version:
        raise ConcurrencyError(stream_id(release.id), expected_version)
    return release


async def plan_release(cmd: PlanRelease, uow: WithEvents, meta: Meta) -> Release:
    """Plan a release (appends `ReleasePlanned`); the caller commits."""
    release = await load_release(uow, cmd.release_id)
    return await record(uow.events, stream_id(release.id), release, release.plan(cmd), meta)


async def reschedule_release(
    cmd: RescheduleRelease, expected_version: int, uow: WithEvents, meta: Meta
) -> Release:
    """Move a release's dates, if it is still at `expected_version`; the caller commits."""
    release = await get_release_at(uow, cmd.release_id, expected_version)
    return await record(uow.events, stream_id(release.id), release, release.reschedule(cmd), meta)


async def cancel_release(
    cmd: CancelRelease, expected_version: int, uow: WithEvents, meta: Meta
) -> Release:
    """Call a release off, if it is still at `expected_version`; the caller commits."""
    release = await get_release_at(uow, cmd.release_id, expected_version)
    return await record(uow.events, stream_id(release.id), release, release.cancel(cmd), meta)


async def set_dependencies(
    cmd: SetDependencies,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    graph: Mapping[UUID, Set[UUID]],
    names: Mapping[UUID, str],
) -> Release:
    """Replace a release's dependencies, refusing unknown releases and cycles."""
    release = await get_release_at(uow, cmd.release_id, expected_version)
    new = release.set_dependencies(cmd, graph, names)
    return await record(uow.events, stream_id(release.id), release, new, meta)
