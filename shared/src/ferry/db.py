"""A service's database: its engine, bound to the service's own schema, and units of work."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import orjson
from sqlalchemy import text
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
            url, pool_size=pool_size, pool_pre_ping=True, json_serializer=_json
        )
        # Tables are defined without a schema; this puts them in the service's own.
        self.engine: AsyncEngine = engine.execution_options(schema_translate_map={None: schema})

    @property
    def outbox_channel(self) -> str:
        """The NOTIFY channel on which appends wake the outbox relay."""
        return f"ferry_outbox_{self.schema}"

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One transaction: the event store, inbox, idempotency keys and read models share it.

    Leaving the block without `commit()` rolls everything back.
    """

    conn: AsyncConnection
    events: PostgresEventStore
    inbox: Inbox
    idempotency: IdempotencyKeys

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __aenter__(self) -> Self:
        self.conn = await self._db.engine.connect()
        await self.conn.begin()
        self.events = PostgresEventStore(self.conn, self._db.source)
        self.inbox = Inbox(self.conn)
        self.idempotency = IdempotencyKeys(self.conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.conn.in_transaction():
                await self.conn.rollback()
        finally:
            await self.conn.close()

    async def commit(self) -> None:
        await self.conn.commit()
        for envelope in self.events.appended:
            metrics.EVENTS_APPENDED.labels(self._db.source, envelope.type).inc()
        self.events.appended.clear()

    async def rollback(self) -> None:
        await self.conn.rollback()
