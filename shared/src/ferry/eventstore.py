"""Append-only event store: a stream per aggregate, optimistic concurrency on its version.

The PostgreSQL store talks to the driver (asyncpg) directly, inside the unit of work's
transaction: appends and loads are the hot path, and one prepared statement each keeps
them a single round trip with no per-call SQL compilation.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import uuid4

import asyncpg
import orjson

from ferry.envelope import Envelope, Meta
from ferry.errors import ConcurrencyError
from ferry.events.base import Event, EventRegistry

if TYPE_CHECKING:
    from ferry.db import UnitOfWork


class EventStore(Protocol):
    """What handlers need from an event store; PostgreSQL and in-memory implement it."""

    async def load(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Envelope]:
        """A stream's events in version order (empty for an unknown stream): those after
        version `after`, at most `limit` of them (None: all)."""
        ...

    async def replay(self, stream_id: str, registry: EventRegistry) -> Replayed:
        """The stream's typed events, for rebuilding its aggregate; see `Replayed`."""
        ...

    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]:
        """Append at `expected_version` (the stream's current head) or raise ConcurrencyError."""
        ...


class WithEvents(Protocol):
    """What command handlers need of a unit of work: its event store.

    The PostgreSQL unit of work and `ferry.testing.InMemoryUnitOfWork` both provide it, so
    handlers are unit-tested without a database.
    """

    @property
    def events(self) -> EventStore: ...


@dataclass(frozen=True)
class Replayed:
    """A stream's events as `registry` reads them, and the stream's version.

    `version` counts every event, including types the registry does not know (written by
    a newer release of the service): it is what the next append must expect.
    """

    events: list[Event]
    version: int


def replayed(
    types_and_data: Iterable[tuple[str, dict[str, Any]]], registry: EventRegistry
) -> Replayed:
    events: list[Event] = []
    version = 0
    for event_type, data in types_and_data:
        version += 1
        event = registry.parse_data(event_type, data)
        if event is not None:
            events.append(event)
    return Replayed(events, version)


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
            actorroles=",".join(meta.roles) or None,
            traceparent=meta.traceparent,
            streamversion=expected_version + offset,
            data=event.data(),
        )
        for offset, event in enumerate(new, start=1)
    ]


def _metadata(envelope: Envelope) -> str:
    return orjson.dumps(
        {
            "source": envelope.source,
            "time": envelope.time.isoformat(),
            "subject": envelope.subject,
            "correlationid": envelope.correlationid,
            "causationid": envelope.causationid,
            "actor": envelope.actor,
            "actorroles": envelope.actorroles,
            "traceparent": envelope.traceparent,
        }
    ).decode()


def envelope_from_row(row: Any) -> Envelope:
    """Rebuild the envelope of a row of `events` (data and metadata already decoded)."""
    meta = row["metadata"]
    # Validated even so: pydantic's compiled validator is faster than model_construct.
    return Envelope(
        id=row["event_id"],
        source=meta["source"],
        type=row["type"],
        time=meta["time"],
        subject=meta["subject"],
        correlationid=meta["correlationid"],
        causationid=meta["causationid"],
        actor=meta["actor"],
        actorroles=meta.get("actorroles"),
        traceparent=meta.get("traceparent"),
        streamversion=row["stream_version"],
        data=row["data"],
    )


@dataclass(frozen=True)
class _Statements:
    """One schema's event store SQL, built once: asyncpg prepares each text once per
    connection and finds it again by its text."""

    load: str
    replay: str
    append_one: str
    append_many: str

    @staticmethod
    @functools.cache
    def of(schema: str) -> _Statements:
        events, outbox = f'"{schema}".events', f'"{schema}".outbox'
        # One statement: the head check, the events and their outbox rows. A committed event
        # is always relayed, and a lost race on (stream_id, stream_version) fails it whole.
        head_check = f"""WHERE $7::int = 0 OR EXISTS (
            SELECT 1 FROM {events} WHERE stream_id = $1 AND stream_version = $7)"""
        columns = "(event_id, stream_id, stream_version, type, data, metadata)"
        to_outbox = f"INSERT INTO {outbox} (position) SELECT position FROM appended"
        return _Statements(
            # LIMIT NULL is no limit: one statement serves a whole stream and a page of it.
            load=f"SELECT event_id, stream_version, type, data, metadata FROM {events} "
            "WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version LIMIT $3",
            replay=f"SELECT type, data FROM {events} WHERE stream_id = $1 ORDER BY stream_version",
            # The common case, one event, takes scalars: no arrays to encode and unnest.
            append_one=f"""WITH appended AS (
                INSERT INTO {events} {columns}
                SELECT $2, $1, $3, $4, $5::text::jsonb, $6::text::jsonb {head_check}
                RETURNING position) {to_outbox}""",
            append_many=f"""WITH appended AS (
                INSERT INTO {events} {columns}
                SELECT e.id, $1, e.version, e.type, e.data::jsonb, e.metadata::jsonb
                FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[])
                    AS e(id, version, type, data, metadata)
                {head_check}
                RETURNING position) {to_outbox}""",
        )


class PostgresEventStore:
    """Event store on one service's `events` table; each append also fills the outbox."""

    def __init__(self, uow: UnitOfWork, schema: str, source: str) -> None:
        self._uow = uow
        self._source = source
        self._sql = _Statements.of(schema)
        self.appended: list[Envelope] = []
        """What this transaction appended; counted in metrics once it commits."""

    async def load(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Envelope]:
        rows = await self._uow.fetch(self._sql.load, stream_id, after, limit)
        return [envelope_from_row(row) for row in rows]

    async def replay(self, stream_id: str, registry: EventRegistry) -> Replayed:
        rows = await self._uow.fetch(self._sql.replay, stream_id)
        return replayed(((row[0], row[1]) for row in rows), registry)

    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]:
        if not new:
            return []
        sealed = seal(self._source, stream_id, expected_version, new, meta)
        columns: list[list[Any]] = [
            [e.id for e in sealed],
            [e.streamversion for e in sealed],
            [e.type for e in sealed],
            [orjson.dumps(e.data).decode() for e in sealed],
            [_metadata(e) for e in sealed],
        ]
        if len(sealed) == 1:
            sql, args = self._sql.append_one, [column[0] for column in columns]
        else:
            sql, args = self._sql.append_many, columns

        async def write(conn: asyncpg.Connection) -> None:
            try:
                status = await conn.execute(sql, stream_id, *args, expected_version)
            except asyncpg.UniqueViolationError as exc:
                raise ConcurrencyError(stream_id, expected_version) from exc
            if status != f"INSERT 0 {len(sealed)}":
                # The head check found no event at `expected_version`: the caller is ahead.
                raise ConcurrencyError(stream_id, expected_version)

        # Runs at commit: a unit of work that only appends is then a single statement.
        self._uow.defer(write)
        self.appended.extend(sealed)
        return sealed
