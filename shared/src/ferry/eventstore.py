"""Append-only event store: a stream per aggregate, optimistic concurrency on its version.

The PostgreSQL store talks to the driver (asyncpg) directly, inside the unit of work's
transaction: appends and loads are the hot path, and one prepared statement each keeps
them a single round trip with no per-call SQL compilation.

Each stream is a hash chain (`ferry.audit.chain`): an event carries the hash of the
stream's previous event. An append therefore needs the hash of the head it appends at;
the store knows it from the `load` or `replay` that preceded it in the unit of work, or
from the heads this process has seen committed (`StreamHeads`), and reads it otherwise.
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

from ferry.audit.chain import hash_of
from ferry.envelope import Envelope, Meta
from ferry.errors import ConcurrencyError
from ferry.events.base import Event, EventRegistry
from ferry.eventsigning import EventSigner
from ferry.known_streams import CachedStream, Head, StreamCache, StreamHeads

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
    source: str,
    stream_id: str,
    expected_version: int,
    new: Sequence[Event],
    meta: Meta,
    prevhash: str | None = None,
    signer: EventSigner | None = None,
) -> list[Envelope]:
    """Wrap new events in envelopes numbered after `expected_version`, chained after the
    event whose hash is `prevhash` (the head's; None for a new stream), each signed by
    `signer` (None: unsigned)."""
    now = datetime.now(UTC)
    sealed: list[Envelope] = []
    for offset, event in enumerate(new, start=1):
        # Every attribute of the envelope: hashed first, so it is built (validated) once;
        # hence as the envelope would have them (no correlation id: the event's own).
        event_id = uuid4()
        attributes: dict[str, Any] = {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": event.type,
            "time": now,
            "subject": event.aggregate_id(),
            "datacontenttype": "application/json",
            "correlationid": meta.correlation_id or str(event_id),
            "causationid": meta.causation_id,
            "actor": meta.actor,
            "actorroles": ",".join(meta.roles) or None,
            "traceparent": meta.traceparent,
            "streamversion": expected_version + offset,
            "streamid": stream_id,
            "prevhash": prevhash,
            "data": event.data(),
        }
        prevhash = hash_of(attributes)
        if signer is not None:
            attributes |= {"signature": signer.sign(prevhash), "signingkey": signer.key_id}
        sealed.append(Envelope(**attributes, hash=prevhash))
    return sealed


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
            "streamid": envelope.streamid,
            "prevhash": envelope.prevhash,
            "hash": envelope.hash,
            "signature": envelope.signature,
            "signingkey": envelope.signingkey,
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
        streamid=meta.get("streamid"),
        prevhash=meta.get("prevhash"),
        hash=meta.get("hash"),
        signature=meta.get("signature"),
        signingkey=meta.get("signingkey"),
        data=row["data"],
    )


@dataclass(frozen=True)
class _Statements:
    """One schema's event store SQL, built once: asyncpg prepares each text once per
    connection and finds it again by its text."""

    load: str
    replay: str
    head: str
    append_one: str
    append_many: str

    @staticmethod
    @functools.cache
    def of(schema: str) -> _Statements:
        events, outbox = f'"{schema}".events', f'"{schema}".outbox'
        # One statement: the head check, the events and their outbox rows. A committed event
        # is always relayed, and a lost race on (stream_id, stream_version) fails it whole.
        # The head must also have the hash the new events were chained after: a wrong
        # `prevhash` is never written.
        head_check = f"""WHERE $7::int = 0 OR EXISTS (
            SELECT 1 FROM {events} WHERE stream_id = $1 AND stream_version = $7
            AND metadata->>'hash' IS NOT DISTINCT FROM $8::text)"""
        columns = "(event_id, stream_id, stream_version, type, data, metadata)"
        to_outbox = f"INSERT INTO {outbox} (position) SELECT position FROM appended"
        return _Statements(
            # LIMIT NULL is no limit: one statement serves a whole stream and a page of it.
            load=f"SELECT event_id, stream_version, type, data, metadata FROM {events} "
            "WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version LIMIT $3",
            replay=f"SELECT type, data, metadata->>'hash' FROM {events} "
            "WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            head=f"SELECT metadata->>'hash' FROM {events} "
            "WHERE stream_id = $1 AND stream_version = $2",
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


def _saw(heads: dict[str, Head], stream_id: str, version: int, hash_: str | None) -> None:
    known = heads.get(stream_id)
    if known is None or known[0] <= version:
        heads[stream_id] = (version, hash_)


class PostgresEventStore:
    """Event store on one service's `events` table; each append also fills the outbox.

    `heads` and `cache` are shared by the units of work of one database: the stream heads
    committed through them, and the typed events of streams they replayed (see
    `ferry.known_streams`).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        schema: str,
        source: str,
        heads: StreamHeads | None = None,
        signer: EventSigner | None = None,
        cache: StreamCache | None = None,
    ) -> None:
        self._uow = uow
        self._source = source
        self._signer = signer
        self._sql = _Statements.of(schema)
        self._committed_heads = heads if heads is not None else StreamHeads()
        self._cache = cache if cache is not None else StreamCache(size=0)
        self._heads: dict[str, Head] = {}
        """The heads this unit of work read or wrote: shared once it commits."""
        self.appended: list[Envelope] = []
        """What this transaction appended; counted in metrics once it commits."""

    async def load(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Envelope]:
        rows = await self._uow.fetch(self._sql.load, stream_id, after, limit)
        envelopes = [envelope_from_row(row) for row in rows]
        if envelopes:
            _saw(self._heads, stream_id, envelopes[-1].streamversion, envelopes[-1].hash)
        return envelopes

    async def replay(self, stream_id: str, registry: EventRegistry) -> Replayed:
        # Only before this unit of work appends is every row it reads committed.
        committed_only = not self.appended
        cached = self._cache.get(stream_id, registry) if committed_only else None
        known = cached or CachedStream(registry, (), 0, None)
        rows = await self._uow.fetch(self._sql.replay, stream_id, known.version)
        more = replayed(((row[0], row[1]) for row in rows), registry)
        stream = CachedStream(
            registry,
            (*known.events, *more.events),
            known.version + more.version,
            rows[-1][2] if rows else known.hash,
        )
        if stream.version:
            _saw(self._heads, stream_id, stream.version, stream.hash)
            if committed_only and rows:
                self._cache.put(stream_id, stream)
        return Replayed(list(stream.events), stream.version)

    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]:
        if not new:
            return []
        prevhash = await self._head_hash(stream_id, expected_version)
        sealed = seal(self._source, stream_id, expected_version, new, meta, prevhash, self._signer)
        columns: list[list[Any]] = [
            [e.id for e in sealed],
            [e.streamversion for e in sealed],
            [e.type for e in sealed],
            [orjson.dumps(e.data).decode() for e in sealed],
            [_metadata(e) for e in sealed],
        ]
        count = len(sealed)
        if count == 1:
            sql, args = self._sql.append_one, [column[0] for column in columns]
        else:
            sql, args = self._sql.append_many, columns

        async def write(conn: asyncpg.Connection) -> None:
            try:
                status = await conn.execute(sql, stream_id, *args, expected_version, prevhash)
            except asyncpg.UniqueViolationError as exc:
                self._lost(stream_id)
                raise ConcurrencyError(stream_id, expected_version) from exc
            if status != f"INSERT 0 {count}":
                # The head check found no event at `expected_version` with the hash chained
                # after: the caller is ahead.
                self._lost(stream_id)
                raise ConcurrencyError(stream_id, expected_version)

        # Runs at commit: a unit of work that only appends is then a single statement.
        self._uow.defer(write)
        _saw(self._heads, stream_id, sealed[-1].streamversion, sealed[-1].hash)
        self.appended.extend(sealed)
        return sealed

    def rolled_back(self) -> None:
        """The unit of work rolled back: what it appended is not, nor are heads it read
        worth sharing (a commit after the rollback shares only what follows it)."""
        self.appended.clear()
        self._heads = {}

    def committed(self) -> None:
        """The unit of work committed: what it read and wrote is now known to be true."""
        if self._heads:
            self._committed_heads.merge(self._heads)
            self._heads = {}

    async def _head_hash(self, stream_id: str, expected_version: int) -> str | None:
        """The hash of the stream's event at `expected_version`, which the new events
        follow: known from this unit of work or an earlier one, else read (one indexed
        row). ConcurrencyError if there is no such event: the caller is ahead."""
        if expected_version == 0:
            return None
        mine = self._heads.get(stream_id)
        if mine is not None and mine[0] == expected_version:
            return mine[1]
        known = self._committed_heads.hash_at(stream_id, expected_version)
        if known is not None:
            return known[0]
        row = await self._uow.fetchrow(self._sql.head, stream_id, expected_version)
        if row is None:
            raise ConcurrencyError(stream_id, expected_version)
        head: str | None = row[0]
        return head

    def _lost(self, stream_id: str) -> None:
        # Someone else appended, or a known head was wrong: read it afresh next time.
        self._heads.pop(stream_id, None)
        self._committed_heads.forget(stream_id)
