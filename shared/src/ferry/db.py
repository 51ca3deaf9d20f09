"""A service's database (its own schema) and the unit of work that writes to it.

asyncpg directly: appends and replays are the hot path, and each is one prepared statement.
SQLAlchemy serves Alembic, which owns the schema (see `ferry.migrations`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import asyncpg
import orjson

from ferry import metrics
from ferry.eventsigning import EventSigner
from ferry.eventstore import PostgresEventStore
from ferry.idempotency import IdempotencyKeys
from ferry.inbox import Inbox
from ferry.known_streams import StreamCache, StreamHeads
from ferry.outages import POSTGRESQL
from ferry.pool import BROKEN_CONNECTION, ConnectionPool, PoolClosed

Write = Callable[[asyncpg.Connection], Awaitable[None]]


def driver_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL (`postgresql+asyncpg://…` → `postgresql://…`)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await conn.set_type_codec(
            json_type,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


class Database:
    """One service's schema in PostgreSQL, behind a connection pool opened on first use."""

    def __init__(
        self,
        url: str,
        schema: str,
        source: str,
        *,
        pool_size: int = 10,
        signer: EventSigner | None = None,
    ) -> None:
        self.url = url
        self.schema = schema
        self.source = source
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self._closed = False
        self.signer = signer
        """Signs every event appended here (`ferry.eventsigning`); None: unsigned."""
        self.heads = StreamHeads()
        """The stream heads committed through this database: appends chain after them."""
        self.streams = StreamCache()
        """The typed events of streams replayed through this database."""

    @property
    def application_name(self) -> str:
        """What PostgreSQL shows of this service's connections: the service and its schema."""
        return f"{self.source} {self.schema}"[:63]

    @property
    def outbox_channel(self) -> str:
        """The NOTIFY channel on which appends wake the outbox relay."""
        return f"ferry_outbox_{self.schema}"

    def pool(self) -> ConnectionPool:
        if self._closed:
            raise PoolClosed(f"the {self.schema} database has been closed")
        if self._pool is None:
            # Connections open on demand: a service starts even while PostgreSQL is down.
            self._pool = ConnectionPool(
                driver_dsn(self.url), self._pool_size, _init_connection, self.application_name
            )
        return self._pool

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    async def dispose(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


class UnitOfWork:
    """One atomic change: the event store, inbox, idempotency keys and read models share it.

    Appends are deferred to `commit()` (or to the next statement). A unit of work whose only
    write is one append then runs as that single statement, atomic on its own, with no
    BEGIN/COMMIT round trips; anything more runs in one transaction. Reads before the first
    write run outside a transaction: optimistic concurrency guards what they decided on.
    Leaving the block without `commit()` discards everything.
    """

    events: PostgresEventStore
    inbox: Inbox
    idempotency: IdempotencyKeys

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pool: ConnectionPool | None = None
        self._conn: asyncpg.Connection | None = None
        self._tx: asyncpg.transaction.Transaction | None = None
        self._pending: list[Write] = []

    async def __aenter__(self) -> Self:
        self._pool = self._db.pool()
        self._conn = await self._pool.acquire()
        self.events = PostgresEventStore(
            self,
            self._db.schema,
            self._db.source,
            self._db.heads,
            self._db.signer,
            self._db.streams,
        )
        self.inbox = Inbox(self, self._db.schema)
        self.idempotency = IdempotencyKeys(self, self._db.schema)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, pool = self._conn, self._pool
        if conn is None or pool is None:
            return
        cut = isinstance(exc, BROKEN_CONNECTION) or conn.is_closed()
        if cut:
            POSTGRESQL.failed(repr(exc) if exc is not None else "the connection was closed")
        elif exc is None:  # it answered
            POSTGRESQL.recovered()
        if (exc is not None and not isinstance(exc, Exception)) or cut:
            # Cancelled (a client went away, shutdown) perhaps mid-statement, or cut by the
            # server: the connection may still be busy, so it is dropped, which also rolls
            # back whatever it held.
            self._conn = None
            self._pending.clear()
            self.events.rolled_back()
            self._tx = None
            await pool.release(conn, discard=True)
            return
        discard = False
        try:
            await self.rollback()
        except BROKEN_CONNECTION:
            # The server cut it mid-statement: dropping it rolls back all the same, and
            # the error that brought us here is the one to raise.
            discard = True
        finally:
            self._conn = None
            await pool.release(conn, discard=discard)

    @property
    def schema(self) -> str:
        return self._db.schema

    @property
    def conn(self) -> asyncpg.Connection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn

    async def begin(self) -> None:
        """Open the transaction now (e.g. for a transaction-scoped advisory lock)."""
        if self._tx is None:
            self._tx = self.conn.transaction()
            await self._tx.start()

    def defer(self, write: Write) -> None:
        """Queue a write to run before the next statement or at commit."""
        self._pending.append(write)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        await self._flush()
        return list(await self.conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        await self._flush()
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self._flush()
        return await self.conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        """Run a write inside the transaction; the command status (e.g. `INSERT 0 1`)."""
        await self.begin()
        await self._flush()
        return str(await self.conn.execute(sql, *args))

    async def commit(self) -> None:
        if self._tx is None and len(self._pending) == 1:
            # A lone statement is atomic by itself: spare the BEGIN and COMMIT round trips.
            await self._pending.pop()(self.conn)
        else:
            await self._flush()
            tx, self._tx = self._tx, None
            if tx is not None:
                # Forgotten even if COMMIT fails: there is nothing left to roll back then.
                await tx.commit()
        self.events.committed()
        for envelope in self.events.appended:
            metrics.EVENTS_APPENDED.labels(self._db.source, envelope.type).inc()
        self.events.appended.clear()

    async def rollback(self) -> None:
        self._pending.clear()
        self.events.rolled_back()
        tx, self._tx = self._tx, None
        if tx is not None:
            await tx.rollback()

    async def _flush(self) -> None:
        if self._pending:
            await self.begin()
            while self._pending:
                await self._pending.pop(0)(self.conn)
