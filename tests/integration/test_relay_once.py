"""Each event once on its topic, whatever happens to the outbox relay (issue #20 counted 44
of 300 events published twice on `release.events` after a `kill -9`).

The relay publishes each batch in a Kafka transaction under its service's transactional id;
these tests pause or kill it at the moments that matter, by hooks, not by luck.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError, ProducerFenced

from ferry import kafka
from ferry.audit.topics import read_topics
from ferry.db import Database
from ferry.envelope import Envelope, Meta
from ferry.kafka import Message, Publisher, relay_transactional_id
from ferry.kafka_client import KafkaSettings
from ferry.outbox import OutboxRelay
from ferry.testing import release_planned
from tests.support.infra import Infra
from tests.support.services import eventually

META = Meta(actor="alice", correlation_id="relay-once")
EVENTS = 30
BATCH = 7


class Killed(BaseException):
    """The process dying: nothing after it runs, nothing of its transaction commits."""


class DyingRelay(OutboxRelay):
    """A relay that dies the moment Kafka has committed its batch."""

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        await super().publish(envelopes)
        raise Killed


class PausingPublisher(Publisher):
    """Stops inside its transaction, before sending its records or after the broker has
    them all (but before the commit), until told to go on."""

    def __init__(self, kafka: KafkaSettings, transactional_id: str, *, sent_first: bool) -> None:
        super().__init__(kafka, "zombie", transactional_id=transactional_id)
        self.sent_first = sent_first
        self.paused = asyncio.Event()
        self.go_on = asyncio.Event()

    async def _send(self, producer: AIOKafkaProducer, messages: Sequence[Message]) -> None:
        if self.sent_first:
            await super()._send(producer, messages)
        self.paused.set()
        await self.go_on.wait()
        if not self.sent_first:
            await super()._send(producer, messages)


@pytest.fixture
async def appended(db: Database) -> list[Envelope]:
    envelopes = []
    for _ in range(EVENTS):
        event = release_planned()
        async with db.unit_of_work() as uow:
            envelopes += await uow.events.append(event.stream_id(), 0, [event], META)
            await uow.commit()
    return envelopes


@pytest.fixture
async def relay_id(topic_prefix: str) -> str:
    return relay_transactional_id("release-svc", topic_prefix)


@pytest.fixture
async def publisher(infra: Infra, relay_id: str) -> AsyncIterator[Publisher]:
    publisher = Publisher(infra.kafka, "relay-once-test", transactional_id=relay_id)
    yield publisher
    await publisher.close()


async def lock_freed(relay: OutboxRelay) -> None:
    """Relay once the dead relay's lock is free: PostgreSQL frees it only when the server
    process of its dropped connection has ended, a moment after the drop."""
    await eventually(relay.relay_once, timeout=10, what="the dead relay's lock freed")


async def relay_all(db: Database, publisher: Publisher, topic: str) -> None:
    relay = OutboxRelay(db, publisher, topic, batch_size=BATCH)
    await lock_freed(relay)
    while await relay.relay_once():
        pass


async def on_topic(infra: Infra, topic: str) -> Counter[object]:
    records = (await read_topics(infra.kafka, [topic]))[topic].records
    return Counter(record.envelope.id for record in records)


async def test_a_relay_killed_after_publishing_sends_nothing_twice_and_loses_nothing(
    db: Database,
    infra: Infra,
    topic_prefix: str,
    appended: list[Envelope],
    publisher: Publisher,
) -> None:
    topic = f"{topic_prefix}release.events"
    for _ in range(3):  # killed three times in the window, each after a new batch
        with pytest.raises(Killed):
            await lock_freed(DyingRelay(db, publisher, topic, batch_size=BATCH))
    await relay_all(db, publisher, topic)

    sent = await on_topic(infra, topic)
    assert [i for i, n in sent.items() if n > 1] == []
    assert set(sent) == {envelope.id for envelope in appended}


@pytest.mark.parametrize("sent_first", [False, True], ids=["before-sending", "after-sending"])
async def test_a_relay_that_lost_its_database_is_fenced_and_its_batch_never_seen(
    sent_first: bool,
    db: Database,
    infra: Infra,
    topic_prefix: str,
    appended: list[Envelope],
    publisher: Publisher,
    relay_id: str,
) -> None:
    """A zombie: its database session ended (so its lock is free) while it still holds an
    open Kafka transaction. The relay that takes over fences it; the zombie's commit fails
    and its records, sent before the takeover or after, stay invisible to consumers."""
    topic = f"{topic_prefix}release.events"
    zombie_db = Database(db.url, db.schema, "zombie-relay", pool_size=2)
    zombie_kafka = PausingPublisher(infra.kafka, relay_id, sent_first=sent_first)
    zombie = asyncio.create_task(
        OutboxRelay(zombie_db, zombie_kafka, topic, batch_size=BATCH).relay_once()
    )
    try:
        await asyncio.wait_for(zombie_kafka.paused.wait(), 30)
        async with db.unit_of_work() as uow:
            await uow.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE 'zombie-relay %'"
            )
            await uow.commit()

        await relay_all(db, publisher, topic)
        zombie_kafka.go_on.set()
        with pytest.raises(ProducerFenced):
            await zombie
    finally:
        zombie.cancel()
        await zombie_kafka.close()
        await zombie_db.dispose()

    sent = await on_topic(infra, topic)
    assert [i for i, n in sent.items() if n > 1] == []
    assert set(sent) == {envelope.id for envelope in appended}


async def test_a_producer_id_not_given_in_time_is_an_outage_to_retry(
    publisher: Publisher, relay_id: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka waits for ever for a producer id; the relay's start gives up, as on any
    Kafka failure, and the next try starts afresh."""
    monkeypatch.setattr(kafka, "PRODUCER_ID_TIMEOUT", 0.0)
    with pytest.raises(KafkaTimeoutError, match="no producer id within"):
        await publisher.fence()
    monkeypatch.undo()
    envelope = release_planned()
    message = Message(f"{topic_prefix}release.events", str(envelope.stream_id()), b"{}")
    await publisher.publish([message])
