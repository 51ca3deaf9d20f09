"""Releases written straight into release-svc's database, as the service stores them: for
tests that need a release's history (reviewed, with actions) without living through it."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from ferry.db import Database
from ferry.envelope import Meta
from ferry.events.release import ImprovementAction
from release_svc.handlers.releases import stream_id
from release_svc.projections import releases as projections
from tests.support.releases import Recorded, reviewed


def action(description: str, owner: str, due: date | None) -> ImprovementAction:
    return ImprovementAction(action_id=uuid4(), description=description, owner=owner, due=due)


async def store_reviewed(
    db: Database, actions: list[ImprovementAction], identifier: str, team: str | None = None
) -> UUID:
    """A release (of `team`'s) reviewed by rita raising `actions`, stored as release-svc
    stores one."""
    return await store(db, reviewed(actions, identifier, team))


async def store(db: Database, release: Recorded) -> UUID:
    """Store `release`'s stream and read models as release-svc does."""
    async with db.unit_of_work() as uow:
        await uow.events.append(stream_id(release.id), 0, release.history, Meta("rita", "review"))
        await projections.save(uow, release)
        await uow.commit()
    return release.id
