"""The connection pool units of work run on, against the real PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from ferry.db import Database, driver_dsn
from ferry.pool import ConnectionPool, PoolClosed
from tests.support.infra import Infra


async def no_setup(_: object) -> None:
    return None


async def test_connections_are_reused_and_capped(infra: Infra) -> None:
    pool = ConnectionPool(driver_dsn(infra.database_url), 2, no_setup)
    first = await pool.acquire()
    second = await pool.acquire()
    third = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.1)
    assert not third.done()  # a third must wait for one of the two
    await pool.release(first)
    assert await third is first  # the most recently returned one comes back
    await pool.release(second)
    await pool.release(first)
    await pool.close()


async def test_a_connection_left_in_a_transaction_is_dropped_not_reused(infra: Infra) -> None:
    pool = ConnectionPool(driver_dsn(infra.database_url), 1, no_setup)
    conn = await pool.acquire()
    await conn.execute("BEGIN")
    await pool.release(conn)
    assert conn.is_closed()
    fresh = await pool.acquire()
    assert fresh is not conn
    assert not fresh.is_in_transaction()
    await pool.release(fresh)
    await pool.close()


async def test_a_closed_pool_refuses_and_closes_what_comes_back(infra: Infra) -> None:
    pool = ConnectionPool(driver_dsn(infra.database_url), 2, no_setup)
    in_use = await pool.acquire()
    await pool.close()
    with pytest.raises(PoolClosed):
        await pool.acquire()
    await pool.release(in_use)
    assert in_use.is_closed()


async def test_a_failed_setup_frees_its_slot(infra: Infra) -> None:
    async def broken(_: object) -> None:
        raise RuntimeError("setup failed")

    pool = ConnectionPool(driver_dsn(infra.database_url), 1, broken)
    for _ in range(2):  # the second would hang if the first had kept the only slot
        with pytest.raises(RuntimeError, match="setup failed"):
            await asyncio.wait_for(pool.acquire(), 10)
    await pool.close()


async def test_a_unit_of_work_cancelled_mid_statement_leaves_no_busy_connection(
    infra: Infra,
) -> None:
    db = Database(infra.database_url, "public", source="test")
    try:
        async with db.unit_of_work() as uow:
            first = uow.conn
        task = asyncio.ensure_future(_sleep_in_uow(db))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert first.is_closed()  # the cancelled unit of work's connection, reused LIFO, dropped
        async with db.unit_of_work() as uow:
            assert uow.conn is not first
            assert await uow.fetchval("SELECT 1") == 1
    finally:
        await db.dispose()


async def _sleep_in_uow(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.fetchval("SELECT pg_sleep(5)")
