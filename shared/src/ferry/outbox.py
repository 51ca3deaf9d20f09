"""The outbox relay: publishes committed events to Kafka in order, then forgets them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import asyncpg
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ferry import metrics
from ferry.db import Database
from ferry.envelope import Envelope
from ferry.eventstore import envelope_from_row
from ferry.kafka import Message, Publisher
from ferry.tables import events, outbox

log = logging.getLogger(__name__)


class OutboxRelay:
    """Moves outbox rows to `topic`, oldest first, woken by NOTIFY when there is work.

    Rows are deleted only after Kafka acknowledged them, in the transaction that read them:
    a crash in between republishes them (consumers are idempotent), never loses them.
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

    async def run(self) -> None:
        """Relay until cancelled. Kafka or PostgreSQL being down only delays events."""
        backoff = 0.1
        async with self._listening():
            while True:
                try:
                    relayed = await self.relay_once()
                except Exception as exc:
                    log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                backoff = 0.1
                if relayed < self._batch_size:
                    await self._wait_for_work()

    async def relay_once(self) -> int:
        """Publish one batch; the number of events relayed."""
        async with self._db.engine.begin() as conn:
            # One relay per service at a time, however many replicas run: per-stream order.
            if not await conn.scalar(
                select(func.pg_try_advisory_xact_lock(func.hashtext(self._db.outbox_channel)))
            ):
                return 0
            rows = (
                await conn.execute(
                    select(events)
                    .join(outbox, outbox.c.position == events.c.position)
                    .order_by(events.c.position)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                metrics.OUTBOX_LAG.labels(self._db.source).set(0)
                return 0
            await self.publish([envelope_from_row(row) for row in rows])
            await conn.execute(
                delete(outbox).where(outbox.c.position.in_([row.position for row in rows]))
            )
            await self._record_lag(conn, len(rows))
        return len(rows)

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Hand a batch to Kafka and wait until every record is acknowledged."""
        await self._publisher.publish(
            [Message(self._topic, e.subject, e.to_json()) for e in envelopes]
        )

    async def _record_lag(self, conn: AsyncConnection, relayed: int) -> None:
        remaining = await conn.scalar(select(func.count()).select_from(outbox))
        metrics.OUTBOX_LAG.labels(self._db.source).set(max((remaining or 0) - relayed, 0))
        metrics.EVENTS_RELAYED.labels(self._db.source).inc(relayed)

    async def _wait_for_work(self) -> None:
        # The poll is a safety net for a missed notification, not the normal path.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        self._wake.clear()

    @contextlib.asynccontextmanager
    async def _listening(self) -> AsyncIterator[None]:
        """LISTEN on the service's outbox channel for as long as the relay runs."""
        listener: asyncpg.Connection | None = None

        def wake(*_: object) -> None:
            self._wake.set()

        try:
            listener = await asyncpg.connect(self._db.url.replace("+asyncpg", "", 1))
            await listener.add_listener(self._db.outbox_channel, wake)
        except (OSError, asyncpg.PostgresError) as exc:
            # Without LISTEN the relay still works, on the idle poll alone.
            log.warning("outbox relay cannot LISTEN (%s); polling instead", exc)
        try:
            yield
        finally:
            if listener is not None:
                await listener.close()
