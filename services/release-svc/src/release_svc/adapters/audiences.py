"""The audiences' directory as a read model: what the notifier reads to reach one."""

from __future__ import annotations

import asyncpg

from ferry.db import UnitOfWork
from release_svc.domain.audiences import Audience


def _t(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".audiences'


async def save(uow: UnitOfWork, audience: Audience) -> None:
    await uow.execute(
        f"INSERT INTO {_t(uow)} (name, description, members, emails, webhooks, stream_version) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET "
        "description = $2, members = $3, emails = $4, webhooks = $5, stream_version = $6",
        audience.name,
        audience.description,
        sorted(audience.members),
        sorted(audience.emails),
        sorted(audience.webhooks),
        audience.version,
    )


async def every(uow: UnitOfWork) -> list[Audience]:
    rows = await uow.fetch(f"SELECT * FROM {_t(uow)} ORDER BY name")
    return [_audience(row) for row in rows]


async def named(uow: UnitOfWork, name: str) -> Audience | None:
    row = await uow.fetchrow(f"SELECT * FROM {_t(uow)} WHERE name = $1", name)
    return _audience(row) if row else None


def _audience(row: asyncpg.Record) -> Audience:
    return Audience(
        name=row["name"],
        version=row["stream_version"],
        description=row["description"],
        members=frozenset(row["members"]),
        emails=frozenset(row["emails"]),
        webhooks=frozenset(row["webhooks"]),
    )
