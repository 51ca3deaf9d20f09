"""A minimal pool of asyncpg connections for units of work.

asyncpg's own pool spends about 35 µs on every acquire and release (a shielded task per
release, timeouts, inactivity timers). On the append path that alone kept the event store
below its benchmark target (see docs/benchmarks.md), so units of work use this one, which
does only what they need: at most `size` connections, the most recently used first, and
a connection that is broken or was left inside a transaction is dropped, not reset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from ferry.outages import POSTGRESQL


class PoolClosed(RuntimeError):
    """The pool was closed; the service is shutting down."""


BROKEN_CONNECTION: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, a broken pipe
    asyncpg.PostgresConnectionError,  # cannot connect, closed in the middle of an operation
    asyncpg.exceptions.AdminShutdownError,  # terminated by an administrator or a shutdown
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,  # the server is starting up or shutting down
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # used after it was closed
    asyncpg.InternalClientError,  # its protocol left mid-operation by a cut
    PoolClosed,
)
"""A lost, cut or refused database connection: dropped, never pooled again, and worth
retrying shortly (a 503 with `Retry-After`)."""


class ConnectionPool:
    """Up to `size` connections to `dsn`, each set up by `init` when it is opened and named
    `name` in PostgreSQL (`pg_stat_activity.application_name`), so an operator sees whose
    each connection is."""

    def __init__(
        self,
        dsn: str,
        size: int,
        init: Callable[[asyncpg.Connection], Awaitable[None]],
        name: str = "ferry",
    ) -> None:
        self._dsn = dsn
        self._init = init
        self._settings = {"application_name": name}
        self._idle: list[asyncpg.Connection] = []
        self._slots = asyncio.Semaphore(size)
        self._closed = False

    async def acquire(self) -> asyncpg.Connection:
        if self._closed:
            raise PoolClosed("the connection pool is closed")
        await self._slots.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
            conn = await asyncpg.connect(self._dsn, server_settings=self._settings)
            try:
                await self._init(conn)
            except BaseException:
                conn.terminate()
                raise
            return conn
        except BaseException as exc:
            self._slots.release()
            if isinstance(exc, BROKEN_CONNECTION) and not isinstance(exc, PoolClosed):
                POSTGRESQL.failed(repr(exc))
            raise

    async def release(self, conn: asyncpg.Connection, *, discard: bool = False) -> None:
        """Take a connection back; `discard` it when it may be in the middle of something."""
        try:
            if conn.is_closed():
                return
            if discard or self._closed or conn.is_in_transaction():
                # Left mid-transaction by a cancelled task: dropping it rolls back for free.
                conn.terminate()
                return
            self._idle.append(conn)
        finally:
            self._slots.release()

    async def close(self) -> None:
        """Close the idle connections; those in use are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
