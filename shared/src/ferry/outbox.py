"""The outbox relay: publishes committed events to Kafka in order, then forgets them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import asyncpg
from aiokafka.errors import KafkaError, ProducerFenced
from opentelemetry.trace import SpanKind

from ferry import metrics
from ferry.audit.topics import read_topics
from ferry.db import Database, UnitOfWork, driver_dsn
from ferry.envelope import Envelope
from ferry.eventstore import envelope_from_row
from ferry.kafka import Message, Publisher
from ferry.outages import KAFKA
from ferry.pool import BROKEN_CONNECTION
from ferry.tracing import context_of, tracer

log = logging.getLogger(__name__)


class OutboxRelay:
    """Moves outbox rows to `topic`, oldest first, woken by NOTIFY when there is work.

    Rows are deleted only after Kafka acknowledged them, in the transaction that read them:
    a crash in between never loses them. Nor does it send them twice: each batch is one
    Kafka transaction, and before it goes out its last position is committed aside
    (`relay_attempt`). The next relay to find that mark fences the producer that left it
    (its batch is then wholly committed or wholly aborted), reads the topic's last
    committed records and forgets the rows already on it.
    """

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        topic: str,
        *,
        batch_size: int = 500,
        idle_poll: float = 5.0,
        max_backoff: float = 5.0,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._topic = topic
        self._batch_size = batch_size
        self._idle_poll = idle_poll
        self._max_backoff = max_backoff
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._next_listen = 0.0
        schema = db.schema
        self._lock_sql = "SELECT pg_try_advisory_xact_lock(hashtext($1))"
        self._batch_sql = (
            "SELECT e.position, e.event_id, e.stream_version, e.type, e.data, e.metadata "
            f'FROM "{schema}".outbox o JOIN "{schema}".events e USING (position) '
            "ORDER BY o.position LIMIT $1"
        )
        self._delete_sql = f'DELETE FROM "{schema}".outbox WHERE position = ANY($1::bigint[])'
        self._attempt_sql = f'SELECT up_to FROM "{schema}".relay_attempt'
        self._attempting_sql = (
            f'INSERT INTO "{schema}".relay_attempt (up_to) VALUES ($1) '
            "ON CONFLICT (one) DO UPDATE SET up_to = excluded.up_to, started_at = now()"
        )
        self._attempted_sql = f'DELETE FROM "{schema}".relay_attempt'
        self._published_sql = (
            f'DELETE FROM "{schema}".outbox o USING "{schema}".events e '
            "WHERE o.position = e.position AND o.position <= $1 AND e.event_id = ANY($2::uuid[])"
        )
        self._lag_sql = (
            "SELECT count(*) AS waiting, "
            "coalesce(extract(epoch FROM now() - min(e.recorded_at)), 0) AS oldest "
            f'FROM "{schema}".outbox o JOIN "{schema}".events e USING (position)'
        )

    async def run(self) -> None:
        """Relay until cancelled. Kafka or PostgreSQL being down only delays events."""
        backoff = 0.1
        try:
            while True:
                await self._listen()
                try:
                    relayed = await self.relay_once()
                except Exception as exc:
                    if isinstance(exc, ProducerFenced):
                        # Another replica's relay started; the next batch here fences it.
                        log.info("outbox relay: fenced by another relay of %s", self._topic)
                    elif isinstance(exc, KafkaError):
                        KAFKA.failed(f"outbox relay: {exc!r}")
                    elif not isinstance(exc, BROKEN_CONNECTION):  # logged as an outage
                        log.warning("outbox relay: %r; retrying in %.1fs", exc, backoff)
                    # What waits grows while Kafka is away: the alerts need it then most.
                    await self._measure_aside()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                backoff = 0.1
                if relayed < self._batch_size:
                    await self._wait_for_work()
        finally:
            if self._listener is not None:
                await self._listener.close()

    async def drain(self, within: float) -> None:
        """Publish what is left, for up to `within` seconds: a service stopping cleanly
        leaves nothing it committed waiting for its next start."""
        deadline = time.monotonic() + within
        try:
            async with asyncio.timeout(within):
                while await self.relay_once() > 0:
                    pass
        except TimeoutError:
            log.warning("outbox relay: stopped with events still to publish; they go next start")
        except Exception as exc:
            log.warning("outbox relay: could not drain (%r); the events go next start", exc)
        else:
            log.info("outbox relay drained in %.2fs", within - (deadline - time.monotonic()))

    async def relay_once(self) -> int:
        """Publish one batch; the number of events relayed."""
        async with self._db.unit_of_work() as uow:
            # One relay per service at a time, however many replicas run: per-stream order.
            await uow.begin()
            if not await uow.fetchval(self._lock_sql, self._db.outbox_channel):
                return 0
            unfinished = await uow.fetchval(self._attempt_sql)
            if unfinished is None:
                return await self._relay_batch(uow)
            # Whoever left the mark can publish no more, and its batch is decided.
            await self._publisher.fence()
            # Committed on its own: a batch marks itself on another connection, which would
            # wait for the row this transaction deletes.
            await self._reconcile(uow, unfinished)
            await uow.commit()
        return await self.relay_once()

    async def _relay_batch(self, uow: UnitOfWork) -> int:
        rows = await uow.fetch(self._batch_sql, self._batch_size)
        if rows:
            # Committed aside (this transaction commits only once Kafka has them all):
            # should this relay die before then, the next knows to look on the topic.
            async with self._db.unit_of_work() as aside:
                await aside.execute(self._attempting_sql, rows[-1]["position"])
                await aside.commit()
            await self.publish([envelope_from_row(row) for row in rows])
            await uow.execute(self._delete_sql, [row["position"] for row in rows])
            await uow.execute(self._attempted_sql)
        await self._measure(uow)
        await uow.commit()
        metrics.EVENTS_RELAYED.labels(self._db.source).inc(len(rows))
        return len(rows)

    async def _measure(self, uow: UnitOfWork) -> None:
        """How many events wait for Kafka, and how long the oldest has (`/metrics`)."""
        row = await uow.fetchrow(self._lag_sql)
        if row is not None:
            metrics.OUTBOX_LAG.labels(self._db.source).set(row["waiting"])
            metrics.OUTBOX_OLDEST_AGE.labels(self._db.source).set(float(row["oldest"]))

    async def _measure_aside(self) -> None:
        try:
            async with self._db.unit_of_work() as uow:
                await self._measure(uow)
        except Exception as exc:  # PostgreSQL away too: its outage is logged already
            log.debug("outbox relay: cannot measure the outbox: %r", exc)

    async def _reconcile(self, uow: UnitOfWork, up_to: int) -> None:
        """A relay died with a batch up to `up_to` in flight: forget the rows of it that the
        topic's last records already hold, so only the others go out again."""
        kafka = self._publisher.kafka
        # A batch's records are the last on each partition, then its commit marker.
        tail = await read_topics(kafka, [self._topic], last=self._batch_size + 1)
        on_topic = [record.envelope.id for record in tail[self._topic].records]
        status = await uow.execute(self._published_sql, up_to, on_topic)
        await uow.execute(self._attempted_sql)
        log.warning(
            "outbox relay: a batch up to position %d was left unfinished; %s of its events "
            "were on %s already and are not sent again",
            up_to,
            status.rsplit(" ", 1)[-1],
            self._topic,
        )

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Hand a batch to Kafka and wait until every record is acknowledged."""
        with contextlib.ExitStack() as spans:
            # One span per event, in the trace of the request that caused it.
            for envelope in envelopes:
                spans.enter_context(
                    tracer.start_as_current_span(
                        f"publish {envelope.type}",
                        context=context_of(envelope.traceparent),
                        kind=SpanKind.PRODUCER,
                        attributes={
                            "messaging.destination.name": self._topic,
                            "cloudevents.event_id": str(envelope.id),
                        },
                    )
                )
            await self._publisher.publish(
                [Message(self._topic, e.subject, e.to_json()) for e in envelopes]
            )

    async def close(self) -> None:
        await self._publisher.close()

    async def _wait_for_work(self) -> None:
        # The poll is a safety net for a missed notification, not the normal path.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        self._wake.clear()

    async def _listen(self) -> None:
        """(Re)open the LISTEN connection; without one the relay polls every `idle_poll`."""
        if self._listener is not None and not self._listener.is_closed():
            return
        if time.monotonic() < self._next_listen:
            return
        try:
            listener = await asyncpg.connect(driver_dsn(self._db.url))
            await listener.add_listener(self._db.outbox_channel, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox relay cannot LISTEN (%r); polling every %ss", exc, self._idle_poll)
            self._next_listen = time.monotonic() + self._idle_poll
            return
        self._listener = listener
