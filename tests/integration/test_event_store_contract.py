"""One contract, two event stores: the in-memory fake and PostgreSQL behave alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Protocol

import pytest

from ferry.db import Database
from ferry.envelope import Envelope, Meta
from ferry.errors import ConcurrencyError
from ferry.events import Event
from ferry.events.release import ReleasePlanned
from ferry.testing import InMemoryEventStore, release_planned

META = Meta(actor="alice", correlation_id="corr-1")


class Store(Protocol):
    async def load(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Envelope]: ...
    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]: ...


class CommittingPostgresStore:
    """The PostgreSQL store, each call in a transaction of its own, as handlers use it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Envelope]:
        async with self._db.unit_of_work() as uow:
            return await uow.events.load(stream_id, after=after, limit=limit)

    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]:
        async with self._db.unit_of_work() as uow:
            sealed = await uow.events.append(stream_id, expected_version, new, meta)
            await uow.commit()
            return sealed


@pytest.fixture(params=["memory", "postgres"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return InMemoryEventStore()
    return CommittingPostgresStore(request.getfixturevalue("db"))


def planned(name: str = "Payments") -> ReleasePlanned:
    return release_planned(name=name)


def stream() -> str:
    return f"release-{uuid.uuid4()}"


class TestEventStoreContract:
    async def test_an_unknown_stream_is_empty(self, store: Store) -> None:
        assert await store.load(stream()) == []

    async def test_appended_events_load_in_version_order_with_their_metadata(
        self, store: Store
    ) -> None:
        sid = stream()
        await store.append(sid, 0, [planned("a"), planned("b")], META)
        await store.append(sid, 2, [planned("c")], META)
        loaded = await store.load(sid)
        assert [e.streamversion for e in loaded] == [1, 2, 3]
        assert [e.data["name"] for e in loaded] == ["a", "b", "c"]
        assert {(e.actor, e.correlationid, e.source) for e in loaded} == {
            ("alice", "corr-1", loaded[0].source)
        }

    async def test_a_stream_loads_a_page_at_a_time_after_a_version(self, store: Store) -> None:
        sid = stream()
        await store.append(sid, 0, [planned(name) for name in "abcde"], META)
        pages = [await store.load(sid, after=after, limit=2) for after in (0, 2, 4, 5)]
        assert [[e.data["name"] for e in page] for page in pages] == [
            ["a", "b"],
            ["c", "d"],
            ["e"],
            [],
        ]
        assert [e.streamversion for e in await store.load(sid, after=3)] == [4, 5]
        assert await store.load(stream(), after=0, limit=2) == []

    async def test_appending_at_a_stale_version_fails(self, store: Store) -> None:
        sid = stream()
        await store.append(sid, 0, [planned()], META)
        with pytest.raises(ConcurrencyError):
            await store.append(sid, 0, [planned()], META)
        assert len(await store.load(sid)) == 1

    async def test_appending_beyond_the_head_fails(self, store: Store) -> None:
        sid = stream()
        await store.append(sid, 0, [planned()], META)
        with pytest.raises(ConcurrencyError):
            await store.append(sid, 5, [planned()], META)

    async def test_of_two_concurrent_appends_at_one_version_exactly_one_wins(
        self, store: Store
    ) -> None:
        sid = stream()
        await store.append(sid, 0, [planned()], META)
        outcomes = await asyncio.gather(
            *(store.append(sid, 1, [planned(f"writer {i}")], META) for i in range(2)),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["ConcurrencyError", "list"]
        assert len(await store.load(sid)) == 2


async def test_postgres_append_fills_the_outbox_in_the_same_transaction(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.events.append(stream(), 0, [planned()], META)
        # Rolled back: neither the event nor its outbox row may remain.
    async with db.unit_of_work() as uow:
        assert await uow.fetchval(f'SELECT count(*) FROM "{db.schema}".outbox') == 0
        await uow.events.append(stream(), 0, [planned()], META)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.fetchval(f'SELECT count(*) FROM "{db.schema}".outbox') == 1
