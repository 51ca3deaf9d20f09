"""Kafka with the guarantees an audit log needs: idempotent `acks=all` producers (the
outbox relay's transactional, so a restarted relay fences the one it replaces), and
consumers that read only committed transactions and commit offsets only after the
database has committed what they did."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, KafkaTimeoutError

from ferry import metrics
from ferry.envelope import Envelope
from ferry.kafka_client import KafkaSettings, uninterrupted
from ferry.outages import KAFKA

log = logging.getLogger(__name__)

SERVICE_TOPICS = ("release.events", "dml.events", "deploy.events", "els.events")
INBOUND_TOPICS = ("change.events", "ops.signals")


def relay_transactional_id(service: str, prefix: str = "") -> str:
    """The transactional id of `service`'s outbox relay: one per service, however many
    replicas, so that a relay starting fences any other still publishing."""
    return f"{prefix}{service}.relay"


PRODUCER_ID_TIMEOUT: Final = 60.0
"""Seconds a transactional producer waits for its id (the coordinator, an earlier holder's
transaction ended) before its start counts as a failure to retry."""


@dataclass(frozen=True)
class Message:
    """One record to publish: key = aggregate id, so each aggregate's events stay in order."""

    topic: str
    key: str
    value: bytes


class Publisher:
    """An idempotent producer that (re)connects on demand, so a broker outage is survivable.

    With a `transactional_id` each `publish` is one Kafka transaction, and starting the
    producer fences every earlier one with that id: a batch it left open is aborted, one it
    was committing is finished, and it can publish nothing more.
    """

    def __init__(
        self, kafka: KafkaSettings, client_id: str, *, transactional_id: str | None = None
    ) -> None:
        self.kafka = kafka
        self._client_id = client_id
        self._transactional_id = transactional_id
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def _connected(self) -> AIOKafkaProducer:
        async with self._starting:
            return self._producer or await self._start()

    async def _start(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            **self.kafka.kafka_options(),
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            request_timeout_ms=10_000,
            transactional_id=self._transactional_id,
        )
        try:
            await uninterrupted(producer.start())
            if self._transactional_id is not None:
                # An empty transaction waits for the producer id, which the broker gives
                # only once the previous holder's transaction has ended. aiokafka waits
                # for ever; bounded, a broker that never answers is an outage to retry.
                async with asyncio.timeout(PRODUCER_ID_TIMEOUT):
                    await producer.begin_transaction()
                    await producer.abort_transaction()
        except TimeoutError as exc:
            await uninterrupted(producer.stop())
            raise KafkaTimeoutError(f"no producer id within {PRODUCER_ID_TIMEOUT} s") from exc
        except BaseException:
            await uninterrupted(producer.stop())
            raise
        self._producer = producer
        return producer

    async def fence(self) -> None:
        """Start afresh, so that no earlier producer with this transactional id (this
        process's or another's) has a transaction open or committing when this returns."""
        await self.close()
        await self._connected()

    async def publish(self, messages: Sequence[Message]) -> None:
        """Send and wait for every acknowledgement; raise if any record was not acknowledged.
        Transactional: all are committed, or (raising) none are visible to consumers."""
        producer = await self._connected()
        try:
            if self._transactional_id is None:
                await self._send(producer, messages)
            else:
                async with producer.transaction():
                    await self._send(producer, messages)
        except KafkaError:
            # Start afresh next time: a producer that lost its broker may hold stale state.
            await self.close()
            raise
        KAFKA.recovered()

    async def _send(self, producer: AIOKafkaProducer, messages: Sequence[Message]) -> None:
        # Queue all before awaiting any: one round trip per partition, order kept.
        acks = [await producer.send(m.topic, m.value, key=m.key.encode()) for m in messages]
        await asyncio.gather(*acks)

    async def ready(self) -> bool:
        try:
            producer = await self._connected()
            await producer.client.fetch_all_metadata()
        except KafkaError as exc:
            KAFKA.failed(repr(exc))
            return False
        KAFKA.recovered()
        return True

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await uninterrupted(producer.stop())


@dataclass(frozen=True)
class Position:
    """Where a record was read: what a log line or an audit record names to find it again."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


Handler = Callable[[Envelope, Position], Awaitable[None]]


class Consumer:
    """Feeds each envelope on `topics` to `handle`, then commits the offset.

    `handle` must be idempotent (it records the event id in its own transaction): a crash
    between its commit and the offset commit redelivers the event.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        group_id: str,
        topics: Sequence[str],
        handle: Handler,
        *,
        retry_backoff: float = 1.0,
    ) -> None:
        self._kafka = kafka
        self._group_id = group_id
        self._topics = list(topics)
        self._handle = handle
        self._retry_backoff = retry_backoff
        self._lagging: set[TopicPartition] = set()
        """Partitions whose lag this member reports: dropped when a rebalance moves them, or
        the old figure would stay in every sum over the group."""

    async def run(self) -> None:
        """Consume until cancelled; reconnect with back-off while Kafka is unreachable."""
        backoff = self._retry_backoff
        while True:
            consumer = AIOKafkaConsumer(
                *self._topics,
                **self._kafka.consumer_options(),
                group_id=self._group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                # A topic the subscription found without partitions (created a moment
                # before) is looked up again within this, not the default five minutes.
                metadata_max_age_ms=15_000,
            )
            try:
                await uninterrupted(consumer.start())
                KAFKA.recovered()
                backoff = self._retry_backoff
                await self._consume(consumer)
            except KafkaError as exc:
                KAFKA.failed(f"consumer {self._group_id}: {exc!r}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                await uninterrupted(consumer.stop())

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if batches:
                KAFKA.recovered()
            for tp, records in batches.items():
                done = await self._handle_batch(consumer, tp, records)
                if done is not None:
                    await self._commit(consumer, tp, done + 1)
            await self._record_lag(consumer)

    async def _commit(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        """Commit after the database did: a crash before this only causes a redelivery."""
        try:
            await consumer.commit({tp: offset})
        except (CommitFailedError, IllegalStateError) as exc:
            # The partition moved to another member in a rebalance; it resumes from the last
            # committed offset, and the inbox absorbs what this member already handled.
            log.info("consumer %s lost %s before committing: %s", self._group_id, tp, exc)

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        # Every poll, not only on commit: a partition stuck on one record shows its lag grow.
        assigned = consumer.assignment()
        for tp in self._lagging - assigned:
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(self._group_id, tp.topic, tp.partition)
        self._lagging &= assigned
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag = highwater - await consumer.position(tp)
                metrics.CONSUMER_LAG.labels(self._group_id, tp.topic, tp.partition).set(lag)
                self._lagging.add(tp)

    async def _handle_batch(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord]
    ) -> int | None:
        """Handle records in order; the offset of the last one handled, or None."""
        done: int | None = None
        for record in records:
            try:
                envelope = Envelope.from_json(record.value)
            except ValueError as exc:
                # A record that is no CloudEvent can never be handled: skip it, loudly.
                log.error("skipping unreadable record %s@%s: %s", tp, record.offset, exc)
                done = record.offset
                continue
            try:
                await self._handle(envelope, Position(tp.topic, tp.partition, record.offset))
            except Exception:
                # Transient (database down, ...): come back to this record after a pause.
                log.exception("handling %s %s failed; will retry", envelope.type, envelope.id)
                with contextlib.suppress(IllegalStateError):  # revoked: its new owner retries
                    consumer.seek(tp, record.offset)
                await asyncio.sleep(self._retry_backoff)
                return done
            done = record.offset
        return done
