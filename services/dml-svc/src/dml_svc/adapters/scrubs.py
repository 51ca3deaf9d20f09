"""The record of integrity scrubs: who asked, how far each got, what it found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from ferry.db import UnitOfWork

COLUMNS = "scrub_id, requested_by, requested_at, started_at, finished_at, total, checked, corrupted"
STALE = timedelta(minutes=2)
"""A scrub whose heartbeat is older than this died with its process."""


@dataclass(frozen=True)
class Scrub:
    scrub_id: UUID
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    total: int
    checked: int
    corrupted: list[dict[str, str]]


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".scrubs'


def _scrub(row: asyncpg.Record) -> Scrub:
    return Scrub(**dict(row))


async def pending(uow: UnitOfWork, now: datetime) -> Scrub | None:
    """The scrub asked for and not yet started, or running (its heartbeat fresh)."""
    row = await uow.fetchrow(
        f"SELECT {COLUMNS} FROM {_table(uow)} WHERE finished_at IS NULL "
        "AND (started_at IS NULL OR heartbeat_at > $1) ORDER BY requested_at DESC LIMIT 1",
        now - STALE,
    )
    return None if row is None else _scrub(row)


async def request(uow: UnitOfWork, requested_by: str, now: datetime) -> Scrub:
    rows = await uow.fetch(
        f"INSERT INTO {_table(uow)} (scrub_id, requested_by, requested_at) "
        f"VALUES ($1, $2, $3) RETURNING {COLUMNS}",
        uuid4(),
        requested_by,
        now,
    )
    return _scrub(rows[0])


async def claim(uow: UnitOfWork, total: int, now: datetime) -> Scrub | None:
    """Start the oldest scrub asked for, if another replica has not (call in a transaction)."""
    rows = await uow.fetch(
        f"UPDATE {_table(uow)} SET started_at = $1, heartbeat_at = $1, total = $2 "
        f"WHERE scrub_id = (SELECT scrub_id FROM {_table(uow)} WHERE started_at IS NULL "
        "ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
        f"RETURNING {COLUMNS}",
        now,
        total,
    )
    return _scrub(rows[0]) if rows else None


async def last_requested(uow: UnitOfWork) -> datetime | None:
    found: datetime | None = await uow.fetchval(f"SELECT max(requested_at) FROM {_table(uow)}")
    return found


async def progress(
    uow: UnitOfWork,
    scrub_id: UUID,
    checked: int,
    corrupted: list[dict[str, Any]],
    now: datetime,
    *,
    finished: bool = False,
) -> None:
    await uow.execute(
        f"UPDATE {_table(uow)} SET checked = $2, corrupted = $3, heartbeat_at = $4::timestamptz, "
        "finished_at = CASE WHEN $5::bool THEN $4::timestamptz END WHERE scrub_id = $1",
        scrub_id,
        checked,
        corrupted,
        now,
        finished,
    )


async def get(uow: UnitOfWork, scrub_id: UUID) -> Scrub | None:
    row = await uow.fetchrow(f"SELECT {COLUMNS} FROM {_table(uow)} WHERE scrub_id = $1", scrub_id)
    return None if row is None else _scrub(row)


async def latest(uow: UnitOfWork, limit: int) -> list[Scrub]:
    rows = await uow.fetch(
        f"SELECT {COLUMNS} FROM {_table(uow)} ORDER BY requested_at DESC LIMIT $1", limit
    )
    return [_scrub(row) for row in rows]
