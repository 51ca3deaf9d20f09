"""The read models kept beside a release's events, written in the same unit of work."""

from __future__ import annotations

from ferry.db import UnitOfWork
from release_svc.adapters import communications, release_list, schedule
from release_svc.domain.release import Release


async def save(uow: UnitOfWork, release: Release) -> None:
    """Bring every read model up to `release` as it now is."""
    await release_list.save(uow, release)
    await schedule.save(uow, release)
    await communications.save(uow, release)
