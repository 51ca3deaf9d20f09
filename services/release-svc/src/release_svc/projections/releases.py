"""The read models kept beside release-svc's events, written in the same unit of work, and
rebuilt from those events should one be lost or change shape."""

from __future__ import annotations

from uuid import UUID

from ferry import aggregate
from ferry.db import UnitOfWork
from ferry.events.policy import FreezeEvent
from ferry.events.release import ReleaseEvent
from release_svc.adapters import communications, dependency_graph, release_list, schedule
from release_svc.domain.communications import schedule as communication_schedule
from release_svc.domain.freezes import Freeze
from release_svc.domain.release import Release
from release_svc.projections import freezes


async def save(uow: UnitOfWork, release: Release) -> None:
    """Bring every read model up to `release` as it now is."""
    await release_list.save(uow, release)
    # Just planned (its first event), nothing of the release is stored yet: what it does
    # not have needs no deleting. The plan's transaction holds the year's release number,
    # so each statement spared is one less every other plan waits for (#16).
    just_planned = release.version == 1
    if release.windows or not just_planned:
        await schedule.save(uow, release)
    if communication_schedule(release) or not just_planned:
        await communications.save(uow, release)


async def save_dependencies(uow: UnitOfWork, release: Release) -> None:
    """Bring the dependency graph up to `release`; only a change of its dependencies moves
    it, so the other changes leave it be."""
    await dependency_graph.save(uow, release)


async def save_communications(uow: UnitOfWork, release: Release) -> None:
    """Bring only the release's communication schedule up to it (the communications job
    catching up a schedule that was behind)."""
    await communications.save(uow, release)


_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def _streams(uow: UnitOfWork, prefix: str) -> list[tuple[str, UUID]]:
    """(stream, aggregate id) of every stream named `<prefix>-<uuid>`."""
    rows = await uow.fetch(
        f'SELECT DISTINCT stream_id FROM "{uow.schema}".events WHERE stream_id ~ $1',
        f"^{prefix}-{_UUID}$",
    )
    return [(row["stream_id"], UUID(row["stream_id"].removeprefix(f"{prefix}-"))) for row in rows]


async def rebuild(uow: UnitOfWork) -> int:
    """Recreate the release list, dependency graph, schedule and freeze list from the event
    streams; the number of releases. What was announced of communication plans is history,
    kept as it is; their due times are brought up to date. The delivery metrics' tables come
    from deploy-svc's events, not these streams: replaying `deploy.events` rebuilds them
    (`adapters.delivery`)."""
    for table in ("release_list", "release_dependencies", "deployment_windows", "freeze_periods"):
        await uow.execute(f'DELETE FROM "{uow.schema}".{table}')
    # Replayed here, not through the handlers: a projection sits below them. Every stream
    # found has events, so each aggregate exists.
    for stream, freeze_id in await _streams(uow, FreezeEvent.stream_prefix):
        freeze = await aggregate.rebuild(uow.events, stream, Freeze(freeze_id), FreezeEvent)
        await freezes.save(uow, freeze)
    releases = await _streams(uow, ReleaseEvent.stream_prefix)
    for stream, release_id in releases:
        release = await aggregate.rebuild(uow.events, stream, Release(release_id), ReleaseEvent)
        await save(uow, release)
        await save_dependencies(uow, release)
    return len(releases)
