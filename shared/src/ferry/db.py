"""A service's database: its engine, bound to the service's own schema, and units of work."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ferry import metrics
from ferry.eventstore import PostgresEventStore
from ferry.idempotency import IdempotencyKeys
from ferry.inbox import Inbox


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


class Database:
    """One service's schema in PostgreSQL."""

    def __init__(self, url: str, schema: str, source: str, *, pool_size: int = 10) -> None:
        self.schema = schema
        self.source = source
        self.url = url
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            json_serializer=_json,
            json_deserializer=orjson.loads,
            # Transactions are begun on the driver connection by UnitOfWork, so that the
            # event store's raw statements and SQLAlchemy's share one transaction.
            isolation_level="AUTOCOMMIT",
        )
        # Tables are defined without a schema; this puts them in the service's own.
        self.engine: AsyncEngine = engine.execution_options(schema_translate_map={None: schema})

    @property
    def outbox_channel(self) -> str:
        """The NOTIFY channel on which appends wake the outbox relay."""
        return f"ferry_outbox_{self.schema}"

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One transaction: the event store, inbox, idempotency keys and read models share it.

    `conn` runs SQLAlchemy statements, `raw` the driver's; both are the same connection.
    Leaving the block without `commit()` rolls everything back.
    """

    conn: AsyncConnection
    raw: asyncpg.Connection
    events: PostgresEventStore
    inbox: Inbox
    idempotency: IdempotencyKeys

    def __init__(self, db: Database) -> None:
        self._db = db
        self._tx: asyncpg.transaction.Transaction | None = None

    async def __aenter__(self) -> Self:
        self.conn = await self._db.engine.connect()
        try:
            self.raw = (await self.conn.get_raw_connection()).driver_connection
            await self.begin()
        except BaseException:
            await self.conn.close()
            raise
        self.events = PostgresEventStore(self.raw, self._db.schema, self._db.source)
        self.inbox = Inbox(self.raw, self._db.schema)
        self.idempotency = IdempotencyKeys(self.raw, self._db.schema)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            await self.conn.close()

    async def begin(self) -> None:
        """Start a (new) transaction; `__aenter__` starts the first."""
        self._tx = self.raw.transaction()
        await self._tx.start()

    async def commit(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            await tx.commit()
        for envelope in self.events.appended:
            metrics.EVENTS_APPENDED.labels(self._db.source, envelope.type).inc()
        self.events.appended.clear()

    async def rollback(self) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            await tx.rollback()
        self.events.appended.clear()
