"""The read models kept beside release-svc's events, written in the same unit of work, and
rebuilt from those events should one be lost or change shape."""

from __future__ import annotations

from uuid import UUID

from ferry.db import UnitOfWork
from release_svc.adapters import communications, dependency_graph, release_list, schedule
from release_svc.domain.release import Release
from release_svc.handlers import freezes as freeze_handlers
from release_svc.handlers import releases as handlers
from release_svc.projections import freezes


async def save(uow: UnitOfWork, release: Release) -> None:
    """Bring every read model up to `release` as it now is."""
    await release_list.save(uow, release)
    await schedule.save(uow, release)
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


async def _aggregate_ids(uow: UnitOfWork, prefix: str) -> list[UUID]:
    rows = await uow.fetch(
        f'SELECT DISTINCT stream_id FROM "{uow.schema}".events WHERE stream_id ~ $1',
        f"^{prefix}-{_UUID}$",
    )
    return [UUID(row["stream_id"].removeprefix(f"{prefix}-")) for row in rows]


async def rebuild(uow: UnitOfWork) -> int:
    """Recreate the release list, dependency graph, schedule and freeze list from the event
    streams; the number of releases. What was announced of communication plans is history,
    kept as it is; their due times are brought up to date. The delivery metrics' tables come
    from deploy-svc's events, not these streams: replaying `deploy.events` rebuilds them
    (`adapters.delivery`)."""
    for table in ("release_list", "release_dependencies", "deployment_windows", "freeze_periods"):
        await uow.execute(f'DELETE FROM "{uow.schema}".{table}')
    for freeze_id in await _aggregate_ids(uow, "freeze"):
        await freezes.save(uow, await freeze_handlers.get_freeze(uow, freeze_id))
    releases = await _aggregate_ids(uow, "release")
    for release_id in releases:
        release = await handlers.get_release(uow, release_id)
        await save(uow, release)
        await save_dependencies(uow, release)
    return len(releases)
