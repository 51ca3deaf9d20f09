"""Delivery guarantees against the real broker: outbox through outages and crashes,
consumers through redeliveries."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY

from dml_svc.handlers.library import on_release_planned
from ferry.consuming import Dispatcher, caused_by
from ferry.db import Database
from ferry.envelope import Envelope, Meta
from ferry.events.dml import LibraryEntryOpened
from ferry.events.release import ReleasePlanned
from ferry.eventsigning import TrustedKeys
from ferry.kafka import Consumer, Publisher
from ferry.outbox import OutboxRelay
from ferry.testing import envelope_for, release_planned
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import eventually, read_topic, serving, settings

PLAN = {
    "name": "Payments",
    "version": "1.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-02",
}


def planned_event() -> ReleasePlanned:
    return release_planned()


@contextlib.asynccontextmanager
async def running(*jobs: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def outcomes(consumer: str, outcome: str) -> int:
    """How many ReleasePlanned events `consumer` handled with `outcome` (from /metrics)."""
    labels = {"consumer": consumer, "type": "ReleasePlanned", "outcome": outcome}
    return int(REGISTRY.get_sample_value("ferry_events_consumed_total", labels) or 0)


async def seen(consumer: str, outcome: str) -> int:
    return outcomes(consumer, outcome)


async def count(db: Database, sql: str, *args: object) -> int:
    async with db.unit_of_work() as uow:
        return int(await uow.fetchval(sql, *args))


@pytest.mark.exclusive
@pytest.mark.timeout(240)
async def test_a_command_accepted_while_kafka_is_down_is_published_once_when_it_returns(
    infra: Infra, topic_prefix: str
) -> None:
    s = settings(ReleaseSettings, infra, topic_prefix)
    rita = infra.issuer.bearer("rita", "release-manager")
    async with serving(release_spec(s), headers=rita) as api:
        infra.stop_kafka()
        try:
            created = await api.post("/releases", json=PLAN)
            assert created.status_code == 201, created.text
            assert (await api.get("/readyz")).json()["checks"]["kafka"] == "unreachable"
            # The event feed cannot start: a 503 to retry, like every other outage.
            feed = await api.get("/events", timeout=60)
            assert feed.status_code == 503, feed.text
            assert feed.headers["Retry-After"] == "1"
        finally:
            infra.start_kafka()
        events = await read_topic(
            infra.kafka, s.topic("release.events"), expect=1, timeout=60, settle=5
        )
    assert [e.subject for e in events] == [created.json()["id"]]


def trusted(infra: Infra) -> TrustedKeys:
    return TrustedKeys.from_setting(infra.keys.trusted())


class KilledAfterPublishing(Exception):
    """Stands in for the relay process dying between Kafka's ack and its own commit."""


class DyingRelay(OutboxRelay):
    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        await super().publish(envelopes)
        raise KilledAfterPublishing


async def test_a_relay_killed_after_publishing_sends_it_once_and_the_consumer_applies_it(
    db: Database, infra: Infra, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}release.events"
    event = planned_event()
    # Appended as release-svc would, signed: the consumer acts only on its signed events.
    signer = infra.keys.signers["release-svc"]
    release_db = Database(db.url, db.schema, "release-svc", signer=signer)
    try:
        async with release_db.unit_of_work() as uow:
            await uow.events.append(event.stream_id(), 0, [event], Meta("alice", "c-1"))
            await uow.commit()
    finally:
        await release_db.dispose()

    publisher = Publisher(infra.kafka, "test-relay")
    try:
        with pytest.raises(KilledAfterPublishing):
            await DyingRelay(db, publisher, topic).relay_once()
        # The record is on Kafka, yet the outbox still holds it: the crash lost the delete.
        assert await count(db, f'SELECT count(*) FROM "{db.schema}".outbox') == 1
        # The next relay finds it on the topic already and does not send it again.
        assert await OutboxRelay(db, publisher, topic).relay_once() == 0
        assert await count(db, f'SELECT count(*) FROM "{db.schema}".outbox') == 0
    finally:
        await publisher.close()
    assert len(await read_topic(infra.kafka, topic, expect=1)) == 1  # and no copy after it

    # dml-svc's way of consuming: one entry opened.
    consumer = f"dml-svc-{topic_prefix}"
    dispatch = Dispatcher(consumer, db, {ReleasePlanned: on_release_planned}, trusted(infra))
    group = f"{topic_prefix}dml"
    async with running(Consumer(infra.kafka, group, [topic], dispatch).run()):
        await eventually(lambda: seen(consumer, "applied"), what="the event applied")
    assert outcomes(consumer, "applied") == 1
    opened = f'SELECT count(*) FROM "{db.schema}".events WHERE type = $1'
    assert await count(db, opened, "LibraryEntryOpened") == 1


async def test_an_event_delivered_twice_has_one_effect(
    db: Database, infra: Infra, topic_prefix: str
) -> None:
    """A handler that is not idempotent by itself (it appends to a new stream every call)
    still takes effect once: the inbox, not the handler, absorbs the redelivery."""
    topic = f"{topic_prefix}release.events"

    async def note_every_call(event: ReleasePlanned, envelope: Envelope, uow: object) -> None:
        assert hasattr(uow, "events")
        noted = LibraryEntryOpened(release_id=uuid.uuid4(), name=event.name, version="x")
        await uow.events.append(noted.stream_id(), 0, [noted], caused_by(envelope, "test"))

    event = planned_event()
    envelope = infra.as_owner(envelope_for(event, correlation_id="c-2"))
    producer = AIOKafkaProducer(**infra.kafka.kafka_options(), acks="all")
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(topic, envelope.to_json(), key=b"k")
    finally:
        await producer.stop()

    consumer = f"probe-{topic_prefix}"
    dispatch = Dispatcher(consumer, db, {ReleasePlanned: note_every_call}, trusted(infra))
    async with running(Consumer(infra.kafka, f"{topic_prefix}g", [topic], dispatch).run()):
        await eventually(lambda: seen(consumer, "duplicate"), what="the redelivery")
    assert outcomes(consumer, "applied") == 1
    assert await count(db, f'SELECT count(*) FROM "{db.schema}".events') == 1
    assert await count(db, f'SELECT count(*) FROM "{db.schema}".inbox') == 1
