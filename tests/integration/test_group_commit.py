"""Group commit on real PostgreSQL: lone appends of concurrent units of work written
together, each still checked against its own stream, none lost to another's failure."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ferry import metrics
from ferry.db import Database
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError
from ferry.testing import release_planned

META = Meta(actor="alice", correlation_id="c-1")


def batches() -> tuple[float, float]:
    """(statements, events) of the batches group commit has written so far in this process."""
    found = {
        sample.name: sample.value
        for family in metrics.APPEND_BATCH_EVENTS.collect()
        for sample in family.samples
    }
    return found["ferry_append_batch_events_count"], found["ferry_append_batch_events_sum"]


async def append(db: Database, stream: str, expected: int, name: str = "Payments") -> None:
    async with db.unit_of_work() as uow:
        await uow.events.append(stream, expected, [release_planned(name=name)], META)
        await uow.commit()


async def test_concurrent_appends_are_written_together_and_all_kept(db: Database) -> None:
    streams = [f"release-{uuid.uuid4()}" for _ in range(64)]
    statements, events = batches()
    await asyncio.gather(*(append(db, stream, 0) for stream in streams))
    more_statements, more_events = batches()
    # Written together: batches of several events each (the first of a burst goes alone).
    assert more_statements > statements
    assert more_events - events > 2 * (more_statements - statements)
    async with db.unit_of_work() as uow:
        for stream in streams:
            [stored] = await uow.events.load(stream)
            assert stored.streamversion == 1
        queued = await uow.fetchval(f'SELECT count(*) FROM "{db.schema}".outbox')
    assert queued == 64  # each event is relayed


async def test_a_lost_race_in_a_batch_fails_its_own_unit_of_work_alone(db: Database) -> None:
    contested = f"release-{uuid.uuid4()}"
    others = [f"release-{uuid.uuid4()}" for _ in range(20)]
    outcomes = await asyncio.gather(
        *(append(db, contested, 0, name=f"racer {i}") for i in range(10)),
        *(append(db, stream, 0) for stream in others),
        return_exceptions=True,
    )
    racers, rest = outcomes[:10], outcomes[10:]
    assert sum(o is None for o in racers) == 1
    assert all(isinstance(o, ConcurrencyError) for o in racers if o is not None)
    assert rest == [None] * 20
    # A head that moved meanwhile refuses the append too, and nothing of it is kept.
    with pytest.raises(ConcurrencyError):
        await append(db, others[0], 0)
    async with db.unit_of_work() as uow:
        assert len(await uow.events.load(contested)) == 1
        assert len(await uow.events.load(others[0])) == 1


async def test_a_value_the_database_refuses_fails_only_its_own_unit_of_work(
    db: Database,
) -> None:
    streams = [f"release-{uuid.uuid4()}" for _ in range(30)]
    poisoned = "Pay\x00ments"  # PostgreSQL's jsonb takes no NUL
    outcomes = await asyncio.gather(
        *(
            append(db, s, 0, name=poisoned if i == 15 else "Payments")
            for i, s in enumerate(streams)
        ),
        return_exceptions=True,
    )
    failed = [i for i, o in enumerate(outcomes) if o is not None]
    assert failed == [15]
    async with db.unit_of_work() as uow:
        kept = [len(await uow.events.load(s)) for s in streams]
    assert kept == [0 if i == 15 else 1 for i in range(30)]


async def test_a_cancelled_request_neither_stalls_nor_loses_the_others(db: Database) -> None:
    streams = [f"release-{uuid.uuid4()}" for _ in range(40)]
    tasks = [asyncio.create_task(append(db, s, 0)) for s in streams]
    await asyncio.sleep(0)
    for task in tasks[5:40:7]:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    cancelled = {i for i, o in enumerate(outcomes) if isinstance(o, asyncio.CancelledError)}
    assert all(outcomes[i] is None for i in range(40) if i not in cancelled)
    # The group goes on writing after the cancellations.
    await asyncio.wait_for(asyncio.gather(*(append(db, s, 1) for s in streams[:3])), 10)
