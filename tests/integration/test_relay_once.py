"""The outbox relay killed between Kafka acknowledging a batch and forgetting it (its
transaction never commits, as with `kill -9`): the next relay sends nothing twice and
loses nothing (issue #20 counted 44 of 300 events published twice on `release.events`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ferry.audit.topics import read_topics
from ferry.db import Database
from ferry.envelope import Envelope, Meta
from ferry.kafka import Publisher
from ferry.outbox import OutboxRelay
from ferry.testing import release_planned
from tests.support.infra import Infra

META = Meta(actor="alice", correlation_id="relay-once")
EVENTS = 30
BATCH = 7


class Killed(BaseException):
    """The process dying: nothing after it runs, nothing of its transaction commits."""


class DyingRelay(OutboxRelay):
    """A relay that dies the moment Kafka has acknowledged its batch."""

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        await super().publish(envelopes)
        raise Killed


async def test_a_relay_killed_after_publishing_sends_nothing_twice_and_loses_nothing(
    db: Database, infra: Infra, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}release.events"
    appended = []
    for _ in range(EVENTS):
        event = release_planned()
        async with db.unit_of_work() as uow:
            appended += await uow.events.append(event.stream_id(), 0, [event], META)
            await uow.commit()
    publisher = Publisher(infra.kafka, "relay-once-test")
    try:
        for _ in range(3):  # killed three times in the window, each after a new batch
            try:
                await DyingRelay(db, publisher, topic, batch_size=BATCH).relay_once()
            except Killed:
                pass
            else:
                raise AssertionError("the relay published nothing")
        relay = OutboxRelay(db, publisher, topic, batch_size=BATCH)
        while await relay.relay_once():
            pass
    finally:
        await publisher.close()
    records = (await read_topics(infra.kafka, [topic]))[topic].records
    sent = Counter(record.envelope.id for record in records)
    assert [i for i, n in sent.items() if n > 1] == []
    assert set(sent) == {envelope.id for envelope in appended}
