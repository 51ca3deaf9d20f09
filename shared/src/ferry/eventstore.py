"""Append-only event store: a stream per aggregate, optimistic concurrency on its version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import uuid4

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ferry.envelope import Envelope, Meta
from ferry.errors import ConcurrencyError
from ferry.events.base import Event
from ferry.tables import events, outbox


class EventStore(Protocol):
    """What handlers need from an event store; PostgreSQL and in-memory implement it."""

    async def load(self, stream_id: str) -> list[Envelope]:
        """All events of a stream in version order (empty for an unknown stream)."""
        ...

    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]:
        """Append at `expected_version` (the stream's current head) or raise ConcurrencyError."""
        ...


def seal(
    source: str, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
) -> list[Envelope]:
    """Wrap new events in envelopes numbered after `expected_version`."""
    now = datetime.now(UTC)
    return [
        Envelope(
            id=uuid4(),
            source=source,
            type=event.type,
            time=now,
            subject=event.aggregate_id(),
            correlationid=meta.correlation_id,
            causationid=meta.causation_id,
            actor=meta.actor,
            streamversion=expected_version + offset,
            data=event.data(),
        )
        for offset, event in enumerate(new, start=1)
    ]


def _metadata(envelope: Envelope) -> dict[str, Any]:
    return {
        "source": envelope.source,
        "time": envelope.time.isoformat(),
        "subject": envelope.subject,
        "correlationid": envelope.correlationid,
        "causationid": envelope.causationid,
        "actor": envelope.actor,
    }


def envelope_from_row(row: Any) -> Envelope:
    """Rebuild the envelope of a row of `events`."""
    meta = row.metadata
    return Envelope(
        id=row.event_id,
        source=meta["source"],
        type=row.type,
        time=datetime.fromisoformat(meta["time"]),
        subject=meta["subject"],
        correlationid=meta["correlationid"],
        causationid=meta["causationid"],
        actor=meta["actor"],
        streamversion=row.stream_version,
        data=row.data,
    )


class PostgresEventStore:
    """Event store on one service's `events` table; each append also fills the outbox."""

    def __init__(self, conn: AsyncConnection, source: str) -> None:
        self._conn = conn
        self._source = source
        self.appended: list[Envelope] = []
        """What this transaction appended; counted in metrics once it commits."""

    async def load(self, stream_id: str) -> list[Envelope]:
        rows = await self._conn.execute(
            select(events).where(events.c.stream_id == stream_id).order_by(events.c.stream_version)
        )
        return [envelope_from_row(row) for row in rows]

    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]:
        if not new:
            return []
        if expected_version > 0 and not await self._head_exists(stream_id, expected_version):
            raise ConcurrencyError(stream_id, expected_version)
        sealed = seal(self._source, stream_id, expected_version, new, meta)
        rows = [
            {
                "event_id": envelope.id,
                "stream_id": stream_id,
                "stream_version": envelope.streamversion,
                "type": envelope.type,
                "data": envelope.data,
                "metadata": _metadata(envelope),
            }
            for envelope in sealed
        ]
        # One statement writes the events and their outbox rows: a committed event is
        # always relayed, and an append costs a single round trip.
        appended = insert(events).values(rows).returning(events.c.position).cte("appended")
        try:
            await self._conn.execute(
                insert(outbox).from_select(["position"], select(appended.c.position))
            )
        except IntegrityError as exc:
            if "events_stream_version_key" in str(exc.orig):
                raise ConcurrencyError(stream_id, expected_version) from exc
            raise
        self.appended.extend(sealed)
        return sealed

    async def _head_exists(self, stream_id: str, version: int) -> bool:
        query = select(
            exists().where(events.c.stream_id == stream_id, events.c.stream_version == version)
        )
        return bool(await self._conn.scalar(query))
