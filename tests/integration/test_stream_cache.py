"""Replays reuse the typed events a process already read (`ferry.known_streams.StreamCache`),
reading only what came after them, and never keep an event that was not committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from uuid import UUID

import pytest

from ferry.db import Database
from ferry.envelope import Meta
from ferry.events import REGISTRY, Event
from ferry.events.release import ReleaseRescheduled
from ferry.eventstore import Replayed
from ferry.testing import release_planned
from tests.support.infra import Infra

META = Meta(actor="alice", correlation_id="corr-1")


def rescheduled(release_id: UUID, day: int) -> ReleaseRescheduled:
    return ReleaseRescheduled(
        release_id=release_id,
        planned_start=date(2030, 1, day),
        planned_end=date(2030, 2, day),
        reason=f"moved to the {day}th",
    )


async def append(db: Database, stream: str, version: int, new: list[Event]) -> None:
    async with db.unit_of_work() as uow:
        await uow.events.append(stream, version, new, META)
        await uow.commit()


async def replay(db: Database, stream: str) -> Replayed:
    async with db.unit_of_work() as uow:
        return await uow.events.replay(stream, REGISTRY)


@pytest.fixture
async def replica(db: Database, infra: Infra) -> AsyncIterator[Database]:
    """Another process's view of the same schema: its own, empty, cache."""
    other = Database(infra.database_url, db.schema, source="test-svc")
    yield other
    await other.dispose()


async def test_a_stream_grown_elsewhere_replays_as_a_fresh_read_would(
    db: Database, replica: Database
) -> None:
    release = release_planned()
    stream = release.stream_id()
    await append(db, stream, 0, [release, rescheduled(release.release_id, 2)])
    first = await replay(db, stream)
    assert first.version == 2
    # Another replica appends: this process's cache is behind the stream now.
    await append(replica, stream, 2, [rescheduled(release.release_id, d) for d in (3, 4, 5)])
    again = await replay(db, stream)
    assert again == await replay(replica, stream)
    assert again.version == 5
    assert [e.type for e in again.events][-1] == "ReleaseRescheduled"
    cached = db.streams.get(stream, REGISTRY)
    assert cached is not None
    assert cached.version == 5


async def test_events_a_unit_of_work_appended_and_rolled_back_are_never_kept(
    db: Database,
) -> None:
    release = release_planned()
    stream = release.stream_id()
    await append(db, stream, 0, [release])
    async with db.unit_of_work() as uow:
        await uow.events.append(stream, 1, [rescheduled(release.release_id, 9)], META)
        seen = await uow.events.replay(stream, REGISTRY)
        assert seen.version == 2  # its own append, not committed
        # No commit: rolled back.
    after = await replay(db, stream)
    assert after.version == 1
    assert [e.type for e in after.events] == ["ReleasePlanned"]
    # And the next append goes at version 1, as the store says.
    await append(db, stream, 1, [rescheduled(release.release_id, 10)])
    assert (await replay(db, stream)).version == 2
